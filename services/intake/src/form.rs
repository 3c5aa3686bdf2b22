//! Reading a report from the request — JSON, or multipart with photos streamed to
//! temporary files — and checking every field, collecting all errors at once.

use std::pin::pin;

use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};
use mashang_domain::PhoneNumber;
use mashang_domain::events::GeoPoint;
use mashang_http::{ApiError, FieldError};
use mashang_storage::{ContentKind, Spooled, UploadError, UploadLimits};
use serde::Deserialize;

use crate::{IntakeConfig, MAX_PHOTOS};

/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 2000;
/// Longest contact name, in characters.
pub const MAX_NAME: usize = 50;
/// Largest text field of a multipart form, in bytes.
const MAX_TEXT_FIELD: usize = 16 * 1024;

/// The report's fields as sent, before checking.
#[derive(Debug, Default, Deserialize)]
pub struct RawReport {
    /// The scanned token.
    pub qr_token: Option<String>,
    /// Category code.
    pub category: Option<String>,
    /// What is wrong.
    pub description: Option<String>,
    /// Who to call back.
    pub contact_name: Option<String>,
    /// Number to call back on.
    pub contact_phone: Option<String>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lng: Option<f64>,
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
    /// Photos, spooled and sniffed.
    pub photos: Vec<Spooled>,
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
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl RawReport {
    /// Checks every field; all problems are reported together.
    pub fn validate(self, photos: Vec<Spooled>) -> Result<ValidReport, ApiError> {
        let mut errors = Vec::new();
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
        if description.is_empty() && photos.is_empty() {
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
        let contact_name = non_empty(self.contact_name);
        if contact_name
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
        match (qr_token, category, errors.is_empty()) {
            (Some(qr_token), Some(category), true) => Ok(ValidReport {
                qr_token,
                category,
                description,
                contact_name,
                contact_phone,
                location,
                photos,
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
    /// Photos accepted so far.
    pub photos: Vec<Spooled>,
}

/// Reads a multipart report. Photos are streamed to temporary files with the size
/// limit and content check applied as they arrive.
pub async fn read_multipart(
    mut multipart: Multipart,
    config: &IntakeConfig,
) -> Result<MultipartReport, ApiError> {
    let mut out = MultipartReport::default();
    let limits = UploadLimits {
        max_bytes: config.max_photo_bytes,
        allowed: &[ContentKind::Photo],
    };
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "photo" | "photo[]" | "photos" => {
                let index = out.photos.len() + 1;
                if index > MAX_PHOTOS {
                    return Err(ApiError::field(
                        "photo",
                        format!("最多{MAX_PHOTOS}张照片 (at most {MAX_PHOTOS} photos)"),
                    ));
                }
                if field.file_name().is_some_and(str::is_empty) {
                    // An empty file input in a browser form: no photo chosen.
                    drain(field).await?;
                    continue;
                }
                match spool_photo(field, &limits, config).await {
                    Ok(spooled) => out.photos.push(spooled),
                    Err(UploadError::Empty) => {}
                    Err(err) => return Err(upload_error(err, index, config.max_photo_bytes)),
                }
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
    Ok(out)
}

async fn spool_photo(
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

/// The client-facing error for a refused photo.
pub fn upload_error(err: UploadError, index: usize, max_bytes: u64) -> ApiError {
    match err {
        UploadError::TooLarge { .. } => ApiError::PayloadTooLarge(format!(
            "第{index}张照片超过{}MB (photo {index} is over {} MB)",
            max_bytes / (1024 * 1024),
            max_bytes / (1024 * 1024)
        )),
        UploadError::UnsupportedType => ApiError::UnsupportedMediaType(format!(
            "第{index}张照片不是JPEG、PNG、WebP或HEIC图片 (photo {index} is not a JPEG, PNG, WebP or HEIC image)"
        )),
        UploadError::Empty => ApiError::field("photo", "空文件 (empty file)"),
        UploadError::Read(_) => ApiError::BadRequest("the upload was interrupted".to_owned()),
        UploadError::Spool(err) => ApiError::internal(err),
    }
}

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
