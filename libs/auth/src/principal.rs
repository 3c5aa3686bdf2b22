//! Who is making a request, and with which roles.

use mashang_domain::role::Role;
use mashang_domain::{GridNodeId, TenantId, UserId};
use mashang_http::ApiError;
use serde::Serialize;
use uuid::Uuid;

/// A role held by the principal: at a node of its tenant, or county-wide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RoleGrant {
    /// The role.
    pub role: Role,
    /// Where it is held; `None` for county roles.
    pub node: Option<GridNodeId>,
}

/// The kind of principal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PrincipalKind {
    /// A township's staff member.
    Staff {
        /// Who.
        user: UserId,
        /// Their township.
        tenant: TenantId,
    },
    /// A member of the county's staff (no township).
    County {
        /// Who.
        user: UserId,
    },
    /// An integration's API token, scoped to a township and one role.
    ApiToken {
        /// Which token.
        token: Uuid,
        /// Its township.
        tenant: TenantId,
    },
}

/// The signed-in principal of a request.
#[derive(Clone, Debug, Serialize)]
pub struct Principal {
    /// Staff, county or token.
    #[serde(flatten)]
    pub kind: PrincipalKind,
    /// Display name.
    pub name: String,
    /// Roles held.
    pub roles: Vec<RoleGrant>,
    /// The session's CSRF token, for cookie sessions (forms must send it back).
    #[serde(skip)]
    pub csrf: Option<String>,
}

impl Principal {
    /// The township the principal belongs to, if any.
    pub fn tenant(&self) -> Option<TenantId> {
        match self.kind {
            PrincipalKind::Staff { tenant, .. } | PrincipalKind::ApiToken { tenant, .. } => {
                Some(tenant)
            }
            PrincipalKind::County { .. } => None,
        }
    }

    /// The township, for endpoints that work inside one. County staff act through the
    /// county endpoints instead.
    pub fn require_tenant(&self) -> Result<TenantId, ApiError> {
        self.tenant().ok_or_else(|| {
            ApiError::Forbidden("请使用乡镇账号 (a township account is needed here)".to_owned())
        })
    }

    /// The person, if the principal is one (not a token).
    pub fn user(&self) -> Option<UserId> {
        match self.kind {
            PrincipalKind::Staff { user, .. } | PrincipalKind::County { user } => Some(user),
            PrincipalKind::ApiToken { .. } => None,
        }
    }

    /// Whether the principal holds `role` anywhere.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.iter().any(|g| g.role == role)
    }
}
