//! Who a request acts for, as the database's change log records it.
//!
//! The configuration tables carry a trigger (migration `…_change_log.sql`) that writes
//! every insert, update and delete to `routing.change_log` with the actor named by the
//! transaction's `app.actor` setting. A request is run inside [`scope`]; the sign-in
//! extractor [`note`]s the principal once it is known; every transaction the request
//! opens afterwards through [`Db`](crate::Db) sets `app.actor` from it. Work outside a
//! request (the scheduler, the command line, the demo) has no actor and is recorded
//! as the system's.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use uuid::Uuid;

/// The person a change is made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A township's staff member.
    Staff(Uuid),
    /// A member of the county's staff.
    County(Uuid),
    /// An integration's API token.
    Token(Uuid),
}

impl Actor {
    /// The setting's value: `staff:<uuid>`, `county:<uuid>` or `token:<uuid>`. Only a
    /// fixed word and a hyphenated UUID, so it can be sent inside a statement's text.
    pub fn setting(self) -> String {
        let (kind, id) = match self {
            Self::Staff(id) => ("staff", id),
            Self::County(id) => ("county", id),
            Self::Token(id) => ("token", id),
        };
        format!("{kind}:{}", id.hyphenated())
    }
}

#[derive(Clone, Debug, Default)]
struct Cell(Arc<OnceLock<Actor>>);

tokio::task_local! {
    static ACTOR: Cell;
}

/// Runs `work` (one request) with a place for its actor.
pub async fn scope<F: Future>(work: F) -> F::Output {
    ACTOR.scope(Cell::default(), work).await
}

/// Names the actor of the current request; the first name given stays (a request acts
/// for one person). Outside [`scope`] it does nothing.
pub fn note(actor: Actor) {
    let _ = ACTOR.try_with(|cell| cell.0.set(actor));
}

/// The current request's actor, if one was noted.
pub fn current() -> Option<Actor> {
    ACTOR.try_with(|cell| cell.0.get().copied()).ok().flatten()
}

/// The statement that sets `app.actor` for the transaction, or nothing.
pub(crate) fn set_statement() -> String {
    current()
        .map(|a| format!("; SELECT set_config('app.actor', '{}', true)", a.setting()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_actor_noted_in_a_scope_stays_and_none_leaks_out() {
        let id = Uuid::now_v7();
        let seen = scope(async move {
            assert_eq!(current(), None);
            note(Actor::Staff(id));
            note(Actor::County(Uuid::nil()));
            current()
        })
        .await;
        assert_eq!(seen, Some(Actor::Staff(id)));
        assert_eq!(current(), None);
        note(Actor::Staff(id));
        assert_eq!(current(), None);
        assert!(set_statement().is_empty());
        assert_eq!(
            Actor::County(Uuid::nil()).setting(),
            "county:00000000-0000-0000-0000-000000000000"
        );
    }
}
