//! The session cookie.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "mashang_session";

/// The sign-in form's cookie: a random value whose keyed hash the form carries
/// (login CSRF), sent only to the sign-in pages under `/login`.
pub const SIGNIN_COOKIE: &str = "mashang_signin";

/// The session token from the request's cookies, if present.
pub fn session_from(headers: &HeaderMap) -> Option<String> {
    named(headers, SESSION_COOKIE)
}

/// A cookie's value, if present and not empty.
pub fn named(headers: &HeaderMap, cookie: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == cookie)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `Set-Cookie` for the sign-in form's value: HttpOnly, SameSite=Strict, `/login` only.
pub fn set_signin(value: &str, max_age_secs: i64, secure: bool) -> String {
    format!(
        "{SIGNIN_COOKIE}={value}; Path=/login; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` for a session: HttpOnly, SameSite=Lax, Secure when served over TLS.
pub fn set_session(token: &str, max_age_secs: i64, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_session(secure: bool) -> String {
    set_session("", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_the_session_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            "a=1; mashang_session=mss_abc; b=2"
                .parse()
                .expect("a header"),
        );
        assert_eq!(session_from(&headers).as_deref(), Some("mss_abc"));
        let set = set_session("mss_abc", 3600, true);
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.ends_with("; Secure")
        );
        assert!(!set_session("x", 1, false).contains("Secure"));
    }
}

#[cfg(test)]
mod fuzz_tests {
    //! The `Cookie` header is whatever the browser (or anyone) sends: the session
    //! cookie is read back exactly as set, and any header gives a value or none.

    use axum::http::HeaderValue;
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn fuzz_the_session_cookie_set_is_the_one_read(
            token in "mss_[A-Za-z0-9_-]{1,64}",
            before in proptest::collection::vec(("[a-z_]{1,12}", "[A-Za-z0-9=_-]{0,12}"), 0..4),
            after in proptest::collection::vec(("[a-z_]{1,12}", "[A-Za-z0-9=_-]{0,12}"), 0..4),
        ) {
            let set = set_session(&token, 3600, true);
            let pair = set.split(';').next().expect("name=value first");
            let others = |v: &[(String, String)]| {
                v.iter()
                    .filter(|(n, _)| n != SESSION_COOKIE)
                    .map(|(n, v)| format!("{n}={v}"))
                    .collect::<Vec<_>>()
            };
            let header = [others(&before), vec![pair.to_owned()], others(&after)]
                .concat()
                .join("; ");
            let mut headers = HeaderMap::new();
            headers.insert(COOKIE, HeaderValue::from_str(&header).expect("a header"));
            prop_assert_eq!(session_from(&headers), Some(token));
        }

        #[test]
        fn fuzz_any_cookie_header_gives_a_value_or_none(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            if let Ok(value) = HeaderValue::from_bytes(&bytes) {
                let mut headers = HeaderMap::new();
                headers.insert(COOKIE, value);
                if let Some(found) = session_from(&headers) {
                    prop_assert!(!found.is_empty() && !found.contains(';'));
                }
            }
        }
    }
}
