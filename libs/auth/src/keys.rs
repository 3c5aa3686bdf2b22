//! Keys for keyed hashes (HMAC-SHA256), derived from the deployment's personal-data
//! key with one label per use, so operators keep a single secret (see
//! `docs/decisions/0014-keyed-secrets.md`). A derived key never leaves the process.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::pii::PiiKey;

type HmacSha256 = Hmac<Sha256>;

/// One derived 256-bit key. `Debug` never prints it.
#[derive(Clone)]
pub struct MacKey([u8; 32]);

impl std::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacKey([redacted])")
    }
}

impl MacKey {
    /// `HMAC-SHA256(root, "mashang/" || label)`: a key for one use only.
    pub fn derive(root: &PiiKey, label: &str) -> Self {
        Self(hmac(root.root_bytes(), &[b"mashang/", label.as_bytes()]))
    }

    /// The keyed hash of `parts`, each prefixed with its length so that no two
    /// different lists of parts hash alike.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut framed: Vec<&[u8]> = Vec::with_capacity(parts.len() * 2);
        let lengths: Vec<[u8; 8]> = parts
            .iter()
            .map(|p| (p.len() as u64).to_be_bytes())
            .collect();
        for (part, len) in parts.iter().zip(&lengths) {
            framed.push(len);
            framed.push(part);
        }
        hmac(&self.0, &framed)
    }

    /// Whether `tag` is the keyed hash of `parts` (constant time).
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        bool::from(self.mac(parts).as_slice().ct_eq(tag))
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The keys staff access uses, each derived for its one purpose.
#[derive(Clone, Debug)]
pub struct Keys {
    /// Stored hashes of one-time reset codes.
    pub reset_codes: MacKey,
    /// The sign-in form's token (login CSRF).
    pub signin_forms: MacKey,
    /// Stored hashes of sign-in links' tokens.
    pub case_links: MacKey,
}

impl Keys {
    /// Derives every key from the deployment's personal-data key.
    pub fn derive(root: &PiiKey) -> Self {
        Self {
            reset_codes: MacKey::derive(root, "reset-codes/v1"),
            signin_forms: MacKey::derive(root, "signin-forms/v1"),
            case_links: MacKey::derive(root, "case-links/v1"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PiiKey {
        PiiKey::from_base64(&PiiKey::generate_base64().expect("random")).expect("key")
    }

    #[test]
    fn keys_differ_by_label_and_root_and_verify_in_constant_time() {
        let r = root();
        let a = MacKey::derive(&r, "reset-codes/v1");
        let b = MacKey::derive(&r, "signin-forms/v1");
        let tag = a.mac(&[b"12345678"]);
        assert_ne!(tag, b.mac(&[b"12345678"]), "labels separate the keys");
        assert_ne!(
            tag,
            MacKey::derive(&root(), "reset-codes/v1").mac(&[b"12345678"]),
            "another deployment's key gives another hash"
        );
        assert!(a.verify(&[b"12345678"], &tag));
        assert!(!a.verify(&[b"12345679"], &tag));
        assert_ne!(
            a.mac(&[b"ab", b"c"]),
            a.mac(&[b"a", b"bc"]),
            "parts are framed"
        );
        assert_eq!(format!("{a:?}"), "MacKey([redacted])");
    }
}
