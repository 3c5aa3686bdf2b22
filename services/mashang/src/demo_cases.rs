//! Cases for the demo's first run, so every staff page shows something: in each
//! township with sign-ins, four reports go in through the citizen API of the running
//! demo, and the grid worker takes them through the workflow API to four states: new,
//! acknowledged (已电话联系), resolved awaiting follow-up (回访), and overdue (its
//! first-response deadline moved into the past, so the timers remind and escalate it
//! as they would a real late case). The second such township then holds new cases for
//! the township centre's triage (人工受理), and a fifth report waits in its queue. A
//! township that has cases is left alone.

use std::time::Duration;

use anyhow::Context as _;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::seed::DemoTownship;

/// What the four reports say, and what becomes of each.
const REPORTS: [(&str, Fate); 4] = [
    ("村口路灯坏了三盏，晚上出行不安全", Fate::New),
    ("垃圾收集点两天没有清运，气味很大", Fate::Acknowledged),
    ("灌溉水渠堵塞，下游几户没法浇地", Fate::Resolved),
    ("路边护栏被撞断，小孩上学经过很危险", Fate::Overdue),
];

/// The report that waits in the triage queue of the township that holds new cases.
const TRIAGED: &str = "小区门口下水道井盖松动，车一压就响";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    New,
    Acknowledged,
    Resolved,
    Overdue,
}

/// Seeds the cases of every township that has a grid worker who can sign in and none
/// yet. `base_url` is the running demo; `owner_url` the database owner's.
pub async fn seed_cases(
    base_url: &str,
    owner_url: &str,
    townships: &[DemoTownship],
) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .context("an HTTP client")?;
    let mut owner = sqlx::PgConnection::connect(owner_url).await?;
    let mut seeded = 0;
    for township in townships {
        let Some(worker) = township.logins.iter().find(|l| l.role == "grid_worker") else {
            continue;
        };
        let Some(qr) = township.qr.iter().find(|q| q.node_code == worker.node_code) else {
            continue;
        };
        let existing: i64 =
            sqlx::query_scalar("SELECT count(*) FROM routing.cases WHERE tenant_id = $1")
                .bind(township.id.as_uuid())
                .fetch_one(&mut owner)
                .await?;
        if existing > 0 {
            continue;
        }
        let demo = Demo {
            http: &http,
            base: base_url,
        };
        demo.township(
            township,
            &worker.login,
            &worker.password,
            &qr.token,
            &mut owner,
        )
        .await
        .with_context(|| format!("seeding the cases of {}", township.name))?;
        seeded += 1;
        if seeded == 2 {
            demo.triage(township, &qr.token, &mut owner)
                .await
                .with_context(|| format!("seeding the triage queue of {}", township.name))?;
        }
    }
    Ok(())
}

struct Demo<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
}

impl Demo<'_> {
    async fn township(
        &self,
        township: &DemoTownship,
        login: &str,
        password: &str,
        qr_token: &str,
        owner: &mut sqlx::PgConnection,
    ) -> anyhow::Result<()> {
        let categories = self.categories(qr_token).await?;
        let mut submitted = Vec::new();
        for (i, (text, fate)) in REPORTS.iter().enumerate() {
            let body = json!({
                "qr_token": qr_token,
                "category": categories[i % categories.len()],
                "description": text,
                "contact_phone": format!("1390000{:04}", 1000 + i),
            });
            let answer = self
                .call(reqwest::Method::POST, "/api/v1/reports", Some(&body), None)
                .await?;
            let number = answer["tracking_number"]
                .as_str()
                .context("a tracking number")?
                .to_owned();
            submitted.push((number, *fate));
        }

        let signed_in = self
            .call(
                reqwest::Method::POST,
                "/api/v1/auth/login",
                Some(&json!({"login": login, "password": password})),
                None,
            )
            .await?;
        let token = signed_in["token"].as_str().context("a session token")?;
        let cases = self.wait_for_cases(token, submitted.len()).await?;
        for (number, fate) in &submitted {
            let id = cases
                .iter()
                .find(|c| c["tracking_number"].as_str() == Some(number))
                .and_then(|c| c["id"].as_str())
                .with_context(|| format!("no case for {number}"))?;
            self.take(id, *fate, token).await?;
            if *fate == Fate::Overdue {
                make_overdue(owner, township, id).await?;
                self.send_up(township, id).await?;
            }
        }
        Ok(())
    }

    /// The township centre sends the late case to the county (申请督办), so the county's
    /// supervision page has a case to show.
    async fn send_up(&self, township: &DemoTownship, case: &str) -> anyhow::Result<()> {
        let Some(centre) = township.logins.iter().find(|l| l.role == "township_centre") else {
            return Ok(());
        };
        let signed_in = self
            .call(
                reqwest::Method::POST,
                "/api/v1/auth/login",
                Some(&json!({"login": centre.login, "password": centre.password})),
                None,
            )
            .await?;
        let token = signed_in["token"].as_str().context("a session token")?;
        self.call(
            reqwest::Method::POST,
            &format!("/api/v1/cases/{case}/county-request"),
            Some(&json!({"note": "护栏在县道上，需县交通部门协调修复"})),
            Some(token),
        )
        .await?;
        Ok(())
    }

    /// The categories a QR code offers (at least one).
    async fn categories(&self, qr_token: &str) -> anyhow::Result<Vec<String>> {
        let qr = self
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/qr/{qr_token}"),
                None,
                None,
            )
            .await?;
        let categories: Vec<String> = qr["categories"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|c| c["code"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        anyhow::ensure!(!categories.is_empty(), "the QR code lists no categories");
        Ok(categories)
    }
    /// Turns on triage for the township (new cases wait for the centre) and submits a
    /// report that waits in its queue.
    async fn triage(
        &self,
        township: &DemoTownship,
        qr_token: &str,
        owner: &mut sqlx::PgConnection,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO routing.tenant_settings (tenant_id, triage_mode) VALUES ($1, 'triage') \
             ON CONFLICT (tenant_id) DO UPDATE SET triage_mode = 'triage'",
        )
        .bind(township.id.as_uuid())
        .execute(&mut *owner)
        .await?;
        let categories = self.categories(qr_token).await?;
        let category = &categories[0];
        let body = json!({
            "qr_token": qr_token,
            "category": category,
            "description": TRIAGED,
            "contact_phone": "13900001010",
        });
        self.call(reqwest::Method::POST, "/api/v1/reports", Some(&body), None)
            .await?;
        Ok(())
    }

    /// The worker's cases once routing has assigned all `n` reports.
    async fn wait_for_cases(&self, token: &str, n: usize) -> anyhow::Result<Vec<Value>> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let list = self
                .call(
                    reqwest::Method::GET,
                    "/api/v1/cases?mine=true",
                    None,
                    Some(token),
                )
                .await?;
            let cases = list["cases"]
                .as_array()
                .or_else(|| list.as_array())
                .cloned()
                .unwrap_or_default();
            if cases.len() >= n {
                return Ok(cases);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the reports were not assigned to the demo worker in time"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn take(&self, case: &str, fate: Fate, token: &str) -> anyhow::Result<()> {
        let act = |action: &'static str, body: Value| async move {
            self.call(
                reqwest::Method::POST,
                &format!("/api/v1/cases/{case}/{action}"),
                Some(&body),
                Some(token),
            )
            .await
        };
        if matches!(fate, Fate::Acknowledged | Fate::Resolved) {
            act(
                "acknowledge",
                json!({
                    "contacted_at": chrono::Utc::now(),
                    "method": "phone",
                    "summary": "已电话联系群众，约好明天上午到现场查看",
                }),
            )
            .await?;
        }
        if fate == Fate::Resolved {
            act("start", json!({})).await?;
            act(
                "resolve",
                json!({"measures": "组织村民清理了水渠淤泥，已恢复通水，下游农户确认可以浇地"}),
            )
            .await?;
        }
        Ok(())
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        bearer: Option<&str>,
    ) -> anyhow::Result<Value> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("calling {path}"))?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(status.is_success(), "{path} answered {status}: {answer}");
        Ok(answer)
    }
}

/// Moves a new case's first-response clock 50 minutes back (its deadline 20 minutes
/// into the past), as if it had come in then and nobody had called back: the clock,
/// the deadline and the timers agree, so its reminders and its breach
/// come due at once, and the timer scheduler fires them (reminding the worker and
/// adding the next level as supervisor) as it would for a real late case.
async fn make_overdue(
    owner: &mut sqlx::PgConnection,
    township: &DemoTownship,
    case: &str,
) -> anyhow::Result<()> {
    let case: uuid::Uuid = case.parse().context("a case id")?;
    let mut tx = owner.begin().await?;
    sqlx::query(
        "UPDATE routing.cases SET submitted_at = now() - interval '50 minutes', \
             first_response_due = now() - interval '20 minutes', \
             clocks = jsonb_set(clocks, '{first_response,started_at}', \
                                to_jsonb(now() - interval '50 minutes')) \
         WHERE tenant_id = $1 AND id = $2 AND clocks ? 'first_response'",
    )
    .bind(township.id.as_uuid())
    .bind(case)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE routing.timers SET due_at = now() - interval '20 minutes' \
         WHERE tenant_id = $1 AND case_id = $2 AND target = 'first_response' AND fired_at IS NULL",
    )
    .bind(township.id.as_uuid())
    .bind(case)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
