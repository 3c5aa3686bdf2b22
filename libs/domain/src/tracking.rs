//! Tracking numbers: what a citizen sees and quotes (`CAOTAN-20261126-0042`).

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A tracking number: the tenant's prefix, the local date of submission and a
/// per-tenant, per-day sequence of at least four digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TrackingNumber {
    prefix: String,
    date: NaiveDate,
    sequence: u32,
}

/// Why text is not a tracking number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a tracking number (expected PREFIX-YYYYMMDD-NNNN)")]
pub struct TrackingNumberError;

impl TrackingNumber {
    /// Builds a tracking number from its parts. The sequence starts at 1.
    pub fn new(prefix: &str, date: NaiveDate, sequence: u32) -> Result<Self, TrackingNumberError> {
        if prefix.is_empty()
            || prefix.len() > 16
            || !prefix
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            || sequence == 0
        {
            return Err(TrackingNumberError);
        }
        Ok(Self {
            prefix: prefix.to_owned(),
            date,
            sequence,
        })
    }

    /// The tenant prefix (`CAOTAN`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The local date of submission.
    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// The sequence within the tenant and day.
    pub fn sequence(&self) -> u32 {
        self.sequence
    }
}

impl fmt::Display for TrackingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{:04}",
            self.prefix,
            self.date.format("%Y%m%d"),
            self.sequence
        )
    }
}

impl FromStr for TrackingNumber {
    type Err = TrackingNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split('-');
        let (Some(prefix), Some(date), Some(seq), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TrackingNumberError);
        };
        if date.len() != 8 || seq.len() < 4 || !seq.chars().all(|c| c.is_ascii_digit()) {
            return Err(TrackingNumberError);
        }
        let date = NaiveDate::parse_from_str(date, "%Y%m%d").map_err(|_| TrackingNumberError)?;
        let sequence: u32 = seq.parse().map_err(|_| TrackingNumberError)?;
        let parsed = Self::new(prefix, date, sequence)?;
        // Only the canonical spelling is accepted, so one report has one number.
        if parsed.to_string() != s {
            return Err(TrackingNumberError);
        }
        Ok(parsed)
    }
}

impl TryFrom<String> for TrackingNumber {
    type Error = TrackingNumberError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<TrackingNumber> for String {
    fn from(value: TrackingNumber) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).expect("valid date")
    }

    #[test]
    fn formats_with_four_digit_padding() {
        let n = TrackingNumber::new("CT", day(), 42).expect("valid");
        assert_eq!(n.to_string(), "CT-20261126-0042");
        let big = TrackingNumber::new("CT", day(), 12345).expect("valid");
        assert_eq!(big.to_string(), "CT-20261126-12345");
    }

    #[test]
    fn parses_only_canonical_numbers() {
        let n: TrackingNumber = "CAOTAN-20261126-0001".parse().expect("parses");
        assert_eq!(n.prefix(), "CAOTAN");
        assert_eq!(n.sequence(), 1);
        for bad in [
            "CAOTAN-20261126-1",
            "caotan-20261126-0001",
            "CAOTAN-20261326-0001",
            "CAOTAN-20261126-0000",
            "CAOTAN-20261126-00001",
            "CAOTAN20261126-0001",
            "CAOTAN-20261126-0001-x",
            "",
        ] {
            assert!(
                bad.parse::<TrackingNumber>().is_err(),
                "{bad} must not parse"
            );
        }
    }
}

#[cfg(test)]
mod fuzz_tests {
    //! A tracking number is typed back by citizens (status page, phone calls): any
    //! text is either refused or read as the one number whose spelling it is.

    use proptest::prelude::*;

    use super::*;

    fn number() -> impl Strategy<Value = TrackingNumber> {
        ("[A-Z0-9]{1,16}", (1i32..=9999, 1u32..=366), 1u32..=u32::MAX).prop_filter_map(
            "a day of that year",
            |(prefix, (year, day), sequence)| {
                let date = NaiveDate::from_yo_opt(year, day)?;
                TrackingNumber::new(&prefix, date, sequence).ok()
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn fuzz_tracking_number_formatted_then_parsed_is_the_same(n in number()) {
            let text = n.to_string();
            prop_assert_eq!(text.parse::<TrackingNumber>(), Ok(n.clone()));
            let json = serde_json::to_string(&n).expect("serialises");
            prop_assert_eq!(serde_json::from_str::<TrackingNumber>(&json).ok(), Some(n));
        }

        #[test]
        fn fuzz_tracking_number_text_parses_only_as_itself(text in "\\PC{0,40}|[A-Z0-9-]{0,30}") {
            if let Ok(n) = text.parse::<TrackingNumber>() {
                prop_assert_eq!(n.to_string(), text);
            }
        }

        #[test]
        fn fuzz_mistyped_tracking_number_is_refused_or_canonical(
            n in number(),
            at in any::<usize>(),
            typed in prop_oneof![Just(' '), Just('-'), Just('0'), Just('O'), Just('a'), Just('０'), any::<char>()],
            how in 0u8..3,
        ) {
            let original = n.to_string();
            let mut chars: Vec<char> = original.chars().collect();
            let i = at % (chars.len() + 1);
            match how {
                0 => chars.insert(i, typed),
                1 if i < chars.len() => chars[i] = typed,
                _ => chars.truncate(i),
            }
            let text: String = chars.into_iter().collect();
            match text.parse::<TrackingNumber>() {
                Ok(parsed) => prop_assert_eq!(parsed.to_string(), text),
                Err(TrackingNumberError) => prop_assert_ne!(text, original),
            }
        }
    }
}
