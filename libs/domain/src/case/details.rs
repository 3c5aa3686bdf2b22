//! The validated details that workflow actions carry: contact methods, reason codes,
//! satisfaction, bounded texts and photo lists. Each can only be built valid.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{AttachmentId, CaseId};

/// How the handler or the follow-up reached the citizen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactMethod {
    /// 电话: a phone call.
    Phone,
    /// 上门: a visit in person.
    Visit,
}

impl ContactMethod {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Visit => "visit",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Phone, Self::Visit]
            .into_iter()
            .find(|m| m.as_str() == raw)
    }

    /// The Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Phone => "电话",
            Self::Visit => "上门",
        }
    }
}

/// Why a handler sent a case back to the dispatcher (退单).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnReason {
    /// The citizen's category is wrong.
    WrongCategory,
    /// The place is not in the handler's area.
    WrongArea,
    /// Not this level's or this office's duty.
    NotOurDuty,
    /// Already reported in another case.
    Duplicate,
    /// Something else: a note is required.
    Other,
}

impl ReturnReason {
    /// Every reason code.
    pub const ALL: [ReturnReason; 5] = [
        Self::WrongCategory,
        Self::WrongArea,
        Self::NotOurDuty,
        Self::Duplicate,
        Self::Other,
    ];

    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WrongCategory => "wrong_category",
            Self::WrongArea => "wrong_area",
            Self::NotOurDuty => "not_our_duty",
            Self::Duplicate => "duplicate",
            Self::Other => "other",
        }
    }

    /// Parses a stored code.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw)
    }

    /// The Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::WrongCategory => "分类错误",
            Self::WrongArea => "不属本网格",
            Self::NotOurDuty => "不属本级职责",
            Self::Duplicate => "重复诉求",
            Self::Other => "其他",
        }
    }
}

/// Why a case is invalid (无效事件).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum InvalidReason {
    /// Spam, a prank, or nothing to act on.
    Spam,
    /// The same matter as another case.
    Duplicate {
        /// The case it duplicates.
        of: CaseId,
    },
    /// Outside the township's jurisdiction.
    OutsideJurisdiction,
}

impl InvalidReason {
    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spam => "spam",
            Self::Duplicate { .. } => "duplicate",
            Self::OutsideJurisdiction => "outside_jurisdiction",
        }
    }

    /// The Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Spam => "无效信息",
            Self::Duplicate { .. } => "重复诉求",
            Self::OutsideJurisdiction => "不属本辖区",
        }
    }
}

/// The citizen's satisfaction (满意 / 基本满意 / 不满意), as intake's `report.rated`
/// carries it.
pub use crate::events::Satisfaction;

/// Every satisfaction level, best first.
pub const SATISFACTION_LEVELS: [Satisfaction; 3] = [
    Satisfaction::Satisfied,
    Satisfaction::BasicallySatisfied,
    Satisfaction::Unsatisfied,
];

/// Whether the citizen accepts the outcome (满意 or 基本满意); 不满意 reopens the case.
pub fn accepts(satisfaction: Satisfaction) -> bool {
    !matches!(satisfaction, Satisfaction::Unsatisfied)
}

/// Why a text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Nothing but white space.
    #[error("must not be empty")]
    Empty,
    /// Longer than allowed.
    #[error("at most {max} characters")]
    TooLong {
        /// The limit, in characters.
        max: usize,
    },
}

/// Free text, trimmed, not empty, at most `MAX` characters.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> utoipa::PartialSchema for Text<MAX> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX))
            .description(Some(format!(
                "Trimmed text, not blank, at most {MAX} characters."
            )))
            .into()
    }
}

impl<const MAX: usize> utoipa::ToSchema for Text<MAX> {}

impl utoipa::PartialSchema for Photos {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::ArrayBuilder;
        ArrayBuilder::new()
            .items(<AttachmentId as utoipa::PartialSchema>::schema())
            .max_items(Some(MAX_PHOTOS))
            .unique_items(true)
            .description(Some("Photos uploaded to the case by the same person."))
            .into()
    }
}

impl utoipa::ToSchema for Photos {}

/// What the handler said on the first call (at most 500 characters).
pub type SummaryText = Text<500>;
/// The measures taken (at most 2000 characters).
pub type MeasuresText = Text<2000>;
/// A note or a reason (at most 1000 characters).
pub type NoteText = Text<1000>;

impl<const MAX: usize> Text<MAX> {
    /// Trims and checks a text.
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(TextError::Empty);
        }
        if trimmed.chars().count() > MAX {
            return Err(TextError::TooLong { max: MAX });
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> fmt::Debug for Text<MAX> {
    // Citizens' words stay out of logs; only their length shows.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Text({} chars)", self.0.chars().count())
    }
}

impl<const MAX: usize> TryFrom<String> for Text<MAX> {
    type Error = TextError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl<const MAX: usize> From<Text<MAX>> for String {
    fn from(value: Text<MAX>) -> Self {
        value.0
    }
}

/// Why a photo list was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhotosError {
    /// More photos than allowed.
    #[error("at most {MAX_PHOTOS} photos")]
    TooMany,
    /// The same photo twice.
    #[error("the same photo is listed twice")]
    Duplicate,
}

/// The most photos a resolution may carry.
pub const MAX_PHOTOS: usize = 9;

/// Photos of the measures taken: at most nine, each once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<AttachmentId>", into = "Vec<AttachmentId>")]
pub struct Photos(Vec<AttachmentId>);

impl Photos {
    /// Checks a list of attachment ids.
    pub fn new(ids: Vec<AttachmentId>) -> Result<Self, PhotosError> {
        if ids.len() > MAX_PHOTOS {
            return Err(PhotosError::TooMany);
        }
        if ids.iter().enumerate().any(|(i, id)| ids[..i].contains(id)) {
            return Err(PhotosError::Duplicate);
        }
        Ok(Self(ids))
    }

    /// The attachment ids, in order.
    pub fn ids(&self) -> &[AttachmentId] {
        &self.0
    }
}

impl TryFrom<Vec<AttachmentId>> for Photos {
    type Error = PhotosError;
    fn try_from(value: Vec<AttachmentId>) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Photos> for Vec<AttachmentId> {
    fn from(value: Photos) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_trimmed_non_empty_and_bounded() {
        let note = NoteText::parse("  已联系  ").expect("valid");
        assert_eq!(note.as_str(), "已联系");
        assert_eq!(NoteText::parse(" \n "), Err(TextError::Empty));
        assert!(
            SummaryText::parse(&"字".repeat(500)).is_ok(),
            "counted in characters"
        );
        assert_eq!(
            SummaryText::parse(&"字".repeat(501)),
            Err(TextError::TooLong { max: 500 })
        );
        assert_eq!(format!("{note:?}"), "Text(3 chars)");
        assert!(serde_json::from_str::<NoteText>("\"  \"").is_err());
    }

    #[test]
    fn photos_are_bounded_and_distinct() {
        let a = AttachmentId::new();
        assert!(Photos::new(vec![a]).is_ok());
        assert_eq!(Photos::new(vec![a, a]), Err(PhotosError::Duplicate));
        let many = (0..10).map(|_| AttachmentId::new()).collect();
        assert_eq!(Photos::new(many), Err(PhotosError::TooMany));
    }

    #[test]
    fn codes_round_trip() {
        for r in ReturnReason::ALL {
            assert_eq!(ReturnReason::parse(r.as_str()), Some(r));
        }
        for s in SATISFACTION_LEVELS {
            assert_eq!(Satisfaction::parse(s.as_str()), Some(s));
        }
        assert_eq!(ContactMethod::parse("visit"), Some(ContactMethod::Visit));
        let dup = InvalidReason::Duplicate { of: CaseId::new() };
        let json = serde_json::to_value(dup).expect("serialises");
        assert_eq!(json["code"], "duplicate");
        assert_eq!(
            serde_json::from_value::<InvalidReason>(json).expect("reads"),
            dup
        );
        assert!(!accepts(Satisfaction::Unsatisfied));
        assert!(accepts(Satisfaction::BasicallySatisfied));
    }
}
