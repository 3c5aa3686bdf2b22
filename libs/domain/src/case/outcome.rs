//! What applying an action yields (the new snapshot, the timeline entry, the events to
//! emit, the effects to carry out) and why an action can be refused.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::action::{Action, ActionKind};
use super::actor::Actor;
use super::details::{PhotosError, TextError};
use super::facts::CaseFacts;
use super::state::CaseState;
use crate::events::EventType;
use crate::sla::TargetKind;

/// Something the caller must do after storing an accepted action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", content = "target", rename_all = "snake_case")]
pub enum Effect {
    /// Stop the running targets' clocks (the case waits on the citizen).
    PauseClock,
    /// Start them again; deadlines move by the paused time.
    ResumeClock,
    /// Start this target's clock now, replacing any earlier one (a reopened case gets a
    /// new resolution target from the reopening).
    StartTarget(TargetKind),
    /// The target is met or moot: cancel its pending timers. Idempotent.
    StopTarget(TargetKind),
    /// The case is over: cancel every pending timer.
    StopAllTargets,
    /// The case has no handler: the dispatcher must assign it again.
    NeedsReassignment,
}

/// One line of a case's history: who did what, when, with which details.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// The case version this action produced.
    pub version: i64,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: Actor,
    /// The state before.
    pub from: CaseState,
    /// The state after.
    pub to: CaseState,
    /// The action and its details (`"action"` and `"details"` keys).
    #[serde(flatten)]
    pub action: Action,
}

/// An accepted action's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The case after the action (version incremented).
    pub facts: CaseFacts,
    /// The history line to store.
    pub entry: TimelineEntry,
    /// The events to put in the outbox, in order (none for a note or a start;
    /// two for a follow-up that reopens the case).
    pub events: Vec<EventType>,
    /// What the caller must do besides storing the snapshot and the entry.
    pub effects: Vec<Effect>,
}

/// What is wrong with one field of an action's details.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum FieldProblem {
    /// Missing, but required here.
    Required,
    /// Empty text.
    Empty,
    /// Text too long.
    TooLong {
        /// The limit, in characters.
        max: usize,
    },
    /// Too many items.
    TooMany,
    /// The same item twice.
    Duplicate,
    /// A time later than the action itself.
    InFuture,
    /// The same as what the case already has (e.g. transferring to its own handler).
    Unchanged,
    /// A case pointing at itself (a duplicate of itself).
    SelfReference,
    /// A value that is not one of the accepted ones.
    Unknown,
}

impl From<TextError> for FieldProblem {
    fn from(value: TextError) -> Self {
        match value {
            TextError::Empty => Self::Empty,
            TextError::TooLong { max } => Self::TooLong { max },
        }
    }
}

impl From<PhotosError> for FieldProblem {
    fn from(value: PhotosError) -> Self {
        match value {
            PhotosError::TooMany => Self::TooMany,
            PhotosError::Duplicate => Self::Duplicate,
        }
    }
}

/// A field of an action's details and what is wrong with it (HTTP 422).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name (`summary`, `reason.of`).
    pub field: String,
    /// What is wrong.
    #[serde(flatten)]
    pub problem: FieldProblem,
}

/// Why an action was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    /// The action is not possible in the case's state (HTTP 409).
    #[error("{action:?} is not allowed while the case is {state:?}: {reason_en}")]
    NotAllowed {
        /// The case's state.
        state: CaseState,
        /// The refused action.
        action: ActionKind,
        /// Why, in Chinese.
        reason_zh: &'static str,
        /// Why, in English.
        reason_en: &'static str,
    },
    /// The action's details are missing or invalid (HTTP 422).
    #[error("{action:?} has invalid details: {fields:?}")]
    InvalidDetails {
        /// The refused action.
        action: ActionKind,
        /// The offending fields.
        fields: Vec<FieldError>,
    },
    /// This actor may not do this, by a rule of the workflow itself (HTTP 403).
    #[error("{action:?} is not allowed for this actor: {reason_en}")]
    Forbidden {
        /// The refused action.
        action: ActionKind,
        /// Why, in Chinese.
        reason_zh: &'static str,
        /// Why, in English.
        reason_en: &'static str,
    },
}

impl WorkflowError {
    /// The HTTP status the refusal maps to: 409, 422 or 403.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotAllowed { .. } => 409,
            Self::InvalidDetails { .. } => 422,
            Self::Forbidden { .. } => 403,
        }
    }
}

/// Collects field errors while parsing an action's raw details, so that all of them
/// are reported at once.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Keeps the value, or records the field's problem.
    pub fn check<T, E: Into<FieldProblem>>(
        &mut self,
        field: &str,
        parsed: Result<T, E>,
    ) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(e) => {
                self.add(field, e.into());
                None
            }
        }
    }

    /// Records a problem with a field.
    pub fn add(&mut self, field: &str, problem: FieldProblem) {
        self.0.push(FieldError {
            field: field.to_owned(),
            problem,
        });
    }

    /// `Ok` when no problem was recorded, otherwise the 422 refusal of `action`.
    pub fn finish(self, action: ActionKind) -> Result<(), WorkflowError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(WorkflowError::InvalidDetails {
                action,
                fields: self.0,
            })
        }
    }
}
