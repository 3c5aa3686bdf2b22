//! The working calendar's page: a holiday moves the next case's deadline; hours, zone,
//! dates and holiday-cn files refused in words; other townships' dates not found.

use chrono::{Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use mashang_tests::browser::Browser;
use mashang_tests::{PASSWORD, TestApp, TestEnv, seed_tenant};
use reqwest::multipart::{Form, Part};
use serde_json::json;

use super::{new_case, policy_form, post_policy, sign_in, time};

/// The next `n` local dates (UTC+8, the fixture's Asia/Shanghai) after today.
fn next_days(n: i64) -> Vec<NaiveDate> {
    let zone = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let today = zone.from_utc_datetime(&Utc::now().naive_utc()).date_naive();
    (1..=n).map(|i| today + Duration::days(i)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holiday_added_in_the_calendar_moves_a_new_cases_deadline() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "rulecal").await;
    let other = seed_tenant(env.db(), "rulecal2").await;
    let app = TestApp::monolith(&env).await;
    let admin = Browser::new(&app.routing.base);
    let csrf = sign_in(&admin, &fx.logins.admin).await;
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;
    let api = app.routing.signed_in(&fx.logins.admin, PASSWORD).await;

    let page = admin.get("/admin/calendar").await.expect(200);
    assert!(page.has("北京时间") && page.has(r#"value="08:30-12:00,14:30-18:00""#));
    assert!(page.has("2026年") && page.has("官方安排已公布"));
    assert!(page.has("2027年") && page.has("暂定"));
    assert!(
        page.has("国家安排（内置）"),
        "the year's official days are listed"
    );

    // Resolution in two working days, so that the calendar decides the deadline.
    post_policy(
        &admin,
        "/admin/sla-policies/*/normal",
        &policy_form(
            &csrf,
            [
                ("30", "wall_minutes", ""),
                ("2", "working_days", ""),
                ("2", "working_days", ""),
            ],
        ),
    )
    .await
    .see_other();
    let first = new_case(&app, &fx, "roads", &centre).await;

    // The next two weeks become holidays, through the form, one date at a time.
    let days = next_days(14);
    for day in &days {
        let day = day.format("%Y-%m-%d").to_string();
        let to = admin
            .post(
                "/admin/calendar/overrides",
                &[
                    ("_csrf", csrf.as_str()),
                    ("day", day.as_str()),
                    ("kind", "off"),
                    ("name", "测试假日"),
                    ("hours", ""),
                ],
            )
            .await
            .see_other();
        assert!(to.starts_with("/admin/calendar?ok=added&year="), "{to}");
    }
    let shown_day = days[0].format("%Y-%m-%d").to_string();
    let page = admin
        .get(&format!("/admin/calendar?year={}", days[0].format("%Y")))
        .await
        .expect(200);
    assert!(page.has(&shown_day) && page.has("测试假日") && page.has("本镇设定"));
    assert!(page.has(&format!(
        r#"action="/admin/calendar/overrides/{shown_day}/delete""#
    )));

    let second = new_case(&app, &fx, "roads", &centre).await;
    let holidays_end = FixedOffset::east_opt(8 * 3600)
        .expect("UTC+8")
        .from_local_datetime(
            &(*days.last().expect("days") + Duration::days(1))
                .and_hms_opt(0, 0, 0)
                .expect("midnight"),
        )
        .single()
        .expect("one instant")
        .with_timezone(&Utc);
    assert!(
        time(&second, "resolution_due") > time(&first, "resolution_due"),
        "{} then {}",
        first["resolution_due"],
        second["resolution_due"]
    );
    assert!(
        time(&second, "resolution_due") > holidays_end,
        "no working time in the holidays: {}",
        second["resolution_due"]
    );
    // The wall-clock first response does not care.
    assert_eq!(
        time(&second, "first_response_due") - time(&second, "submitted_at"),
        Duration::minutes(30)
    );

    // Removing a date: it is gone; removing it again, or a date only another township
    // set, is not found.
    let to = admin
        .post(
            &format!("/admin/calendar/overrides/{shown_day}/delete"),
            &[("_csrf", csrf.as_str())],
        )
        .await
        .see_other();
    assert!(to.starts_with("/admin/calendar?ok=deleted"), "{to}");
    let page = admin.get(&to).await.expect(200);
    assert!(!page.has(&format!(
        r#"action="/admin/calendar/overrides/{shown_day}/delete""#
    )));
    admin
        .post(
            &format!("/admin/calendar/overrides/{shown_day}/delete"),
            &[("_csrf", csrf.as_str())],
        )
        .await
        .expect(404);
    let outsider = app.routing.signed_in(&other.logins.admin, PASSWORD).await;
    outsider
        .put_json(
            "/api/v1/admin/calendar/overrides/2031-05-05",
            &json!({"kind": "off", "name": "外镇假日"}),
        )
        .await
        .expect(204);
    admin
        .post(
            "/admin/calendar/overrides/2031-05-05/delete",
            &[("_csrf", csrf.as_str())],
        )
        .await
        .expect(404);
    admin
        .post(
            "/admin/calendar/overrides/not-a-date/delete",
            &[("_csrf", csrf.as_str())],
        )
        .await
        .expect(404);
    let theirs = outsider
        .get("/api/v1/admin/calendar")
        .await
        .expect(200)
        .body;
    assert!(
        theirs["overrides"].to_string().contains("外镇假日"),
        "still there"
    );

    // Bad input comes back with what was typed and the reason.
    let refused = admin
        .post(
            "/admin/calendar/overrides",
            &[
                ("_csrf", csrf.as_str()),
                ("day", "2026-13-01"),
                ("kind", "working"),
                ("name", "坏日期"),
                ("hours", "08:00-12:00"),
            ],
        )
        .await
        .expect(422);
    assert!(refused.has("日期写成") && refused.has(r#"value="2026-13-01""#));
    assert!(
        refused.has(r#"value="坏日期""#) && refused.has(r#"<option value="working" selected>"#)
    );
    // A name the database could not store is refused by its field, not a server error.
    let nul = admin
        .post(
            "/admin/calendar/overrides",
            &[
                ("_csrf", csrf.as_str()),
                ("day", "2031-06-06"),
                ("kind", "off"),
                ("name", "假\u{0}日"),
            ],
        )
        .await
        .expect(422);
    assert!(nul.has("控制字符"));
    let week = |zone: &'static str, monday: &'static str| {
        vec![
            ("_csrf", csrf.clone()),
            ("time_zone", zone.to_owned()),
            ("monday", monday.to_owned()),
            ("tuesday", "08:30-12:00,14:30-18:00".to_owned()),
            ("wednesday", "08:30-12:00,14:30-18:00".to_owned()),
            ("thursday", "08:30-12:00,14:30-18:00".to_owned()),
            ("friday", "08:30-12:00,14:30-18:00".to_owned()),
            ("saturday", String::new()),
            ("sunday", String::new()),
        ]
    };
    let post_week = |form: Vec<(&'static str, String)>| {
        let admin = &admin;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            admin.post("/admin/calendar", &pairs).await
        }
    };
    let refused = post_week(week("Mars/Olympus_Mons", "08:30-12:00"))
        .await
        .expect(422);
    assert!(refused.has("请从列表中选择时区") && refused.has("Mars/Olympus_Mons"));
    assert!(
        refused.has(r#"value="08:30-12:00""#),
        "the hours typed are kept"
    );
    let refused = post_week(week("Asia/Shanghai", "08:00-25:00"))
        .await
        .expect(422);
    assert!(refused.has("时间在 00:00 到 24:00 之间") && refused.has(r#"value="08:00-25:00""#));
    let refused = post_week(week("Asia/Shanghai", "上午")).await.expect(422);
    assert!(refused.has("请写成 08:30-12:00") && refused.has(r#"value="上午""#));
    let unchanged = api.get("/api/v1/admin/calendar").await.expect(200).body;
    assert_eq!(unchanged["time_zone"], "Asia/Shanghai");
    assert_eq!(
        unchanged["weekly"]["monday"],
        json!(["08:30-12:00", "14:30-18:00"])
    );

    // A good week and zone are saved.
    let to = post_week(week("Asia/Urumqi", "09:00-13:00,15:00-19:00"))
        .await
        .see_other();
    assert_eq!(to, "/admin/calendar?ok=saved");
    let saved = api.get("/api/v1/admin/calendar").await.expect(200).body;
    assert_eq!(saved["time_zone"], "Asia/Urumqi");
    assert_eq!(
        saved["weekly"]["monday"],
        json!(["09:00-13:00", "15:00-19:00"])
    );
    assert!(
        admin
            .get(&to)
            .await
            .expect(200)
            .has(r#"<option value="Asia/Urumqi" selected>"#)
    );
    // The change log names the administrator who changed the zone through the page.
    let log = api
        .get("/api/v1/admin/audit?entity=tenants")
        .await
        .expect(200)
        .body;
    let entry = &log["entries"][0];
    assert_eq!(entry["actor_id"], fx.admin.to_string(), "{log}");
    assert_eq!(entry["after"]["time_zone"], "Asia/Urumqi", "{log}");

    // Importing a holiday-cn file: malformed, too large, a year out of range, refused in
    // words; a good one makes its year official.
    let upload = |name: &'static str, bytes: Vec<u8>| {
        Form::new()
            .text("_csrf", csrf.clone())
            .part("file", Part::bytes(bytes).file_name(name))
    };
    let refused = admin
        .upload(
            "/admin/calendar/import",
            upload("2030.json", b"{\"year\": 2030, \"days\": [".to_vec()),
        )
        .await
        .expect(422);
    assert!(refused.has("没有导入") && refused.has("2030.json") && refused.has("holiday-cn"));
    let mut huge = br#"{"year": 2030, "papers": [], "days": [], "pad": ""#.to_vec();
    huge.extend(std::iter::repeat_n(b'x', 70 * 1024));
    huge.extend(br#""}"#);
    let refused = admin
        .upload("/admin/calendar/import", upload("huge.json", huge))
        .await
        .expect(422);
    assert!(refused.has("文件超过64KB") && refused.has("huge.json"));
    let ancient = json!({"year": 1900, "papers": ["x"], "days": [{"name": "元旦", "date": "1900-01-01", "isOffDay": true}]});
    admin
        .upload(
            "/admin/calendar/import",
            upload("1900.json", ancient.to_string().into_bytes()),
        )
        .await
        .expect(422);
    let good = json!({
        "year": 2030,
        "papers": ["https://www.gov.cn/test"],
        "days": [
            {"name": "元旦", "date": "2030-01-01", "isOffDay": true},
            {"name": "春节", "date": "2030-02-02", "isOffDay": false},
        ],
    });
    let to = admin
        .upload(
            "/admin/calendar/import",
            upload("2030.json", good.to_string().into_bytes()),
        )
        .await
        .see_other();
    assert!(
        to.starts_with("/admin/calendar?ok=imported&year=2030"),
        "{to}"
    );
    let page = admin.get(&to).await.expect(200);
    assert!(page.has("节假日安排已导入") && page.has("2030-01-01") && page.has("2030-02-02"));
    let year: String = page
        .html
        .split("2030年</th>")
        .nth(1)
        .expect("the 2030 line")
        .chars()
        .take(100)
        .collect();
    assert!(year.contains("官方安排已公布"), "{year}");

    // A grid worker may not.
    let worker = Browser::new(&app.routing.base);
    let worker_csrf = sign_in(&worker, &fx.logins.worker).await;
    worker.get("/admin/calendar").await.expect(403);
    worker
        .post(
            "/admin/calendar/overrides",
            &[
                ("_csrf", worker_csrf.as_str()),
                ("day", "2031-01-02"),
                ("kind", "off"),
            ],
        )
        .await
        .expect(403);
    app.stop().await;
}
