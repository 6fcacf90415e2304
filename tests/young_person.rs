//! What the app needs on the young person's side: retries that never make a second
//! referral (`Idempotency-Key`), a cheap "anything new?" (ETag/304, unread, seen time),
//! replacing a receipt, reporting a wrong listing, and an honest answer about who will
//! read a request when teams have nobody signed up.
mod common;

use chrono::{Duration, Utc};
use common::{TestApp, with_app};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple";

async fn add_worker(app: &TestApp, email: &str, org: &str, role: &str) -> Uuid {
    signpost::workers::accounts::add(
        app.db(),
        email,
        "Sam Worker",
        org,
        role,
        PASSWORD,
        Utc::now(),
    )
    .await
    .expect("worker added")
    .id
}

async fn login(app: &TestApp, email: &str) -> String {
    let res = app
        .client
        .post(format!("{}/v1/auth/login", app.url))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    body["token"].as_str().expect("token").to_string()
}

fn routine() -> Value {
    json!({"needs": ["activities"], "message": "any football near me on saturdays?", "age": 14})
}

async fn post_referral(app: &TestApp, body: &Value, key: Option<&str>) -> reqwest::Response {
    let mut req = app
        .client
        .post(format!("{}/v1/referrals", app.url))
        .json(body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    req.send().await.expect("sent")
}

async fn refer(app: &TestApp, body: Value) -> Value {
    let res = post_referral(app, &body, None).await;
    assert_eq!(res.status(), 201);
    res.json().await.expect("json")
}

async fn send_message(
    app: &TestApp,
    receipt: &str,
    body: &str,
    key: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(format!("{}/v1/referrals/self/messages", app.url))
        .bearer_auth(receipt)
        .json(&json!({"body": body}));
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    req.send().await.expect("sent")
}

async fn own(app: &TestApp, receipt: &str, etag: Option<&str>) -> reqwest::Response {
    let mut req = app
        .client
        .get(format!("{}/v1/referrals/self", app.url))
        .bearer_auth(receipt);
    if let Some(t) = etag {
        req = req.header("If-None-Match", t);
    }
    req.send().await.expect("sent")
}

/// Every text value in a table, as stored.
async fn stored_text(app: &TestApp, sql: &str) -> String {
    let backend = app.db().get_database_backend();
    let rows = app
        .db()
        .query_all_raw(Statement::from_string(backend, sql.to_string()))
        .await
        .expect("query");
    let mut out = String::new();
    for row in rows {
        let mut i = 0;
        while let Ok(v) = row.try_get_by_index::<Option<String>>(i) {
            out.push_str(&v.unwrap_or_default());
            out.push('\n');
            i += 1;
        }
    }
    out
}

#[tokio::test]
async fn a_retried_referral_answers_the_same_referral_and_receipt_and_makes_nothing_new() {
    with_app(&[], |app| async move {
        add_worker(&app, "duty@example.org", "signpost-duty-team", "worker").await;
        let key = Uuid::new_v4().to_string();
        let first = post_referral(&app, &routine(), Some(&key)).await;
        assert_eq!(first.status(), 201);
        assert!(first.headers().get("idempotent-replayed").is_none());
        let first_text = first.text().await.unwrap();
        let first: Value = serde_json::from_str(&first_text).unwrap();
        let again = post_referral(&app, &routine(), Some(&key)).await;
        assert_eq!(again.status(), 201);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.headers()["content-type"], "application/json");
        assert_eq!(
            again.text().await.unwrap(),
            first_text,
            "byte for byte the same answer, receipt included"
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM referrals").await, 1);
        assert_eq!(app.count("SELECT COUNT(*) FROM idempotency_keys").await, 1);

        // The receipt in the replay is the one that works.
        let receipt = first["receipt"].as_str().unwrap();
        assert_eq!(own(&app, receipt, None).await.status(), 200);

        // What is kept cannot be read without the key: neither the receipt nor the key.
        let kept = stored_text(
            &app,
            "SELECT key_hash, response_sealed FROM idempotency_keys",
        )
        .await;
        assert!(!kept.contains(receipt) && !kept.contains(&receipt.replace('-', "")));
        assert!(!kept.contains(&key));
        assert!(!kept.contains("football"));

        // The same key with a different request is refused, naming the header.
        let other = post_referral(
            &app,
            &json!({"needs": ["activities"], "message": "something else", "age": 15}),
            Some(&key),
        )
        .await;
        assert_eq!(other.status(), 422);
        let problem: Value = other.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
        assert_eq!(app.count("SELECT COUNT(*) FROM referrals").await, 1);

        // A malformed key is a 422 and writes nothing.
        let bad = post_referral(&app, &routine(), Some("has spaces in it")).await;
        assert_eq!(bad.status(), 422);
        let problem: Value = bad.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
        assert_eq!(app.count("SELECT COUNT(*) FROM referrals").await, 1);

        // A different key is a different request.
        let second = post_referral(&app, &routine(), Some(&Uuid::new_v4().to_string())).await;
        assert_eq!(second.status(), 201);
        assert_eq!(app.count("SELECT COUNT(*) FROM referrals").await, 2);

        // After 24 hours the kept answer is purged, and the key is free again.
        app.clock
            .advance(Duration::hours(24) + Duration::seconds(1));
        signpost::notify::retention::purge(&app.state)
            .await
            .unwrap();
        assert_eq!(app.count("SELECT COUNT(*) FROM idempotency_keys").await, 0);
        let later = post_referral(&app, &routine(), Some(&key)).await;
        assert_eq!(later.status(), 201);
        let later: Value = later.json().await.unwrap();
        assert_ne!(later["receipt"], first["receipt"]);
    })
    .await;
}

#[tokio::test]
async fn two_identical_referrals_at_once_make_one() {
    with_app(&[], |app| async move {
        add_worker(&app, "duty@example.org", "signpost-duty-team", "worker").await;
        for round in 0..3 {
            let key = Uuid::new_v4().to_string();
            let body = routine();
            let (a, b) = tokio::join!(
                post_referral(&app, &body, Some(&key)),
                post_referral(&app, &body, Some(&key))
            );
            assert_eq!(a.status(), 201);
            assert_eq!(b.status(), 201);
            let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
            assert_eq!(a["receipt"], b["receipt"]);
            assert_eq!(a["reference"], b["reference"]);
            assert_eq!(
                app.count("SELECT COUNT(*) FROM referrals").await,
                round + 1,
                "exactly one referral per key"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_retried_message_is_added_once_even_at_once() {
    with_app(&[], |app| async move {
        add_worker(&app, "duty@example.org", "signpost-duty-team", "worker").await;
        let r = refer(&app, routine()).await;
        let receipt = r["receipt"].as_str().unwrap();
        let key = Uuid::new_v4().to_string();
        let first = send_message(&app, receipt, "are you there?", Some(&key)).await;
        assert_eq!(first.status(), 201);
        let first: Value = first.json().await.unwrap();
        let again = send_message(&app, receipt, "are you there?", Some(&key)).await;
        assert_eq!(again.status(), 201);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.json::<Value>().await.unwrap(), first);
        assert_eq!(app.count("SELECT COUNT(*) FROM referral_messages").await, 1);
        let key2 = Uuid::new_v4().to_string();
        let (a, b) = tokio::join!(
            send_message(&app, receipt, "hello?", Some(&key2)),
            send_message(&app, receipt, "hello?", Some(&key2))
        );
        assert_eq!((a.status().as_u16(), b.status().as_u16()), (201, 201));
        let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
        assert_eq!(a["id"], b["id"]);
        assert_eq!(app.count("SELECT COUNT(*) FROM referral_messages").await, 2);
        // A key used on one referral does nothing on another.
        let other = refer(&app, routine()).await;
        let res = send_message(
            &app,
            other["receipt"].as_str().unwrap(),
            "are you there?",
            Some(&key),
        )
        .await;
        assert_eq!(res.status(), 201);
        assert!(res.headers().get("idempotent-replayed").is_none());
        assert_eq!(app.count("SELECT COUNT(*) FROM referral_messages").await, 3);
    })
    .await;
}

#[tokio::test]
async fn an_unchanged_thread_is_304_and_a_reply_shows_as_unread_then_seen() {
    with_app(&[], |app| async move {
        add_worker(&app, "duty@example.org", "signpost-duty-team", "worker").await;
        let token = login(&app, "duty@example.org").await;
        let r = refer(&app, routine()).await;
        let receipt = r["receipt"].as_str().unwrap();

        let res = own(&app, receipt, None).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["cache-control"], "no-store");
        let etag = res.headers()["etag"].to_str().unwrap().to_string();
        let body: Value = res.json().await.unwrap();
        // Re-entry on a new phone shows what was asked and when to expect an answer.
        assert_eq!(body["message"], "any football near me on saturdays?");
        assert_eq!(body["needs"][0]["slug"], "activities");
        assert!(body["needs"][0]["name"].is_string());
        assert_eq!(body["respond_within_hours"], r["respond_within_hours"]);
        assert_eq!(body["unread"], 0);
        assert!(body["updated_at"].is_string());
        assert!(body["what_happens_next"].as_str().unwrap().len() > 20);

        let res = own(&app, receipt, Some(&etag)).await;
        assert_eq!(res.status(), 304);
        assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert!(res.bytes().await.unwrap().is_empty());

        // A youth worker replies.
        app.clock.advance(Duration::minutes(5));
        let inbox: Value = app
            .client
            .get(format!("{}/v1/inbox", app.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = inbox["contents"][0]["id"].as_str().unwrap().to_string();
        let res = app
            .client
            .post(format!("{}/v1/inbox/{id}/messages", app.url))
            .bearer_auth(&token)
            .json(&json!({"body": "hi, there is a club on saturdays"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referrals WHERE young_person_seen_at IS NULL")
                .await,
            1
        );

        app.clock.advance(Duration::minutes(3));
        let res = own(&app, receipt, Some(&etag)).await;
        assert_eq!(res.status(), 200, "the reply changes the answer");
        let etag2 = res.headers()["etag"].to_str().unwrap().to_string();
        assert_ne!(etag2, etag);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["unread"], 1);
        assert_eq!(body["messages"][0]["worker_name"], "Sam");
        assert!(body["updated_at"].as_str().unwrap() > r_created(&body).as_str());
        // Seen: only the time is kept.
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referrals WHERE young_person_seen_at IS NOT NULL")
                .await,
            1
        );

        let res = own(&app, receipt, Some(&etag2)).await;
        assert_eq!(res.status(), 200, "now read: unread is 0");
        let etag3 = res.headers()["etag"].to_str().unwrap().to_string();
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["unread"], 0);
        assert_eq!(own(&app, receipt, Some(&etag3)).await.status(), 304);
    })
    .await;
}

fn r_created(body: &Value) -> String {
    body["created_at"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_replaced_receipt_stops_working_at_once() {
    with_app(&[], |app| async move {
        add_worker(&app, "duty@example.org", "signpost-duty-team", "worker").await;
        let key = Uuid::new_v4().to_string();
        let res = post_referral(&app, &routine(), Some(&key)).await;
        let r: Value = res.json().await.unwrap();
        let old = r["receipt"].as_str().unwrap().to_string();
        let res = app
            .client
            .post(format!("{}/v1/referrals/self/receipt", app.url))
            .bearer_auth(&old)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["cache-control"], "no-store");
        let new: Value = res.json().await.unwrap();
        let new = new["receipt"].as_str().unwrap().to_string();
        assert_ne!(new, old);
        assert_eq!(new.len(), old.len());

        let with_old = own(&app, &old, None).await;
        assert_eq!(with_old.status(), 401);
        let old_body = with_old.text().await.unwrap();
        let unknown = own(&app, "ABCD-EFGH-JKMN-PQRS-TVWX", None).await;
        assert_eq!(unknown.status(), 401);
        assert_eq!(
            old_body,
            unknown.text().await.unwrap(),
            "the same 401 as any unknown receipt"
        );

        let with_new = own(&app, &new, None).await;
        assert_eq!(with_new.status(), 200);
        let body: Value = with_new.json().await.unwrap();
        assert_eq!(body["reference"], r["reference"]);
        // The kept answer held the old receipt: it is gone.
        assert_eq!(app.count("SELECT COUNT(*) FROM idempotency_keys").await, 0);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referral_events WHERE kind = 'receipt_replaced'")
                .await,
            1
        );
        // Replacing again with the old one is refused.
        let res = app
            .client
            .post(format!("{}/v1/referrals/self/receipt", app.url))
            .bearer_auth(&old)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    })
    .await;
}

#[tokio::test]
async fn a_wrong_listing_can_be_reported_anonymously_and_admins_see_it() {
    with_app(&[], |app| async move {
        let services = app.get_json("/v1/services?per_page=2&sort=name").await;
        let service = services["contents"][0].clone();
        let id = service["id"].as_str().unwrap();
        let org = service["organisation"]["id"].as_str().unwrap().to_string();
        let post = |path: String, body: Value| {
            let c = app.client.clone();
            let url = format!("{}{path}", app.url);
            async move { c.post(url).json(&body).send().await.unwrap() }
        };
        let res = post(
            format!("/v1/services/{id}/reports"),
            json!({"reason": "closed", "details": "the hall is boarded up now"}),
        )
        .await;
        assert_eq!(res.status(), 202);
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert_eq!(app.count("SELECT COUNT(*) FROM service_reports").await, 1);
        // The words are sealed.
        let raw = stored_text(
            &app,
            "SELECT reason, details_sealed, state FROM service_reports",
        )
        .await;
        assert!(!raw.contains("boarded"));

        // Bad input: a clear 422 naming the field, nothing written.
        let res = post(
            format!("/v1/services/{id}/reports"),
            json!({"reason": "ugly"}),
        )
        .await;
        assert_eq!(res.status(), 422);
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["errors"][0]["field"], "reason");
        let res = post(
            format!("/v1/services/{id}/reports"),
            json!({"reason": "other", "details": "x".repeat(1001)}),
        )
        .await;
        assert_eq!(res.status(), 422);
        let res = post(
            format!("/v1/services/{}/reports", Uuid::new_v4()),
            json!({"reason": "closed"}),
        )
        .await;
        assert_eq!(res.status(), 404);
        let res = post(
            "/v1/services/not-an-id/reports".into(),
            json!({"reason": "closed"}),
        )
        .await;
        assert_eq!(res.status(), 404);
        assert_eq!(app.count("SELECT COUNT(*) FROM service_reports").await, 1);

        // Admins see every report; a coordinator of another organisation sees none of this
        // one; a youth worker is refused.
        add_worker(&app, "admin@example.org", "signpost-duty-team", "admin").await;
        add_worker(
            &app,
            "coord@example.org",
            "signpost-duty-team",
            "coordinator",
        )
        .await;
        add_worker(&app, "worker@example.org", "signpost-duty-team", "worker").await;
        let admin = login(&app, "admin@example.org").await;
        let list = |token: String| {
            let c = app.client.clone();
            let url = format!("{}/v1/admin/reports?state=open", app.url);
            async move { c.get(url).bearer_auth(token).send().await.unwrap() }
        };
        let res = list(admin.clone()).await;
        assert_eq!(res.status(), 200);
        let page: Value = res.json().await.unwrap();
        assert_eq!(page["total_items"], 1);
        let report = &page["contents"][0];
        assert_eq!(report["reason"], "closed");
        assert_eq!(report["details"], "the hall is boarded up now");
        assert_eq!(report["service_id"], id);
        assert_eq!(report["service_name"], service["name"]);
        assert_eq!(report["organisation_id"], org.as_str());
        let coord = login(&app, "coord@example.org").await;
        let page: Value = list(coord.clone()).await.json().await.unwrap();
        if org != duty_team_id(&app).await {
            assert_eq!(
                page["total_items"], 0,
                "another organisation's reports are not shown"
            );
        }
        let worker = login(&app, "worker@example.org").await;
        assert_eq!(list(worker).await.status(), 403);
        let res = app
            .client
            .get(format!("{}/v1/admin/reports?state=maybe", app.url))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);

        // Resolving: a coordinator cannot reach another organisation's report.
        let rid = report["id"].as_str().unwrap();
        let resolve = |token: String, rid: String| {
            let c = app.client.clone();
            let url = format!("{}/v1/admin/reports/{rid}/resolve", app.url);
            async move { c.post(url).bearer_auth(token).send().await.unwrap() }
        };
        if org != duty_team_id(&app).await {
            assert_eq!(resolve(coord, rid.into()).await.status(), 404);
        }
        assert_eq!(resolve(admin.clone(), rid.into()).await.status(), 204);
        assert_eq!(
            resolve(admin.clone(), Uuid::new_v4().to_string())
                .await
                .status(),
            404
        );
        let page: Value = list(admin).await.json().await.unwrap();
        assert_eq!(page["total_items"], 0);
    })
    .await;
}

async fn duty_team_id(app: &TestApp) -> String {
    let orgs = app.get_json("/v1/organisations?per_page=100").await;
    orgs["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["slug"] == "signpost-duty-team")
        .map(|o| o["id"].as_str().unwrap().to_string())
        .unwrap()
}

#[tokio::test]
async fn reports_are_rate_limited_per_client() {
    common::on_each_backend(|db| async move {
        let app = TestApp::spawn_with(&db, common::ContentDir::shipped_with(&[]), |n| {
            (n == "SIGNPOST_REPORTS_PER_CLIENT_HOUR").then(|| "2".into())
        })
        .await;
        let services = app.get_json("/v1/services?per_page=1").await;
        let id = services["contents"][0]["id"].as_str().unwrap().to_string();
        let send = || {
            app.client
                .post(format!("{}/v1/services/{id}/reports", app.url))
                .json(&json!({"reason": "wrong_times"}))
                .send()
        };
        assert_eq!(send().await.unwrap().status(), 202);
        assert_eq!(send().await.unwrap().status(), 202);
        let res = send().await.unwrap();
        assert_eq!(res.status(), 429);
        assert!(res.headers().get("retry-after").is_some());
        assert_eq!(app.count("SELECT COUNT(*) FROM service_reports").await, 2);
    })
    .await;
}

#[tokio::test]
async fn with_nobody_on_duty_the_young_person_is_told_and_the_alarm_sounds() {
    with_app(&[], |app| async move {
        let ready = app.get_json("/readyz").await;
        assert_eq!(ready["status"], "ready");
        assert_eq!(ready["duty_team_active_workers"], 0);
        assert!(
            ready["alarms"][0]
                .as_str()
                .unwrap()
                .contains("no active youth worker")
        );

        let r = refer(&app, routine()).await;
        let next = r["what_happens_next"].as_str().unwrap();
        assert!(next.contains("cannot promise"), "{next}");
        assert!(next.contains("999"));
        assert_eq!(r["help"][0]["phone"], "999");
        // Coming back says the same, until someone is on duty.
        let receipt = r["receipt"].as_str().unwrap().to_string();
        let again: Value = own(&app, &receipt, None).await.json().await.unwrap();
        assert!(
            again["what_happens_next"]
                .as_str()
                .unwrap()
                .contains("cannot promise")
        );
        // Escalated at once to the duty team's (the platform's) escalation endpoints.
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referrals WHERE escalated_at IS NOT NULL")
                .await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referral_events WHERE kind = 'escalated'")
                .await,
            1
        );
        let metrics = app.get("/metrics").await.text().await.unwrap();
        assert!(
            metrics.contains("signpost_duty_team_active_workers 0"),
            "{metrics}"
        );
        assert!(metrics.contains("signpost_referrals_unread_by_anyone_total 1"));

        // Once someone is on duty the alarm clears.
        add_worker(&app, "duty@example.org", "signpost-duty-team", "worker").await;
        let ready = app.get_json("/readyz").await;
        assert_eq!(ready["duty_team_active_workers"], 1);
        assert_eq!(ready["alarms"], json!([]));
        let again: Value = own(&app, &receipt, None).await.json().await.unwrap();
        assert!(
            again["what_happens_next"]
                .as_str()
                .unwrap()
                .contains("will read your request")
        );
        let r = refer(&app, routine()).await;
        assert!(
            r["what_happens_next"]
                .as_str()
                .unwrap()
                .contains("will read your request")
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referrals WHERE escalated_at IS NOT NULL")
                .await,
            1,
            "a staffed duty team reading its own referral is no escalation"
        );
    })
    .await;
}

#[tokio::test]
async fn a_team_with_nobody_signed_up_passes_the_referral_to_the_duty_team_at_once() {
    with_app(&[], |app| async move {
        add_worker(&app, "duty@example.org", "signpost-duty-team", "coordinator").await;
        // An escalation endpoint for the duty team (the platform's).
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .respond_with(wiremock::ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let token = login(&app, "duty@example.org").await;
        let res = app
            .client
            .post(format!("{}/v1/admin/webhooks", app.url))
            .bearer_auth(&token)
            .json(&json!({"url": format!("{}/escalate", server.uri()), "purpose": "escalation", "secret": "s".repeat(32)}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);

        // The exploitation need routes to Safer London, which has nobody signed up.
        let r = refer(
            &app,
            json!({"needs": ["exploitation"], "message": "some older boys keep asking me to hold stuff for them", "age": 17}),
        )
        .await;
        assert_eq!(r["routed_to"]["slug"], "signpost-duty-team");
        let next = r["what_happens_next"].as_str().unwrap();
        assert!(next.contains("not taking requests through Signpost yet"), "{next}");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referrals WHERE escalated_at IS NOT NULL").await,
            1
        );
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM referral_events WHERE kind = 'escalated' AND detail = 'no active youth worker at safer-london'"
            )
            .await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM outbox WHERE event_type = 'referral.escalated'")
                .await,
            1,
            "the escalation is queued now, not after 15 minutes"
        );
        // The 15-minute pass does not escalate it a second time.
        app.clock.advance(Duration::minutes(20));
        signpost::notify::escalation::run_once(&app.state).await.unwrap();
        assert_eq!(
            app.count("SELECT COUNT(*) FROM outbox WHERE event_type = 'referral.escalated'")
                .await,
            1
        );

        // With someone at Safer London, it goes there and nothing is escalated.
        add_worker(&app, "sl@example.org", "safer-london", "worker").await;
        let r = refer(
            &app,
            json!({"needs": ["exploitation"], "message": "some older boys keep asking me to hold stuff for them", "age": 17}),
        )
        .await;
        assert_eq!(r["routed_to"]["slug"], "safer-london");
        assert!(r["what_happens_next"].as_str().unwrap().contains("Safer London"));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referrals WHERE escalated_at IS NOT NULL").await,
            1
        );
    })
    .await;
}

#[tokio::test]
async fn a_move_to_another_team_is_told_in_the_young_persons_thread() {
    with_app(&[], |app| async move {
        add_worker(
            &app,
            "coord@example.org",
            "signpost-duty-team",
            "coordinator",
        )
        .await;
        add_worker(&app, "sl@example.org", "safer-london", "worker").await;
        let token = login(&app, "coord@example.org").await;
        let r = refer(&app, routine()).await;
        let receipt = r["receipt"].as_str().unwrap();
        let inbox: Value = app
            .client
            .get(format!("{}/v1/inbox", app.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = inbox["contents"][0]["id"].as_str().unwrap().to_string();
        let orgs = app.get_json("/v1/organisations?per_page=100").await;
        let safer_london = orgs["contents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["slug"] == "safer-london")
            .unwrap()["id"]
            .clone();
        app.clock.advance(Duration::minutes(1));
        let res = app
            .client
            .post(format!("{}/v1/inbox/{id}/transfer", app.url))
            .bearer_auth(&token)
            .json(
                &json!({"organisation_id": safer_london, "reason": "private reason for the team"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        app.clock.advance(Duration::minutes(1));
        let body: Value = own(&app, receipt, None).await.json().await.unwrap();
        assert_eq!(body["routed_to"]["slug"], "safer-london");
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1, "the notice, never the private reason");
        assert_eq!(messages[0]["from"], "signpost");
        assert!(
            messages[0]["body"]
                .as_str()
                .unwrap()
                .contains("moved to Safer London")
        );
        assert_eq!(body["unread"], 1);
        assert!(!body.to_string().contains("private reason"));
    })
    .await;
}
