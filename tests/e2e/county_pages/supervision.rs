//! 督办: a case sent up, the county's note and deadline, and the deadline's timers.

use mashang_tests::cases::case_id;
use mashang_tests::seed_tenant;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_sent_up_is_supervised_and_its_county_deadline_enforced() {
    let env = TestEnv::new().await;
    let fx = seed_tenant(env.db(), "cpduban").await;
    let app = TestApp::monolith(&env).await;
    let worker = app.routing.signed_in(&fx.logins.worker, PASSWORD).await;
    let centre = app.routing.signed_in(&fx.logins.centre, PASSWORD).await;
    let tracking = report(
        &app,
        &fx,
        json!({"category": "dispute", "description": "两村争水"}),
    )
    .await;
    let id = case_id(&worker, &tracking).await;
    let county = county_browser(&env, &app, "13600000021", Role::CountyCentre).await;
    let county_api = app.routing.signed_in("13600000021", PASSWORD).await;
    let page_path = format!("/county/supervision/{}/{id}", fx.code);

    // Not sent up: not listed, not reachable.
    assert!(
        !county
            .get("/county/supervision")
            .await
            .expect(200)
            .has(&tracking)
    );
    county.get(&page_path).await.expect(404);

    centre
        .post_json(
            &format!("/api/v1/cases/{id}/county-request"),
            &json!({"note": "涉及两个村，请县里协调"}),
        )
        .await
        .expect(204);
    let list = county.get("/county/supervision").await.expect(200);
    assert!(list.has(&tracking) && list.has("cpduban镇") && list.has(&page_path));
    let page = county.get(&page_path).await.expect(200);
    assert!(page.has("涉及两个村，请县里协调") && page.has("还没有设定县级期限"));
    let token = page.csrf();

    // A deadline in the past is refused, with the note kept.
    let past = local(Utc::now() - chrono::Duration::hours(2));
    let refused = county
        .post(
            &page_path,
            &[
                ("_csrf", &token),
                ("body", "请尽快办结"),
                ("deadline", &past),
            ],
        )
        .await
        .expect(422);
    assert!(refused.has("期限须晚于现在") && refused.has("请尽快办结"));
    let refused = county
        .post(
            &page_path,
            &[("_csrf", &token), ("body", " "), ("deadline", "")],
        )
        .await
        .expect(422);
    assert!(refused.has("批示内容为1到2000字"));

    // The note with a deadline three days ahead: on the township's timeline, with a
    // reminder a day before it and the overdue mark at it.
    let deadline = Utc::now() + chrono::Duration::days(3);
    let sent = county
        .post(
            &page_path,
            &[
                ("_csrf", &token),
                ("body", "请三日内办结并报县中心"),
                ("deadline", &local(deadline)),
            ],
        )
        .await
        .see_other();
    assert_eq!(sent, format!("{page_path}?ok=noted"));
    let page = county.get(&sent).await.expect(200);
    assert!(page.has("批示已发出") && page.has("请三日内办结并报县中心") && page.has("还剩 2 天"));
    let seen = case(&worker, &id).await;
    assert!(
        seen["timeline"]
            .as_array()
            .expect("a timeline")
            .iter()
            .any(|t| {
                t["action"] == "county_note"
                    && t["details"]["county_note"] == "请三日内办结并报县中心"
            })
    );
    let timers = county_timers(&env, &id).await;
    assert_eq!(timers.len(), 2, "{timers:?}");
    let (reminder, overdue) = (&timers[0], &timers[1]);
    assert_eq!(
        (reminder.0.as_str(), overdue.0.as_str()),
        ("reminder", "overdue")
    );
    assert_eq!((overdue.1 - reminder.1).num_minutes(), 24 * 60);
    assert!(
        (overdue.1 - deadline).num_seconds().abs() < 60,
        "the deadline, to the minute"
    );
    // The township's case page shows the county's deadline and note.
    let centre_browser = township_browser(&app, &fx.logins.centre).await;
    let township_page = centre_browser
        .get(&format!("/console/cases/{id}"))
        .await
        .expect(200);
    assert!(township_page.has("县级督办时限") && township_page.has("请三日内办结并报县中心"));
    for person in [&worker, &centre] {
        notice(person, &id, "县级督办").await;
    }
    assert_eq!(sent_up_line(&county_api, &id).await["overdue"], false);

    // The reminder: on the timeline, a notice to the centre and the handler.
    due_now(&env, &id, "reminder").await;
    eventually("the county's reminder", WAIT, || async {
        actions(&case(&worker, &id).await)
            .contains(&"county_reminder".to_owned())
            .then_some(())
    })
    .await;
    for person in [&worker, &centre] {
        let n = notice(person, &id, "县级督办催办").await;
        assert_eq!(n["kind"], "case_reminded");
    }
    let line = sent_up_line(&county_api, &id).await;
    assert!(line["county_reminded_at"].is_string() && line["overdue"] == false);
    assert!(
        county
            .get("/county/supervision")
            .await
            .expect(200)
            .has("已催办")
    );

    // The deadline passes: the overdue mark, on the county's list and in the API.
    due_now(&env, &id, "overdue").await;
    eventually("the overdue mark", WAIT, || async {
        actions(&case(&worker, &id).await)
            .contains(&"county_overdue".to_owned())
            .then_some(())
    })
    .await;
    for person in [&worker, &centre] {
        let n = notice(person, &id, "县级督办已超期").await;
        assert_eq!(n["kind"], "case_escalated");
    }
    assert_eq!(sent_up_line(&county_api, &id).await["overdue"], true);
    let list = county.get("/county/supervision").await.expect(200);
    assert!(list.has("已超期") && list.has(r#"class="late""#));
    assert!(county.get(&page_path).await.expect(200).has("已超期"));
    let home = county.get("/county").await.expect(200);
    assert!(
        home.has(r#"<tr class="late">"#),
        "the township counts an overdue case"
    );

    // A new deadline replaces the timers and clears the marks.
    let later = Utc::now() + chrono::Duration::hours(10);
    county
        .post(
            &page_path,
            &[
                ("_csrf", &token),
                ("body", "延至今晚前办结"),
                ("deadline", &local(later)),
            ],
        )
        .await
        .see_other();
    let timers = county_timers(&env, &id).await;
    let pending: Vec<_> = timers.iter().filter(|t| !t.2).collect();
    assert_eq!(pending.len(), 2, "{timers:?}");
    // Less than two days ahead: reminded halfway.
    let (remind, due) = (pending[0].1, pending[1].1);
    assert!(
        ((due - remind).num_minutes() - 5 * 60).abs() <= 1,
        "{remind} {due}"
    );
    let line = sent_up_line(&county_api, &id).await;
    assert!(line["overdue"] == false && line["county_reminded_at"].is_null());

    // Resolved, the deadline is met: a timer firing now says nothing.
    for (action, body) in [
        (
            "acknowledge",
            json!({"contacted_at": Utc::now(), "method": "phone", "summary": "已联系"}),
        ),
        ("start", json!({})),
        ("resolve", json!({"measures": "两村协商分时用水"})),
    ] {
        worker
            .post_json(&format!("/api/v1/cases/{id}/{action}"), &body)
            .await
            .expect(200);
    }
    due_now(&env, &id, "reminder").await;
    eventually("the reminder taken", WAIT, || async {
        county_timers(&env, &id)
            .await
            .iter()
            .any(|t| t.0 == "reminder" && t.2 && (t.1 - remind).num_seconds().abs() > 60)
            .then_some(())
    })
    .await;
    let reminders = actions(&case(&worker, &id).await)
        .iter()
        .filter(|a| *a == "county_reminder")
        .count();
    assert_eq!(reminders, 1, "no reminder of a met deadline");
    // Closed, its pending county timer is gone.
    centre
        .post_json(
            &format!("/api/v1/cases/{id}/follow-up"),
            &json!({"method": "phone", "resolved": true, "satisfaction": "satisfied"}),
        )
        .await
        .expect(200);
    centre
        .post_json(&format!("/api/v1/cases/{id}/close"), &json!({}))
        .await
        .expect(200);
    assert!(
        county_timers(&env, &id).await.iter().all(|t| t.2),
        "no pending county timer"
    );
    assert!(
        county
            .get("/county/supervision")
            .await
            .expect(200)
            .has("已办结")
    );
    app.stop().await;
}
