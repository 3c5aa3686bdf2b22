//! The snapshot of a case that the workflow rules need, and its invariants.

use serde::{Deserialize, Serialize};

use super::state::CaseState;
use crate::ids::{CaseId, UserId};

/// What the workflow knows about a case. Loaded from storage, passed to
/// [`apply`](super::apply), and returned changed in its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseFacts {
    /// The case.
    pub case_id: CaseId,
    /// Its state.
    pub state: CaseState,
    /// Its current handler, if it has one.
    pub assignee: Option<UserId>,
    /// Everyone who has been its handler, in order, each once. None of them may do
    /// its follow-up.
    pub handlers: Vec<UserId>,
    /// Whether the citizen has been contacted at least once (first response done).
    pub responded: bool,
    /// Who asked for it to be judged invalid, while that request is pending.
    pub invalid_requested_by: Option<UserId>,
    /// The state to go back to if the pending invalidation request is turned down.
    pub state_before_invalid_request: Option<CaseState>,
    /// Whether its clock is paused (it waits on the citizen).
    pub clock_paused: bool,
    /// Incremented on every accepted action; events carry it so consumers can ignore
    /// stale ones.
    pub version: i64,
    /// How many times it was reopened.
    pub reopen_count: u32,
}

/// A snapshot that breaks a workflow invariant (a bug, or corrupt storage).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("inconsistent case snapshot: {0}")]
pub struct InvariantViolation(pub &'static str);

impl CaseFacts {
    /// A case just created (version 1, no handler). The caller starts its first-response
    /// and resolution clocks.
    pub fn new(case_id: CaseId) -> Self {
        Self {
            case_id,
            state: CaseState::Created,
            assignee: None,
            handlers: Vec::new(),
            responded: false,
            invalid_requested_by: None,
            state_before_invalid_request: None,
            clock_paused: false,
            version: 1,
            reopen_count: 0,
        }
    }

    /// Whether a user has ever handled the case.
    pub fn is_handler(&self, user: UserId) -> bool {
        self.handlers.contains(&user)
    }

    /// Checks the invariants every reachable snapshot satisfies.
    pub fn check(&self) -> Result<(), InvariantViolation> {
        use CaseState::*;
        let fail = |what| Err(InvariantViolation(what));
        if self.version < 1 {
            return fail("version starts at 1");
        }
        if self.clock_paused != (self.state == WaitingOnCitizen) {
            return fail("the clock is paused exactly while waiting on the citizen");
        }
        let pending = self.state == InvalidRequested;
        if self.invalid_requested_by.is_some() != pending
            || self.state_before_invalid_request.is_some() != pending
        {
            return fail("an invalidation request is recorded exactly while pending");
        }
        // Which state decides whether there is a handler: the one before the request.
        let basis = self.state_before_invalid_request.unwrap_or(self.state);
        if matches!(basis, InvalidRequested | Invalid | WaitingOnCitizen)
            && self.state_before_invalid_request.is_some()
        {
            return fail("an invalidation request cannot come from this state");
        }
        if basis != Invalid && self.assignee.is_some() == matches!(basis, Created | Returned) {
            return fail("a case has a handler except before dispatch and after a return");
        }
        if self.assignee.is_some_and(|a| !self.is_handler(a)) {
            return fail("the current handler is among the handlers");
        }
        if self
            .handlers
            .iter()
            .enumerate()
            .any(|(i, h)| self.handlers[..i].contains(h))
        {
            return fail("each handler is listed once");
        }
        let contacted = matches!(
            self.state,
            Acknowledged
                | InProgress
                | WaitingOnCitizen
                | Resolved
                | FollowedUp
                | Closed
                | Reopened
        );
        if contacted && !self.responded {
            return fail("work starts only after the citizen was contacted");
        }
        if self.reopen_count > 0 && !self.responded {
            return fail("only a contacted case can have been reopened");
        }
        Ok(())
    }
}
