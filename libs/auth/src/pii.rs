//! Sealing personal data at rest: citizens' phone numbers are stored only encrypted
//! (AES-256-GCM with a random nonce), under a key from configuration shared by the
//! services that store them (intake) and open them for the assignee (routing).
//!
//! A value sealed with [`PiiKey::seal_bound`] names its township, its row and its
//! field as associated data: copied to another row or township it no longer opens
//! (`docs/decisions/0015-no-contact-details-on-the-bus.md`). Its first byte is
//! [`BOUND_V2`]; older values (nonce first, no associated data) still open, read-only.

use aes_gcm::aead::Payload;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use uuid::Uuid;

const NONCE_LEN: usize = 12;
/// The first byte of a value sealed with associated data.
pub const BOUND_V2: u8 = 2;

/// The 256-bit sealing key. `Debug` never prints it.
#[derive(Clone)]
pub struct PiiKey(Aes256Gcm, [u8; 32]);

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
        let root: [u8; 32] = bytes.try_into().map_err(|_| PiiError::BadKey)?;
        Ok(Self(cipher, root))
    }

    /// The key's bytes, from which [`crate::keys::MacKey`] derives keys for other uses.
    pub(crate) fn root_bytes(&self) -> &[u8] {
        &self.1
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

    /// Encrypts `plain` for one field of one row of one township: version byte, nonce,
    /// ciphertext and tag, with the township, row and field as associated data.
    pub fn seal_bound(
        &self,
        plain: &str,
        tenant: Uuid,
        row: Uuid,
        field: &str,
    ) -> Result<Vec<u8>, PiiError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| PiiError::Random)?;
        let aad = binding(tenant, row, field);
        let sealed = self
            .0
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| PiiError::Random)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(BOUND_V2);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts a value made by [`PiiKey::seal_bound`] for the same township, row and
    /// field; a value sealed before binding existed ([`PiiKey::seal`]) also opens.
    pub fn open_bound(
        &self,
        sealed: &[u8],
        tenant: Uuid,
        row: Uuid,
        field: &str,
    ) -> Result<String, PiiError> {
        if sealed.first() == Some(&BOUND_V2) && sealed.len() > 1 + NONCE_LEN {
            let (nonce, body) = sealed[1..].split_at(NONCE_LEN);
            let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| PiiError::Open)?;
            let aad = binding(tenant, row, field);
            if let Ok(plain) = self.0.decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: body,
                    aad: &aad,
                },
            ) {
                return String::from_utf8(plain).map_err(|_| PiiError::Open);
            }
        }
        // A legacy value's first byte is its random nonce's, so it may also be 2.
        self.open(sealed)
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

/// The associated data binding a sealed value to its place.
fn binding(tenant: Uuid, row: Uuid, field: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(16 + 16 + 16 + field.len());
    aad.extend_from_slice(b"mashang/pii/v2\0");
    aad.extend_from_slice(tenant.as_bytes());
    aad.extend_from_slice(row.as_bytes());
    aad.extend_from_slice(field.as_bytes());
    aad
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

    #[test]
    fn a_bound_value_opens_only_in_its_place() {
        let key = PiiKey::from_base64(&PiiKey::generate_base64().expect("random")).expect("key");
        let (tenant, row, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let sealed = key
            .seal_bound("13812341234", tenant, row, "contact_phone")
            .expect("seals");
        assert_eq!(sealed[0], BOUND_V2);
        assert_eq!(
            key.open_bound(&sealed, tenant, row, "contact_phone")
                .expect("opens"),
            "13812341234"
        );
        assert!(
            key.open_bound(&sealed, tenant, other, "contact_phone")
                .is_err(),
            "another row"
        );
        assert!(
            key.open_bound(&sealed, other, row, "contact_phone")
                .is_err(),
            "another township"
        );
        assert!(
            key.open_bound(&sealed, tenant, row, "contact_name")
                .is_err(),
            "another field"
        );
        assert!(key.open(&sealed).is_err(), "no unbound reading");
        // Values sealed before binding still open (read-only).
        let legacy = key.seal("13812341234").expect("seals");
        assert_eq!(
            key.open_bound(&legacy, tenant, row, "contact_phone")
                .expect("opens"),
            "13812341234"
        );
    }
}
