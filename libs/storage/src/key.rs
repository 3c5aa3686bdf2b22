//! Object keys: always `<tenant-uuid>/<area>/<name>`, so every object belongs to one
//! tenant and a key can be turned into a file path without escaping the store's root.

use std::fmt;
use std::str::FromStr;

use mashang_domain::TenantId;

/// Longest accepted `area` segment, in bytes.
pub const MAX_AREA_LEN: usize = 64;
/// Longest accepted `name` segment, in bytes; well under the 255-byte file-name limit
/// of common file systems, leaving room for the local store's sidecar and temp names.
pub const MAX_NAME_LEN: usize = 200;

/// A validated object key that begins with the owning tenant's id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobKey {
    tenant: TenantId,
    key: String,
    /// Where the area segment starts in `key`.
    area_at: usize,
    /// Where the name segment starts in `key`.
    name_at: usize,
}

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key does not have exactly three `/`-separated segments.
    #[error("an object key has the form <tenant-uuid>/<area>/<name>")]
    Shape,
    /// The first segment is not a tenant id in canonical (lower-case, hyphenated) form.
    #[error("the first segment of an object key must be a tenant id")]
    Tenant,
    /// The area or name segment is empty, too long, starts with something other than
    /// `[a-z0-9]`, contains `..`, or has a character outside `[a-z0-9._-]`.
    #[error(
        "the {segment} segment of an object key must be 1 to {max} characters of [a-z0-9._-], \
         start with [a-z0-9] and not contain '..'"
    )]
    Segment {
        /// Which segment was refused: `area` or `name`.
        segment: &'static str,
        /// That segment's length limit.
        max: usize,
    },
}

impl BlobKey {
    /// Builds `<tenant>/<area>/<name>`, checking both segments.
    pub fn new(tenant: TenantId, area: &str, name: &str) -> Result<Self, KeyError> {
        check_segment(area, "area", MAX_AREA_LEN)?;
        check_segment(name, "name", MAX_NAME_LEN)?;
        let key = format!("{tenant}/{area}/{name}");
        let name_at = key.len() - name.len();
        Ok(Self {
            tenant,
            area_at: name_at - 1 - area.len(),
            name_at,
            key,
        })
    }

    /// Parses a key read back from the database, with the same rules as [`BlobKey::new`].
    pub fn parse(key: &str) -> Result<Self, KeyError> {
        let mut parts = key.split('/');
        let (Some(tenant), Some(area), Some(name), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(KeyError::Shape);
        };
        let tenant = TenantId::from_str(tenant).map_err(|_| KeyError::Tenant)?;
        let parsed = Self::new(tenant, area, name)?;
        // Only the canonical spelling is a key; otherwise two strings would name one
        // object in the database but two in the store.
        if parsed.key != key {
            return Err(KeyError::Tenant);
        }
        Ok(parsed)
    }

    /// The tenant that owns the object.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// The middle segment, grouping objects of one use (`photos`, `voice`, …).
    pub fn area(&self) -> &str {
        &self.key[self.area_at..self.name_at - 1]
    }

    /// The last segment, unique within the tenant and area.
    pub fn name(&self) -> &str {
        &self.key[self.name_at..]
    }

    /// The full key, as stored in the database and sent to the backend.
    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// The prefix shared by every key of `tenant`'s `area`: `<tenant>/<area>/`.
    pub fn prefix(tenant: TenantId, area: &str) -> Result<String, KeyError> {
        check_segment(area, "area", MAX_AREA_LEN)?;
        Ok(format!("{tenant}/{area}/"))
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

impl FromStr for BlobKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for BlobKey {
    fn as_ref(&self) -> &str {
        &self.key
    }
}

fn check_segment(segment: &str, which: &'static str, max: usize) -> Result<(), KeyError> {
    let refused = KeyError::Segment {
        segment: which,
        max,
    };
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b);
    // A leading letter or digit rules out `.`, `..` and hidden names, which the local
    // store reserves for its own temp and sidecar files.
    let starts_well = segment
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if segment.len() > max
        || !starts_well
        || segment.contains("..")
        || !segment.bytes().all(allowed)
    {
        return Err(refused);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> TenantId {
        TenantId::new()
    }

    #[test]
    fn new_prefixes_the_tenant() {
        let t = tenant();
        let key = BlobKey::new(t, "photos", "0192-abc.jpg").expect("valid segments");
        assert_eq!(key.as_str(), format!("{t}/photos/0192-abc.jpg"));
        assert_eq!(key.to_string(), key.as_str());
        assert_eq!(key.tenant(), t);
        assert_eq!(key.area(), "photos");
        assert_eq!(key.name(), "0192-abc.jpg");
    }

    #[test]
    fn parse_round_trips() {
        let key = BlobKey::new(tenant(), "voice", "a_b-c.1.webm").expect("valid segments");
        let parsed = BlobKey::parse(key.as_str()).expect("own output parses");
        assert_eq!(parsed, key);
        assert_eq!(parsed.tenant(), key.tenant());
        let via_from_str: BlobKey = key.as_str().parse().expect("own output parses");
        assert_eq!(via_from_str, key);
    }

    #[test]
    fn bad_segments_are_refused() {
        let t = tenant();
        let long = "a".repeat(MAX_NAME_LEN + 1);
        for name in [
            "",
            ".",
            "..",
            "a..b",
            ".hidden",
            "-dash",
            "UPPER.jpg",
            "a/b",
            "a b",
            "ü.jpg",
            "a\\b",
            "a\0b",
            &long,
        ] {
            assert!(
                matches!(
                    BlobKey::new(t, "photos", name),
                    Err(KeyError::Segment {
                        segment: "name",
                        ..
                    })
                ),
                "name {name:?} must be refused"
            );
        }
        assert!(matches!(
            BlobKey::new(t, "", "x.jpg"),
            Err(KeyError::Segment {
                segment: "area",
                ..
            })
        ));
        assert!(BlobKey::new(t, "photos", &"a".repeat(MAX_NAME_LEN)).is_ok());
    }

    #[test]
    fn parse_refuses_malformed_keys() {
        let t = tenant();
        let upper = format!("{}/photos/x.jpg", t.to_string().to_uppercase());
        let simple = format!("{}/photos/x.jpg", t.as_uuid().simple());
        for key in [
            String::new(),
            "photos/x.jpg".to_owned(),
            format!("{t}/photos"),
            format!("{t}/photos/x.jpg/more"),
            format!("/{t}/photos/x.jpg"),
            "not-a-uuid/photos/x.jpg".to_owned(),
            format!("{t}/../x.jpg"),
            upper,
            simple,
        ] {
            assert!(BlobKey::parse(&key).is_err(), "key {key:?} must be refused");
        }
    }
}
