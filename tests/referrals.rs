//! Self-referrals end to end: the young person's side.
mod common;

use std::collections::HashSet;

use chrono::Utc;
use common::{ContentDir, TestApp, on_each_backend, with_app};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use signpost::entities::{referral, worker};
use uuid::Uuid;

async fn post_referral(app: &TestApp, body: &Value) -> reqwest::Response {
    app.client
        .post(format!("{}/v1/referrals", app.url))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn refer(app: &TestApp, body: Value) -> Value {
    let res = post_referral(app, &body).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 201, "{text}");
    serde_json::from_str(&text).unwrap()
}

async fn with_receipt(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    receipt: &str,
) -> reqwest::Response {
    app.client
        .request(method, format!("{}{path}", app.url))
        .header("Authorization", format!("Bearer {receipt}"))
        .send()
        .await
        .unwrap()
}

/// Gives an organisation an active youth-worker account, straight into the database.
async fn add_worker(app: &TestApp, org_slug: &str) -> Uuid {
    let dir = app.state.directory.load();
    let org = dir
        .organisations
        .iter()
        .find(|o| o.slug == org_slug)
        .unwrap();
    let id = Uuid::now_v7();
    worker::ActiveModel {
        id: Set(id),
        organisation_id: Set(org.id),
        email: Set(format!("{id}@example.org")),
        name: Set("Sam Worker".into()),
        role: Set("worker".into()),
        password_hash: Set("x".into()),
        active: Set(true),
        created_at: Set(Utc::now()),
        totp_secret_sealed: Set(None),
        totp_enrolled_at: Set(None),
        totp_last_step: Set(None),
    }
    .insert(app.db())
    .await
    .unwrap();
    id
}

fn routine() -> Value {
    json!({"needs": ["activities"], "message": "Is there football near me?", "age": 14, "where": "hackney"})
}

#[tokio::test]
async fn needs_are_listed() {
    with_app(&[], |app| async move {
        let needs = app.get_json("/v1/referrals/needs").await;
        let slugs: Vec<&str> = needs
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["slug"].as_str().unwrap())
            .collect();
        for s in [
            "gang-exit",
            "feeling-unsafe",
            "knife-crime",
            "exploitation",
            "mental-health",
            "education-employment",
            "activities",
            "family",
            "other",
        ] {
            assert!(slugs.contains(&s), "{s}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_referral_gets_a_reference_a_receipt_shown_once_and_the_help_lines() {
    with_app(&[], |app| async move {
        // Someone on duty: no escalation event (see tests/young_person.rs for nobody).
        add_worker(&app, "signpost-duty-team").await;
        let res = post_referral(&app, &routine()).await;
        assert_eq!(res.status(), 201);
        assert_eq!(res.headers()["cache-control"], "no-store");
        let r: Value = res.json().await.unwrap();
        let reference = r["reference"].as_str().unwrap();
        assert!(
            reference.starts_with("SP-") && reference.len() == 12,
            "{reference}"
        );
        let receipt = r["receipt"].as_str().unwrap();
        let groups: Vec<&str> = receipt.split('-').collect();
        assert_eq!(groups.len(), 5, "{receipt}");
        assert!(groups.iter().all(|g| {
            g.len() == 4
                && g.chars()
                    .all(|c| "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(c))
        }));
        assert_eq!(r["status"], "received");
        assert_eq!(r["urgency"], "routine");
        assert_eq!(r["routed_to"]["slug"], "signpost-duty-team");
        assert_eq!(r["respond_within_hours"], 48);
        let help = r["help"].as_array().unwrap();
        assert_eq!(help[0]["phone"], "999");
        let ids: HashSet<&str> = help.iter().map(|h| h["id"].as_str().unwrap()).collect();
        for id in ["childline", "samaritans", "shout"] {
            assert!(ids.contains(id), "{id}");
        }
        // Stored: the receipt is not; the message is sealed.
        let rows = referral::Entity::find().all(app.db()).await.unwrap();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.reference, reference);
        assert_eq!(row.status, "assigned");
        let hash = row.receipt_hash.as_deref().unwrap();
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&receipt.replace('-', "")));
        let sealed = row.message_sealed.as_deref().unwrap();
        assert!(sealed.starts_with("v1:") && !sealed.contains("football"));
        assert_eq!(row.borough_id, Some(12));
        assert_eq!(app.count("SELECT COUNT(*) FROM referral_events").await, 2);
        // Two referrals never share a receipt or a reference.
        let other = refer(&app, routine()).await;
        assert_ne!(other["receipt"], r["receipt"]);
        assert_ne!(other["reference"], r["reference"]);
    })
    .await;
}

#[tokio::test]
async fn the_server_decides_urgency() {
    with_app(&[], |app| async move {
        let cases = [
            (
                json!({"needs": ["activities"], "message": "hi", "in_danger_now": true}),
                "urgent",
            ),
            (
                json!({"needs": ["feeling-unsafe"], "message": "hi"}),
                "urgent",
            ),
            (
                json!({"needs": ["other"], "message": "My friend got STABBED."}),
                "urgent",
            ),
            (
                json!({"needs": ["other"], "message": "I want to kill myself"}),
                "urgent",
            ),
            (
                json!({"needs": ["other"], "message": "Football at Gunnersbury, skills training"}),
                "routine",
            ),
            // The app cannot set it.
            (
                json!({"needs": ["other"], "message": "hello", "urgency": "urgent"}),
                "routine",
            ),
        ];
        for (body, expected) in cases {
            let r = refer(&app, body.clone()).await;
            assert_eq!(r["urgency"], expected, "{body}");
            let help = r["help"].as_array().unwrap();
            assert_eq!(help[0]["phone"], "999", "999 first: {body}");
            if expected == "urgent" {
                assert_eq!(r["respond_within_hours"], 2);
            }
            if body["in_danger_now"] == true {
                // Nothing said about what: crisis lines first, then the rest.
                let first_routine = help.iter().position(|h| h["urgent"] == false).unwrap();
                assert!(help[first_routine..].iter().all(|h| h["urgent"] == false));
            }
            if body["message"].as_str().unwrap().contains("kill myself") {
                // About suicide: the suicide lines right after 999.
                let second = help[1]["id"].as_str().unwrap();
                assert!(["samaritans", "papyrus"].contains(&second), "{second}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn routing_follows_the_rules_and_falls_back_to_the_duty_team() {
    with_app(&["test-youth-hub"], |app| async move {
        let gang = json!({"needs": ["gang-exit"], "message": "I want out", "age": 17, "where": "E8 3PL"});
        // Safer London has no youth-worker account yet: the duty team takes it.
        assert_eq!(refer(&app, gang.clone()).await["routed_to"]["slug"], "signpost-duty-team");
        add_worker(&app, "safer-london").await;
        let r = refer(&app, gang.clone()).await;
        assert_eq!(r["routed_to"]["slug"], "safer-london");
        assert_eq!(r["routed_to"]["name"], "Safer London");
        // The exploitation service supports children and young people up to 25: a
        // 14-year-old is not turned away (London Gang Exit's 16–24 no longer applies).
        let mut young = gang.clone();
        young["age"] = json!(14);
        assert_eq!(refer(&app, young).await["routed_to"]["slug"], "safer-london");
        // No age given: a rule with ages never matches, so the duty team.
        let mut no_age = gang.clone();
        no_age.as_object_mut().unwrap().remove("age");
        assert_eq!(refer(&app, no_age).await["routed_to"]["slug"], "signpost-duty-team");
        // A service that takes self-referrals routes to its organisation (when staffed).
        let boxing = app.get_json("/v1/services?q=boxing%20basics").await;
        let id = boxing["contents"][0]["id"].as_str().unwrap().to_string();
        let to_service = json!({"needs": ["activities"], "message": "can I join?", "service_id": id});
        assert_eq!(refer(&app, to_service.clone()).await["routed_to"]["slug"], "signpost-duty-team");
        add_worker(&app, "test-youth-hub").await;
        assert_eq!(refer(&app, to_service).await["routed_to"]["slug"], "test-youth-hub");
        // Stored rows point at the organisation answered.
        let stored = app.count("SELECT COUNT(*) FROM referrals r JOIN organisations o ON o.id = r.organisation_id WHERE o.slug = 'safer-london'").await;
        assert_eq!(stored, 2);
    })
    .await;
}

#[tokio::test]
async fn every_need_borough_and_age_lands_on_an_active_organisation() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn(&db, ContentDir::shipped_with(&[])).await;
        let rules = &app.state.referral_rules;
        let dir = app.state.directory.load();
        let active: HashSet<&str> = dir.organisations.iter().map(|o| o.slug.as_str()).collect();
        let boroughs: Vec<Option<i32>> = std::iter::once(None)
            .chain(dir.boroughs.iter().map(|b| Some(b.id)))
            .collect();
        let ages: Vec<Option<u8>> = std::iter::once(None).chain((10..=25).map(Some)).collect();
        let mut routes = 0;
        for need in &rules.needs {
            for b in &boroughs {
                for a in &ages {
                    let org = rules.route(std::slice::from_ref(&need.slug), *b, *a);
                    assert!(active.contains(org), "{} {b:?} {a:?} → {org}", need.slug);
                    routes += 1;
                }
            }
        }
        assert_eq!(routes, rules.needs.len() * 34 * 17);
        assert!(active.contains(rules.duty_team.as_str()));
    })
    .await;
}

#[tokio::test]
async fn a_receipt_works_however_it_is_typed_and_every_bad_one_gets_the_same_401() {
    with_app(&[], |app| async move {
        let r = refer(&app, routine()).await;
        let receipt = r["receipt"].as_str().unwrap().to_string();
        let compact = receipt.replace('-', "");
        let variants = [
            receipt.clone(),
            receipt.to_lowercase(),
            compact.clone(),
            format!(" {} ", receipt.replace('-', " ")),
            receipt.replace('0', "O").replace('1', "I"),
            receipt.replace('1', "l"),
        ];
        for v in &variants {
            let res = with_receipt(&app, reqwest::Method::GET, "/v1/referrals/self", v).await;
            assert_eq!(res.status(), 200, "{v:?}");
        }
        let own: Value = with_receipt(&app, reqwest::Method::GET, "/v1/referrals/self", &receipt)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(own["reference"], r["reference"]);
        assert_eq!(own["status"], "assigned");
        assert_eq!(own["help"][0]["phone"], "999");

        let mut bodies = HashSet::new();
        let mut flipped: Vec<char> = compact.chars().collect();
        flipped[0] = if flipped[0] == 'A' { 'B' } else { 'A' };
        let unknown: String = flipped.into_iter().collect();
        for bad in [
            unknown.as_str(),
            "not-a-receipt",
            "",
            "UUUU-UUUU-UUUU-UUUU-UUUU",
            &compact[..19],
        ] {
            let res = with_receipt(&app, reqwest::Method::GET, "/v1/referrals/self", bad).await;
            assert_eq!(res.status(), 401, "{bad:?}");
            assert_eq!(res.headers()["content-type"], "application/problem+json");
            bodies.insert(res.text().await.unwrap());
        }
        let none = app.get("/v1/referrals/self").await;
        assert_eq!(none.status(), 401);
        bodies.insert(none.text().await.unwrap());
        // Withdrawn: the same answer.
        assert_eq!(
            with_receipt(
                &app,
                reqwest::Method::DELETE,
                "/v1/referrals/self",
                &receipt
            )
            .await
            .status(),
            204
        );
        let gone = with_receipt(&app, reqwest::Method::GET, "/v1/referrals/self", &receipt).await;
        assert_eq!(gone.status(), 401);
        bodies.insert(gone.text().await.unwrap());
        assert_eq!(bodies.len(), 1, "one identical 401 body: {bodies:?}");
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_a_clear_problem_and_writes_nothing() {
    with_app(&[], |app| async move {
        let long = "x".repeat(2001);
        let cases = [
            (json!({"needs": ["nope"], "message": "hi"}), "needs"),
            (json!({"needs": [], "message": "hi"}), "needs"),
            (json!({"needs": ["other","other","other","other","other","other"], "message": "hi"}), "needs"),
            (json!({"needs": ["other"], "message": ""}), "message"),
            (json!({"needs": ["other"], "message": "   "}), "message"),
            (json!({"needs": ["other"], "message": long}), "message"),
            (json!({"needs": ["other"], "message": "hi", "age": 9}), "age"),
            (json!({"needs": ["other"], "message": "hi", "age": 26}), "age"),
            (json!({"needs": ["other"], "message": "hi", "age": "sixteen"}), "age"),
            (json!({"needs": ["other"], "message": "hi", "contact": {"method": "phone"}}), "contact.value"),
            (json!({"needs": ["other"], "message": "hi", "contact": {"method": "text", "value": "call me"}}), "contact.value"),
            (json!({"needs": ["other"], "message": "hi", "contact": {"method": "email", "value": "not-an-email"}}), "contact.value"),
            (json!({"needs": ["other"], "message": "hi", "contact": {"method": "pigeon"}}), "contact.method"),
            (json!({"needs": ["other"], "message": "hi", "service_id": Uuid::now_v7().to_string()}), "service_id"),
            (json!({"needs": ["other"], "message": "hi", "service_id": "nope"}), "service_id"),
            (json!({"needs": ["other"], "message": "hi", "where": "Narnia"}), "where"),
            (json!({"needs": ["other"], "message": "hi", "where": "EH1 2NG"}), "where"),
            (json!({"needs": ["other"], "message": "hi", "website": "http://spam"}), "website"),
            (json!({"message": "hi"}), "needs"),
        ];
        for (body, field) in cases {
            let res = post_referral(&app, &body).await;
            assert_eq!(res.status(), 422, "{body}");
            let p: Value = res.json().await.unwrap();
            let fields: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
            assert!(fields.contains(&field), "{body}: expected {field} in {p}");
        }
        // Malformed JSON, wrong content type, too large.
        let res = app.client.post(format!("{}/v1/referrals", app.url)).header("content-type", "application/json").body("{\"needs\": [").send().await.unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let res = app.client.post(format!("{}/v1/referrals", app.url)).header("content-type", "text/plain").body("hi").send().await.unwrap();
        assert_eq!(res.status(), 415);
        let huge = json!({"needs": ["other"], "message": "x".repeat(100_000)});
        let res = post_referral(&app, &huge).await;
        assert_eq!(res.status(), 413);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        assert_eq!(app.count("SELECT COUNT(*) FROM referrals").await, 0, "nothing written");
        assert_eq!(app.count("SELECT COUNT(*) FROM referral_events").await, 0);
        // Good contact details pass.
        for contact in [json!({"method": "app"}), json!({"method": "text", "value": "07700 900123", "safe_times": "after 6pm"}), json!({"method": "email", "value": "me@example.org"})] {
            refer(&app, json!({"needs": ["other"], "message": "hi", "contact": contact})).await;
        }
    })
    .await;
}

#[tokio::test]
async fn messages_withdrawal_and_erasure() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn_with(&db, ContentDir::shipped_with(&[]), |n| (n == "SIGNPOST_MESSAGES_PER_DAY").then(|| "2".into())).await;
        let r = refer(&app, json!({"needs": ["gang-exit"], "message": "first words", "age": 17, "where": "E8 3PL", "contact": {"method": "text", "value": "07700 900123"}})).await;
        let receipt = r["receipt"].as_str().unwrap().to_string();
        let send = |body: &'static str| {
            let app = &app;
            let receipt = receipt.clone();
            async move {
                app.client
                    .post(format!("{}/v1/referrals/self/messages", app.url))
                    .header("Authorization", format!("Bearer {receipt}"))
                    .json(&json!({"body": body}))
                    .send()
                    .await
                    .unwrap()
            }
        };
        let res = send("are you there?").await;
        assert_eq!(res.status(), 201);
        let m: Value = res.json().await.unwrap();
        assert_eq!(m["from"], "you");
        assert_eq!(send("").await.status(), 422);
        assert_eq!(send("second").await.status(), 201);
        let limited = send("third").await;
        assert_eq!(limited.status(), 429);
        assert!(limited.headers().contains_key("retry-after"));
        let own: Value = with_receipt(&app, reqwest::Method::GET, "/v1/referrals/self", &receipt).await.json().await.unwrap();
        let bodies: Vec<&str> = own["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
        assert_eq!(bodies, ["are you there?", "second"]);

        assert_eq!(with_receipt(&app, reqwest::Method::DELETE, "/v1/referrals/self", &receipt).await.status(), 204);
        let row = referral::Entity::find().one(app.db()).await.unwrap().unwrap();
        assert_eq!(row.status, "withdrawn");
        assert!(row.receipt_hash.is_none());
        assert!(row.message_sealed.is_none() && row.contact_sealed.is_none() && row.where_sealed.is_none() && row.age_sealed.is_none());
        assert!(row.contact_method.is_none());
        assert!(row.withdrawn_at.is_some() && row.erased_at.is_some());
        // What stays: reference, times, needs, borough, status.
        assert_eq!(row.reference, r["reference"].as_str().unwrap());
        assert_eq!(row.needs, "[\"gang-exit\"]");
        assert_eq!(row.borough_id, Some(12));
        assert_eq!(app.count("SELECT COUNT(*) FROM referral_messages").await, 0);
        assert_eq!(app.count("SELECT COUNT(*) FROM referral_events WHERE kind = 'withdrawn'").await, 1);
        assert_eq!(with_receipt(&app, reqwest::Method::DELETE, "/v1/referrals/self", &receipt).await.status(), 401);
    })
    .await;
}

#[tokio::test]
async fn nothing_written_can_be_read_in_the_raw_database_file() {
    let db = common::TestDb::create(common::Backend::Sqlite).await;
    let app = TestApp::spawn(&db, ContentDir::shipped_with(&[])).await;
    let sentinel = "SENTINEL-PHRASE-7731";
    let r = refer(
        &app,
        json!({"needs": ["other"], "message": format!("my secret {sentinel}"), "age": 16, "where": "E8 3PL",
               "contact": {"method": "email", "value": format!("{}@example.org", sentinel.to_lowercase()), "safe_times": sentinel}}),
    )
    .await;
    let receipt = r["receipt"].as_str().unwrap();
    let res = app
        .client
        .post(format!("{}/v1/referrals/self/messages", app.url))
        .header("Authorization", format!("Bearer {receipt}"))
        .header("X-Forwarded-For", "198.51.100.23")
        .header("User-Agent", "SentinelBrowser/1.0")
        .json(&json!({"body": format!("again {sentinel}")}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // A youth worker answers and keeps a private note, with the same phrase.
    signpost::workers::accounts::add(
        app.db(),
        "sentinel-worker@example.org",
        "Sam Sentinel",
        "signpost-duty-team",
        "worker",
        "correct horse battery staple",
        Utc::now(),
    )
    .await
    .unwrap();
    let login: Value = app.client.post(format!("{}/v1/auth/login", app.url)).json(&json!({"email": "sentinel-worker@example.org", "password": "correct horse battery staple"})).send().await.unwrap().json().await.unwrap();
    let token = login["token"].as_str().unwrap();
    let inbox: Value = app
        .client
        .get(format!("{}/v1/inbox", app.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = inbox["contents"][0]["id"].as_str().unwrap();
    let res = app
        .client
        .post(format!("{}/v1/inbox/{id}/messages", app.url))
        .bearer_auth(token)
        .json(&json!({"body": format!("worker says {sentinel}")}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = app
        .client
        .post(format!("{}/v1/inbox/{id}/status", app.url))
        .bearer_auth(token)
        .json(&json!({"status": "in_progress", "note": format!("note {sentinel}")}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let own: Value = with_receipt(&app, reqwest::Method::GET, "/v1/referrals/self", receipt)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        own["messages"].as_array().unwrap().len(),
        2,
        "the note is not shown to the young person"
    );
    assert!(
        own["messages"][1]["body"]
            .as_str()
            .unwrap()
            .contains(sentinel)
    );
    // Read back through the API: it is there.
    let own: Value = with_receipt(&app, reqwest::Method::GET, "/v1/referrals/self", receipt)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        own["messages"][0]["body"]
            .as_str()
            .unwrap()
            .contains(sentinel)
    );
    // On disk: nowhere, nor the receipt, nor the client's identity.
    let path = db.sqlite_file().unwrap();
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        if let Ok(b) = std::fs::read(format!("{}{suffix}", path.display())) {
            bytes.extend(b);
        }
    }
    assert!(bytes.len() > 10_000, "read the database");
    let text = String::from_utf8_lossy(&bytes).to_lowercase();
    for needle in [
        sentinel.to_lowercase(),
        receipt.to_lowercase(),
        receipt.replace('-', "").to_lowercase(),
        "198.51.100.23".into(),
        "sentinelbrowser".into(),
        "e8 3pl".into(),
    ] {
        assert!(
            !text.contains(&needle),
            "{needle} found in the database file"
        );
    }
}

#[tokio::test]
async fn repeated_failures_and_floods_are_slowed_then_refused() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn_with(&db, ContentDir::shipped_with(&[]), |n| match n {
            "SIGNPOST_RECEIPT_FAILURES" => Some("3".into()),
            "SIGNPOST_RECEIPT_SLOWDOWN_AFTER" => Some("2".into()),
            "SIGNPOST_REFERRALS_PER_CLIENT_HOUR" => Some("2".into()),
            _ => None,
        })
        .await;
        for attempt in 1..=3 {
            let started = std::time::Instant::now();
            let res = with_receipt(
                &app,
                reqwest::Method::GET,
                "/v1/referrals/self",
                "AAAA-AAAA-AAAA-AAAA-AAAA",
            )
            .await;
            assert_eq!(res.status(), 401);
            if attempt == 3 {
                // Past the slowdown threshold the answer is held back on purpose.
                assert!(
                    started.elapsed() >= std::time::Duration::from_millis(240),
                    "{:?}",
                    started.elapsed()
                );
            }
        }
        let refused = with_receipt(
            &app,
            reqwest::Method::GET,
            "/v1/referrals/self",
            "AAAA-AAAA-AAAA-AAAA-AAAA",
        )
        .await;
        assert_eq!(refused.status(), 429);
        let retry: u64 = refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry > 0 && retry <= 900);
        assert_eq!(
            refused.headers()["content-type"],
            "application/problem+json"
        );
        // New referrals per client.
        refer(&app, routine()).await;
        refer(&app, routine()).await;
        let res = post_referral(&app, &routine()).await;
        assert_eq!(res.status(), 429);
        assert!(res.headers().contains_key("retry-after"));
        let p: Value = res.json().await.unwrap();
        assert!(
            p["detail"].as_str().unwrap().contains("999"),
            "the refusal still points to 999"
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM referrals").await, 2);
    })
    .await;
}
