//! What an Open311 client reads first: the discovery document, the township's
//! services (its active categories) and a service's definition.

use std::io;

use axum::response::Response;
use mashang_db::TenantTx;
use serde::Serialize;

use super::answer::{Format, Refusal, ToXml, Xml, list, one};
use super::township::Township;

/// When this endpoint's behaviour last changed, as the discovery document says.
const CHANGESET: &str = "2026-12-04T00:00:00Z";

/// The discovery document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Open311Discovery)]
pub(crate) struct Discovery {
    /// When the endpoints last changed.
    pub changeset: &'static str,
    /// Whom to ask.
    pub contact: &'static str,
    /// How to get a key.
    pub key_service: &'static str,
    /// The endpoints.
    pub endpoints: Vec<Endpoint>,
}

/// One endpoint of the discovery document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Open311Endpoint)]
pub(crate) struct Endpoint {
    /// The specification it implements.
    pub specification: &'static str,
    /// Its base URL.
    pub url: String,
    /// When it last changed.
    pub changeset: &'static str,
    /// `production`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The MIME types it answers in.
    pub formats: Vec<&'static str>,
}

impl ToXml for Discovery {
    const ELEMENT: &'static str = "discovery";

    fn children(&self, xml: &mut Xml) -> io::Result<()> {
        xml.text("changeset", self.changeset)?;
        xml.text("contact", self.contact)?;
        xml.text("key_service", self.key_service)?;
        xml.list("endpoints", &self.endpoints)
    }
}

impl ToXml for Endpoint {
    const ELEMENT: &'static str = "endpoint";

    fn children(&self, xml: &mut Xml) -> io::Result<()> {
        xml.text("specification", self.specification)?;
        xml.text("url", &self.url)?;
        xml.text("changeset", self.changeset)?;
        xml.text("type", self.kind)?;
        xml.element("formats", |x| {
            self.formats.iter().try_for_each(|f| x.text("format", f))
        })
    }
}

/// `discovery.{json,xml}`.
pub(crate) fn discovery(format: Format, public_url: &str) -> Response {
    one(
        format,
        &Discovery {
            changeset: CHANGESET,
            contact: "请联系所在乡镇的综治中心 (the township centre of the township concerned)",
            key_service: "api_key 由乡镇管理员在“接口密钥”页面生成 (keys are issued by a township's administrator at /admin/open311-keys)",
            endpoints: vec![Endpoint {
                specification: "http://wiki.open311.org/GeoReport_v2",
                url: format!("{public_url}/open311/v2"),
                changeset: CHANGESET,
                kind: "production",
                formats: vec!["text/xml", "application/json"],
            }],
        },
    )
}

/// One service: a category of the township.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Open311Service)]
pub(crate) struct Service {
    /// The category's code.
    pub service_code: String,
    /// Its Chinese name.
    pub service_name: String,
    /// Its English name.
    pub description: String,
    /// Whether it has attributes to fill in (none of the categories asks for any).
    pub metadata: bool,
    /// `realtime`: a request is a case at once.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Search words.
    pub keywords: String,
    /// The township's name.
    pub group: String,
}

impl ToXml for Service {
    const ELEMENT: &'static str = "service";

    fn children(&self, xml: &mut Xml) -> io::Result<()> {
        xml.text("service_code", &self.service_code)?;
        xml.text("service_name", &self.service_name)?;
        xml.text("description", &self.description)?;
        xml.text("metadata", if self.metadata { "true" } else { "false" })?;
        xml.text("type", self.kind)?;
        xml.text("keywords", &self.keywords)?;
        xml.text("group", &self.group)
    }
}

/// A category as Open311 shows it.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Category {
    /// Code.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Whether citizens can choose it now.
    pub active: bool,
}

/// Every category of the township (inactive ones too: old requests name them), in
/// their order.
pub(crate) async fn categories(tx: &mut TenantTx) -> Result<Vec<Category>, sqlx::Error> {
    sqlx::query_as(
        "SELECT code, name_zh, name_en, active FROM routing.categories WHERE tenant_id = $1 \
         ORDER BY position, code",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_all(&mut **tx)
    .await
}

/// `services.{json,xml}`: the township's active categories.
pub(crate) async fn services(
    db: &mashang_db::Db,
    format: Format,
    township: &Township,
) -> Result<Response, Refusal> {
    let mut tx = db.tenant(township.id).await?;
    let all = categories(&mut tx).await?;
    tx.commit().await?;
    let services: Vec<Service> = all
        .into_iter()
        .filter(|c| c.active)
        .map(|c| Service {
            keywords: format!("{},{}", c.name_zh, c.name_en),
            service_code: c.code,
            service_name: c.name_zh,
            description: c.name_en,
            metadata: false,
            kind: "realtime",
            group: township.name.clone(),
        })
        .collect();
    Ok(list(
        format,
        axum::http::StatusCode::OK,
        "services",
        &services,
    ))
}

/// A service's definition: the attributes a request of it may carry.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Open311ServiceDefinition)]
pub(crate) struct ServiceDefinition {
    /// The service.
    pub service_code: String,
    /// Its attributes: none, as no category asks for any yet.
    pub attributes: Vec<Attribute>,
}

/// One attribute of a service definition. No category has any yet; the type keeps
/// the specification's shape for when one does.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Open311Attribute)]
#[allow(dead_code, reason = "no category asks for attributes yet")]
pub(crate) struct Attribute {
    /// Its code (`attribute[code]` in a request).
    pub code: String,
    /// `string`, `number`, `text`, `singlevaluelist`, ….
    pub datatype: String,
    /// Whether it must be given.
    pub required: bool,
    /// The question.
    pub description: String,
}

impl ToXml for Attribute {
    const ELEMENT: &'static str = "attribute";

    fn children(&self, xml: &mut Xml) -> io::Result<()> {
        xml.text("code", &self.code)?;
        xml.text("datatype", &self.datatype)?;
        xml.text("required", if self.required { "true" } else { "false" })?;
        xml.text("description", &self.description)
    }
}

impl ToXml for ServiceDefinition {
    const ELEMENT: &'static str = "service_definition";

    fn children(&self, xml: &mut Xml) -> io::Result<()> {
        xml.text("service_code", &self.service_code)?;
        xml.list("attributes", &self.attributes)
    }
}

/// `services/{code}.{json,xml}`: 404 for a code that is not an active category.
pub(crate) async fn definition(
    db: &mashang_db::Db,
    format: Format,
    township: &Township,
    code: &str,
) -> Result<Response, Refusal> {
    let mut tx = db.tenant(township.id).await?;
    let all = categories(&mut tx).await?;
    tx.commit().await?;
    let Some(category) = all.into_iter().find(|c| c.active && c.code == code) else {
        return Err(Refusal::not_found("没有这个类别 (unknown service_code)"));
    };
    Ok(one(
        format,
        &ServiceDefinition {
            service_code: category.code,
            attributes: Vec::new(),
        },
    ))
}
