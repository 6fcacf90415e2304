//! The youth worker's side: sign-in, the organisation-scoped inbox, claim, messages,
//! status, transfer and the audit trail.
mod common;

use chrono::Utc;
use common::{TestApp, with_app};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple";

async fn add_worker(app: &TestApp, email: &str, name: &str, org: &str, role: &str) -> Uuid {
    signpost::workers::accounts::add(app.db(), email, name, org, role, PASSWORD, Utc::now())
        .await
        .unwrap()
        .id
}

async fn login(app: &TestApp, email: &str) -> String {
    let res = app
        .client
        .post(format!("{}/v1/auth/login", app.url))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["token"].as_str().unwrap().to_string()
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app
        .client
        .request(method, format!("{}{path}", app.url))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
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

/// Two staffed organisations: the duty team (routine needs land there) and Safer London.
async fn two_teams(app: &TestApp) -> (String, String, String) {
    add_worker(
        app,
        "duty1@example.org",
        "Dana Duty",
        "signpost-duty-team",
        "worker",
    )
    .await;
    add_worker(
        app,
        "duty2@example.org",
        "Dev Second",
        "signpost-duty-team",
        "coordinator",
    )
    .await;
    add_worker(
        app,
        "sl@example.org",
        "Sol London",
        "safer-london",
        "worker",
    )
    .await;
    (
        login(app, "duty1@example.org").await,
        login(app, "duty2@example.org").await,
        login(app, "sl@example.org").await,
    )
}

async fn inbox_ids(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let res = call(app, Method::GET, &format!("/v1/inbox{query}"), token, None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page: Value = res.json().await.unwrap();
    page["contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn sign_in_out_and_expiry() {
    with_app(&[], |app| async move {
        add_worker(
            &app,
            "Sam@Example.org",
            "Sam Jones",
            "signpost-duty-team",
            "worker",
        )
        .await;
        let res = app
            .client
            .post(format!("{}/v1/auth/login", app.url))
            .json(&json!({"email": "sam@example.org", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["cache-control"], "no-store");
        let body: Value = res.json().await.unwrap();
        let token = body["token"].as_str().unwrap().to_string();
        assert!(token.len() >= 43, "256 bits");
        assert_eq!(body["worker"]["name"], "Sam Jones");
        assert_eq!(body["worker"]["role"], "worker");
        assert_eq!(body["worker"]["organisation"]["name"], "Signpost duty team");
        assert!(body["expires_at"].is_string());
        // The token is stored only as a hash.
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM worker_sessions WHERE token_hash = '{token}'"
            ))
            .await,
            0
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM worker_sessions").await, 1);
        assert_eq!(
            call(&app, Method::GET, "/v1/inbox", &token, None)
                .await
                .status(),
            200
        );
        // Wrong password and unknown email: the same answer.
        let wrong = app
            .client
            .post(format!("{}/v1/auth/login", app.url))
            .json(&json!({"email": "sam@example.org", "password": "nope"}))
            .send()
            .await
            .unwrap();
        let unknown = app
            .client
            .post(format!("{}/v1/auth/login", app.url))
            .json(&json!({"email": "who@example.org", "password": "nope"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            (wrong.status().as_u16(), unknown.status().as_u16()),
            (401, 401)
        );
        assert_eq!(wrong.text().await.unwrap(), unknown.text().await.unwrap());
        // Logout ends it.
        assert_eq!(
            call(&app, Method::POST, "/v1/auth/logout", &token, None)
                .await
                .status(),
            204
        );
        assert_eq!(
            call(&app, Method::GET, "/v1/inbox", &token, None)
                .await
                .status(),
            401
        );
        // Expiry.
        let token = login(&app, "sam@example.org").await;
        app.clock.advance(chrono::Duration::hours(13));
        assert_eq!(
            call(&app, Method::GET, "/v1/inbox", &token, None)
                .await
                .status(),
            401
        );
        assert_eq!(app.get("/v1/inbox").await.status(), 401);
        assert_eq!(
            call(&app, Method::GET, "/v1/inbox", "garbage", None)
                .await
                .status(),
            401
        );
    })
    .await;
}

#[tokio::test]
async fn another_organisations_referral_is_404_on_every_route() {
    with_app(&[], |app| async move {
        let (duty, _, other) = two_teams(&app).await;
        refer(&app, json!({"needs": ["activities"], "message": "hello"})).await;
        let ids = inbox_ids(&app, &duty, "").await;
        assert_eq!(ids.len(), 1);
        let id = &ids[0];
        assert!(
            inbox_ids(&app, &other, "").await.is_empty(),
            "not in another organisation's inbox"
        );
        let target = app
            .state
            .directory
            .load()
            .organisations
            .iter()
            .find(|o| o.slug == "safer-london")
            .unwrap()
            .id;
        let routes: Vec<(Method, String, Option<Value>)> = vec![
            (Method::GET, format!("/v1/inbox/{id}"), None),
            (Method::POST, format!("/v1/inbox/{id}/claim"), None),
            (
                Method::POST,
                format!("/v1/inbox/{id}/messages"),
                Some(json!({"body": "hi"})),
            ),
            (
                Method::POST,
                format!("/v1/inbox/{id}/status"),
                Some(json!({"status": "in_progress"})),
            ),
        ];
        for (method, path, body) in routes {
            let res = call(&app, method.clone(), &path, &other, body).await;
            assert_eq!(res.status(), 404, "{method} {path}");
            assert_eq!(res.headers()["content-type"], "application/problem+json");
        }
        // A coordinator elsewhere cannot transfer it either.
        add_worker(
            &app,
            "slc@example.org",
            "Coord",
            "safer-london",
            "coordinator",
        )
        .await;
        let coord = login(&app, "slc@example.org").await;
        let res = call(
            &app,
            Method::POST,
            &format!("/v1/inbox/{id}/transfer"),
            &coord,
            Some(json!({"organisation_id": target, "reason": "x"})),
        )
        .await;
        assert_eq!(res.status(), 404);
        // Nothing changed.
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM referrals WHERE claimed_by IS NULL AND status = 'assigned'"
            )
            .await,
            1
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM referral_messages").await, 0);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM referral_events WHERE kind NOT IN ('received', 'assigned')"
            )
            .await,
            0
        );
        // Unknown and malformed ids.
        assert_eq!(
            call(
                &app,
                Method::GET,
                &format!("/v1/inbox/{}", Uuid::now_v7()),
                &duty,
                None
            )
            .await
            .status(),
            404
        );
        assert_eq!(
            call(&app, Method::GET, "/v1/inbox/nope", &duty, None)
                .await
                .status(),
            422
        );
    })
    .await;
}

#[tokio::test]
async fn inbox_puts_urgent_first_then_oldest_and_filters() {
    with_app(&[], |app| async move {
        let (duty, _, _) = two_teams(&app).await;
        let a = refer(&app, json!({"needs": ["activities"], "message": "first"})).await;
        app.clock.advance(chrono::Duration::minutes(1));
        let b = refer(&app, json!({"needs": ["other"], "message": "second"})).await;
        app.clock.advance(chrono::Duration::minutes(1));
        let c = refer(
            &app,
            json!({"needs": ["other"], "message": "someone has a knife"}),
        )
        .await;
        assert_eq!(c["urgency"], "urgent");
        let page: Value = call(&app, Method::GET, "/v1/inbox", &duty, None)
            .await
            .json()
            .await
            .unwrap();
        let refs: Vec<&str> = page["contents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["reference"].as_str().unwrap())
            .collect();
        assert_eq!(
            refs,
            [
                c["reference"].as_str().unwrap(),
                a["reference"].as_str().unwrap(),
                b["reference"].as_str().unwrap()
            ]
        );
        assert_eq!(page["total_items"], 3);
        assert_eq!(inbox_ids(&app, &duty, "?urgency=urgent").await.len(), 1);
        assert_eq!(inbox_ids(&app, &duty, "?status=assigned").await.len(), 3);
        assert_eq!(inbox_ids(&app, &duty, "?status=closed").await.len(), 0);
        assert_eq!(inbox_ids(&app, &duty, "?per_page=2&page=2").await.len(), 1);
        for bad in ["?status=lost", "?urgency=soon", "?per_page=101", "?page=0"] {
            assert_eq!(
                call(&app, Method::GET, &format!("/v1/inbox{bad}"), &duty, None)
                    .await
                    .status(),
                422,
                "{bad}"
            );
        }
    })
    .await;
}

/// The items of a page of the JSON inbox, by reference.
async fn inbox_page(app: &TestApp, token: &str, query: &str) -> Value {
    let res = call(app, Method::GET, &format!("/v1/inbox{query}"), token, None).await;
    assert_eq!(res.status(), 200, "{query}");
    res.json().await.unwrap()
}

fn unread_of(page: &Value, id: &str) -> bool {
    page["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("{id} not listed"))["unread"]
        .as_bool()
        .expect("unread is a bool")
}

#[tokio::test]
async fn json_inbox_unread_waiting_need_and_reference() {
    with_app(&[], |app| async move {
        let (duty, coordinator, safer_london) = two_teams(&app).await;
        let a = refer(&app, json!({"needs": ["activities"], "message": "first"})).await;
        app.clock.advance(chrono::Duration::minutes(1));
        let b = refer(&app, json!({"needs": ["other"], "message": "second"})).await;
        let theirs = refer(
            &app,
            json!({"needs": ["gang-exit"], "age": 16, "message": "third"}),
        )
        .await;
        let ids = inbox_ids(&app, &duty, "").await;
        let (id_a, id_b) = (ids[0].clone(), ids[1].clone());
        assert_eq!(inbox_ids(&app, &safer_london, "").await.len(), 1);

        // The young person writes on a: unread for both duty workers, not b.
        app.clock.advance(chrono::Duration::minutes(1));
        let res = app
            .client
            .post(format!("{}/v1/referrals/self/messages", app.url))
            .bearer_auth(a["receipt"].as_str().unwrap())
            .json(&json!({"body": "hello?"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        app.clock.advance(chrono::Duration::minutes(1));
        let page = inbox_page(&app, &duty, "").await;
        assert!(unread_of(&page, &id_a));
        assert!(!unread_of(&page, &id_b));
        // Opening it clears it for that worker only.
        assert_eq!(
            call(&app, Method::GET, &format!("/v1/inbox/{id_a}"), &duty, None)
                .await
                .status(),
            200
        );
        assert!(!unread_of(&inbox_page(&app, &duty, "").await, &id_a));
        assert!(unread_of(&inbox_page(&app, &coordinator, "").await, &id_a));
        // A claim's answer carries the same mark.
        let claimed: Value = call(
            &app,
            Method::POST,
            &format!("/v1/inbox/{id_a}/claim"),
            &coordinator,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(claimed["unread"], true);

        // Waiting for us: a (they wrote last) and b (nobody has answered yet); after a
        // reply to b, only a.
        let waiting = inbox_ids(&app, &duty, "?waiting=true").await;
        assert_eq!(waiting, [id_a.as_str(), id_b.as_str()]);
        let res = call(
            &app,
            Method::POST,
            &format!("/v1/inbox/{id_b}/messages"),
            &duty,
            Some(json!({"body": "Hi, I'm Dana"})),
        )
        .await;
        assert_eq!(res.status(), 201);
        assert_eq!(
            inbox_ids(&app, &duty, "?waiting=true").await,
            [id_a.as_str()]
        );
        assert_eq!(inbox_ids(&app, &duty, "?waiting=false").await.len(), 2);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referrals WHERE last_message_from = 'youth_worker'")
                .await,
            1
        );

        // Need, alone and with the others.
        assert_eq!(inbox_ids(&app, &duty, "?need=other").await, [id_b.as_str()]);
        assert_eq!(
            inbox_ids(&app, &duty, "?need=activities&waiting=true").await,
            [id_a.as_str()]
        );
        assert_eq!(
            inbox_ids(&app, &duty, "?need=other&waiting=true")
                .await
                .len(),
            0
        );
        assert_eq!(
            inbox_ids(&app, &duty, "?need=activities&status=closed")
                .await
                .len(),
            0
        );

        // Reference: any case, spaces around it; another team's finds nothing.
        let typed = format!(" {} ", a["reference"].as_str().unwrap().to_lowercase());
        let q = format!("?reference={}", typed.replace(' ', "%20"));
        assert_eq!(inbox_ids(&app, &duty, &q).await, [id_a.as_str()]);
        let page = inbox_page(
            &app,
            &duty,
            &format!("?reference={}", theirs["reference"].as_str().unwrap()),
        )
        .await;
        assert_eq!(page["total_items"], 0);
        assert_eq!(page["contents"].as_array().unwrap().len(), 0);
        assert_eq!(
            inbox_ids(
                &app,
                &safer_london,
                &format!("?reference={}", b["reference"].as_str().unwrap())
            )
            .await
            .len(),
            0
        );

        // Bad values name the field.
        for (bad, field) in [
            ("?need=nonsense", "need"),
            ("?need=activities%25", "need"),
            ("?waiting=maybe", "waiting"),
        ] {
            let res = call(&app, Method::GET, &format!("/v1/inbox{bad}"), &duty, None).await;
            assert_eq!(res.status(), 422, "{bad}");
            let p: Value = res.json().await.unwrap();
            let fields: Vec<&str> = p["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["field"].as_str().unwrap())
                .collect();
            assert_eq!(fields, [field], "{bad}");
        }
    })
    .await;
}

#[tokio::test]
async fn two_simultaneous_claims_exactly_one_wins() {
    with_app(&[], |app| async move {
        let (duty1, duty2, _) = two_teams(&app).await;
        for _ in 0..5 {
            refer(&app, json!({"needs": ["activities"], "message": "hello"})).await;
        }
        for id in inbox_ids(&app, &duty1, "?status=assigned").await {
            let path = format!("/v1/inbox/{id}/claim");
            let (r1, r2) = tokio::join!(
                call(&app, Method::POST, &path, &duty1, None),
                call(&app, Method::POST, &path, &duty2, None)
            );
            let mut codes = [r1.status().as_u16(), r2.status().as_u16()];
            codes.sort_unstable();
            assert_eq!(codes, [200, 409], "{id}");
        }
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM referrals WHERE status = 'claimed' AND claimed_by IS NOT NULL"
            )
            .await,
            5
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referral_events WHERE kind = 'claimed'")
                .await,
            5
        );
    })
    .await;
}

#[tokio::test]
async fn a_conversation_from_both_sides_with_an_audit_trail() {
    with_app(&[], |app| async move {
        let (duty, _, _) = two_teams(&app).await;
        let r = refer(&app, json!({"needs": ["activities", "other"], "message": "Is there boxing?", "age": 15, "where": "E8 3PL",
                                   "contact": {"method": "text", "value": "07700 900123", "safe_times": "after 6", "ok_to_leave_message": false}})).await;
        let receipt = r["receipt"].as_str().unwrap().to_string();
        let id = inbox_ids(&app, &duty, "").await.remove(0);
        let full: Value = call(&app, Method::GET, &format!("/v1/inbox/{id}"), &duty, None).await.json().await.unwrap();
        assert_eq!(full["message"], "Is there boxing?");
        assert_eq!(full["age"], 15);
        assert_eq!(full["where"], "E8 3PL");
        assert_eq!(full["borough"], "hackney");
        assert_eq!(full["contact"]["value"], "07700 900123");
        assert_eq!(full["contact"]["method"], "text");
        assert_eq!(full["needs_named"][0]["name"], "Things to do");
        assert_eq!(call(&app, Method::POST, &format!("/v1/inbox/{id}/claim"), &duty, None).await.status(), 200);
        let res = call(&app, Method::POST, &format!("/v1/inbox/{id}/messages"), &duty, Some(json!({"body": "Hi, I'm Dana. Yes there is."}))).await;
        assert_eq!(res.status(), 201);
        assert_eq!(call(&app, Method::POST, &format!("/v1/inbox/{id}/messages"), &duty, Some(json!({"body": "  "}))).await.status(), 422);
        // The young person sees it, with the worker's first name only.
        let own: Value = app.client.get(format!("{}/v1/referrals/self", app.url)).bearer_auth(&receipt).send().await.unwrap().json().await.unwrap();
        assert_eq!(own["status"], "claimed");
        assert_eq!(own["messages"][0]["from"], "youth_worker");
        assert_eq!(own["messages"][0]["worker_name"], "Dana");
        assert_eq!(own["messages"][0]["body"], "Hi, I'm Dana. Yes there is.");
        let res = app.client.post(format!("{}/v1/referrals/self/messages", app.url)).bearer_auth(&receipt).json(&json!({"body": "thanks!"})).send().await.unwrap();
        assert_eq!(res.status(), 201);
        // Status changes; a note stays private.
        let res = call(&app, Method::POST, &format!("/v1/inbox/{id}/status"), &duty, Some(json!({"status": "in_progress", "note": "private note"}))).await;
        assert_eq!(res.status(), 200);
        let res = call(&app, Method::POST, &format!("/v1/inbox/{id}/status"), &duty, Some(json!({"status": "closed"}))).await;
        assert_eq!(res.status(), 422, "closing needs an outcome");
        let res = call(&app, Method::POST, &format!("/v1/inbox/{id}/status"), &duty, Some(json!({"status": "archived"}))).await;
        assert_eq!(res.status(), 422);
        let res = call(&app, Method::POST, &format!("/v1/inbox/{id}/status"), &duty, Some(json!({"status": "closed", "outcome": "supported"}))).await;
        assert_eq!(res.status(), 200);
        let closed: Value = res.json().await.unwrap();
        assert_eq!(closed["status"], "closed");
        let own: Value = app.client.get(format!("{}/v1/referrals/self", app.url)).bearer_auth(&receipt).send().await.unwrap().json().await.unwrap();
        let bodies: Vec<&str> = own["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
        assert_eq!(bodies, ["Hi, I'm Dana. Yes there is.", "thanks!"], "no note for the young person");
        let res = app.client.post(format!("{}/v1/referrals/self/messages", app.url)).bearer_auth(&receipt).json(&json!({"body": "one more"})).send().await.unwrap();
        assert_eq!(res.status(), 409);
        assert_eq!(call(&app, Method::POST, &format!("/v1/inbox/{id}/messages"), &duty, Some(json!({"body": "x"}))).await.status(), 409);
        // The audit trail, in order. Opening it again is recorded once a visit is over
        // (10 minutes), or when the young person has written since.
        app.clock.advance(chrono::Duration::minutes(11));
        let full: Value = call(&app, Method::GET, &format!("/v1/inbox/{id}"), &duty, None).await.json().await.unwrap();
        let kinds: Vec<&str> = full["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["received", "assigned", "viewed", "claimed", "worker_message", "young_person_message", "status", "status", "viewed"]);
        assert_eq!(full["events"][3]["worker"]["name"], "Dana Duty");
        assert_eq!(full["events"][7]["detail"], "closed:supported");
        assert_eq!(full["outcome"], "supported");
        let from: Vec<&str> = full["thread"].as_array().unwrap().iter().map(|m| m["from"].as_str().unwrap()).collect();
        assert_eq!(from, ["youth_worker", "young_person", "note"]);
        // After the worker's account is deactivated, their message stays.
        let dana = signpost::workers::accounts::find_by_email(app.db(), "duty1@example.org").await.unwrap().unwrap();
        signpost::workers::accounts::deactivate(app.db(), dana.id).await.unwrap();
        assert_eq!(call(&app, Method::GET, "/v1/inbox", &duty, None).await.status(), 401);
        let own: Value = app.client.get(format!("{}/v1/referrals/self", app.url)).bearer_auth(&receipt).send().await.unwrap().json().await.unwrap();
        assert_eq!(own["messages"][0]["worker_name"], "Dana");
    })
    .await;
}

#[tokio::test]
async fn coordinators_transfer_and_workers_cannot() {
    with_app(&[], |app| async move {
        let (worker, coordinator, safer_london) = two_teams(&app).await;
        // Nothing routes "something else" to a partner team: it lands on the duty team.
        refer(
            &app,
            json!({"needs": ["other"], "message": "help", "age": 14}),
        )
        .await;
        let id = inbox_ids(&app, &worker, "").await.remove(0);
        let dir = app.state.directory.load();
        let sl = dir
            .organisations
            .iter()
            .find(|o| o.slug == "safer-london")
            .unwrap()
            .id;
        let unstaffed = dir
            .organisations
            .iter()
            .find(|o| o.slug == "redthread")
            .unwrap()
            .id;
        let path = format!("/v1/inbox/{id}/transfer");
        let body = json!({"organisation_id": sl, "reason": "they run gang exit"});
        assert_eq!(
            call(&app, Method::POST, &path, &worker, Some(body.clone()))
                .await
                .status(),
            403
        );
        let res = call(
            &app,
            Method::POST,
            &path,
            &coordinator,
            Some(json!({"organisation_id": unstaffed, "reason": "x"})),
        )
        .await;
        assert_eq!(res.status(), 422, "nobody there to read it");
        let res = call(
            &app,
            Method::POST,
            &path,
            &coordinator,
            Some(json!({"organisation_id": Uuid::now_v7(), "reason": "x"})),
        )
        .await;
        assert_eq!(res.status(), 422);
        let res = call(
            &app,
            Method::POST,
            &path,
            &coordinator,
            Some(json!({"organisation_id": sl, "reason": ""})),
        )
        .await;
        assert_eq!(res.status(), 422);
        let res = call(&app, Method::POST, &path, &coordinator, Some(body)).await;
        assert_eq!(res.status(), 200);
        assert!(inbox_ids(&app, &worker, "").await.is_empty());
        assert_eq!(
            call(&app, Method::GET, &format!("/v1/inbox/{id}"), &worker, None)
                .await
                .status(),
            404
        );
        let theirs = inbox_ids(&app, &safer_london, "").await;
        assert_eq!(theirs, vec![id.clone()]);
        let full: Value = call(
            &app,
            Method::GET,
            &format!("/v1/inbox/{id}"),
            &safer_london,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(full["status"], "assigned");
        let kinds: Vec<&str> = full["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert!(kinds.contains(&"transferred"));
        // The young person is told in their thread; the private reason stays private.
        let thread = full["thread"].as_array().unwrap();
        assert!(thread.iter().any(|m| {
            m["from"] == "signpost"
                && m["body"]
                    .as_str()
                    .unwrap()
                    .contains("moved to Safer London")
        }));
        assert!(
            thread
                .iter()
                .any(|m| m["from"] == "note" && m["body"] == "they run gang exit")
        );
    })
    .await;
}

#[tokio::test]
async fn the_workers_add_command_reads_the_password_from_stdin() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let content = common::ContentDir::shipped_with(&[]);
    let data = tempfile::tempdir().unwrap();
    let run = |email: &str, password: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_signpost"))
            .args([
                "workers",
                "add",
                "--email",
                email,
                "--name",
                "Alex Kay",
                "--organisation",
                "signpost-duty-team",
                "--role",
                "coordinator",
                "--password-stdin",
            ])
            .env("SIGNPOST_CONTENT_DIR", content.path())
            .env("SIGNPOST_DATA_DIR", data.path())
            .env("SIGNPOST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let ok = run("alex@example.org", PASSWORD);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let again = run("alex@example.org", PASSWORD);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let weak = run("weak@example.org", "short");
    assert!(!weak.status.success());
    let db = std::fs::read(data.path().join("signpost.db")).unwrap_or_default();
    let wal = std::fs::read(data.path().join("signpost.db-wal")).unwrap_or_default();
    let text = String::from_utf8_lossy(&[db, wal].concat()).to_string();
    assert!(
        !text.contains(PASSWORD),
        "the password is stored only as a hash"
    );
    assert!(text.contains("$argon2id$"));
}

#[tokio::test]
async fn release_and_private_notes_through_the_json_api() {
    with_app(&[], |app| async move {
        let (duty, lead, other) = two_teams(&app).await;
        add_worker(&app, "duty3@example.org", "Del Third", "signpost-duty-team", "worker").await;
        let third = login(&app, "duty3@example.org").await;
        let r = refer(&app, json!({"needs": ["activities"], "message": "Is there boxing?"})).await;
        let receipt = r["receipt"].as_str().unwrap().to_string();
        let id = inbox_ids(&app, &duty, "").await.remove(0);
        let release = |token: String| {
            let (app, id) = (&app, id.clone());
            async move { call(app, Method::POST, &format!("/v1/inbox/{id}/release"), &token, None).await }
        };
        // Nobody holds it yet.
        assert_eq!(release(duty.clone()).await.status(), 409);
        assert_eq!(call(&app, Method::POST, &format!("/v1/inbox/{id}/claim"), &duty, None).await.status(), 200);
        // Another youth worker may not give it back; another team gets the usual 404.
        assert_eq!(release(third.clone()).await.status(), 403);
        assert_eq!(release(other.clone()).await.status(), 404);
        assert_eq!(app.count("SELECT COUNT(*) FROM referrals WHERE claimed_by IS NOT NULL").await, 1);
        // Its holder may; so may a coordinator, for anyone.
        let res = release(duty.clone()).await;
        assert_eq!(res.status(), 200);
        let item: Value = res.json().await.unwrap();
        assert!(item["claimed_by"].is_null());
        assert_eq!(app.count("SELECT COUNT(*) FROM referrals WHERE claimed_by IS NOT NULL").await, 0);
        assert_eq!(call(&app, Method::POST, &format!("/v1/inbox/{id}/claim"), &third, None).await.status(), 200);
        assert_eq!(release(lead.clone()).await.status(), 200);
        assert_eq!(app.count("SELECT COUNT(*) FROM referral_events WHERE kind = 'released'").await, 2);

        // A private note: stored sealed, in the team's thread, never the young person's.
        let note = |token: String, body: Value| {
            let (app, id) = (&app, id.clone());
            async move { call(app, Method::POST, &format!("/v1/inbox/{id}/notes"), &token, Some(body)).await }
        };
        assert_eq!(note(duty.clone(), json!({"body": "   "})).await.status(), 422);
        assert_eq!(note(duty.clone(), json!({"body": "x".repeat(4001)})).await.status(), 422);
        assert_eq!(note(other.clone(), json!({"body": "hello"})).await.status(), 404);
        assert_eq!(app.count("SELECT COUNT(*) FROM referral_messages").await, 0);
        let res = note(duty.clone(), json!({"body": "Mum answered last time: text only"})).await;
        assert_eq!(res.status(), 201);
        let m: Value = res.json().await.unwrap();
        assert_eq!(m["from"], "note");
        assert_eq!(m["worker"]["name"], "Dana Duty");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referral_messages WHERE sender = 'worker_note' AND body_sealed NOT LIKE '%Mum answered%'").await,
            1
        );
        let full: Value = call(&app, Method::GET, &format!("/v1/inbox/{id}"), &duty, None).await.json().await.unwrap();
        assert_eq!(full["thread"][0]["body"], "Mum answered last time: text only");
        let own: Value = app.client.get(format!("{}/v1/referrals/self", app.url)).bearer_auth(&receipt).send().await.unwrap().json().await.unwrap();
        assert_eq!(own["messages"].as_array().unwrap().len(), 0, "never shown to the young person");
    })
    .await;
}
