//! 代为上报 (`/console/report`): a worker files a report for a villager who told them
//! in person or by phone. The page lists the grids the worker's roles reach that have
//! a QR code and the township's categories; the report goes through the same path as
//! a citizen's through that grid's code (`channel = assisted`, the worker recorded as
//! its filer), so routing assigns it by the same rules. A plain multipart form with the
//! session's CSRF token sent first (so photos stream to disk) and a per-form
//! idempotency key, so a double tap files one report.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use mashang_auth::permissions::{Action, visibility};
use mashang_auth::{MaybeSignedIn, Principal};
use mashang_domain::report::Channel;
use mashang_domain::{TenantId, UserId};
use mashang_http::{ApiError, FieldError};
use mashang_web::csrf::{FormLimits, form_csrf};
use mashang_web::staff::{self, Nav, StaffHeader};
use mashang_web::strings;
use uuid::Uuid;

use crate::IntakeState;
use crate::assets::ASSETS;
use crate::form::{TypedFields, read_multipart};
use crate::qr::{CategoryInfo, resolve};
use crate::submit::{Origin, submit};
use mashang_http::openapi::{FormErrors, Html, PageErrors};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The most grids the page lists (a township centre reaches every grid).
const MAX_GRIDS: i64 = 2000;

/// The page's routes; `body_limit` is the largest report with its photos.
pub(crate) fn routes(body_limit: usize) -> OpenApiRouter<IntakeState> {
    OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(form, file))
                .layer(DefaultBodyLimit::max(body_limit)),
        )
        .routes(routes!(done))
        .layer(axum::middleware::from_fn_with_state(
            FormLimits::new(body_limit),
            form_csrf,
        ))
}

/// A grid the worker may file for.
#[derive(Debug, sqlx::FromRow)]
struct Grid {
    id: Uuid,
    name: String,
    parent: Option<String>,
    token: String,
}

impl Grid {
    fn label(&self) -> String {
        match &self.parent {
            Some(parent) => format!("{parent} · {}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A choice in a list.
#[derive(Debug)]
struct Choice {
    value: String,
    label: String,
}

/// Each field's problem, shown next to it.
#[derive(Debug, Default)]
struct Problems {
    grid: Option<String>,
    category: Option<String>,
    description: Option<String>,
    contact_name: Option<String>,
    contact_phone: Option<String>,
    photo: Option<String>,
    /// Problems of the form as a whole.
    form: Vec<String>,
    /// The form's idempotency key was used for a different report.
    reused_key: bool,
}

impl Problems {
    fn from(errors: Vec<FieldError>) -> Self {
        let mut out = Self::default();
        for e in errors {
            let slot = match e.field.as_str() {
                "grid" | "qr_token" => &mut out.grid,
                "category" => &mut out.category,
                "description" => &mut out.description,
                "contact_name" => &mut out.contact_name,
                "contact_phone" => &mut out.contact_phone,
                "photo" | "attachment_ids" => &mut out.photo,
                "Idempotency-Key" => {
                    out.reused_key = true;
                    continue;
                }
                _ => {
                    out.form.push(e.message);
                    continue;
                }
            };
            if slot.is_none() {
                *slot = Some(e.message);
            }
        }
        out
    }

    fn any(&self) -> bool {
        self.grid.is_some()
            || self.category.is_some()
            || self.description.is_some()
            || self.contact_name.is_some()
            || self.contact_phone.is_some()
            || self.photo.is_some()
            || !self.form.is_empty()
            || self.reused_key
    }
}

#[derive(Debug, Template)]
#[template(path = "assisted.html")]
struct FormPage {
    chrome: StaffHeader,
    css: String,
    grids: Vec<Choice>,
    categories: Vec<Choice>,
    typed: TypedFields,
    problems: Problems,
    max_description: usize,
    max_name: usize,
    max_photos: usize,
}

#[derive(Debug, Template)]
#[template(path = "assisted_done.html")]
struct DonePage {
    chrome: StaffHeader,
    css: String,
    tracking_number: String,
    case: Option<String>,
    id: String,
}

/// A township worker who may file: signed in with a session, whose roles work cases.
struct Filer {
    tenant: TenantId,
    user: UserId,
    principal: Principal,
    chrome: StaffHeader,
}

/// The filer, or the page that answers instead.
async fn filer(
    state: &IntakeState,
    signed_in: Result<MaybeSignedIn, ApiError>,
) -> Result<Filer, Box<Response>> {
    let principal = match signed_in {
        Ok(MaybeSignedIn(Some(p))) => p,
        Ok(MaybeSignedIn(None)) => {
            return Err(Box::new(
                Redirect::to(&staff::login_then(Some("/console/report"))).into_response(),
            ));
        }
        Err(err) => return Err(Box::new(refusal(err))),
    };
    let csrf = principal.csrf.clone();
    let (Some(tenant), Some(user)) = (principal.tenant(), principal.user()) else {
        return Err(Box::new(staff::refuse(
            StatusCode::FORBIDDEN,
            "代为上报由乡镇的网格员和工作人员使用，请用乡镇账号登录。(A township worker's account is needed here.)",
            csrf.as_deref(),
            &ASSETS,
        )));
    };
    if !Nav::of(&principal).report {
        return Err(Box::new(staff::refuse(
            StatusCode::FORBIDDEN,
            "您的角色不能代为上报。如需使用，请联系镇管理员。(Your roles do not file reports.)",
            csrf.as_deref(),
            &ASSETS,
        )));
    }
    let township = match mashang_auth::township_name(&state.db, tenant).await {
        Ok(name) => name,
        Err(err) => return Err(Box::new(failed(err))),
    };
    let chrome = StaffHeader::new(&principal, Some(township), &ASSETS);
    Ok(Filer {
        tenant,
        user,
        principal,
        chrome,
    })
}

fn refusal(err: ApiError) -> Response {
    let err = err.classify();
    let status = err.status();
    let message = match err {
        ApiError::Internal(err) => return failed(err),
        ApiError::Forbidden(m) | ApiError::BadRequest(m) | ApiError::Conflict(m) => m,
        other => other.title().to_owned(),
    };
    staff::refuse(status, &message, None, &ASSETS)
}

fn failed(err: impl Into<anyhow::Error>) -> Response {
    let err = err.into();
    tracing::error!(error = %format!("{err:#}"), "assisted report page failed");
    staff::refuse(
        StatusCode::INTERNAL_SERVER_ERROR,
        strings::INTERNAL_MESSAGE,
        None,
        &ASSETS,
    )
}

/// The grids the filer's roles reach (as for working cases) that have a QR code in
/// force, with the newest code's token; and the township's active categories.
async fn choices(
    state: &IntakeState,
    filer: &Filer,
) -> Result<(Vec<Grid>, Vec<CategoryInfo>), mashang_db::DbError> {
    let visible = visibility(&filer.principal, Action::WorkCase);
    let whole = visible.is_none();
    let (subtrees, nodes) = visible.map_or((Vec::new(), Vec::new()), |v| {
        (
            v.subtrees.iter().map(|n| n.as_uuid()).collect::<Vec<_>>(),
            v.nodes.iter().map(|n| n.as_uuid()).collect::<Vec<_>>(),
        )
    });
    let mut tx = state.db.tenant(filer.tenant).await?;
    let mut grids: Vec<Grid> = sqlx::query_as(
        "WITH RECURSIVE down(id, depth) AS ( \
             SELECT id, 0 FROM routing.grid_nodes \
              WHERE tenant_id = $1 AND (($2 AND parent_id IS NULL) OR id = ANY($3)) \
             UNION \
             SELECT g.id, d.depth + 1 FROM routing.grid_nodes g JOIN down d ON g.parent_id = d.id \
              WHERE g.tenant_id = $1 AND d.depth < 32), \
         reach AS (SELECT id FROM down UNION SELECT unnest($4::uuid[])) \
         SELECT DISTINCT ON (n.id) n.id, n.name, p.name AS parent, c.token \
           FROM reach r \
           JOIN routing.grid_nodes n ON n.tenant_id = $1 AND n.id = r.id \
           LEFT JOIN routing.grid_nodes p ON p.tenant_id = $1 AND p.id = n.parent_id AND p.kind <> 'township' \
           JOIN routing.qr_codes c ON c.tenant_id = $1 AND c.node_id = n.id AND c.revoked_at IS NULL \
          WHERE n.active \
          ORDER BY n.id, c.created_at DESC \
          LIMIT $5",
    )
    .bind(filer.tenant.as_uuid())
    .bind(whole)
    .bind(&subtrees)
    .bind(&nodes)
    .bind(MAX_GRIDS)
    .fetch_all(&mut *tx)
    .await?;
    let categories: Vec<CategoryInfo> = sqlx::query_as(
        "SELECT code, name_zh, name_en, icon FROM routing.categories \
         WHERE tenant_id = $1 AND active ORDER BY position, code",
    )
    .bind(filer.tenant.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    grids.sort_by(|a, b| (&a.parent, &a.name).cmp(&(&b.parent, &b.name)));
    Ok((grids, categories))
}

/// A fresh key for one showing of the form: a second post of the same form is the
/// same report.
fn form_key() -> String {
    let mut bytes = [0_u8; 16];
    // Without randomness the form still works, only without the double-post guard.
    if getrandom::fill(&mut bytes).is_err() {
        return String::new();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn page(
    status: StatusCode,
    filer: Filer,
    grids: &[Grid],
    categories: &[CategoryInfo],
    mut typed: TypedFields,
    problems: Problems,
) -> Response {
    if typed.form_key.is_empty() {
        typed.form_key = form_key();
    }
    let page = FormPage {
        chrome: filer.chrome,
        css: ASSETS.url("assisted.css"),
        grids: grids
            .iter()
            .map(|g| Choice {
                value: g.id.to_string(),
                label: g.label(),
            })
            .collect(),
        categories: categories
            .iter()
            .map(|c| Choice {
                value: c.code.clone(),
                label: format!("{} ({})", c.name_zh, c.name_en),
            })
            .collect(),
        typed,
        problems,
        max_description: crate::form::MAX_DESCRIPTION,
        max_name: crate::form::MAX_NAME,
        max_photos: crate::MAX_PHOTOS,
    };
    staff::page(status, &page, &ASSETS)
}

/// `GET /console/report`: the empty form.
#[utoipa::path(get, path = "/console/report", tag = "pages", operation_id = "get_console_report",
    summary = "代填诉求 (Staff file a report on a villager behalf)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
async fn form(
    State(state): State<IntakeState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
) -> Response {
    let filer = match filer(&state, signed_in).await {
        Ok(f) => f,
        Err(page) => return *page,
    };
    match choices(&state, &filer).await {
        Ok((grids, categories)) => {
            // A worker with one grid has nothing to choose.
            let typed = TypedFields {
                grid: match grids.as_slice() {
                    [only] => only.id.to_string(),
                    _ => String::new(),
                },
                ..TypedFields::default()
            };
            page(
                StatusCode::OK,
                filer,
                &grids,
                &categories,
                typed,
                Problems::default(),
            )
        }
        Err(err) => failed(err),
    }
}

/// `POST /console/report`: files the report, then to its page; a refusal shows the
/// form again with what was typed and what is wrong.
#[utoipa::path(post, path = "/console/report", tag = "pages", operation_id = "post_console_report",
    summary = "提交代填诉求 (The assisted report form)",
    request_body(content = Object, content_type = "multipart/form-data", description = "表单字段与文件 (The form fields and files, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
async fn file(
    State(state): State<IntakeState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    multipart: Multipart,
) -> Response {
    let filer = match filer(&state, signed_in).await {
        Ok(f) => f,
        Err(page) => return *page,
    };
    let (grids, categories) = match choices(&state, &filer).await {
        Ok(found) => found,
        Err(err) => return failed(err),
    };
    let form = match read_multipart(multipart, &state.config).await {
        Ok(form) => form,
        Err(failure) => {
            let (status, problems) = problems_of(failure.error);
            return page(status, filer, &grids, &categories, failure.typed, problems);
        }
    };
    let typed = form.typed.clone();
    let grid = typed
        .grid
        .trim()
        .parse::<Uuid>()
        .ok()
        .and_then(|id| grids.iter().find(|g| g.id == id));
    let mut errors = form.errors;
    let mut raw = form.raw;
    raw.channel = Some(Channel::Assisted.as_str().to_owned());
    raw.qr_token = Some(grid.map_or_else(String::new, |g| g.token.clone()));
    if grid.is_none() {
        errors.push(FieldError::new(
            "grid",
            "请选择您负责的网格 (choose one of your grids)",
        ));
        // The other fields are checked too, so every problem shows at once.
        raw.qr_token = Some("-".to_owned());
    }
    let valid = match raw.validate(form.files) {
        Ok(valid) if errors.is_empty() => valid,
        Ok(_) => {
            return page(
                StatusCode::UNPROCESSABLE_ENTITY,
                filer,
                &grids,
                &categories,
                typed,
                Problems::from(errors),
            );
        }
        Err(err) => {
            let (status, mut problems) = problems_of(err);
            problems.grid = problems.grid.take().or_else(|| {
                errors
                    .iter()
                    .find(|e| e.field == "grid")
                    .map(|e| e.message.clone())
            });
            return page(status, filer, &grids, &categories, typed, problems);
        }
    };
    let key = typed.form_key.trim();
    let key = (!key.is_empty() && key.len() <= 64 && key.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("console-{key}"));
    let outcome = async {
        let ctx = resolve(&state.db, &valid.qr_token).await?;
        let origin = Origin {
            channel: Channel::Assisted,
            staff: Some(filer.user),
            idempotency_key: key.as_deref(),
            api: None,
        };
        submit(&state, &ctx, valid, origin).await
    };
    match outcome.await {
        Ok(done) => Redirect::to(&format!("/console/report/{}", done.id)).into_response(),
        Err(err) => {
            let (status, mut problems) = problems_of(err);
            let mut typed = typed;
            if problems.reused_key {
                // This form was filed before with other content (the back button, then
                // an edit): a new form, so what is filed now is a new report.
                typed.form_key = String::new();
                problems.form.push(
                    "这份表单已经提交过一次，内容和这次不同。请确认要再报一件，然后再点“提交上报”。(This form was filed before with other content; submit again to file another report.)"
                        .to_owned(),
                );
            }
            page(status, filer, &grids, &categories, typed, problems)
        }
    }
}

/// What to say next to the form for a refusal of the report.
fn problems_of(err: ApiError) -> (StatusCode, Problems) {
    let err = err.classify();
    let status = err.status();
    let errors = match err {
        ApiError::Validation(errors) => errors,
        ApiError::Internal(_) | ApiError::Unavailable(_) => {
            // Logged by the conversion; the worker gets plain words.
            let _ = err.into_response();
            vec![FieldError::new(
                "form",
                "提交没有成功，请稍后再试一次 (the report could not be filed; please try again)",
            )]
        }
        ApiError::BadRequest(detail)
        | ApiError::Forbidden(detail)
        | ApiError::Gone(detail)
        | ApiError::Conflict(detail)
        | ApiError::PayloadTooLarge(detail)
        | ApiError::UnsupportedMediaType(detail) => {
            let field = if status == StatusCode::PAYLOAD_TOO_LARGE
                || status == StatusCode::UNSUPPORTED_MEDIA_TYPE
            {
                "photo"
            } else {
                "form"
            };
            vec![FieldError::new(field, detail)]
        }
        other => vec![FieldError::new("form", other.title())],
    };
    (status, Problems::from(errors))
}

/// `GET /console/report/{id}`: the filed report's tracking number, and its case once
/// routing has made one (intake learns the case from routing's events).
#[utoipa::path(get, path = "/console/report/{id}", tag = "pages", operation_id = "get_console_report_id",
    summary = "代填完成 (The filed report, with its tracking number)",
    params(("id" = uuid::Uuid, Path, description = "The report")),
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
async fn done(
    State(state): State<IntakeState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    Path(id): Path<String>,
) -> Response {
    let filer = match filer(&state, signed_in).await {
        Ok(f) => f,
        Err(page) => return *page,
    };
    let not_found = |filer: &Filer| {
        staff::refuse(
            StatusCode::NOT_FOUND,
            strings::NOT_FOUND,
            filer.principal.csrf.as_deref(),
            &ASSETS,
        )
    };
    let Ok(report) = id.parse::<Uuid>() else {
        return not_found(&filer);
    };
    let found = async {
        let mut tx = state.db.tenant(filer.tenant).await?;
        let row: Option<(String, Option<Uuid>)> = sqlx::query_as(
            "SELECT tracking_number, case_id FROM intake.reports \
             WHERE tenant_id = $1 AND id = $2 AND submitted_by = $3",
        )
        .bind(filer.tenant.as_uuid())
        .bind(report)
        .bind(filer.user.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, mashang_db::DbError>(row)
    };
    match found.await {
        Ok(Some((tracking_number, case))) => {
            let page = DonePage {
                chrome: filer.chrome,
                css: ASSETS.url("assisted.css"),
                tracking_number,
                case: case.map(|c| c.to_string()),
                id: report.to_string(),
            };
            staff::page(StatusCode::OK, &page, &ASSETS)
        }
        Ok(None) => not_found(&filer),
        Err(err) => failed(err),
    }
}
