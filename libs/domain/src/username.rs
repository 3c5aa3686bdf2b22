//! Usernames: an optional sign-in name besides the phone number.

use std::fmt;

/// A username: 3 to 32 characters, lowercase letters, digits, `_`, `.` and `-`,
/// starting with a letter. Stored and compared in lowercase.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Username(String);

/// Why text is not a username.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a username is 3–32 lowercase letters, digits, _ . or -, starting with a letter")]
pub struct UsernameError;

impl Username {
    /// Parses a username, folding ASCII capitals to lowercase.
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        let name = raw.trim().to_ascii_lowercase();
        let len = name.chars().count();
        let first_ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_ok = name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'));
        if (3..=32).contains(&len) && first_ok && rest_ok {
            Ok(Self(name))
        } else {
            Err(UsernameError)
        }
    }

    /// The username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_folded_and_checked() {
        assert_eq!(
            Username::parse(" Wang.Li ").expect("valid").as_str(),
            "wang.li"
        );
        for bad in ["ab", "1abc", "王丽", "a b c", &"a".repeat(33)] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }
}
