//! The staff header every staff page carries, whichever service serves the page: the
//! person, their township, the unread-notices badge, the links their roles open, and
//! sign-out. Built here from the signed-in [`Principal`] so routing, notification and
//! intake draw the same header and agree on who may open what; each service only adds
//! its township's name and the URLs of its own copy of the staff files.
//!
//! Pages include `web/staff_bar.html` (or extend `web/staff_page.html`) with the
//! header in a field named `chrome`.

use mashang_auth::permissions::{Action, Target, allows};
use mashang_auth::{Principal, PrincipalKind};
use mashang_domain::role::Role;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::assets::{HEADER_JS, STAFF_CSS};
use crate::{Assets, strings};

/// Where every staff member signs in.
pub const LOGIN: &str = "/login";

/// What the header says in place of a township for county staff.
pub const COUNTY_CENTRE: &str = "县综治中心";

/// The sign-in page that returns to `next` afterwards (when `next` is a path on this
/// site, see [`safe_next`]).
pub fn login_then(next: Option<&str>) -> String {
    match next.filter(|n| safe_next(n)) {
        Some(next) => format!("{LOGIN}?next={}", percent_encode(next)),
        None => LOGIN.to_owned(),
    }
}

/// Whether `next` is a relative path on this site: one leading `/`, never `//` or a
/// backslash (which browsers read as another host), no control characters, and not
/// the sign-in pages themselves (which would send a signed-in person round in circles).
pub fn safe_next(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("/login")
        && !next.starts_with("/logout")
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.len() <= 512
        && !next.chars().any(char::is_control)
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The grid and village roles, who handle cases.
const HANDLERS: [Role; 3] = [Role::GridWorker, Role::GridLeader, Role::VillageHead];

/// Where a person lands after signing in (the header's brand link). County staff go to
/// the county's pages; for a township person holding several roles the first of the
/// township centre (its queue), the administrator (`/admin`) and the grid and village
/// roles (their cases) wins: the centre's work is the most time-bound, the
/// administrator's the least.
pub fn home_of(principal: &Principal) -> &'static str {
    if matches!(principal.kind, PrincipalKind::County { .. }) {
        "/county"
    } else if principal.has_role(Role::TownshipCentre) {
        "/console/queue"
    } else if principal.has_role(Role::TownshipAdmin) {
        "/admin"
    } else if HANDLERS.into_iter().any(|r| principal.has_role(r)) {
        "/console"
    } else {
        "/admin"
    }
}

/// Which sections the signed-in person may open: the console's case pages first,
/// then the administrator's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Nav {
    /// 我的案件 (`/console`): grid and village roles.
    pub my_cases: bool,
    /// 受理审核 (`/console/queue`): the township centre.
    pub queue: bool,
    /// 全部案件 (`/console/cases`): whoever sees more than their own cases.
    pub all_cases: bool,
    /// 超时督办 (`/console/overdue`): as the list.
    pub overdue: bool,
    /// 审批 (`/console/approvals`): who approves invalid requests and extensions.
    pub approvals: bool,
    /// 回访 (`/console/follow-ups`): the township centre.
    pub follow_ups: bool,
    /// 统计 (`/dashboard`, served by analytics): the township's figures, for whoever
    /// may read them (a village head: their village's).
    pub dashboard: bool,
    /// 代为上报 (`/console/report`): whoever works cases.
    pub report: bool,
    /// 网格 (`/admin/grid`): who may see the grid tree.
    pub grid: bool,
    /// Whether the grid page offers changes.
    pub edit_grid: bool,
    /// 导入导出 (`/admin/import`).
    pub import: bool,
    /// 人员 (`/admin/people`).
    pub people: bool,
    /// 二维码 (`/admin/posters`).
    pub posters: bool,
    /// 规则 (`/admin/settings`, SLA policies, calendar, categories): the administrator.
    pub rules: bool,
    /// 通知渠道 (`/admin/channels`, served by notification).
    pub channels: bool,
    /// 操作记录: the township's (`/admin/audit`, its administrators) or every
    /// township's (`/county/audit`, the county).
    pub audit: Option<&'static str>,
    /// 分派规则 (`/admin/assignment-rules`).
    pub assignment_rules: bool,
    /// 常用语 (`/admin/reply-templates`).
    pub reply_templates: bool,
    /// The county centre's pages, for county staff.
    pub county: CountyNav,
}

/// The county centre's links (`/county…`), each as the county roles allow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CountyNav {
    /// 乡镇 (`/county`): the townships.
    pub townships: bool,
    /// 督办 (`/county/supervision`): cases sent up.
    pub supervision: bool,
    /// 案件查询 (`/county/search`): any township's case, read-only, with a reason.
    pub search: bool,
    /// 查阅记录 (`/county/views`): who opened which case and why.
    pub views: bool,
    /// 统计 (`/county/dashboard`): the county's figures.
    pub dashboard: bool,
    /// 县级邮件 (`/county/mail`): the county's mail server and daily digest.
    pub mail: bool,
}

impl CountyNav {
    /// The county links `principal`'s roles open (none for township people).
    pub fn of(principal: &Principal) -> Self {
        let may = |action| allows(principal, action, Target::County);
        Self {
            townships: may(Action::ViewCounty),
            supervision: may(Action::SuperviseCase),
            search: may(Action::ViewCase),
            views: may(Action::ViewCounty),
            dashboard: may(Action::ViewStats),
            mail: may(Action::ManageTenants),
        }
    }
}

impl Nav {
    /// The links `principal`'s roles open.
    pub fn of(principal: &Principal) -> Self {
        let handler = HANDLERS.into_iter().any(|r| principal.has_role(r));
        let centre = principal.has_role(Role::TownshipCentre);
        let supervisor =
            centre || principal.has_role(Role::VillageHead) || principal.has_role(Role::GridLeader);
        let township = principal.tenant().is_some();
        Self {
            my_cases: township && handler,
            queue: township && centre,
            all_cases: township && supervisor,
            overdue: township && supervisor,
            approvals: township && allows(principal, Action::ApproveInvalid, Target::List),
            follow_ups: township && centre,
            dashboard: township && allows(principal, Action::ViewStats, Target::List),
            report: township && allows(principal, Action::WorkCase, Target::List),
            grid: allows(principal, Action::ViewGrid, Target::List),
            edit_grid: allows(principal, Action::EditGrid, Target::Township),
            import: allows(principal, Action::ImportExport, Target::Township),
            people: allows(principal, Action::ViewPeople, Target::List),
            posters: allows(principal, Action::PrintPosters, Target::List),
            rules: allows(principal, Action::ConfigureRouting, Target::Township),
            channels: township && allows(principal, Action::ConfigureRouting, Target::Township),
            audit: if township {
                allows(principal, Action::ConfigureRouting, Target::Township)
                    .then_some("/admin/audit")
            } else {
                allows(principal, Action::ViewCounty, Target::County).then_some("/county/audit")
            },
            assignment_rules: allows(principal, Action::ConfigureRouting, Target::Township),
            reply_templates: allows(principal, Action::ConfigureRouting, Target::Township),
            county: CountyNav::of(principal),
        }
    }
}

/// The header of a signed-in person's page, and the staff files it links to.
#[derive(Clone, Debug)]
pub struct StaffHeader {
    /// Their name.
    pub name: String,
    /// Their township's name (county staff: the county centre).
    pub township: String,
    /// The session's CSRF token, sent by every form as its hidden `_csrf` field.
    pub csrf: String,
    /// The links their roles allow.
    pub nav: Nav,
    /// Their home page (the brand link).
    pub home: &'static str,
    /// The staff stylesheet's URL in the serving service's files.
    pub stylesheet: String,
    /// The header script's URL (the unread-notices badge) in the service's files.
    pub script: String,
}

impl StaffHeader {
    /// The header of `principal`, whose township is called `township` (ignored for
    /// county staff, who belong to none), linking to the staff files of `assets`
    /// (which must hold [`STAFF_CSS`] and [`HEADER_JS`]).
    pub fn new(principal: &Principal, township: Option<String>, assets: &Assets) -> Self {
        let township = match principal.kind {
            PrincipalKind::County { .. } => COUNTY_CENTRE.to_owned(),
            _ => township.unwrap_or_default(),
        };
        Self {
            name: principal.name.clone(),
            township,
            csrf: principal.csrf.clone().unwrap_or_default(),
            nav: Nav::of(principal),
            home: home_of(principal),
            stylesheet: assets.url(STAFF_CSS.name),
            script: assets.url(HEADER_JS.name),
        }
    }

    /// The header's script (the unread-notices badge).
    pub fn header_js(&self) -> &str {
        &self.script
    }
}

/// A staff page that could not be shown, in plain words under the staff stylesheet
/// (`web/staff_error.html`); with a sign-out button when the person is signed in.
#[derive(Debug, askama::Template)]
#[template(path = "web/staff_error.html")]
pub struct StaffError<'a> {
    /// The heading.
    pub title: &'a str,
    /// What to tell the person.
    pub message: &'a str,
    /// The staff stylesheet's URL.
    pub stylesheet: &'a str,
    /// The session's CSRF token, for the sign-out button.
    pub csrf: Option<&'a str>,
}

/// A staff page with the staff pages' headers; an error page if it cannot be drawn.
pub fn page(status: StatusCode, template: &impl askama::Template, assets: &Assets) -> Response {
    crate::STAFF.render(status, template).unwrap_or_else(|_| {
        refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            strings::INTERNAL_MESSAGE,
            None,
            assets,
        )
    })
}

/// A refusal or failure as a staff page: `message` under the heading of `status`.
pub fn refuse(status: StatusCode, message: &str, csrf: Option<&str>, assets: &Assets) -> Response {
    let stylesheet = assets.url(STAFF_CSS.name);
    let page = StaffError {
        title: strings::error_title(status),
        message,
        stylesheet: &stylesheet,
        csrf,
    };
    crate::STAFF
        .render(status, &page)
        .unwrap_or_else(|_| status.into_response())
}

#[cfg(test)]
mod tests {
    use askama::Template;
    use mashang_auth::RoleGrant;
    use mashang_domain::{GridNodeId, TenantId, UserId};

    use super::*;
    use crate::Asset;

    fn township(roles: &[Role]) -> Principal {
        Principal {
            kind: PrincipalKind::Staff {
                user: UserId::new(),
                tenant: TenantId::new(),
            },
            name: "某人".to_owned(),
            roles: roles
                .iter()
                .map(|&role| RoleGrant {
                    role,
                    node: Some(GridNodeId::new()),
                })
                .collect(),
            csrf: Some("tok".to_owned()),
        }
    }

    fn county() -> Principal {
        Principal {
            kind: PrincipalKind::County {
                user: UserId::new(),
            },
            roles: vec![RoleGrant {
                role: Role::CountyCentre,
                node: None,
            }],
            ..township(&[])
        }
    }

    #[test]
    fn several_roles_go_to_the_centre_then_the_administrator_then_the_cases() {
        use Role::*;
        assert_eq!(home_of(&township(&[GridWorker])), "/console");
        assert_eq!(home_of(&township(&[VillageHead])), "/console");
        assert_eq!(home_of(&township(&[GridWorker, TownshipAdmin])), "/admin");
        assert_eq!(
            home_of(&township(&[TownshipAdmin, GridLeader, TownshipCentre])),
            "/console/queue"
        );
        assert_eq!(home_of(&county()), "/county");
    }

    #[test]
    fn a_worker_sees_their_cases_and_the_report_page_and_no_admin_links() {
        let nav = Nav::of(&township(&[Role::GridWorker]));
        assert!(nav.my_cases && nav.report);
        assert!(!nav.queue && !nav.all_cases && !nav.approvals && !nav.people && !nav.import);
        let centre = Nav::of(&township(&[Role::TownshipCentre]));
        assert!(centre.queue && centre.all_cases && centre.approvals && centre.follow_ups);
        assert!(!centre.my_cases && !centre.import);
        let county = Nav::of(&county());
        assert!(!county.report && !county.my_cases && !county.queue);
        assert!(county.county.townships && county.county.supervision && county.county.search);
        assert_eq!(centre.county, CountyNav::default());
    }

    #[test]
    fn next_is_a_path_of_this_site_only() {
        for ok in ["/console", "/admin/people?q=a%20b", "/console/cases/1#x"] {
            assert!(safe_next(ok), "{ok}");
        }
        for bad in [
            "",
            "console",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "/console\n",
            "/login?next=/login",
        ] {
            assert!(!safe_next(bad), "{bad:?}");
        }
        assert_eq!(
            login_then(Some("/admin/people?q=a b")),
            "/login?next=/admin/people%3Fq%3Da%20b"
        );
        assert_eq!(login_then(Some("//evil.example")), "/login");
    }

    #[derive(Template)]
    #[template(
        ext = "html",
        source = r#"{% extends "web/staff_page.html" %}{% block title %}页{% endblock %}{% block content %}<p>x</p>{% endblock %}"#
    )]
    struct Page {
        chrome: StaffHeader,
    }

    #[test]
    fn the_header_names_the_person_their_township_and_the_service_files() {
        const FILES: [Asset; 2] = [STAFF_CSS, HEADER_JS];
        let assets = Assets::new("svc", &FILES);
        let chrome = StaffHeader::new(
            &township(&[Role::GridWorker]),
            Some("草滩镇".to_owned()),
            &assets,
        );
        let html = Page { chrome }.render().expect("renders");
        assert!(
            html.contains("<span>某人</span><small>草滩镇</small>"),
            "{html}"
        );
        assert!(html.contains(r#"href="/console/report""#));
        assert!(!html.contains(r#"href="/admin/people""#));
        assert!(html.contains(&format!(r#"href="{}""#, assets.url("staff.css"))));
        assert!(html.contains(&format!(r#"src="{}""#, assets.url("header.js"))));
        assert!(html.contains(r#"name="_csrf" value="tok""#));
        let county = StaffHeader::new(&county(), Some("草滩镇".to_owned()), &assets);
        assert_eq!(county.township, COUNTY_CENTRE);
    }
}
