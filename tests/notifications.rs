//! Notifications that never lose a referral: wiremock is the receiver, the clock is the
//! test's.
mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use common::{Backend, ContentDir, TestApp, TestDb, on_each_backend};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PASSWORD: &str = "correct horse battery staple";
const SECRET: &str = "a-shared-secret-of-at-least-32-characters";
const DATA_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

async fn spawn(db: &TestDb, deliver: bool) -> TestApp {
    TestApp::spawn_with(db, ContentDir::shipped_with(&[]), move |n| match n {
        "SIGNPOST_OUTBOX_POLL_MS" => Some("20".into()),
        "SIGNPOST_OUTBOX_WORKER" => Some(deliver.to_string()),
        "SIGNPOST_SCHEDULER_SECS" => Some("3600".into()),
        "SIGNPOST_DATA_KEY" => Some(DATA_KEY.into()),
        "SIGNPOST_REFERRALS_PER_CLIENT_HOUR" => Some("1000".into()),
        _ => None,
    })
    .await
}

/// A coordinator in `org`, signed in.
async fn coordinator(app: &TestApp, org: &str) -> String {
    let email = format!("coord-{org}@example.org");
    if signpost::workers::accounts::find_by_email(app.db(), &email)
        .await
        .unwrap()
        .is_none()
    {
        signpost::workers::accounts::add(
            app.db(),
            &email,
            "Casey Coord",
            org,
            "coordinator",
            PASSWORD,
            Utc::now(),
        )
        .await
        .unwrap();
    }
    let res = app
        .client
        .post(format!("{}/v1/auth/login", app.url))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn add_webhook(app: &TestApp, token: &str, url: String, purpose: &str) {
    let res = app
        .client
        .post(format!("{}/v1/admin/webhooks", app.url))
        .bearer_auth(token)
        .json(&json!({"url": url, "purpose": purpose, "secret": SECRET}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
}

async fn refer(app: &TestApp, body: Value) -> Value {
    let res = app
        .client
        .post(format!("{}/v1/referrals", app.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

/// Waits (real time, bounded) until `check` holds.
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..500 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn received(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap_or_default()
}

fn header(r: &wiremock::Request, name: &str) -> String {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn verify_signature(r: &wiremock::Request) {
    let ts = header(r, "x-signpost-timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(&r.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(header(r, "x-signpost-signature"), format!("v1={expected}"));
}

#[tokio::test]
async fn notifications_are_signed_and_carry_no_content() {
    on_each_backend(|db| async move {
        let app = spawn(&db, true).await;
        let server = MockServer::start().await;
        Mock::given(method("POST")).and(path("/duty")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
        let token = coordinator(&app, "signpost-duty-team").await;
        add_webhook(&app, &token, format!("{}/duty", server.uri()), "notify").await;
        let sentinel = "NOTIFYSENTINEL";
        let r = refer(&app, json!({"needs": ["family"], "message": format!("{sentinel} at home"), "age": 15, "where": "E8 3PL",
                                   "contact": {"method": "email", "value": "notifysentinel@example.org"}})).await;
        eventually("the routed notification", || async { received(&server).await.len() == 1 }).await;
        let res = app.client.post(format!("{}/v1/referrals/self/messages", app.url)).bearer_auth(r["receipt"].as_str().unwrap()).json(&json!({"body": format!("{sentinel} again")})).send().await.unwrap();
        assert_eq!(res.status(), 201);
        eventually("the message notification", || async { received(&server).await.len() == 2 }).await;
        let reqs = received(&server).await;
        let mut events = Vec::new();
        for req in &reqs {
            verify_signature(req);
            assert!(!header(req, "idempotency-key").is_empty());
            assert!(header(req, "user-agent").starts_with("signpost/"));
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            let keys: HashSet<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys, HashSet::from(["event", "reference", "urgency", "path"]));
            assert_eq!(body["reference"], r["reference"]);
            assert!(body["path"].as_str().unwrap().starts_with("/v1/inbox/"));
            let text = String::from_utf8_lossy(&req.body).to_lowercase();
            for secret in ["notifysentinel", "family", "hackney", "e8 3pl", "example.org"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
            events.push(body["event"].as_str().unwrap().to_string());
        }
        assert_eq!(events, ["referral.routed", "referral.message"]);
        // The receiver has both; the deliverer records the second a moment later.
        eventually("both recorded as delivered", || async {
            app.count("SELECT COUNT(*) FROM outbox WHERE state = 'delivered'").await == 2
        })
        .await;
        let metrics = app.get("/metrics").await.text().await.unwrap();
        assert!(metrics.contains("signpost_outbox_depth 0"), "{metrics}");
        assert!(metrics.contains("signpost_notification_deliveries_total{outcome=\"delivered\"} 2"), "{metrics}");
        assert!(metrics.contains("signpost_referrals{urgency=\"routine\",status=\"assigned\"} 1"), "{metrics}");
    })
    .await;
}

#[tokio::test]
async fn an_endpoint_down_for_a_while_gets_everything_once_it_is_back() {
    on_each_backend(|db| async move {
        let app = spawn(&db, true).await;
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(6)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .with_priority(2)
            .mount(&server)
            .await;
        let token = coordinator(&app, "signpost-duty-team").await;
        add_webhook(&app, &token, format!("{}/hook", server.uri()), "notify").await;
        for i in 0..3 {
            refer(
                &app,
                json!({"needs": ["other"], "message": format!("m{i}")}),
            )
            .await;
        }
        eventually("three first attempts", || async {
            received(&server).await.len() >= 3
        })
        .await;
        // Down: each row is waiting for its next try. Move time on until all are delivered.
        for _ in 0..200 {
            if app
                .count("SELECT COUNT(*) FROM outbox WHERE state = 'delivered'")
                .await
                == 3
            {
                break;
            }
            app.clock.advance(chrono::Duration::minutes(5));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM outbox WHERE state = 'delivered'")
                .await,
            3
        );
        let reqs = received(&server).await;
        assert!(
            reqs.len() >= 9,
            "6 refused, then 3 accepted: {}",
            reqs.len()
        );
        // The accepted ones are the requests after the first six; each key once.
        let accepted: Vec<String> = reqs[6..]
            .iter()
            .map(|r| header(r, "idempotency-key"))
            .collect();
        let unique: HashSet<&String> = accepted.iter().collect();
        assert_eq!(accepted.len(), 3, "{accepted:?}");
        assert_eq!(unique.len(), 3);
        for r in &reqs {
            verify_signature(r);
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM outbox WHERE attempts < 2")
                .await,
            0,
            "each row was retried"
        );
    })
    .await;
}

#[tokio::test]
async fn a_notification_committed_before_a_crash_goes_out_after_restart() {
    on_each_backend(|db| async move {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let first = spawn(&db, false).await;
        let token = coordinator(&first, "signpost-duty-team").await;
        add_webhook(&first, &token, format!("{}/hook", server.uri()), "notify").await;
        let r = refer(
            &first,
            json!({"needs": ["other"], "message": "before the crash"}),
        )
        .await;
        assert_eq!(
            first
                .count("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
                .await,
            1
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(received(&server).await.is_empty());
        drop(first); // the process dies between the commit and the delivery
        let second = spawn(&db, true).await;
        eventually("delivery after restart", || async {
            received(&server).await.len() == 1
        })
        .await;
        let body: Value = serde_json::from_slice(&received(&server).await[0].body).unwrap();
        assert_eq!(body["reference"], r["reference"]);
        eventually("the row marked delivered", || async {
            second
                .count("SELECT COUNT(*) FROM outbox WHERE state = 'delivered'")
                .await
                == 1
        })
        .await;
    })
    .await;
}

#[tokio::test]
async fn undeliverable_notifications_die_after_the_window_and_can_be_retried() {
    on_each_backend(|db| async move {
        let app = spawn(&db, true).await;
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500))
            .with_priority(5)
            .mount(&server)
            .await;
        let token = coordinator(&app, "signpost-duty-team").await;
        add_webhook(&app, &token, format!("{}/hook", server.uri()), "notify").await;
        refer(&app, json!({"needs": ["other"], "message": "x"})).await;
        eventually("a first attempt", || async {
            !received(&server).await.is_empty()
        })
        .await;
        // Still retried after 23 hours...
        for _ in 0..46 {
            app.clock.advance(chrono::Duration::minutes(30));
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        eventually("retries", || async { received(&server).await.len() >= 5 }).await;
        assert_eq!(
            app.count("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
                .await,
            1
        );
        // ...and dead once the 24-hour window has passed and another try fails.
        for _ in 0..8 {
            app.clock.advance(chrono::Duration::minutes(30));
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        eventually("dead", || async {
            app.count("SELECT COUNT(*) FROM outbox WHERE state = 'dead'")
                .await
                == 1
        })
        .await;
        // A day has passed: sign in again.
        let token = coordinator(&app, "signpost-duty-team").await;
        let page: Value = app
            .client
            .get(format!("{}/v1/admin/notifications?state=dead", app.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["total_items"], 1);
        let n = &page["contents"][0];
        assert_eq!(n["last_status"], 500);
        assert_eq!(n["event_type"], "referral.routed");
        // A plain worker cannot see it.
        signpost::workers::accounts::add(
            app.db(),
            "w@example.org",
            "Wren",
            "signpost-duty-team",
            "worker",
            PASSWORD,
            Utc::now(),
        )
        .await
        .unwrap();
        let w: Value = app
            .client
            .post(format!("{}/v1/auth/login", app.url))
            .json(&json!({"email": "w@example.org", "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let res = app
            .client
            .get(format!("{}/v1/admin/notifications", app.url))
            .bearer_auth(w["token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        // The receiver is fixed; a coordinator retries.
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .with_priority(1)
            .mount(&server)
            .await;
        let id = n["id"].as_str().unwrap();
        let res = app
            .client
            .post(format!("{}/v1/admin/notifications/{id}/retry", app.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        eventually("delivery after retry", || async {
            app.count("SELECT COUNT(*) FROM outbox WHERE state = 'delivered'")
                .await
                == 1
        })
        .await;
        let res = app
            .client
            .post(format!("{}/v1/admin/notifications/{id}/retry", app.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 409);
    })
    .await;
}

#[tokio::test]
async fn several_deliverers_never_deliver_a_row_twice() {
    on_each_backend(|db| async move {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(5)))
            .mount(&server)
            .await;
        let writer = spawn(&db, false).await;
        let token = coordinator(&writer, "signpost-duty-team").await;
        add_webhook(&writer, &token, format!("{}/a", server.uri()), "notify").await;
        add_webhook(&writer, &token, format!("{}/b", server.uri()), "notify").await;
        for i in 0..40 {
            refer(
                &writer,
                json!({"needs": ["other"], "message": format!("m{i}")}),
            )
            .await;
        }
        assert_eq!(writer.count("SELECT COUNT(*) FROM outbox").await, 80);
        // PostgreSQL: three instances deliver at once. SQLite: one deliverer, as documented.
        let deliverers = if db.backend == Backend::Postgres {
            3
        } else {
            1
        };
        let mut apps = Vec::new();
        for _ in 0..deliverers {
            apps.push(spawn(&db, true).await);
        }
        eventually("every row delivered", || async {
            writer
                .count("SELECT COUNT(*) FROM outbox WHERE state = 'delivered'")
                .await
                == 80
        })
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let keys: Vec<String> = received(&server)
            .await
            .iter()
            .map(|r| header(r, "idempotency-key"))
            .collect();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for k in &keys {
            *seen.entry(k.as_str()).or_default() += 1;
        }
        assert_eq!(keys.len(), 80, "each row exactly once");
        assert!(seen.values().all(|n| *n == 1));
    })
    .await;
}

#[tokio::test]
async fn urgent_referrals_escalate_at_fifteen_minutes_and_routine_ones_get_a_working_day_reminder()
{
    on_each_backend(|db| async move {
        let app = spawn(&db, true).await;
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let duty = coordinator(&app, "signpost-duty-team").await;
        let sl = coordinator(&app, "safer-london").await;
        add_webhook(
            &app,
            &duty,
            format!("{}/duty/notify", server.uri()),
            "notify",
        )
        .await;
        add_webhook(&app, &sl, format!("{}/sl/notify", server.uri()), "notify").await;
        add_webhook(
            &app,
            &sl,
            format!("{}/sl/escalation", server.uri()),
            "escalation",
        )
        .await;
        // Friday 16 January 2026, 10:00 GMT.
        app.clock
            .set(Utc.with_ymd_and_hms(2026, 1, 16, 10, 0, 0).unwrap());
        let urgent = refer(
            &app,
            json!({"needs": ["gang-exit"], "message": "they have a knife", "age": 17}),
        )
        .await;
        assert_eq!(
            (
                urgent["urgency"].as_str(),
                urgent["routed_to"]["slug"].as_str()
            ),
            (Some("urgent"), Some("safer-london"))
        );
        let claimed = refer(
            &app,
            json!({"needs": ["gang-exit"], "message": "i am in danger", "age": 18}),
        )
        .await;
        let routine = refer(
            &app,
            json!({"needs": ["activities"], "message": "football?"}),
        )
        .await;
        eventually("routing notifications", || async {
            received(&server).await.len() == 3
        })
        .await;
        // Someone takes the second urgent one.
        let inbox: Value = app
            .client
            .get(format!("{}/v1/inbox", app.url))
            .bearer_auth(&sl)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let claimed_id = inbox["contents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["reference"] == claimed["reference"])
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            app.client
                .request(
                    Method::POST,
                    format!("{}/v1/inbox/{claimed_id}/claim", app.url)
                )
                .bearer_auth(&sl)
                .send()
                .await
                .unwrap()
                .status(),
            200
        );

        let run = || async {
            signpost::notify::escalation::run_once(&app.state)
                .await
                .unwrap()
        };
        app.clock.advance(chrono::Duration::minutes(14));
        assert_eq!(run().await.escalated, 0, "not before 15 minutes");
        app.clock.advance(chrono::Duration::minutes(1));
        assert_eq!(run().await.escalated, 1);
        assert_eq!(run().await.escalated, 0, "once");
        eventually("escalations", || async {
            received(&server).await.len() == 5
        })
        .await;
        let reqs = received(&server).await;
        let escalated: Vec<(String, Value)> = reqs[3..]
            .iter()
            .map(|r| {
                (
                    r.url.path().to_string(),
                    serde_json::from_slice(&r.body).unwrap(),
                )
            })
            .collect();
        let paths: HashSet<&str> = escalated.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, HashSet::from(["/sl/escalation", "/duty/notify"]));
        assert!(
            escalated
                .iter()
                .all(|(_, b)| b["event"] == "referral.escalated"
                    && b["reference"] == urgent["reference"])
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referral_events WHERE kind = 'escalated'")
                .await,
            1
        );

        // Routine: Friday 10:00 + 2 working days = Tuesday 10:00, not Sunday.
        app.clock
            .set(Utc.with_ymd_and_hms(2026, 1, 19, 10, 0, 0).unwrap()); // Monday
        assert_eq!(run().await.reminded, 0, "weekends do not count");
        app.clock
            .set(Utc.with_ymd_and_hms(2026, 1, 20, 9, 59, 0).unwrap());
        assert_eq!(run().await.reminded, 0);
        app.clock
            .set(Utc.with_ymd_and_hms(2026, 1, 20, 10, 0, 0).unwrap());
        assert_eq!(run().await.reminded, 1);
        assert_eq!(run().await.reminded, 0, "once");
        eventually("the reminder", || async {
            received(&server).await.len() == 6
        })
        .await;
        let last: Value = serde_json::from_slice(&received(&server).await[5].body).unwrap();
        assert_eq!(last["event"], "referral.reminder");
        assert_eq!(last["reference"], routine["reference"]);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referral_events WHERE kind = 'reminder'")
                .await,
            1
        );
    })
    .await;
}

#[tokio::test]
async fn purge_erases_exactly_what_is_due_keeps_statistics_and_audits_it() {
    on_each_backend(|db| async move {
        let app = spawn(&db, false).await;
        let token = coordinator(&app, "signpost-duty-team").await;
        add_webhook(&app, &token, "http://127.0.0.1:9/never".into(), "notify").await;
        let closed = refer(&app, json!({"needs": ["other"], "message": "to be closed"})).await;
        let withdrawn = refer(&app, json!({"needs": ["family"], "message": "to be withdrawn", "where": "hackney"})).await;
        let open = refer(&app, json!({"needs": ["other"], "message": "still open"})).await;
        let inbox: Value = app.client.get(format!("{}/v1/inbox", app.url)).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        let id_of = |reference: &Value| inbox["contents"].as_array().unwrap().iter().find(|r| r["reference"] == *reference).unwrap()["id"].as_str().unwrap().to_string();
        let closed_id = id_of(&closed["reference"]);
        let res = app.client.post(format!("{}/v1/inbox/{closed_id}/messages", app.url)).bearer_auth(&token).json(&json!({"body": "hello"})).send().await.unwrap();
        assert_eq!(res.status(), 201);
        let res = app.client.post(format!("{}/v1/inbox/{closed_id}/status", app.url)).bearer_auth(&token).json(&json!({"status": "closed", "outcome": "supported"})).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let res = app.client.delete(format!("{}/v1/referrals/self", app.url)).bearer_auth(withdrawn["receipt"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(res.status(), 204);
        assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 3);

        app.clock.advance(chrono::Duration::days(89));
        let done = signpost::notify::retention::purge(&app.state).await.unwrap();
        assert_eq!(done.referrals, 0, "not yet due");
        assert!(done.sessions >= 1, "the expired login goes");
        assert_eq!(app.count("SELECT COUNT(*) FROM worker_sessions").await, 0);
        app.clock.advance(chrono::Duration::days(2));
        let done = signpost::notify::retention::purge(&app.state).await.unwrap();
        assert_eq!(done.referrals, 2);
        assert_eq!(signpost::notify::retention::purge(&app.state).await.unwrap().referrals, 0, "once");
        // Statistics rows stay; content goes.
        assert_eq!(app.count("SELECT COUNT(*) FROM referrals").await, 3);
        assert_eq!(app.count("SELECT COUNT(*) FROM referrals WHERE purged_at IS NOT NULL AND message_sealed IS NULL AND contact_sealed IS NULL").await, 2);
        assert_eq!(app.count("SELECT COUNT(*) FROM referral_messages").await, 0);
        assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 1, "only the open referral's notification stays");
        assert_eq!(app.count("SELECT COUNT(*) FROM referral_events WHERE kind = 'purged'").await, 2);
        assert_eq!(app.count("SELECT COUNT(*) FROM referrals WHERE status = 'closed' AND outcome = 'supported'").await, 1);
        let open_row = app.count(&format!("SELECT COUNT(*) FROM referrals WHERE reference = '{}' AND message_sealed IS NOT NULL AND purged_at IS NULL", open["reference"].as_str().unwrap())).await;
        assert_eq!(open_row, 1, "the open referral is untouched");
    })
    .await;
}

#[tokio::test]
async fn a_test_notification_goes_through_the_outbox_signed_and_only_to_ones_own_endpoint() {
    on_each_backend(|db| async move {
        let app = spawn(&db, true).await;
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let token = coordinator(&app, "signpost-duty-team").await;
        add_webhook(&app, &token, format!("{}/duty", server.uri()), "escalation").await;
        let list: Value = app
            .client
            .get(format!("{}/v1/admin/webhooks", app.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = list[0]["id"].as_str().unwrap().to_string();
        let test = |token: String, id: String| {
            let app = &app;
            async move {
                app.client
                    .post(format!("{}/v1/admin/webhooks/{id}/test", app.url))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let res = test(token.clone(), id.clone()).await;
        assert_eq!(res.status(), 202);
        let sent: Value = res.json().await.unwrap();
        let notification = sent["notification_id"].as_str().unwrap().to_string();
        eventually("the test notification", || async {
            received(&server).await.len() == 1
        })
        .await;
        let req = &received(&server).await[0];
        verify_signature(req);
        assert_eq!(header(req, "x-signpost-event"), "test");
        assert_eq!(header(req, "idempotency-key"), notification);
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let keys: HashSet<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, HashSet::from(["event", "message", "sent_at"]));
        assert_eq!(body["event"], "test");
        eventually("recorded as delivered", || async {
            app.count("SELECT COUNT(*) FROM outbox WHERE state = 'delivered' AND event_type = 'test' AND referral_id IS NULL")
                .await
                == 1
        })
        .await;
        let page: Value = app
            .client
            .get(format!("{}/v1/admin/notifications?state=delivered", app.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["total_items"], 1);
        assert_eq!(page["contents"][0]["id"], notification.as_str());
        assert_eq!(page["contents"][0]["event_type"], "test");
        assert_eq!(page["contents"][0]["reference"], Value::Null);

        // Another organisation's endpoint is the same 404 as an unknown one; nothing queued.
        let other = coordinator(&app, "safer-london").await;
        let res = test(other.clone(), id.clone()).await;
        assert_eq!(res.status(), 404);
        let res = test(other, uuid::Uuid::now_v7().to_string()).await;
        assert_eq!(res.status(), 404);
        // A plain worker may not.
        signpost::workers::accounts::add(
            app.db(),
            "w@example.org",
            "Wren",
            "signpost-duty-team",
            "worker",
            PASSWORD,
            Utc::now(),
        )
        .await
        .unwrap();
        let w: Value = app
            .client
            .post(format!("{}/v1/auth/login", app.url))
            .json(&json!({"email": "w@example.org", "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let res = test(w["token"].as_str().unwrap().to_string(), id.clone()).await;
        assert_eq!(res.status(), 403);
        // A removed endpoint gets no test.
        let res = app
            .client
            .delete(format!("{}/v1/admin/webhooks/{id}", app.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        assert_eq!(test(token.clone(), id.clone()).await.status(), 404);
        assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 1);

        // The one rule for an address and a secret, all fields named at once.
        let res = app
            .client
            .post(format!("{}/v1/admin/webhooks", app.url))
            .bearer_auth(&token)
            .json(&json!({"url": "ftp://example.org/x", "purpose": "everything", "secret": "short"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        let problem: Value = res.json().await.unwrap();
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["purpose", "secret", "url"], "{problem}");
        assert_eq!(app.count("SELECT COUNT(*) FROM webhook_endpoints").await, 1);

        // Documented like its neighbours.
        let doc = app.get_json("/openapi.json").await;
        let op = &doc["paths"]["/v1/admin/webhooks/{id}/test"]["post"];
        assert!(op["responses"]["202"].is_object(), "{op}");
        assert!(op["responses"]["404"].is_object(), "{op}");
    })
    .await;
}
