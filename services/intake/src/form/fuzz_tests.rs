//! Fuzzing the reading of a citizen's report form (multipart, as a phone's browser
//! posts it): whatever the body, reading ends with the fields as typed or with an
//! error the citizen sees (400, 413, 415, 422), never a panic or a server error, and
//! a report that passes the checks holds only text the database can store.

use std::io::Cursor;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use mashang_auth::PiiKey;
use proptest::prelude::*;

use super::*;

/// A small real photo.
fn jpeg() -> &'static [u8] {
    static JPEG: OnceLock<Vec<u8>> = OnceLock::new();
    JPEG.get_or_init(|| {
        let img =
            image::RgbImage::from_fn(4, 4, |x, y| image::Rgb([x as u8 * 60, y as u8 * 60, 9]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg)
            .expect("encoding a test photo");
        out.into_inner()
    })
}

fn config() -> IntakeConfig {
    let key = PiiKey::from_base64(&PiiKey::generate_base64().expect("a key")).expect("a key");
    IntakeConfig::new("https://mashang.example.cn", key)
}

/// One part of the form.
#[derive(Clone, Debug)]
enum Part {
    Text(&'static str, String),
    /// A file input: its name, file name and content.
    File(&'static str, String, Vec<u8>),
}

fn text_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("路灯坏了，晚上很黑".to_owned()),
        Just("13800000001".to_owned()),
        Just("34.26".to_owned()),
        Just("NaN".to_owned()),
        Just("1e400".to_owned()),
        Just("on".to_owned()),
        Just("第一行\r\n第二行".to_owned()),
        Just("a\0b".to_owned()),
        Just("\u{7}".to_owned()),
        Just("字".repeat(2001)),
        Just("x".repeat(16 * 1024 + 1)),
        "\\PC{0,60}",
        ".{0,40}",
    ]
}

fn part() -> impl Strategy<Value = Part> {
    let text_names = proptest::sample::select(vec![
        "qr_token",
        "category",
        "description",
        "contact_name",
        "contact_phone",
        "lat",
        "lng",
        "share_location",
        "sms_consent",
        "website",
        "attachment_ids",
        "grid",
        "form_key",
        "something_else",
    ]);
    let file = (
        proptest::sample::select(vec!["photo", "photo[]", "photos", "voice", "attachment"]),
        prop_oneof![
            Just("IMG_0001.jpg".to_owned()),
            Just(String::new()),
            "[^\"\r\n]{0,20}"
        ],
        prop_oneof![
            Just(jpeg().to_vec()),
            Just(Vec::new()),
            proptest::collection::vec(any::<u8>(), 0..64),
        ],
    )
        .prop_map(|(name, file, content)| Part::File(name, file, content));
    prop_oneof![
        4 => (text_names, text_value()).prop_map(|(n, v)| Part::Text(n, v)),
        1 => file,
    ]
}

fn boundary() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("----WebKitFormBoundary7MA4YWxkTrZu0gW".to_owned()),
        "[A-Za-z0-9'()+_,./:=?-]{1,70}",
    ]
}

fn body(boundary: &str, parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match part {
            Part::Text(name, value) => {
                out.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                );
                out.extend_from_slice(value.as_bytes());
            }
            Part::File(name, file, content) => {
                out.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                         Content-Type: image/jpeg\r\n\r\n"
                    )
                    .as_bytes(),
                );
                out.extend_from_slice(content);
            }
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// Reads `body` as the report handler does, then checks it.
fn read(content_type: &str, body: Vec<u8>) -> Result<MultipartReport, ApiError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let request = Request::builder()
            .method("POST")
            .header("content-type", content_type)
            .body(Body::from(body))
            .expect("a request");
        let multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        read_multipart(multipart, &config())
            .await
            .map_err(|f| f.error)
    })
}

/// What holds whatever was sent: a report or an error the citizen can act on, and a
/// checked report holds only storable text.
fn read_or_refused(outcome: Result<MultipartReport, ApiError>) -> Result<(), TestCaseError> {
    match outcome {
        Ok(report) => {
            prop_assert!(report.files.len() <= crate::MAX_PHOTOS + crate::MAX_VOICE);
            match report.raw.validate(report.files) {
                Ok(valid) => {
                    prop_assert!(!valid.description.contains('\0'));
                    prop_assert!(
                        !valid
                            .contact_name
                            .unwrap_or_default()
                            .chars()
                            .any(char::is_control)
                    );
                    prop_assert!(valid.description.chars().count() <= MAX_DESCRIPTION);
                }
                Err(err) => prop_assert!(matches!(err.status().as_u16(), 400 | 422), "{err:?}"),
            }
        }
        Err(err) => prop_assert!(
            matches!(err.status().as_u16(), 400 | 413 | 415 | 422),
            "{err:?}"
        ),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn fuzz_report_form_reads_back_as_typed(
        boundary in boundary(),
        parts in proptest::collection::vec(part(), 0..12),
    ) {
        let outcome = read(&format!("multipart/form-data; boundary=\"{boundary}\""), body(&boundary, &parts));
        let too_long = parts.iter().any(|p| matches!(p, Part::Text(_, v) if v.len() > 16 * 1024));
        if let Ok(report) = &outcome {
            let last = |field: &str| parts.iter().rev().find_map(|p| match p {
                Part::Text(n, v) if *n == field => Some(v.clone()),
                _ => None,
            });
            prop_assert_eq!(report.typed.description.clone(), last("description").unwrap_or_default());
            prop_assert_eq!(report.typed.contact_phone.clone(), last("contact_phone").unwrap_or_default());
            prop_assert_eq!(report.raw.qr_token.clone(), last("qr_token"));
            prop_assert_eq!(report.raw.category.clone(), last("category"));
        } else if !too_long {
            // Only a field over its limit or a file that is not a photo is refused.
            let file_refused = parts.iter().any(|p| matches!(p, Part::File(..)));
            prop_assert!(file_refused, "{:?}", outcome.err());
        }
        read_or_refused(outcome)?;
    }

    #[test]
    fn fuzz_damaged_report_form_is_read_or_refused(
        boundary in boundary(),
        parts in proptest::collection::vec(part(), 0..8),
        cut in any::<usize>(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        content_type in prop_oneof![
            Just("multipart/form-data; boundary={b}"),
            Just("multipart/form-data; boundary=\"{b}\""),
            Just("multipart/form-data; boundary={b}x"),
            Just("multipart/form-data"),
            Just("multipart/form-data; boundary="),
        ],
    ) {
        let mut bytes = body(&boundary, &parts);
        let len = bytes.len();
        bytes.truncate(len - cut % (len / 2 + 1));
        for (at, b) in flips {
            let len = bytes.len().max(1);
            if let Some(byte) = bytes.get_mut(at % len) {
                *byte ^= b | 1;
            }
        }
        read_or_refused(read(&content_type.replace("{b}", &boundary), bytes))?;
    }
}

#[test]
fn a_report_with_a_nul_in_its_text_is_refused_naming_the_field() {
    let report = RawReport {
        qr_token: Some("tok".into()),
        category: Some("roads".into()),
        description: Some("路灯\0坏了".into()),
        contact_name: Some("李\u{1b}娜".into()),
        ..RawReport::default()
    };
    let Err(ApiError::Validation(errors)) = report.validate(Vec::new()) else {
        panic!("must be refused");
    };
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["description", "contact_name"]);
    let multiline = RawReport {
        qr_token: Some("tok".into()),
        category: Some("roads".into()),
        description: Some("第一行\r\n第二行\t!".into()),
        ..RawReport::default()
    };
    assert!(
        multiline.validate(Vec::new()).is_ok(),
        "line breaks are text"
    );
}
