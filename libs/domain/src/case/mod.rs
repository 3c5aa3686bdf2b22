//! The case workflow: states, actions with their validated details, and the pure rule
//! [`apply`] that accepts or refuses an action and says what follows from it.
//!
//! Only rules intrinsic to the workflow live here (which state allows what, the kinds
//! of actor, four eyes on invalidation, no follow-up of one's own case). Whether a user
//! may act on a particular case (their grid, their role there) is checked elsewhere.

mod action;
mod actor;
mod details;
mod facts;
mod outcome;
mod rules;
mod state;
mod transition;

#[cfg(test)]
mod test_fixtures;
#[cfg(test)]
mod transition_table_tests;
#[cfg(test)]
mod workflow_property_tests;
#[cfg(test)]
mod workflow_rule_tests;

pub use action::{Action, ActionKind};
pub use actor::{Actor, ActorKind};
pub use details::{
    ContactMethod, InvalidReason, MAX_PHOTOS, MeasuresText, NoteText, Photos, PhotosError,
    ReturnReason, SATISFACTION_LEVELS, Satisfaction, SummaryText, Text, TextError, accepts,
};
pub use facts::{CaseFacts, InvariantViolation};
pub use outcome::{
    Effect, FieldError, FieldErrors, FieldProblem, Outcome, TimelineEntry, WorkflowError,
};
pub use rules::{Next, next};
pub use state::CaseState;
pub use transition::{ReplayError, apply, replay};
