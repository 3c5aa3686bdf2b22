//! The operator token: a bearer token for operations automation, separate from any
//! staff sign-in. Requests carrying it act as the operator, across tenants.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use subtle::ConstantTimeEq;

use crate::problem::ApiError;

/// The shortest operator token `mashang serve` accepts: it opens every township's
/// staff endpoints, so it must not be guessable (`openssl rand -base64 32` gives 44).
pub const MIN_OPERATOR_TOKEN_CHARS: usize = 32;

/// Refuses an operator token too short to be safe (an empty one turns access off and
/// is accepted), with a message naming the setting.
pub fn check_operator_token(token: Option<&str>) -> Result<(), String> {
    match token {
        Some(t) if !t.is_empty() && t.chars().count() < MIN_OPERATOR_TOKEN_CHARS => Err(format!(
            "MASHANG_OPERATOR_TOKEN is {} characters long; it must have at least \
             {MIN_OPERATOR_TOKEN_CHARS} (generate one with `openssl rand -base64 32`), \
             or be unset to turn operator access off",
            t.chars().count()
        )),
        _ => Ok(()),
    }
}

/// The configured operator token, placed in request extensions by the process.
/// `Debug` never prints it.
#[derive(Clone)]
pub struct OperatorToken(Option<Arc<str>>);

impl std::fmt::Debug for OperatorToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OperatorToken([redacted])")
    }
}

impl OperatorToken {
    /// A token; an empty string disables operator access.
    pub fn new(token: Option<String>) -> Self {
        Self(token.filter(|t| !t.is_empty()).map(Arc::from))
    }

    fn matches(&self, presented: &str) -> bool {
        self.0
            .as_deref()
            .is_some_and(|expected| bool::from(expected.as_bytes().ct_eq(presented.as_bytes())))
    }
}

/// Proof that the request carried the operator token (`Authorization: Bearer …`).
#[derive(Debug, Clone, Copy)]
pub struct Operator;

impl<S: Send + Sync> FromRequestParts<S> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let token = parts
            .extensions
            .get::<OperatorToken>()
            .ok_or(ApiError::Unauthorized)?;
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        if token.matches(presented.trim()) {
            Ok(Operator)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{OperatorToken, check_operator_token};

    #[test]
    fn short_operator_tokens_are_refused() {
        assert!(check_operator_token(None).is_ok());
        assert!(
            check_operator_token(Some("")).is_ok(),
            "empty turns access off"
        );
        let short = check_operator_token(Some("operator-token-for-tests")).expect_err("short");
        assert!(short.contains("MASHANG_OPERATOR_TOKEN") && short.contains("32"));
        assert!(check_operator_token(Some(&"x".repeat(32))).is_ok());
    }

    #[test]
    fn empty_token_disables_operator_access() {
        assert!(!OperatorToken::new(Some(String::new())).matches(""));
        assert!(!OperatorToken::new(None).matches("x"));
        let t = OperatorToken::new(Some("secret".into()));
        assert!(t.matches("secret"));
        assert!(!t.matches("secreT"));
        assert!(!format!("{t:?}").contains("secret"));
    }
}
