//! Tenants (townships): their short code and status.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a tenant code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantCodeError {
    /// Not 2 to 16 characters long.
    #[error("a tenant code is 2 to 16 characters long")]
    Length,
    /// Contains something other than lowercase ASCII letters and digits, or starts with a digit.
    #[error("a tenant code is lowercase letters and digits, starting with a letter")]
    Characters,
}

/// A tenant's short, unique, lowercase code (`caotan`). The tracking-number prefix is
/// derived from it, so it is restricted to what reads well there.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantCode(String);

impl TenantCode {
    /// Parses and validates a code.
    pub fn parse(raw: &str) -> Result<Self, TenantCodeError> {
        let len = raw.chars().count();
        if !(2..=16).contains(&len) {
            return Err(TenantCodeError::Length);
        }
        let mut chars = raw.chars();
        let first_is_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_ok = raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !first_is_letter || !rest_ok {
            return Err(TenantCodeError::Characters);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The prefix of this tenant's tracking numbers: the code in capitals (`CAOTAN`).
    pub fn tracking_prefix(&self) -> String {
        self.0.to_ascii_uppercase()
    }
}

impl fmt::Display for TenantCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TenantCode {
    type Err = TenantCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for TenantCode {
    type Error = TenantCodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TenantCode> for String {
    fn from(code: TenantCode) -> Self {
        code.0
    }
}

/// Whether a tenant is in service. A suspended tenant keeps all its data; its citizens
/// see a notice and its staff cannot sign in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// In service.
    Active,
    /// Out of service; nothing deleted.
    Suspended,
}

impl TenantStatus {
    /// The value stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }

    /// Reads a stored value.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_short_lowercase_codes() {
        let code = TenantCode::parse("caotan").expect("valid code");
        assert_eq!(code.tracking_prefix(), "CAOTAN");
        assert!(TenantCode::parse("t2").is_ok());
    }

    #[test]
    fn refuses_bad_codes() {
        assert_eq!(TenantCode::parse("c"), Err(TenantCodeError::Length));
        assert_eq!(
            TenantCode::parse("averyveryverylongcode"),
            Err(TenantCodeError::Length)
        );
        assert_eq!(
            TenantCode::parse("CaoTan"),
            Err(TenantCodeError::Characters)
        );
        assert_eq!(TenantCode::parse("2tan"), Err(TenantCodeError::Characters));
        assert_eq!(
            TenantCode::parse("cao-tan"),
            Err(TenantCodeError::Characters)
        );
        assert_eq!(TenantCode::parse("草滩"), Err(TenantCodeError::Characters));
    }
}
