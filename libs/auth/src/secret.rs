//! Random secrets (tokens, codes) and their stored hashes.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::AuthError;

/// A new URL-safe random token of `bytes` random bytes, with a readable prefix.
pub fn token(prefix: &str, bytes: usize) -> Result<String, AuthError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| AuthError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
    ))
}

/// A new numeric code of `digits` digits (for reset codes read out over the phone).
pub fn digits(digits: usize) -> Result<String, AuthError> {
    let mut buf = vec![0u8; digits];
    getrandom::fill(&mut buf)
        .map_err(|e| AuthError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    // 250 is the largest multiple of 10 below 256: reject above it to stay unbiased.
    let mut out = String::with_capacity(digits);
    let mut pool = buf;
    while out.len() < digits {
        for b in &pool {
            if *b < 250 && out.len() < digits {
                out.push(char::from(b'0' + b % 10));
            }
        }
        pool = vec![0u8; digits];
        getrandom::fill(&mut pool)
            .map_err(|e| AuthError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    }
    Ok(out)
}

/// The stored form of a secret: its SHA-256.
pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_codes_have_their_shape() {
        let t = token("mss_", 32).expect("randomness");
        assert!(t.starts_with("mss_") && t.len() == 4 + 43);
        let c = digits(8).expect("randomness");
        assert_eq!(c.len(), 8);
        assert!(c.chars().all(|d| d.is_ascii_digit()));
        assert_eq!(hash("x").len(), 32);
    }
}
