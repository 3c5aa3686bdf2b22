//! Who performs a workflow action.

use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::role::Role;

/// The one acting on a case: a staff user with their roles, the system itself
/// (automatic assignment, timers, closing), or the citizen (the rating).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A signed-in staff user.
    Staff {
        /// The user.
        user_id: UserId,
        /// The roles they hold (at any node; scope checks are not the workflow's).
        roles: Vec<Role>,
    },
    /// Mashang itself.
    System,
    /// The citizen who made the report.
    Citizen,
}

/// The kinds of actor, for rules that depend only on the kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActorKind {
    /// A staff user.
    Staff,
    /// The system.
    System,
    /// The citizen.
    Citizen,
}

impl Actor {
    /// A staff user with roles.
    pub fn staff(user_id: UserId, roles: impl Into<Vec<Role>>) -> Self {
        Self::Staff {
            user_id,
            roles: roles.into(),
        }
    }

    /// The kind of actor.
    pub fn kind(&self) -> ActorKind {
        match self {
            Self::Staff { .. } => ActorKind::Staff,
            Self::System => ActorKind::System,
            Self::Citizen => ActorKind::Citizen,
        }
    }

    /// The staff user, if the actor is one.
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Self::Staff { user_id, .. } => Some(*user_id),
            Self::System | Self::Citizen => None,
        }
    }

    /// Whether the actor is staff holding `role`.
    pub fn has_role(&self, role: Role) -> bool {
        matches!(self, Self::Staff { roles, .. } if roles.contains(&role))
    }
}
