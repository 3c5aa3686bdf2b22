//! The permission matrix: which role may take which action, over which scope. Written
//! once, here; every handler asks [`authorize`] and nothing else decides. The table in
//! `docs/permissions.md` is checked against [`MATRIX`] by a test.

use mashang_domain::role::Role;
use mashang_domain::{GridNodeId, UserId};

use crate::error::AuthError;
use crate::principal::{Principal, PrincipalKind};

/// How far a permission reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// The principal's own cases, or the node where the role is held.
    Own,
    /// The node where the role is held and everything below it.
    Subtree,
    /// The whole township.
    Tenant,
    /// Every township (county roles).
    County,
}

impl Scope {
    /// The name used in the documentation.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Own => "own",
            Self::Subtree => "subtree",
            Self::Tenant => "tenant",
            Self::County => "county",
        }
    }
}

/// Something a principal may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Create, suspend and resume townships.
    ManageTenants,
    /// See every township's figures side by side.
    ViewCounty,
    /// See the grid tree.
    ViewGrid,
    /// Create, rename, move and deactivate nodes.
    EditGrid,
    /// Import and export the tree and the people.
    ImportExport,
    /// See people and their roles.
    ViewPeople,
    /// Create and edit people and their roles.
    EditPeople,
    /// Issue a one-time password reset code.
    ResetPassword,
    /// Issue and revoke QR codes.
    ManageQrCodes,
    /// Download QR codes and print posters.
    PrintPosters,
    /// Edit the township's categories.
    EditCategories,
    /// Create and revoke API tokens.
    ManageApiTokens,
    /// See cases.
    ViewCase,
    /// Work a case: acknowledge, start, pause, resolve, return, note, ask for invalidation.
    WorkCase,
    /// Give a case to someone else (transfer, dispatch from triage).
    ReassignCase,
    /// Move a case up the tree.
    EscalateCase,
    /// Approve or reject an invalidation request (the second person).
    ApproveInvalid,
    /// Record a follow-up visit or call.
    FollowUpCase,
    /// County supervision (督办): comment and set a deadline for a township.
    SuperviseCase,
    /// See figures and dashboards.
    ViewStats,
    /// Set the township's routing: triage, SLA policies, calendar, assignment rules,
    /// reply templates.
    ConfigureRouting,
    /// Ask the county to supervise a case (督办申请).
    RequestCounty,
}

impl Action {
    /// The name used in the documentation.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ManageTenants => "manage_tenants",
            Self::ViewCounty => "view_county",
            Self::ViewGrid => "view_grid",
            Self::EditGrid => "edit_grid",
            Self::ImportExport => "import_export",
            Self::ViewPeople => "view_people",
            Self::EditPeople => "edit_people",
            Self::ResetPassword => "reset_password",
            Self::ManageQrCodes => "manage_qr_codes",
            Self::PrintPosters => "print_posters",
            Self::EditCategories => "edit_categories",
            Self::ManageApiTokens => "manage_api_tokens",
            Self::ViewCase => "view_case",
            Self::WorkCase => "work_case",
            Self::ReassignCase => "reassign_case",
            Self::EscalateCase => "escalate_case",
            Self::ApproveInvalid => "approve_invalid",
            Self::FollowUpCase => "follow_up_case",
            Self::SuperviseCase => "supervise_case",
            Self::ViewStats => "view_stats",
            Self::ConfigureRouting => "configure_routing",
            Self::RequestCounty => "request_county",
        }
    }
}

use Action::*;
use Role::*;
use Scope::*;

/// Role × action × scope. A pair not listed is refused.
pub const MATRIX: &[(Role, Action, Scope)] = &[
    (CountyAdmin, ManageTenants, County),
    (CountyAdmin, ViewCounty, County),
    (CountyAdmin, ViewStats, County),
    (CountyCentre, ViewCounty, County),
    (CountyCentre, ViewStats, County),
    (CountyCentre, ViewCase, County),
    (CountyCentre, SuperviseCase, County),
    (TownshipAdmin, ViewGrid, Tenant),
    (TownshipAdmin, EditGrid, Tenant),
    (TownshipAdmin, ImportExport, Tenant),
    (TownshipAdmin, ViewPeople, Tenant),
    (TownshipAdmin, EditPeople, Tenant),
    (TownshipAdmin, ResetPassword, Tenant),
    (TownshipAdmin, ManageQrCodes, Tenant),
    (TownshipAdmin, PrintPosters, Tenant),
    (TownshipAdmin, EditCategories, Tenant),
    (TownshipAdmin, ManageApiTokens, Tenant),
    (TownshipAdmin, ViewStats, Tenant),
    (TownshipAdmin, ConfigureRouting, Tenant),
    (TownshipCentre, ViewGrid, Tenant),
    (TownshipCentre, ViewPeople, Tenant),
    (TownshipCentre, PrintPosters, Tenant),
    (TownshipCentre, ViewCase, Tenant),
    (TownshipCentre, WorkCase, Tenant),
    (TownshipCentre, ReassignCase, Tenant),
    (TownshipCentre, EscalateCase, Tenant),
    (TownshipCentre, ApproveInvalid, Tenant),
    (TownshipCentre, FollowUpCase, Tenant),
    (TownshipCentre, ViewStats, Tenant),
    (TownshipCentre, RequestCounty, Tenant),
    (VillageHead, ViewGrid, Subtree),
    (VillageHead, ViewPeople, Subtree),
    (VillageHead, PrintPosters, Subtree),
    (VillageHead, ViewCase, Subtree),
    (VillageHead, WorkCase, Subtree),
    (VillageHead, ReassignCase, Subtree),
    (VillageHead, EscalateCase, Subtree),
    (VillageHead, FollowUpCase, Subtree),
    (VillageHead, ViewStats, Subtree),
    (GridLeader, ViewGrid, Subtree),
    (GridLeader, ViewPeople, Subtree),
    (GridLeader, ViewCase, Subtree),
    (GridLeader, WorkCase, Subtree),
    (GridLeader, EscalateCase, Subtree),
    (GridLeader, FollowUpCase, Subtree),
    (GridWorker, ViewGrid, Own),
    (GridWorker, ViewCase, Own),
    (GridWorker, WorkCase, Own),
    (GridWorker, EscalateCase, Own),
];

/// What an action is about.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// The principal's township as a whole (import, settings): needs township scope.
    Township,
    /// A listing, which any scope may ask for; the rows are then limited to
    /// [`visible_roots`].
    List,
    /// Every township.
    County,
    /// A node: the node first, then its ancestors up to the township root.
    Node {
        /// The node and its ancestors, nearest first.
        ancestry: &'a [GridNodeId],
    },
    /// A case: where it is in the tree, and who handles it.
    Case {
        /// The case's node and its ancestors, nearest first.
        ancestry: &'a [GridNodeId],
        /// Its handler.
        assignee: Option<UserId>,
    },
}

/// The widest scope a role grants for an action.
pub fn scope_of(role: Role, action: Action) -> Option<Scope> {
    MATRIX
        .iter()
        .filter(|(r, a, _)| *r == role && *a == action)
        .map(|(_, _, s)| *s)
        .max()
}

/// Whether any of the principal's roles allows `action` on `target`. Tenancy itself
/// is enforced by the database: a principal only ever reaches its own township's rows.
pub fn allows(principal: &Principal, action: Action, target: Target<'_>) -> bool {
    principal.roles.iter().any(|grant| {
        let Some(scope) = scope_of(grant.role, action) else {
            return false;
        };
        let county = matches!(principal.kind, PrincipalKind::County { .. });
        match (scope, target) {
            (County, _) => county,
            (_, Target::County) => false,
            (Tenant, _) => !county,
            (Subtree | Own, Target::List) => true,
            (Subtree | Own, Target::Township) => false,
            (Subtree, Target::Node { ancestry } | Target::Case { ancestry, .. }) => {
                grant.node.is_some_and(|n| ancestry.contains(&n))
            }
            (Own, Target::Node { ancestry }) => {
                grant.node.is_some_and(|n| ancestry.first() == Some(&n))
            }
            (Own, Target::Case { assignee, .. }) => {
                assignee.is_some() && assignee == principal.user()
            }
        }
    })
}

/// [`allows`], as a refusal naming the action when it does not.
pub fn authorize(
    principal: &Principal,
    action: Action,
    target: Target<'_>,
) -> Result<(), AuthError> {
    if allows(principal, action, target) {
        Ok(())
    } else {
        Err(AuthError::Forbidden(format!(
            "您的角色不能执行此操作 (your roles do not allow {})",
            action.as_str()
        )))
    }
}

/// What a list may show for an action, when it is less than the whole township: the
/// union of what each role allows, exactly as [`allows`] decides for one row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Visible {
    /// Subtree roles: these nodes and everything below them.
    pub subtrees: Vec<GridNodeId>,
    /// Own roles: these nodes themselves, not what is below them.
    pub nodes: Vec<GridNodeId>,
    /// Own roles: the principal's own cases, wherever they are.
    pub own_cases: bool,
}

/// For list endpoints: what the principal may see for `action` (`None` = the whole
/// township). A subtree role adds its node's subtree; an own role adds its node alone
/// (for node rows) or the principal's own cases (for case rows), never a subtree.
pub fn visibility(principal: &Principal, action: Action) -> Option<Visible> {
    let mut visible = Visible::default();
    for grant in &principal.roles {
        match scope_of(grant.role, action) {
            Some(Tenant | County) => return None,
            Some(Subtree) => visible.subtrees.extend(grant.node),
            Some(Own) => {
                visible.nodes.extend(grant.node);
                visible.own_cases = true;
            }
            None => {}
        }
    }
    Some(visible)
}

/// For list endpoints whose rows hang under nodes and that no own role reaches
/// (people, QR codes, posters): the subtree roots under which the principal may see
/// rows for `action` (`None` = the whole township). Empty when nothing is visible.
pub fn visible_roots(principal: &Principal, action: Action) -> Option<Vec<GridNodeId>> {
    visibility(principal, action).map(|v| v.subtrees)
}

/// Every action, for tests and documentation.
pub const ALL_ACTIONS: [Action; 22] = [
    ManageTenants,
    ViewCounty,
    ViewGrid,
    EditGrid,
    ImportExport,
    ViewPeople,
    EditPeople,
    ResetPassword,
    ManageQrCodes,
    PrintPosters,
    EditCategories,
    ManageApiTokens,
    ViewCase,
    WorkCase,
    ReassignCase,
    EscalateCase,
    ApproveInvalid,
    FollowUpCase,
    SuperviseCase,
    ViewStats,
    ConfigureRouting,
    RequestCounty,
];

#[cfg(test)]
mod tests;
