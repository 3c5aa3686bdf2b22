//! The case page's forms: `POST /console/cases/{id}/{action}`, form-encoded (multipart
//! for a resolution with photos), with the JSON actions' field names plus `_csrf`,
//! `version` (the case's version the form was shown with) and `back` (a path of this site to return to,
//! optional). The details go to the same [`perform`](crate::http::cases::perform) as
//! the JSON API. Success: 303 to `back` or the case page with a confirmation. A bad
//! input: the case page again (422) with the message next to that form and the text
//! kept. A form that came too late (the case changed, or its state no longer allows
//! the action): the case page (409) saying what happened since. A tapped standard
//! phrase (`use_template`): the page again with the phrase in the text field.
//!
//! Besides the workflow's actions, `county-request` (申请督办) and `reapply-policy`
//! (重新适用规则) post here too.

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use mashang_domain::CaseId;
use mashang_domain::case::ActionKind;
use mashang_http::ApiError;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::case_page::{Stale, Typed, build, button, find, phrase, phrase_kind, text_field};
use super::layout::{PageError, Staff, render, safe_next, see_other};
use crate::RoutingState;
use crate::http::case_uploads;
use mashang_http::openapi::{FormErrors, Html};

/// The longest value of any one field (the texts' own limits are checked by the
/// workflow; this only bounds what is kept for the page).
const MAX_FIELD_CHARS: usize = 2_000;
/// At most this many photos with one resolution.
const MAX_PHOTOS: usize = 9;

/// What a form can post to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Workflow(ActionKind),
    CountyRequest,
    ReapplyPolicy,
}

impl Target {
    fn parse(slug: &str) -> Option<Self> {
        match slug {
            "county-request" => Some(Self::CountyRequest),
            "reapply-policy" => Some(Self::ReapplyPolicy),
            _ => ActionKind::from_slug(slug)
                .filter(|k| !matches!(k, ActionKind::Rate | ActionKind::Assign))
                .map(Self::Workflow),
        }
    }

    fn slug(self) -> String {
        match self {
            Self::Workflow(k) => k.slug(),
            Self::CountyRequest => "county-request".to_owned(),
            Self::ReapplyPolicy => "reapply-policy".to_owned(),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Workflow(k) => button(k).0,
            Self::CountyRequest => "申请督办",
            Self::ReapplyPolicy => "重新适用规则",
        }
    }
}

/// A posted form: its fields in order, and photos stored from it.
#[derive(Debug, Default)]
struct Posted {
    fields: Vec<(String, String)>,
    photos: Vec<Uuid>,
    /// A photo that could not be kept.
    photo_error: Option<String>,
}

impl Posted {
    fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn typed(&self, slug: &str, errors: Vec<String>) -> Typed {
        Typed {
            slug: slug.to_owned(),
            values: self
                .fields
                .iter()
                .filter(|(k, _)| !k.starts_with('_') && k != "use_template" && k != "photos")
                .map(|(k, v)| (k.clone(), v.chars().take(MAX_FIELD_CHARS).collect()))
                .collect(),
            errors,
            photos: self.photos.clone(),
        }
    }
}

/// Reads a url-encoded or multipart body; photos (the `photos` file fields of a
/// multipart body) are stored as they come, once `ready` allows it.
async fn read_body(
    state: &RoutingState,
    staff: &Staff,
    id: CaseId,
    request: Request,
) -> Result<Posted, PageError> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let axum::Form(fields): axum::Form<Vec<(String, String)>> =
            axum::Form::from_request(request, state)
                .await
                .map_err(|_| {
                    PageError::from(ApiError::BadRequest(
                        "表单无法读取 (the form could not be read)".into(),
                    ))
                })?;
        let mut posted = Posted {
            fields,
            ..Posted::default()
        };
        posted.photos = kept_photos(&posted);
        return Ok(posted);
    }
    let mut body = Multipart::from_request(request, state).await.map_err(|_| {
        PageError::from(ApiError::BadRequest(
            "表单无法读取 (the form could not be read)".into(),
        ))
    })?;
    let mut posted = Posted::default();
    let mut uploader = None;
    let unreadable = |_| {
        PageError::from(ApiError::BadRequest(
            "表单无法读取 (the form could not be read)".into(),
        ))
    };
    while let Some(field) = body.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or("").to_owned();
        if field.file_name().is_none() {
            let value = field.text().await.map_err(unreadable)?;
            posted.fields.push((name, value));
            continue;
        }
        if name != "photos" || field.file_name() == Some("") {
            continue;
        }
        // A phrase tapped, an error already, or too many: the file is not kept.
        if posted.get("use_template").is_some()
            || posted.photo_error.is_some()
            || posted.photos.len() >= MAX_PHOTOS
        {
            if posted.photos.len() >= MAX_PHOTOS {
                posted.photo_error = Some(format!(
                    "最多 {MAX_PHOTOS} 张照片 (at most {MAX_PHOTOS} photos)"
                ));
            }
            continue;
        }
        if uploader.is_none() {
            if posted.photos.is_empty() {
                posted.photos = kept_photos(&posted);
            }
            match case_uploads::may_upload(state, &staff.principal, id).await {
                Ok(who) => uploader = Some(who),
                Err(err) => {
                    posted.photo_error = Some(say(err)?.join("；"));
                    continue;
                }
            }
        }
        let Some((tenant, user)) = uploader else {
            continue;
        };
        match case_uploads::store(state, tenant, user, id, field).await {
            Ok(up) => posted.photos.push(up.id),
            Err(err) => posted.photo_error = Some(say(err)?.join("；")),
        }
    }
    if uploader.is_none() {
        posted.photos = kept_photos(&posted);
    }
    Ok(posted)
}

/// Photos uploaded by an earlier try of the same form (hidden `photos` fields).
fn kept_photos(posted: &Posted) -> Vec<Uuid> {
    posted
        .fields
        .iter()
        .filter(|(k, _)| k == "photos")
        .filter_map(|(_, v)| v.trim().parse().ok())
        .take(MAX_PHOTOS)
        .collect()
}

/// What a refusal says next to a form; a failure that ends the page passes through.
fn say(err: ApiError) -> Result<Vec<String>, PageError> {
    Ok(match err.classify() {
        ApiError::Validation(errors) => errors
            .into_iter()
            .map(|e| format!("{}{}", field_zh(&e.field), problem_zh(&e.message)))
            .collect(),
        ApiError::BadRequest(m)
        | ApiError::PayloadTooLarge(m)
        | ApiError::UnsupportedMediaType(m)
        | ApiError::Unavailable(m)
        | ApiError::Gone(m)
        | ApiError::Conflict(m) => vec![m],
        other => return Err(other.into()),
    })
}

/// A field's name as the person knows it, before its message.
fn field_zh(field: &str) -> &'static str {
    match field {
        "summary" => "联系情况：",
        "measures" => "处理措施：",
        "reason" => "原因：",
        "reason.of" | "of" => "重复的案件：",
        "note" => "说明：",
        "text" => "备注：",
        "method" => "联系方式：",
        "contacted_at" => "联系时间：",
        "level" => "上报层级：",
        "to" => "接收人：",
        "resolved" => "是否解决：",
        "satisfaction" => "满意度：",
        "photos" | "file" => "照片：",
        _ => "",
    }
}

/// The workflow's problem codes in words; other messages as they are.
fn problem_zh(message: &str) -> String {
    // The workflow's problems come as `"required"` or `{"problem":"too_long","max":500}`.
    let parsed: Option<Value> = serde_json::from_str(message).ok();
    let code = match &parsed {
        Some(Value::String(c)) => Some(c.as_str()),
        Some(Value::Object(o)) => o.get("problem").and_then(Value::as_str),
        _ => None,
    };
    let max = parsed
        .as_ref()
        .and_then(|p| p.get("max"))
        .and_then(Value::as_u64)
        .map(|m| m.to_string())
        .unwrap_or_default();
    let m = code.unwrap_or(message);
    if m == "required" || m.starts_with("必填") {
        "必填 (required)".to_owned()
    } else if m == "empty" {
        "不能为空 (must not be empty)".to_owned()
    } else if m.contains("too_long") {
        format!("太长了，最多 {max} 个字 (too long: at most {max} characters)")
    } else if m == "in_future" {
        "不能晚于现在 (must not be in the future)".to_owned()
    } else if m == "unchanged" {
        "已经是当前办理人 (already the handler)".to_owned()
    } else if m == "self_reference" {
        "不能是本案自己 (cannot be this case itself)".to_owned()
    } else if m == "too_many" {
        "太多了 (too many)".to_owned()
    } else if m == "duplicate" {
        "重复了 (listed twice)".to_owned()
    } else if m == "unknown" {
        "无法识别 (not recognised)".to_owned()
    } else {
        m.to_owned()
    }
}

/// `POST /console/cases/{id}/{action}`.
#[utoipa::path(post, path = "/console/cases/{id}/{action}", tag = "pages", operation_id = "post_console_cases_id_action",
    summary = "事件操作 (A case action form: acknowledge, resolve, …, with photos)",
    params(("id" = uuid::Uuid, Path, description = "The case"), ("action" = String, Path, max_length = 100, description = "The action (`acknowledge`, `resolve`, …)")),
    request_body(content = Object, content_type = "multipart/form-data", description = "表单字段与文件 (The form fields and the file, with `_csrf`)"),
    responses(
        (status = 200, description = "结果或有误时的表单 (The outcome, or the form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn act(
    State(state): State<RoutingState>,
    staff: Staff,
    Path((id, slug)): Path<(String, String)>,
    request: Request,
) -> Result<Response, PageError> {
    let id: CaseId = id.parse().map_err(|_| PageError::not_found())?;
    let target = Target::parse(&slug).ok_or_else(PageError::not_found)?;
    let slug = target.slug();
    // Another township's case, or one out of reach, answers before the body is read.
    let found = {
        let mut tx = state.db.tenant(staff.tenant).await?;
        let found = find(&mut tx, &staff, id).await?;
        tx.commit().await?;
        found
    };
    if let Target::Workflow(kind) = target
        && !mashang_auth::permissions::allows(
            &staff.principal,
            super::case_page::permission(kind),
            found.target(),
        )
    {
        return Err(PageError::forbidden(format!(
            "您的角色不能{}。(Your roles do not allow this.)",
            target.label()
        )));
    }
    let posted = read_body(&state, &staff, id, request).await?;

    // A standard phrase tapped (without JavaScript): the form again with it filled in.
    if let (Some(raw), Target::Workflow(kind)) = (posted.get("use_template"), target) {
        let mut typed = posted.typed(&slug, Vec::new());
        let mut tx = state.db.tenant(staff.tenant).await?;
        let chosen = phrase(&mut tx, raw).await?;
        tx.commit().await?;
        if let (Some(p), Some(field)) = (chosen, text_field(kind))
            && p.kind == phrase_kind(kind)
        {
            let text = typed.values.entry(field.to_owned()).or_default();
            if text.trim().is_empty() {
                *text = p.text;
            } else {
                text.push(' ');
                text.push_str(&p.text);
            }
        }
        let page = build(&state, &staff, id, Some(typed), None, None).await?;
        return Ok(render(StatusCode::OK, &page));
    }

    // Too late: the case changed since the page was shown, or its state moved on.
    let version: Option<i64> = posted.get("version").and_then(|v| v.parse().ok());
    let seen = version;
    let moved_on = match target {
        Target::Workflow(kind) => mashang_domain::case::next(found.state(), kind).is_none(),
        Target::CountyRequest => found.case.county_requested_at.is_some(),
        Target::ReapplyPolicy => found.state().is_final(),
    };
    if version.is_some_and(|v| v != found.case.version) || moved_on {
        return stale(&state, &staff, id, target, None, seen).await;
    }
    let Some(version) = version else {
        return retry(&state, &staff, id, &posted, &slug, vec![
            "表单缺少版本号，请刷新页面后再试。(The form lacks the case's version: reload the page.)".to_owned(),
        ])
        .await;
    };

    if let Some(err) = &posted.photo_error {
        return retry(
            &state,
            &staff,
            id,
            &posted,
            &slug,
            vec![format!("照片：{err}")],
        )
        .await;
    }

    let outcome = match target {
        Target::Workflow(kind) => {
            let details = match details(&state, &staff, &posted, kind).await? {
                Ok(d) => d,
                Err(errors) => return retry(&state, &staff, id, &posted, &slug, errors).await,
            };
            crate::http::cases::perform(
                &state,
                &staff.principal,
                id,
                kind,
                Ok(details),
                Some(version),
            )
            .await
            .map(|_| ())
        }
        Target::CountyRequest => {
            crate::http::county_cases::request_county(
                &state,
                &staff.principal,
                id,
                posted.get("note").map(str::to_owned),
            )
            .await
        }
        Target::ReapplyPolicy => crate::http::reapply::reapply_policy(&state, &staff.principal, id)
            .await
            .map(|_| ()),
    };
    match outcome {
        Ok(()) => {
            let ok = match target {
                Target::Workflow(kind) => kind.as_str().to_owned(),
                Target::CountyRequest => "county_request".to_owned(),
                Target::ReapplyPolicy => "policy_reapplied".to_owned(),
            };
            let to = match posted.get("back").filter(|b| safe_next(b)) {
                Some(back) => back.to_owned(),
                None => format!("/console/cases/{id}?ok={ok}"),
            };
            Ok(see_other(&to))
        }
        Err(ApiError::Conflict(m)) => stale(&state, &staff, id, target, Some(m), seen).await,
        Err(err @ (ApiError::Forbidden(_) | ApiError::NotFound | ApiError::Unauthorized)) => {
            Err(err.into())
        }
        Err(err) => {
            let errors = say(err)?;
            retry(&state, &staff, id, &posted, &slug, errors).await
        }
    }
}

/// The page again (422) with the form open, its text kept and the errors next to it.
async fn retry(
    state: &RoutingState,
    staff: &Staff,
    id: CaseId,
    posted: &Posted,
    slug: &str,
    errors: Vec<String>,
) -> Result<Response, PageError> {
    let page = build(
        state,
        staff,
        id,
        Some(posted.typed(slug, errors)),
        None,
        None,
    )
    .await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// The page (409) saying that the case moved on.
async fn stale(
    state: &RoutingState,
    staff: &Staff,
    id: CaseId,
    target: Target,
    reason: Option<String>,
    seen: Option<i64>,
) -> Result<Response, PageError> {
    let word = Stale {
        tried: target.label(),
        reason,
        since: Vec::new(),
    };
    let page = build(state, staff, id, None, Some((word, seen)), None).await?;
    Ok(render(StatusCode::CONFLICT, &page))
}

/// A time typed in a `datetime-local` field, in the township's zone.
fn local_time(raw: &str, zone: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    zone.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The action's details as the JSON API takes them, or what is missing.
async fn details(
    state: &RoutingState,
    staff: &Staff,
    posted: &Posted,
    kind: ActionKind,
) -> Result<Result<Value, Vec<String>>, PageError> {
    let mut d = Map::new();
    let mut errors = Vec::new();
    let text = |d: &mut Map<String, Value>, key: &str, required: bool, errors: &mut Vec<String>| {
        match posted.get(key) {
            Some(v) => {
                d.insert(key.to_owned(), json!(v));
            }
            None if required => errors.push(format!("{}必填 (required)", field_zh(key))),
            None => {}
        }
    };
    let choice = |key: &str, allowed: &[&str], errors: &mut Vec<String>| -> Option<String> {
        match posted.get(key) {
            Some(v) if allowed.contains(&v) => Some(v.to_owned()),
            Some(_) => {
                errors.push(format!(
                    "{}请从列表中选择 (choose from the list)",
                    field_zh(key)
                ));
                None
            }
            None => {
                errors.push(format!("{}请选择 (choose one)", field_zh(key)));
                None
            }
        }
    };
    match kind {
        ActionKind::Acknowledge => {
            if let Some(m) = choice("method", &["phone", "visit"], &mut errors) {
                d.insert("method".into(), json!(m));
            }
            text(&mut d, "summary", true, &mut errors);
            let at = match posted.get("contacted_at") {
                None => Some(Utc::now()),
                Some(raw) => {
                    let mut tx = state.db.tenant(staff.tenant).await?;
                    let zone = super::case_fmt::Names::load(&mut tx).await?.zone();
                    tx.commit().await?;
                    let at = local_time(raw, zone);
                    if at.is_none() {
                        errors.push("联系时间：格式不对 (not a date and time)".to_owned());
                    }
                    at
                }
            };
            if let Some(at) = at {
                d.insert("contacted_at".into(), json!(at));
            }
        }
        ActionKind::Pause | ActionKind::Reopen => text(&mut d, "reason", true, &mut errors),
        ActionKind::Resolve => {
            text(&mut d, "measures", true, &mut errors);
            d.insert("photos".into(), json!(posted.photos));
        }
        ActionKind::Return => {
            let reasons: Vec<&str> = mashang_domain::case::ReturnReason::ALL
                .iter()
                .map(|r| r.as_str())
                .collect();
            if let Some(r) = choice("reason", &reasons, &mut errors) {
                d.insert("reason".into(), json!(r));
            }
            text(&mut d, "note", false, &mut errors);
        }
        ActionKind::Escalate => {
            if let Some(l) = choice(
                "level",
                &["grid_leader", "village_head", "township_centre"],
                &mut errors,
            ) {
                d.insert("level".into(), json!(l));
            }
            text(&mut d, "reason", false, &mut errors);
        }
        ActionKind::RequestInvalid => {
            if let Some(code) = choice(
                "reason",
                &["spam", "duplicate", "outside_jurisdiction"],
                &mut errors,
            ) {
                let mut reason = json!({ "code": code });
                if code == "duplicate" {
                    match posted.get("of") {
                        None => errors.push(
                            "重复的案件：请填写重复的那件的受理编号 (the tracking number of the case it repeats)"
                                .to_owned(),
                        ),
                        Some(number) => {
                            let mut tx = state.db.tenant(staff.tenant).await?;
                            let other: Option<(Uuid,)> = sqlx::query_as(
                                "SELECT id FROM routing.cases WHERE tenant_id = $1 AND tracking_number = $2",
                            )
                            .bind(staff.tenant.as_uuid())
                            .bind(number.to_uppercase())
                            .fetch_optional(&mut *tx)
                            .await?;
                            tx.commit().await?;
                            match other {
                                Some((of,)) => reason["of"] = json!(of),
                                None => errors.push(format!(
                                    "重复的案件：本乡镇没有受理编号为 {number} 的案件 (no such case here)"
                                )),
                            }
                        }
                    }
                }
                d.insert("reason".into(), reason);
            }
            text(&mut d, "note", false, &mut errors);
        }
        ActionKind::Note => text(&mut d, "text", true, &mut errors),
        ActionKind::Dispatch | ActionKind::Transfer => {
            match posted.get("to").map(|t| t.parse::<Uuid>()) {
                Some(Ok(to)) => {
                    d.insert("to".into(), json!(to));
                }
                _ => errors.push("接收人：请选择 (choose who takes it)".to_owned()),
            }
            if kind == ActionKind::Transfer {
                text(&mut d, "reason", true, &mut errors);
            }
        }
        ActionKind::ApproveInvalid | ActionKind::RejectInvalid => {
            text(&mut d, "note", false, &mut errors)
        }
        ActionKind::FollowUp => {
            if let Some(m) = choice("method", &["phone", "visit"], &mut errors) {
                d.insert("method".into(), json!(m));
            }
            if let Some(r) = choice("resolved", &["yes", "no"], &mut errors) {
                d.insert("resolved".into(), json!(r == "yes"));
            }
            if let Some(s) = choice(
                "satisfaction",
                &["satisfied", "basically_satisfied", "unsatisfied"],
                &mut errors,
            ) {
                d.insert("satisfaction".into(), json!(s));
            }
            text(&mut d, "note", false, &mut errors);
        }
        _ => {}
    }
    Ok(if errors.is_empty() {
        Ok(Value::Object(d))
    } else {
        Err(errors)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_name_actions_and_the_two_extras() {
        assert_eq!(
            Target::parse("request-invalid"),
            Some(Target::Workflow(ActionKind::RequestInvalid))
        );
        assert_eq!(Target::parse("county-request"), Some(Target::CountyRequest));
        assert_eq!(Target::parse("rate"), None);
        assert_eq!(Target::parse("assign"), None);
        assert_eq!(Target::parse("fly"), None);
    }

    #[test]
    fn typed_times_are_the_townships() {
        let at = local_time("2026-12-03T09:05", chrono_tz::Asia::Shanghai).expect("parses");
        assert_eq!(at.to_rfc3339(), "2026-12-03T01:05:00+00:00");
        assert_eq!(local_time("yesterday", chrono_tz::Asia::Shanghai), None);
    }

    #[test]
    fn problem_codes_are_said_in_words() {
        assert_eq!(problem_zh("\"required\""), "必填 (required)");
        assert!(problem_zh(r#"{"problem":"too_long","max":500}"#).contains("500"));
        assert_eq!(
            problem_zh(r#"{"problem":"in_future"}"#),
            "不能晚于现在 (must not be in the future)"
        );
        assert_eq!(problem_zh("其他"), "其他");
    }
}
