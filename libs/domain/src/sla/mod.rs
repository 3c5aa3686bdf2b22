//! Service-level targets of a case: the policy (first response, resolution, follow-up,
//! each on the wall clock or the working calendar, with reminder points), the timer
//! points to write for a target, their recomputation after a pause, a resume or a
//! reopening, and the escalation ladder.

mod escalation;
mod policy;
mod schedule;

#[cfg(test)]
mod schedule_tests;

pub use escalation::{EscalationLevel, EscalationRecord};
pub use policy::{
    Clock, LengthError, MAX_REMINDERS, MAX_TARGET_MINUTES, MAX_TARGET_WORKING_DAYS, ReminderError,
    ReminderPoints, SlaPolicy, SlaTarget, TargetKind, TargetLength,
};
pub use schedule::{SlaError, TargetClock, TimerKind, TimerPoint, schedule};
