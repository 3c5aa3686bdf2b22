//! Sealing personal data at rest: citizens' phone numbers are stored only encrypted
//! (AES-256-GCM with a random nonce), under a key from configuration shared by the
//! services that store them (intake) and open them for the assignee (routing).

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;

const NONCE_LEN: usize = 12;

/// The 256-bit sealing key. `Debug` never prints it.
#[derive(Clone)]
pub struct PiiKey(Aes256Gcm);

impl std::fmt::Debug for PiiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PiiKey([redacted])")
    }
}

/// Why a key or a sealed value is unusable.
#[derive(Debug, thiserror::Error)]
pub enum PiiError {
    /// The configured key is not 32 bytes of base64.
    #[error("the personal-data key must be 32 bytes, base64-encoded")]
    BadKey,
    /// Randomness unavailable.
    #[error("no randomness available")]
    Random,
    /// A sealed value does not open with this key.
    #[error("a sealed value could not be opened (wrong key or damaged)")]
    Open,
}

impl PiiKey {
    /// Reads a base64-encoded 32-byte key.
    pub fn from_base64(encoded: &str) -> Result<Self, PiiError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| PiiError::BadKey)?;
        let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| PiiError::BadKey)?;
        Ok(Self(cipher))
    }

    /// A fresh random key, base64-encoded (for first-time set-up and tests).
    pub fn generate_base64() -> Result<String, PiiError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| PiiError::Random)?;
        Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    /// Encrypts `plain`: nonce followed by ciphertext and tag.
    pub fn seal(&self, plain: &str) -> Result<Vec<u8>, PiiError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| PiiError::Random)?;
        let sealed = self
            .0
            .encrypt(&Nonce::from(nonce), plain.as_bytes())
            .map_err(|_| PiiError::Random)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts a value made by [`PiiKey::seal`].
    pub fn open(&self, sealed: &[u8]) -> Result<String, PiiError> {
        if sealed.len() <= NONCE_LEN {
            return Err(PiiError::Open);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| PiiError::Open)?;
        let plain = self
            .0
            .decrypt(&Nonce::from(nonce), body)
            .map_err(|_| PiiError::Open)?;
        String::from_utf8(plain).map_err(|_| PiiError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_without_the_digits_and_opens_again() {
        let key = PiiKey::from_base64(&PiiKey::generate_base64().expect("random")).expect("key");
        let sealed = key.seal("13812341234").expect("seals");
        assert!(!sealed.windows(11).any(|w| w == b"13812341234"));
        assert_ne!(
            sealed,
            key.seal("13812341234").expect("seals"),
            "nonces differ"
        );
        assert_eq!(key.open(&sealed).expect("opens"), "13812341234");
        let other = PiiKey::from_base64(&PiiKey::generate_base64().expect("random")).expect("key");
        assert!(other.open(&sealed).is_err());
        assert!(PiiKey::from_base64("c2hvcnQ=").is_err());
    }
}
