//! The citizen's pages, rendered on the server: the QR landing page with its form,
//! the status page (also shown as the "submitted" page right after sending), and
//! the pages of codes that lead nowhere. Chinese first; English by `?lang=en` or the
//! browser's `Accept-Language` ([`Lang`]), in the shared layout with the citizen
//! pages' headers (`mashang_web`).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mashang_domain::report::ReportStatus;
use mashang_http::{ApiError, FieldError};
use mashang_web::Lang;

use crate::form::TypedFields;
use crate::qr::QrContext;
use crate::status::PublicStatus;

/// The icons a category may name; anything else is drawn as `dots`.
const ICONS: [&str; 9] = [
    "handshake",
    "broom",
    "road",
    "bolt",
    "shield",
    "cross",
    "question",
    "dots",
    "other",
];

/// A category button.
#[derive(Debug)]
pub struct CategoryView<'a> {
    /// The code sent back.
    pub code: &'a str,
    /// The name in the page's language.
    pub name: &'a str,
    /// A known icon name.
    pub icon: &'static str,
}

/// The QR landing page with the report form.
#[derive(Debug, Template)]
#[template(path = "landing.html")]
pub struct Landing<'a> {
    /// The page's language.
    pub lang: Lang,
    /// Where the code leads.
    pub ctx: &'a QrContext,
    /// The token, for the form's action.
    pub token: &'a str,
    /// What the citizen typed, when the page is shown again after a refusal.
    pub typed: TypedFields,
    /// What was wrong.
    pub errors: Vec<FieldError>,
    /// The category buttons.
    pub categories: Vec<CategoryView<'a>>,
}

impl<'a> Landing<'a> {
    /// The landing page of `ctx`, empty or as typed with what was wrong.
    pub fn new(
        lang: Lang,
        ctx: &'a QrContext,
        token: &'a str,
        typed: TypedFields,
        errors: Vec<FieldError>,
    ) -> Self {
        let categories = ctx
            .categories
            .iter()
            .map(|c| CategoryView {
                code: &c.code,
                name: if lang.is_en() && !c.name_en.is_empty() {
                    &c.name_en
                } else {
                    &c.name_zh
                },
                icon: ICONS
                    .iter()
                    .find(|i| **i == c.icon)
                    .copied()
                    .unwrap_or("dots"),
            })
            .collect();
        Self {
            lang,
            ctx,
            token,
            typed,
            errors,
            categories,
        }
    }

    /// The message of the first error on `field`, in the page's language.
    pub fn error_for(&self, field: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| self.lang.pick(&e.message))
    }

    /// The id of the form control an error points to, for the summary's links.
    pub fn anchor(&self, field: &str) -> &'static str {
        match field {
            "category" => "cat-first",
            "description" => "description",
            "contact_name" => "contact_name",
            "contact_phone" => "contact_phone",
            f if f.starts_with("photo") => "photo",
            _ => "report",
        }
    }
}

/// The page for a code that leads nowhere.
#[derive(Debug, Template)]
#[template(path = "unknown_code.html")]
pub struct UnknownCode {
    /// The page's language.
    pub lang: Lang,
}

/// The page of a replaced code or a suspended township, with the township's contact.
#[derive(Debug, Template)]
#[template(path = "closed_code.html")]
pub struct ClosedCode<'a> {
    /// The page's language.
    pub lang: Lang,
    /// Replaced (true) or suspended (false).
    pub replaced: bool,
    /// The township's name.
    pub township: &'a str,
    /// Its public contact number.
    pub contact: Option<&'a str>,
}

/// The page for a status link that leads nowhere (wrong or cut-off link).
#[derive(Debug, Template)]
#[template(path = "status_missing.html")]
pub struct StatusMissing {
    /// The page's language.
    pub lang: Lang,
}

/// One step of the citizen-facing progress.
#[derive(Debug)]
pub struct StepView {
    /// Its label in the page's language.
    pub label: &'static str,
    /// Reached.
    pub done: bool,
    /// The step the report is at now.
    pub current: bool,
    /// When it was reached (local time), if recorded.
    pub at: Option<String>,
}

/// The status page; right after a submission (`&new=1`), with the tracking number
/// and what happens next at the top.
#[derive(Debug, Template)]
#[template(path = "status.html")]
pub struct StatusPage<'a> {
    /// The page's language.
    pub lang: Lang,
    /// The status.
    pub status: &'a PublicStatus,
    /// The steps, all of them, reached or not.
    pub steps: Vec<StepView>,
    /// When the report was sent (local time).
    pub submitted_at: String,
    /// Shown right after the submission.
    pub fresh: bool,
    /// A phone number was given, so a call back is coming.
    pub call_back: bool,
    /// The link to this page, to keep or share (only when opened through it).
    pub link: Option<String>,
    /// The same page in the other language.
    pub switch_href: String,
    /// Where the rating goes.
    pub rate_action: String,
}

/// The citizen-facing steps after "submitted", in order.
const STEPS: [ReportStatus; 5] = [
    ReportStatus::Assigned,
    ReportStatus::Contacted,
    ReportStatus::InProgress,
    ReportStatus::Resolved,
    ReportStatus::FollowedUp,
];

/// What the status page needs besides the status itself.
#[derive(Debug)]
pub struct StatusContext<'a> {
    /// The page's language.
    pub lang: Lang,
    /// The public base URL.
    pub public_url: &'a str,
    /// How the page was opened: the link's secret (`s`), or the phone's last four
    /// digits (`phone4`).
    pub proof: (&'static str, &'a str),
    /// `&new=1`: just submitted.
    pub fresh: bool,
    /// `&call=1`: a phone number was given.
    pub call_back: bool,
}

impl<'a> StatusPage<'a> {
    /// The status page of `status`, times shown in `zone`.
    pub fn new(status: &'a PublicStatus, zone: chrono_tz::Tz, c: StatusContext<'_>) -> Self {
        let lang = c.lang;
        let local = |at: &chrono::DateTime<chrono::Utc>| {
            at.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string()
        };
        let label = |s: ReportStatus| lang.t(s.label_zh(), s.label_en());
        let steps = STEPS
            .iter()
            .map(|&s| {
                let recorded = status.steps.iter().find(|step| step.status == s);
                StepView {
                    label: label(s),
                    // A step skipped on the way is behind the report all the same; a
                    // closed report (perhaps never handled) shows only what happened.
                    done: recorded.is_some()
                        || (status.status != ReportStatus::Closed && status.status >= s),
                    current: status.status == s,
                    at: recorded.map(|step| local(&step.at)),
                }
            })
            .collect();
        let number = &status.tracking_number;
        let (proof_name, proof_value) = c.proof;
        let path = format!("/r/{number}?{proof_name}={proof_value}");
        let fresh_params = match (c.fresh, c.call_back) {
            (true, true) => "&new=1&call=1",
            (true, false) => "&new=1",
            _ => "",
        };
        Self {
            lang,
            status,
            steps,
            submitted_at: local(&status.submitted_at),
            fresh: c.fresh,
            call_back: c.call_back,
            link: (proof_name == "s").then(|| format!("{}{path}", c.public_url)),
            switch_href: format!("{path}{fresh_params}{}", lang.t("&lang=en", "&lang=zh")),
            rate_action: format!(
                "/api/v1/reports/{number}/rating?{proof_name}={proof_value}{}",
                lang.amp_param()
            ),
        }
    }

    /// The current status in the page's language.
    pub fn current_label(&self) -> &'static str {
        self.lang
            .t(self.status.status_label, self.status.status_label_en)
    }

    /// Whether the report was closed without the usual steps.
    pub fn closed(&self) -> bool {
        self.status.status == ReportStatus::Closed
    }

    /// The words for a satisfaction answer.
    pub fn satisfaction_label(&self, value: &str) -> &'static str {
        match value {
            "satisfied" => self.lang.t("满意", "Satisfied"),
            "basically_satisfied" => self.lang.t("基本满意", "Basically satisfied"),
            _ => self.lang.t("不满意", "Not satisfied"),
        }
    }
}

/// Renders a page with a status code and the citizen pages' headers.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    mashang_web::CITIZEN
        .render(status, template)
        .unwrap_or_else(|err| ApiError::internal(err).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(rating: Option<crate::status::RatingView>) -> PublicStatus {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("a valid time");
        let step = |status: ReportStatus| crate::status::Step {
            status,
            label: status.label_zh(),
            label_en: status.label_en(),
            at,
        };
        PublicStatus {
            tracking_number: "CAOTAN-20270115-0007".to_owned(),
            status: ReportStatus::Resolved,
            status_label: ReportStatus::Resolved.label_zh(),
            status_label_en: ReportStatus::Resolved.label_en(),
            category: "roads".to_owned(),
            submitted_at: at,
            steps: vec![
                step(ReportStatus::Submitted),
                step(ReportStatus::Assigned),
                step(ReportStatus::Resolved),
            ],
            can_rate: rating.is_none(),
            rating,
        }
    }

    fn page(status: &PublicStatus, lang: Lang) -> String {
        let context = StatusContext {
            lang,
            public_url: "https://mashang.example.cn",
            proof: ("s", "secret"),
            fresh: false,
            call_back: false,
        };
        StatusPage::new(status, chrono_tz::Asia::Shanghai, context)
            .render()
            .expect("the status page renders")
    }

    #[test]
    fn a_resolved_report_asks_for_the_two_rating_questions() {
        let html = page(&resolved(None), Lang::Zh);
        assert!(html.contains(r#"action="/api/v1/reports/CAOTAN-20270115-0007/rating?s=secret""#));
        assert!(html.contains("问题解决了吗？") && html.contains("您对办理结果满意吗？"));
        assert!(html.contains(r#"value="basically_satisfied""#));
        assert!(html.contains("https://mashang.example.cn/r/CAOTAN-20270115-0007?s=secret"));
        // Contacted and in progress were skipped, yet are behind the report: reached.
        assert_eq!(html.matches(r#"class="reached""#).count(), 5);
        assert_eq!(html.matches(r#"class="todo""#).count(), 1);
    }

    #[test]
    fn a_rating_given_is_shown_escaped_and_not_asked_again() {
        let rating = crate::status::RatingView {
            resolved: false,
            satisfaction: "unsatisfied".to_owned(),
            comment: Some("<script>alert(1)</script>".to_owned()),
            rated_at: chrono::Utc::now(),
        };
        let html = page(&resolved(Some(rating)), Lang::En);
        assert!(!html.contains(r#"id="rate""#));
        assert!(html.contains("The problem is not solved") && html.contains("Not satisfied"));
        assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>alert"));
    }
}
