//! Passwords: length rules, argon2id hashing off the async threads.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::error::AuthError;

/// A password a person chose: 8 to 128 characters, not all digits of one kind.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl Password {
    /// Checks a new password.
    pub fn new(raw: &str) -> Result<Self, AuthError> {
        let len = raw.chars().count();
        if !(8..=128).contains(&len) {
            return Err(AuthError::Invalid {
                field: "password",
                message: "密码长度为8到128个字符 (8 to 128 characters)".to_owned(),
            });
        }
        let mut chars = raw.chars();
        let first = chars.next();
        if chars.all(|c| Some(c) == first) {
            return Err(AuthError::Invalid {
                field: "password",
                message: "密码不能是同一个字符重复 (not one character repeated)".to_owned(),
            });
        }
        Ok(Self(raw.to_owned()))
    }

    /// The password's text, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Hashes a password with argon2id (PHC string), on a blocking thread.
pub async fn hash_password(password: &Password) -> Result<String, AuthError> {
    let plain = password.0.clone();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(plain.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AuthError::Internal(anyhow::anyhow!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| AuthError::Internal(e.into()))?
}

/// Checks a password against a stored hash, on a blocking thread. A malformed hash
/// counts as a mismatch.
pub async fn verify_password(plain: &str, stored: &str) -> Result<bool, AuthError> {
    let plain = plain.to_owned();
    let stored = stored.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(plain.as_bytes(), stored.as_str())
            .is_ok()
    })
    .await
    .map_err(|e| AuthError::Internal(e.into()))
}

/// Spends about as long as a real check, so an unknown login is not told apart by timing.
pub async fn burn_a_check() {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$m0YIuCLSvaM0RWjIBHcg2g1SFODF2SfN9O8yxbQRgvs";
    let _ = verify_password("not the password", DUMMY).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_rules_hold() {
        let p = Password::new("correct horse").expect("valid");
        let stored = hash_password(&p).await.expect("hashed");
        assert!(stored.starts_with("$argon2id$"));
        assert!(
            verify_password("correct horse", &stored)
                .await
                .expect("checked")
        );
        assert!(
            !verify_password("wrong horse", &stored)
                .await
                .expect("checked")
        );
        assert!(!verify_password("x", "not a hash").await.expect("checked"));
        assert!(Password::new("short").is_err());
        assert!(Password::new("11111111").is_err());
        assert!(!format!("{p:?}").contains("horse"));
    }
}
