//! Mainland China mobile phone numbers: personal information, shown masked.

use std::fmt;

/// A mainland mobile number: 11 digits starting with 1 and a second digit 3–9.
/// Accepts a `+86`/`86` prefix and spaces or dashes, and keeps only the 11 digits.
/// `Debug` masks it, so a number never reaches a log through `{:?}`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

/// Why text is not a mobile number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a mainland mobile number (11 digits starting with 13–19)")]
pub struct PhoneNumberError;

impl PhoneNumber {
    /// Parses a number as a citizen or an Excel sheet would write it.
    pub fn parse(raw: &str) -> Result<Self, PhoneNumberError> {
        let digits: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{3000}'))
            .collect();
        let digits = digits
            .strip_prefix("+86")
            .or_else(|| digits.strip_prefix("0086"))
            .or_else(|| {
                (digits.len() == 13)
                    .then(|| digits.strip_prefix("86"))
                    .flatten()
            })
            .unwrap_or(&digits);
        let bytes = digits.as_bytes();
        let valid = bytes.len() == 11
            && bytes.iter().all(u8::is_ascii_digit)
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1]);
        if valid {
            Ok(Self(digits.to_owned()))
        } else {
            Err(PhoneNumberError)
        }
    }

    /// The 11 digits. Only for storage (encrypted) and the assignee's unmasked view.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The masked form shown everywhere else: `138****1234`.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }

    /// The last four digits, used with a tracking number to look a report up.
    pub fn last_four(&self) -> &str {
        &self.0[7..]
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_common_spellings() {
        for raw in [
            "13812341234",
            "138 1234 1234",
            "+86 138-1234-1234",
            "8613812341234",
        ] {
            let p = PhoneNumber::parse(raw).expect("valid number");
            assert_eq!(p.expose(), "13812341234");
        }
    }

    #[test]
    fn masks_and_never_debug_prints_digits() {
        let p = PhoneNumber::parse("13812341234").expect("valid number");
        assert_eq!(p.masked(), "138****1234");
        assert_eq!(p.last_four(), "1234");
        assert!(!format!("{p:?}").contains("13812341234"));
    }

    #[test]
    fn refuses_non_mobile_numbers() {
        for raw in [
            "",
            "12812341234",
            "1381234123",
            "138123412345",
            "0931-1234567",
            "1381234123a",
        ] {
            assert!(PhoneNumber::parse(raw).is_err(), "{raw} must be refused");
        }
    }
}
