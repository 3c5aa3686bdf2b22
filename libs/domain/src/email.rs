//! E-mail addresses people give for digests and alerts.

use std::fmt;

/// An e-mail address: `local@domain`, at most 254 characters, the local part at most
/// 64 of printable ASCII without spaces, quotes, brackets or commas, the domain dotted
/// labels of letters, digits and hyphens (an internationalised domain in its `xn--`
/// form). The domain is stored in lowercase.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

/// Why text is not an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an e-mail address is like name@example.com (at most 254 characters)")]
pub struct EmailError;

impl EmailAddress {
    /// Parses an address, folding the domain to lowercase.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let raw = raw.trim();
        if raw.len() > 254 {
            return Err(EmailError);
        }
        let (local, domain) = raw.rsplit_once('@').ok_or(EmailError)?;
        let local_ok = (1..=64).contains(&local.len())
            && local.bytes().all(|b| {
                b.is_ascii_graphic()
                    && !matches!(
                        b,
                        b'@' | b'"'
                            | b'('
                            | b')'
                            | b'<'
                            | b'>'
                            | b','
                            | b';'
                            | b':'
                            | b'['
                            | b']'
                            | b'\\'
                    )
            })
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let domain = domain.to_ascii_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && domain.len() <= 253
            && labels.iter().all(|l| {
                (1..=63).contains(&l.len())
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if local_ok && domain_ok {
            Ok(Self(format!("{local}@{domain}")))
        } else {
            Err(EmailError)
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_and_their_domain_folded() {
        assert_eq!(
            EmailAddress::parse(" Wang.Li+digest@Example.COM ")
                .expect("valid")
                .as_str(),
            "Wang.Li+digest@example.com"
        );
        assert!(EmailAddress::parse("zx@xn--fiqs8s.cn").is_ok());
        for bad in [
            "",
            "wang",
            "wang@",
            "@example.com",
            "wang@localhost",
            "wang li@example.com",
            "wang@exa mple.com",
            "王丽@example.com",
            "a..b@example.com",
            "wang@-example.com",
            "<wang@example.com>",
            "a@b@example.com",
            &format!("{}@example.com", "a".repeat(65)),
            &format!("a@{}.com", "b".repeat(250)),
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }
}
