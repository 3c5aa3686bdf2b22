//! Reading a report from the request — JSON, or multipart with photos streamed to
//! temporary files — and checking every field, collecting all errors at once.

use std::collections::HashSet;
use std::pin::pin;

use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};
use mashang_domain::events::GeoPoint;
use mashang_domain::{AttachmentId, PhoneNumber};
use mashang_http::{ApiError, FieldError};
use mashang_storage::{ContentKind, Spooled, UploadError, UploadLimits};
use serde::Deserialize;

use crate::{IntakeConfig, MAX_PHOTOS, MAX_VOICE};

/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 2000;
/// Longest contact name, in characters.
pub const MAX_NAME: usize = 50;
/// Largest text field of a multipart form, in bytes.
const MAX_TEXT_FIELD: usize = 16 * 1024;
/// Most attachments uploaded ahead that one report may reference: every photo and the
/// voice note.
pub const MAX_ATTACHMENT_IDS: usize = MAX_PHOTOS + MAX_VOICE;
/// Largest JSON body of a report, in bytes: the largest valid report with every
/// character escaped as `\uXXXX` (a description of 2000 characters outside the basic
/// plane is 24 kB), with room to spare; JSON bodies are refused past it before parsing.
pub const MAX_REPORT_JSON: usize = 32 * 1024;

/// The refusal of a list of attachment ids longer than [`MAX_ATTACHMENT_IDS`].
fn too_many_attachment_ids() -> ApiError {
    ApiError::field(
        "attachment_ids",
        format!(
            "最多{MAX_ATTACHMENT_IDS}个附件 (at most {MAX_ATTACHMENT_IDS} attachments: {MAX_PHOTOS} photos and {MAX_VOICE} voice note)"
        ),
    )
}

/// The report's fields as sent, before checking.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RawReport {
    /// The scanned token.
    pub qr_token: Option<String>,
    /// Category code.
    pub category: Option<String>,
    /// What is wrong (required).
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// Who to call back.
    #[schema(max_length = 50)]
    pub contact_name: Option<String>,
    /// Number to call back on.
    pub contact_phone: Option<String>,
    /// Latitude (ignored unless both it and `lng` are in range).
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: Option<f64>,
    /// Longitude.
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lng: Option<f64>,
    /// Whether the citizen lets us attach a location (the browser's, or else their
    /// photos'). Without it, locations read from photos are discarded.
    #[serde(default)]
    pub share_location: Option<bool>,
    /// Attachments uploaded ahead with `POST /api/v1/attachments`.
    #[serde(default)]
    #[schema(max_items = 10, value_type = Vec<uuid::Uuid>)]
    pub attachment_ids: Vec<String>,
    /// The honeypot: people leave it empty; form robots fill it in.
    #[serde(default)]
    pub website: Option<String>,
    /// `qr` (default) or `assisted`.
    #[serde(default)]
    pub channel: Option<String>,
    /// Whether the citizen asks for SMS about the report (received, and a rating
    /// request once solved); off unless ticked, and only with a phone number.
    #[serde(default)]
    pub sms_consent: Option<bool>,
}

/// A report whose every field is valid (the category is checked against the tenant's
/// list later, once the token has named the tenant).
#[derive(Debug)]
pub struct ValidReport {
    /// The scanned token.
    pub qr_token: String,
    /// Category code.
    pub category: String,
    /// What is wrong (may be empty when photos say it).
    pub description: String,
    /// Who to call back.
    pub contact_name: Option<String>,
    /// Number to call back on.
    pub contact_phone: Option<PhoneNumber>,
    /// Where.
    pub location: Option<GeoPoint>,
    /// Photos and voice notes sent inline, spooled and sniffed.
    pub files: Vec<Spooled>,
    /// Attachments uploaded ahead.
    pub attachment_ids: Vec<AttachmentId>,
    /// Whether a location may be attached (see [`RawReport::share_location`]).
    pub share_location: bool,
    /// Whether the citizen asked for SMS (see [`RawReport::sms_consent`]).
    pub sms_consent: bool,
}

/// The raw fields of a form as strings, kept so a failed submission can be shown
/// again exactly as typed.
#[derive(Debug, Default, Clone)]
pub struct TypedFields {
    /// Category code.
    pub category: String,
    /// Description.
    pub description: String,
    /// Contact name.
    pub contact_name: String,
    /// Contact phone.
    pub contact_phone: String,
    /// Latitude as typed.
    pub lat: String,
    /// Longitude as typed.
    pub lng: String,
    /// The grid chosen on the staff's 代为上报 page (a node id).
    pub grid: String,
    /// The staff form's own idempotency key.
    pub form_key: String,
    /// The SMS consent box was ticked.
    pub sms_consent: bool,
}

/// Whether text can be stored and shown: no control characters (a NUL cannot even be
/// stored), except line breaks and tabs where `multiline`.
fn storable(text: &str, multiline: bool) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
}

fn unstorable(field: &str) -> FieldError {
    FieldError::new(
        field,
        "含有无法保存的控制字符，请删去 (holds control characters that cannot be stored)",
    )
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl RawReport {
    /// Checks every field; all problems are reported together.
    pub fn validate(self, files: Vec<Spooled>) -> Result<ValidReport, ApiError> {
        let mut errors = Vec::new();
        if self
            .website
            .as_deref()
            .is_some_and(|w| !w.trim().is_empty())
        {
            // Only robots see this field; say nothing more useful to them.
            return Err(ApiError::BadRequest(
                "the report could not be accepted".to_owned(),
            ));
        }
        // The length is decided before any id is looked at.
        if self.attachment_ids.len() > MAX_ATTACHMENT_IDS {
            return Err(too_many_attachment_ids());
        }
        let mut attachment_ids = Vec::with_capacity(self.attachment_ids.len());
        let mut seen = HashSet::with_capacity(self.attachment_ids.len());
        for raw in &self.attachment_ids {
            match raw.parse::<AttachmentId>() {
                Ok(id) if seen.insert(id) => attachment_ids.push(id),
                _ => errors.push(FieldError::new(
                    "attachment_ids",
                    "附件编号无效或重复 (invalid or repeated attachment id)",
                )),
            }
        }
        let photos = files
            .iter()
            .filter(|f| f.kind() == ContentKind::Photo)
            .count();
        let voices = files.len() - photos;
        if files.len() + attachment_ids.len() > MAX_PHOTOS + MAX_VOICE
            || photos > MAX_PHOTOS
            || voices > MAX_VOICE
        {
            errors.push(FieldError::new(
                "photo",
                format!(
                    "最多{MAX_PHOTOS}张照片和{MAX_VOICE}段语音 (at most {MAX_PHOTOS} photos and {MAX_VOICE} voice note)"
                ),
            ));
        }
        let has_media = !files.is_empty() || !attachment_ids.is_empty();
        let qr_token = non_empty(self.qr_token);
        if qr_token.is_none() {
            errors.push(FieldError::new("qr_token", "必填 (required)"));
        }
        let category = non_empty(self.category);
        if category.is_none() {
            errors.push(FieldError::new(
                "category",
                "请选择问题类别 (choose a category)",
            ));
        }
        let description = self.description.unwrap_or_default().trim().to_owned();
        if description.is_empty() && !has_media {
            errors.push(FieldError::new(
                "description",
                "请描述问题或上传照片 (describe the problem or add a photo)",
            ));
        } else if description.chars().count() > MAX_DESCRIPTION {
            errors.push(FieldError::new(
                "description",
                format!("最多{MAX_DESCRIPTION}字 (at most {MAX_DESCRIPTION} characters)"),
            ));
        }
        if !storable(&description, true) {
            errors.push(unstorable("description"));
        }
        let contact_name = non_empty(self.contact_name);
        if contact_name.as_deref().is_some_and(|n| !storable(n, false)) {
            errors.push(unstorable("contact_name"));
        } else if contact_name
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NAME)
        {
            errors.push(FieldError::new(
                "contact_name",
                format!("最多{MAX_NAME}字 (at most {MAX_NAME} characters)"),
            ));
        }
        let contact_phone = match non_empty(self.contact_phone) {
            None => None,
            Some(raw) => match PhoneNumber::parse(&raw) {
                Ok(phone) => Some(phone),
                Err(_) => {
                    errors.push(FieldError::new(
                        "contact_phone",
                        "请填写11位手机号 (an 11-digit mobile number)",
                    ));
                    None
                }
            },
        };
        let location = match (self.lat, self.lng) {
            (None, None) => None,
            (Some(lat), Some(lng))
                if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng) =>
            {
                Some(GeoPoint { lat, lng })
            }
            (Some(_), Some(_)) => {
                errors.push(FieldError::new(
                    "lat",
                    "位置超出范围 (location out of range)",
                ));
                None
            }
            _ => {
                errors.push(FieldError::new(
                    "lng",
                    "经纬度需同时提供 (latitude and longitude go together)",
                ));
                None
            }
        };
        if self.sms_consent == Some(true) && contact_phone.is_none() {
            errors.push(FieldError::new(
                "contact_phone",
                "要收短信，请填写手机号 (a mobile number is needed for SMS)",
            ));
        }
        match (qr_token, category, errors.is_empty()) {
            (Some(qr_token), Some(category), true) => Ok(ValidReport {
                qr_token,
                category,
                description,
                contact_name,
                contact_phone,
                location,
                files,
                attachment_ids,
                share_location: self.share_location.unwrap_or(location.is_some()),
                sms_consent: self.sms_consent == Some(true),
            }),
            _ => Err(ApiError::Validation(errors)),
        }
    }
}

/// A multipart report: its fields as typed and its spooled photos.
#[derive(Debug, Default)]
pub struct MultipartReport {
    /// The parsed fields.
    pub raw: RawReport,
    /// The fields as typed.
    pub typed: TypedFields,
    /// Errors found while reading (bad numbers).
    pub errors: Vec<FieldError>,
    /// Photos and voice notes accepted so far.
    pub files: Vec<Spooled>,
}

/// Reads a multipart report. Photos are streamed to temporary files with the size
/// limit and content check applied as they arrive.
pub async fn read_multipart(
    multipart: Multipart,
    config: &IntakeConfig,
) -> Result<MultipartReport, ReadFailure> {
    let mut out = MultipartReport::default();
    match read_into(&mut out, multipart, config).await {
        Ok(()) => Ok(out),
        Err(error) => Err(ReadFailure {
            error,
            typed: out.typed,
        }),
    }
}

/// A multipart report that could not be read, with what had been typed so far, so the
/// form can be shown again without losing it.
#[derive(Debug)]
pub struct ReadFailure {
    /// Why.
    pub error: ApiError,
    /// The text fields read before the failure.
    pub typed: TypedFields,
}

async fn read_into(
    out: &mut MultipartReport,
    mut multipart: Multipart,
    config: &IntakeConfig,
) -> Result<(), ApiError> {
    let photo_limits = UploadLimits {
        max_bytes: config.max_photo_bytes,
        allowed: &[ContentKind::Photo],
    };
    let voice_limits = UploadLimits {
        max_bytes: config.max_voice_bytes,
        allowed: &[ContentKind::Audio],
    };
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "photo" | "photo[]" | "photos" | "voice" => {
                let is_voice = name == "voice";
                let index = out.files.len() + 1;
                if index > MAX_PHOTOS + MAX_VOICE {
                    return Err(ApiError::field(
                        "photo",
                        format!("最多{MAX_PHOTOS}张照片 (at most {MAX_PHOTOS} photos)"),
                    ));
                }
                if field.file_name().is_some_and(str::is_empty) {
                    // An empty file input in a browser form: nothing chosen.
                    drain(field).await?;
                    continue;
                }
                let limits = if is_voice {
                    &voice_limits
                } else {
                    &photo_limits
                };
                match spool_file(field, limits, config).await {
                    Ok(spooled) => out.files.push(spooled),
                    Err(UploadError::Empty) => {}
                    Err(err) => return Err(upload_error(err, index, limits.max_bytes, is_voice)),
                }
            }
            "attachment_ids" | "attachment_id" | "attachment_ids[]" => {
                let text = read_text(field, &name).await?;
                for id in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    if out.raw.attachment_ids.len() >= MAX_ATTACHMENT_IDS {
                        return Err(too_many_attachment_ids());
                    }
                    out.raw.attachment_ids.push(id.to_owned());
                }
            }
            "sms_consent" => {
                let text = read_text(field, &name).await?;
                let yes = matches!(text.trim(), "1" | "true" | "on" | "yes");
                out.typed.sms_consent = yes;
                out.raw.sms_consent = Some(yes);
            }
            "share_location" => {
                let text = read_text(field, &name).await?;
                out.raw.share_location = Some(matches!(text.trim(), "1" | "true" | "on" | "yes"));
            }
            "grid" | "form_key" => {
                let text = read_text(field, &name).await?;
                if name == "grid" {
                    out.typed.grid = text;
                } else {
                    out.typed.form_key = text;
                }
            }
            "website" => {
                let text = read_text(field, &name).await?;
                out.raw.website = Some(text);
            }
            "qr_token" | "category" | "description" | "contact_name" | "contact_phone" | "lat"
            | "lng" => {
                let text = read_text(field, &name).await?;
                match name.as_str() {
                    "qr_token" => out.raw.qr_token = Some(text),
                    "category" => {
                        out.typed.category = text.clone();
                        out.raw.category = Some(text);
                    }
                    "description" => {
                        out.typed.description = text.clone();
                        out.raw.description = Some(text);
                    }
                    "contact_name" => {
                        out.typed.contact_name = text.clone();
                        out.raw.contact_name = Some(text);
                    }
                    "contact_phone" => {
                        out.typed.contact_phone = text.clone();
                        out.raw.contact_phone = Some(text);
                    }
                    _ => {
                        let is_lat = name == "lat";
                        if is_lat {
                            out.typed.lat = text.clone();
                        } else {
                            out.typed.lng = text.clone();
                        }
                        let trimmed = text.trim();
                        if !trimmed.is_empty() {
                            match trimmed.parse::<f64>() {
                                Ok(v) if v.is_finite() => {
                                    if is_lat {
                                        out.raw.lat = Some(v);
                                    } else {
                                        out.raw.lng = Some(v);
                                    }
                                }
                                _ => out
                                    .errors
                                    .push(FieldError::new(&name, "不是有效的数字 (not a number)")),
                            }
                        }
                    }
                }
            }
            _ => drain(field).await?,
        }
    }
    Ok(())
}

/// Spools one uploaded file with its limits.
pub async fn spool_file(
    field: Field<'_>,
    limits: &UploadLimits,
    config: &IntakeConfig,
) -> Result<Spooled, UploadError> {
    let stream = pin!(field);
    match &config.spool_dir {
        Some(dir) => mashang_storage::spool_in(stream, limits, dir.clone()).await,
        None => mashang_storage::spool(stream, limits).await,
    }
}

async fn read_text(mut field: Field<'_>, name: &str) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > MAX_TEXT_FIELD {
            return Err(ApiError::PayloadTooLarge(format!(
                "the field {name} is too long"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map_err(|_| ApiError::field(name, "不是有效的文字 (not valid UTF-8 text)"))
}

async fn drain(mut field: Field<'_>) -> Result<(), ApiError> {
    while field.chunk().await.map_err(multipart_error)?.is_some() {}
    Ok(())
}

fn multipart_error(err: MultipartError) -> ApiError {
    if err.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge("the request is over its size limit".to_owned())
    } else {
        ApiError::BadRequest(format!(
            "the multipart body could not be read: {}",
            err.body_text()
        ))
    }
}

/// The client-facing error for a refused file.
pub fn upload_error(err: UploadError, index: usize, max_bytes: u64, voice: bool) -> ApiError {
    let mb = max_bytes / (1024 * 1024);
    match err {
        UploadError::TooLarge { .. } if voice => ApiError::PayloadTooLarge(format!(
            "语音超过{mb}MB (the voice note is over {mb} MB)"
        )),
        UploadError::TooLarge { .. } => ApiError::PayloadTooLarge(format!(
            "第{index}个文件超过{mb}MB (file {index} is over {mb} MB)"
        )),
        UploadError::UnsupportedType if voice => ApiError::UnsupportedMediaType(
            "语音不是WebM、Ogg、MP4或AAC录音 (the voice note is not a WebM, Ogg, MP4 or AAC recording)".to_owned(),
        ),
        UploadError::UnsupportedType => ApiError::UnsupportedMediaType(format!(
            "第{index}个文件不是JPEG、PNG、WebP或HEIC图片 (file {index} is not a JPEG, PNG, WebP or HEIC image)"
        )),
        UploadError::Empty => ApiError::field("photo", "空文件 (empty file)"),
        UploadError::Read(_) => ApiError::BadRequest("the upload was interrupted".to_owned()),
        UploadError::Spool(err) => ApiError::internal(err),
    }
}

#[cfg(test)]
mod fuzz_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawReport {
        RawReport {
            qr_token: Some("tok".into()),
            category: Some("roads".into()),
            description: Some("路灯坏了".into()),
            ..RawReport::default()
        }
    }

    #[test]
    fn a_complete_report_is_valid() {
        let valid = raw().validate(Vec::new()).expect("valid");
        assert_eq!(valid.category, "roads");
        assert!(valid.contact_phone.is_none());
    }

    #[test]
    fn every_missing_field_is_reported_at_once() {
        let Err(ApiError::Validation(errors)) = RawReport::default().validate(Vec::new()) else {
            panic!("an empty report must be refused with field errors");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["qr_token", "category", "description"]);
    }

    #[test]
    fn a_list_of_attachment_ids_longer_than_a_report_holds_is_refused_naming_the_field() {
        let mut r = raw();
        r.attachment_ids = vec!["not even an id".to_owned(); 100_000];
        let Err(ApiError::Validation(errors)) = r.validate(Vec::new()) else {
            panic!("must be refused");
        };
        assert_eq!(errors.len(), 1, "one error, not one per item");
        assert_eq!(errors[0].field, "attachment_ids");
        let mut r = raw();
        r.attachment_ids = (0..MAX_ATTACHMENT_IDS)
            .map(|_| AttachmentId::new().to_string())
            .collect();
        assert!(
            r.validate(Vec::new()).is_ok(),
            "the most a report holds is fine"
        );
    }

    #[test]
    fn a_repeated_attachment_id_is_refused() {
        let id = AttachmentId::new().to_string();
        let mut r = raw();
        r.attachment_ids = vec![id.clone(), id];
        let Err(ApiError::Validation(errors)) = r.validate(Vec::new()) else {
            panic!("must be refused");
        };
        assert_eq!(errors[0].field, "attachment_ids");
    }

    #[test]
    fn bad_phone_location_and_lengths_are_refused() {
        let mut r = raw();
        r.contact_phone = Some("12345".into());
        r.lat = Some(91.0);
        r.lng = Some(0.0);
        r.description = Some("字".repeat(MAX_DESCRIPTION + 1));
        let Err(ApiError::Validation(errors)) = r.validate(Vec::new()) else {
            panic!("must be refused");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["description", "contact_phone", "lat"]);
        let mut r = raw();
        r.lat = Some(30.0);
        assert!(
            r.validate(Vec::new()).is_err(),
            "a latitude without longitude is refused"
        );
    }
}
