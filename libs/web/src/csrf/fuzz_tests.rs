//! Fuzzing the search for the CSRF token in a multipart form, which reads every
//! upload a signed-in official posts: whatever the body and the content type, the
//! search returns the form's token or none, never a panic; a token found in the first
//! chunks of a body is the whole token; a file's name is never taken for the field.

use proptest::prelude::*;

use super::*;

/// One part of a browser's multipart form.
#[derive(Clone, Debug)]
enum Part {
    Field(String, String),
    File(String, String, Vec<u8>),
}

fn part() -> impl Strategy<Value = Part> {
    let field_name = prop_oneof![
        Just("name".to_owned()),
        Just("_csrf_old".to_owned()),
        Just("x_csrf".to_owned()),
        "[a-z_]{1,10}",
    ];
    let file_name = prop_oneof![
        Just("_csrf".to_owned()),
        Just("名单.xlsx".to_owned()),
        "[^\"\r\n]{0,12}",
    ];
    prop_oneof![
        (field_name.clone(), "\\PC{0,30}").prop_map(|(n, v)| Part::Field(n, v)),
        (
            field_name,
            file_name,
            proptest::collection::vec(any::<u8>(), 0..80)
        )
            .prop_map(|(n, f, c)| Part::File(n, f, c)),
    ]
}

fn encode(boundary: &str, parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match part {
            Part::Field(name, value) => {
                out.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}")
                        .as_bytes(),
                );
            }
            Part::File(name, file, content) => {
                out.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                         Content-Type: application/octet-stream\r\n\r\n"
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

/// A form as a browser sends it: a boundary no content contains, and the token at
/// `at` among the other parts.
fn form() -> impl Strategy<Value = (String, String, Vec<Part>)> {
    (
        "[A-Za-z0-9]{16,40}",
        "[A-Za-z0-9_-]{32}",
        proptest::collection::vec(part(), 0..6),
        any::<usize>(),
    )
        .prop_map(|(boundary, token, mut parts, at)| {
            let at = at % (parts.len() + 1);
            parts.insert(at, Part::Field(FIELD.to_owned(), token.clone()));
            (format!("----WebKitFormBoundary{boundary}"), token, parts)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn fuzz_the_token_of_a_form_is_found_wherever_it_is(
        (boundary, token, parts) in form(),
        quoted in any::<bool>(),
    ) {
        let content_type = if quoted {
            format!("multipart/form-data; boundary=\"{boundary}\"")
        } else {
            format!("multipart/form-data; boundary={boundary}")
        };
        let body = encode(&boundary, &parts);
        prop_assert_eq!(multipart_csrf(&content_type, &body), Some(token));
    }

    #[test]
    fn fuzz_a_token_found_in_the_first_chunks_is_the_whole_token(
        (boundary, token, parts) in form(),
        cut in any::<usize>(),
    ) {
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let body = encode(&boundary, &parts);
        let prefix = &body[..cut % (body.len() + 1)];
        if let Some(found) = multipart_field(&content_type, prefix, true) {
            prop_assert_eq!(found, token);
        }
    }

    #[test]
    fn fuzz_any_body_and_content_type_give_a_token_or_none(
        content_type in prop_oneof![
            Just("multipart/form-data; boundary=".to_owned()),
            Just("multipart/form-data; boundary=\"\"".to_owned()),
            Just("multipart/form-data; boundary=-".to_owned()),
            "multipart/form-data; boundary=\\PC{0,20}",
            "\\PC{0,40}",
        ],
        body in proptest::collection::vec(any::<u8>(), 0..400),
        (boundary, _, parts) in form(),
        damage in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
    ) {
        multipart_csrf(&content_type, &body);
        multipart_field(&content_type, &body, true);
        let mut damaged = encode(&boundary, &parts);
        for (at, b) in damage {
            let len = damaged.len();
            damaged[at % len] ^= b;
        }
        let content_type = format!("multipart/form-data; boundary={boundary}");
        if let Some(token) = multipart_csrf(&content_type, &damaged) {
            prop_assert!(token.len() <= damaged.len());
        }
    }
}

#[test]
fn a_file_named_like_the_token_field_is_not_the_token() {
    let body =
        b"--XyZ\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"_csrf\"\r\n\r\n\
JPEG\r\n--XyZ\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\ntok-7\r\n--XyZ--\r\n";
    assert_eq!(
        multipart_csrf("multipart/form-data; boundary=XyZ", body).as_deref(),
        Some("tok-7")
    );
}
