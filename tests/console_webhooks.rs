//! The console's webhook and notification pages over HTTP, on both databases: adding an
//! endpoint with a secret made on the server and shown once (stored only sealed), a test
//! notification that arrives signed at a real receiver, removal after a confirmation page,
//! undelivered notifications listed and tried again, and the refusals: a youth worker's
//! 403, another organisation's ids as the same 404 as unknown ones, forms without their
//! anti-forgery token.
mod common;

use std::time::Duration;

use common::TestApp;
use common::console::*;
use hmac::{Hmac, Mac};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::{Value, json};
use sha2::Sha256;
use signpost::entities::{outbox, webhook_endpoint};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const DUTY: &str = "signpost-duty-team";
const OTHER: &str = "safer-london";
const FAST_DELIVERY: &[(&str, &str)] = &[("SIGNPOST_OUTBOX_POLL_MS", "20")];
/// No deliverer: the outbox's states stay as the test sets them.
const NO_DELIVERY: &[(&str, &str)] = &[("SIGNPOST_OUTBOX_WORKER", "false")];

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

async fn endpoints(app: &TestApp) -> Vec<webhook_endpoint::Model> {
    webhook_endpoint::Entity::find()
        .all(app.db())
        .await
        .unwrap()
}

async fn exec(app: &TestApp, sql: &str) {
    app.db().execute_unprepared(sql).await.unwrap();
}

/// Adds an endpoint through the console; returns its id and the secret shown once.
async fn add_in_console(b: &mut Browser, url: &str, purpose: &str) -> (String, String) {
    let form = b.get("/console/team/webhooks").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.csrf();
    let added = b
        .post(
            "/console/team/webhooks",
            &[("csrf", &csrf), ("url", url), ("purpose", purpose)],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_html_page(&added, "endpoint added");
    let secret = added.by_id("webhook-secret");
    let at = added.body.find("action=\"/console/team/webhooks/").unwrap();
    let rest = &added.body[at + "action=\"/console/team/webhooks/".len()..];
    let id = rest[..rest.find('/').unwrap()].to_string();
    (id, secret)
}

fn header(r: &wiremock::Request, name: &str) -> String {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The check the added page tells a receiver to make.
fn signed_with(r: &wiremock::Request, secret: &str) -> bool {
    let ts = header(r, "x-signpost-timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(&r.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    header(r, "x-signpost-signature") == format!("v1={expected}")
}

#[tokio::test]
async fn a_coordinator_adds_an_endpoint_sees_its_secret_once_tests_it_and_removes_it() {
    with_console(FAST_DELIVERY, |app| async move {
        add_worker_as(&app, "cora@example.org", "Cora Coord", DUTY, "coordinator").await;
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let mut b = Browser::signed_in(&app, "cora@example.org").await;

        let page = b.get("/console/team/webhooks").await;
        assert_eq!(page.status, 200);
        assert_html_page(&page, "webhooks");
        assert!(page.body.contains("id=\"webhooks-empty\""), "{}", page.body);
        assert!(page.body.contains("aria-current=\"page\">Webhooks"));
        for needle in [
            "id=\"webhook-form\"",
            "name=\"url\"",
            "id=\"purpose-notify\"",
            "id=\"purpose-escalation\"",
            "<label for=\"url\">",
            "<label for=\"purpose-notify\">New referrals, messages and reminders</label>",
            "<label for=\"purpose-escalation\">Urgent escalations</label>",
        ] {
            assert!(page.body.contains(needle), "no {needle}");
        }
        let csrf = page.csrf();

        // Bad input: a 422 page naming the field, and nothing stored.
        let bad = b
            .post(
                "/console/team/webhooks",
                &[("csrf", &csrf), ("url", "hooks dot example"), ("purpose", "notify")],
            )
            .await;
        assert_eq!(bad.status, 422);
        assert_html_page(&bad, "bad url");
        assert!(bad.body.contains("id=\"webhook-errors\"") && bad.body.contains("id=\"url-error\""));
        assert!(bad.body.contains("href=\"#url\""));
        assert!(bad.body.contains("value=\"hooks dot example\""), "what was typed is kept");
        assert!(bad.body.contains("id=\"purpose-notify\" name=\"purpose\" type=\"radio\" value=\"notify\" checked"));
        let ftp = b
            .post(
                "/console/team/webhooks",
                &[("csrf", &csrf), ("url", "ftp://example.org/x"), ("purpose", "notify")],
            )
            .await;
        assert_eq!(ftp.status, 422);
        assert!(ftp.body.contains("id=\"url-error\""));
        let no_purpose = b
            .post(
                "/console/team/webhooks",
                &[("csrf", &csrf), ("url", "https://hooks.example.org/x")],
            )
            .await;
        assert_eq!(no_purpose.status, 422);
        assert!(no_purpose.body.contains("id=\"purpose-error\""));
        assert!(!no_purpose.body.contains("id=\"url-error\""));
        assert_eq!(app.count("SELECT COUNT(*) FROM webhook_endpoints").await, 0);

        // Without the anti-forgery token: refused, nothing stored.
        let forged = b
            .post(
                "/console/team/webhooks",
                &[("url", "https://hooks.example.org/x"), ("purpose", "notify")],
            )
            .await;
        assert_eq!(forged.status, 403);
        assert_eq!(app.count("SELECT COUNT(*) FROM webhook_endpoints").await, 0);

        // Added: the secret is made on the server and shown once, in its box.
        let url = format!("{}/duty-hook", server.uri());
        let (id, secret) = add_in_console(&mut b, &url, "notify").await;
        assert!(secret.len() >= 32, "{secret}");
        assert!(
            secret.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{secret}"
        );
        let stored = endpoints(&app).await;
        assert_eq!(stored.len(), 1);
        let e = &stored[0];
        assert_eq!(e.id.to_string(), id);
        assert_eq!(e.url, url);
        assert_eq!(e.purpose, "notify");
        assert!(e.active);
        // Stored only sealed: the column is not the secret and does not contain it, and
        // opening it with the data key gives the secret back.
        assert_ne!(e.secret_sealed, secret);
        assert!(!e.secret_sealed.contains(&secret));
        assert_eq!(app.state.keys.open(&e.secret_sealed, e.id.as_bytes()).unwrap(), secret);
        // A second endpoint gets its own secret.
        let (_, other_secret) =
            add_in_console(&mut b, "https://escalations.example.org/in", "escalation").await;
        assert_ne!(other_secret, secret);

        // Never shown again.
        let list = b.get("/console/team/webhooks").await;
        assert_eq!(list.status, 200);
        assert!(!list.body.contains(&secret) && !list.body.contains(&other_secret));
        assert!(list.body.contains(&format!("id=\"webhook-{id}\"")));
        assert!(list.body.contains(&url));
        assert!(list.body.contains("new referrals, messages and reminders"));
        assert!(list.body.contains("urgent escalations"));
        assert!(!list.body.contains("id=\"webhooks-empty\""));

        // A test notification goes through the outbox and arrives signed with that secret.
        let csrf = list.csrf();
        let forged = b
            .post(&format!("/console/team/webhooks/{id}/test"), &[])
            .await;
        assert_eq!(forged.status, 403);
        assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 0);
        let sent = b
            .post(&format!("/console/team/webhooks/{id}/test"), &[("csrf", &csrf)])
            .await;
        assert_eq!(sent.status, 303, "{}", sent.body);
        assert_eq!(sent.location(), format!("/console/team/webhooks?tested={id}"));
        let after = b.get(sent.location()).await;
        assert!(after.body.contains("id=\"webhooks-notice\""));
        assert!(after.body.contains("A test notification is on its way to"));
        eventually("the test notification", || async {
            !server.received_requests().await.unwrap_or_default().is_empty()
        })
        .await;
        let got = server.received_requests().await.unwrap();
        assert_eq!(got.len(), 1);
        let r = &got[0];
        assert_eq!(r.url.path(), "/duty-hook");
        assert!(signed_with(r, &secret), "the signature checks out with the secret shown");
        assert!(!signed_with(r, &other_secret));
        assert_eq!(header(r, "x-signpost-event"), "test");
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["event"], "test");
        assert!(body.get("reference").is_none() && body.get("path").is_none(), "{body}");
        eventually("recorded as delivered", || async {
            app.count("SELECT COUNT(*) FROM outbox WHERE state = 'delivered' AND event_type = 'test' AND referral_id IS NULL")
                .await
                == 1
        })
        .await;
        let delivered = b.get("/console/team/notifications?state=delivered").await;
        assert_eq!(delivered.status, 200);
        assert!(delivered.body.contains("A test notification"));
        assert!(!delivered.body.contains("id=\"retry-"), "a delivered one is not tried again");

        // Remove: a page that asks first, then the endpoint is no longer used.
        let confirm = b.get(&format!("/console/team/webhooks/{id}/remove")).await;
        assert_eq!(confirm.status, 200);
        assert_html_page(&confirm, "remove");
        assert!(confirm.body.contains("id=\"remove-confirm\"") && confirm.body.contains(&url));
        assert!(!confirm.body.contains(&secret));
        let forged = b
            .post(&format!("/console/team/webhooks/{id}/remove"), &[])
            .await;
        assert_eq!(forged.status, 403);
        assert!(endpoints(&app).await.iter().all(|e| e.active));
        let csrf = confirm.csrf();
        let removed = b
            .post(&format!("/console/team/webhooks/{id}/remove"), &[("csrf", &csrf)])
            .await;
        assert_eq!(removed.status, 303);
        assert_eq!(removed.location(), "/console/team/webhooks?removed=1");
        let e = webhook_endpoint::Entity::find_by_id(e.id).one(app.db()).await.unwrap().unwrap();
        assert!(!e.active);
        let list = b.get(removed.location()).await;
        assert!(list.body.contains("id=\"webhooks-notice\""));
        assert!(list.body.contains("The endpoint was removed."));
        assert!(!list.body.contains(&format!("id=\"webhook-{id}\"")));
        // Gone: its pages and buttons are the 404 page.
        let again = b
            .post(&format!("/console/team/webhooks/{id}/remove"), &[("csrf", &csrf)])
            .await;
        assert_eq!(again.status, 404);
        let test_removed = b
            .post(&format!("/console/team/webhooks/{id}/test"), &[("csrf", &csrf)])
            .await;
        assert_eq!(test_removed.status, 404);
        assert_eq!(b.get(&format!("/console/team/webhooks/{id}/remove")).await.status, 404);
        // A form's address opened in the browser leads back to its page.
        let back = b.get(&format!("/console/team/webhooks/{id}/test")).await;
        assert_eq!(back.status, 303);
        assert_eq!(back.location(), "/console/team/webhooks");
    })
    .await;
}

#[tokio::test]
async fn an_undelivered_notification_is_listed_and_tried_again() {
    with_console(NO_DELIVERY, |app| async move {
        add_worker_as(&app, "cora@example.org", "Cora Coord", DUTY, "coordinator").await;
        let mut b = Browser::signed_in(&app, "cora@example.org").await;
        let (endpoint, _) = add_in_console(&mut b, "http://127.0.0.1:9/never", "notify").await;
        let referral = refer(&app, json!({"needs": ["other"], "message": "x"})).await;
        assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 1);
        exec(
            &app,
            "UPDATE outbox SET state = 'dead', attempts = 7, last_status = 500, last_error = 'HTTP 500'",
        )
        .await;
        let row = outbox::Entity::find().one(app.db()).await.unwrap().unwrap();
        let id = row.id;

        // Dead ones by default.
        let page = b.get("/console/team/notifications").await;
        assert_eq!(page.status, 200);
        assert_html_page(&page, "notifications");
        assert!(page.body.contains("aria-current=\"page\">Notifications"));
        assert!(page.body.contains(&format!("id=\"notification-{id}\"")), "{}", page.body);
        assert!(page.body.contains("A new referral"));
        let reference = referral["reference"].as_str().unwrap();
        assert!(page.body.contains(reference), "the referral's reference");
        assert!(page.body.contains("http://127.0.0.1:9/never"));
        assert!(page.body.contains("<dt>Tries</dt><dd>7</dd>"));
        assert!(page.body.contains("The endpoint answered with an error (500)"));
        assert!(page.body.contains(&format!("id=\"retry-{id}\"")));
        assert_eq!(page.by_id("notifications-count"), "1 notification that could not be delivered");
        assert!(!page.body.contains("/v1/inbox/"), "never the payload");

        let pending = b.get("/console/team/notifications?state=pending").await;
        assert_eq!(pending.status, 200);
        assert!(pending.body.contains("id=\"notifications-empty\""));
        let bad = b.get("/console/team/notifications?state=lost").await;
        assert_eq!(bad.status, 400);
        let bad = b.get("/console/team/notifications?page=0").await;
        assert_eq!(bad.status, 400);

        // Without the token: nothing changes.
        let forged = b
            .post(&format!("/console/team/notifications/{id}/retry"), &[("csrf", "nope")])
            .await;
        assert_eq!(forged.status, 403);
        assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE state = 'dead'").await, 1);

        // Try again: pending, due now, with a fresh window.
        let csrf = page.csrf();
        let retried = b
            .post(&format!("/console/team/notifications/{id}/retry"), &[("csrf", &csrf)])
            .await;
        assert_eq!(retried.status, 303, "{}", retried.body);
        assert_eq!(retried.location(), "/console/team/notifications?retried=1");
        let row = outbox::Entity::find_by_id(id).one(app.db()).await.unwrap().unwrap();
        assert_eq!(row.state, "pending");
        assert!(row.retry_until > app.clock.now() + chrono::Duration::hours(23));
        assert!(row.next_attempt_at <= app.clock.now());
        let after = b.get(retried.location()).await;
        assert!(after.body.contains("id=\"notifications-notice\""));
        assert!(after.body.contains("It will be sent again now."));
        assert!(after.body.contains("id=\"notifications-empty\""), "no longer dead");
        let pending = b.get("/console/team/notifications?state=pending").await;
        assert!(pending.body.contains(&format!("id=\"retry-{id}\"")), "pending ones can be tried again");

        // Delivered: not tried again.
        exec(&app, "UPDATE outbox SET state = 'delivered'").await;
        let done = b
            .post(&format!("/console/team/notifications/{id}/retry"), &[("csrf", &csrf)])
            .await;
        assert_eq!(done.status, 409);
        assert_html_page(&done, "already delivered");
        assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE state = 'delivered'").await, 1);

        // Paging like the reports page: 25 a page.
        for _ in 0..26 {
            let sent = b
                .post(&format!("/console/team/webhooks/{endpoint}/test"), &[("csrf", &csrf)])
                .await;
            assert_eq!(sent.status, 303);
        }
        let first = b.get("/console/team/notifications?state=pending").await;
        assert!(first.by_id("notifications-count").contains("page 1 of 2"), "{}", first.by_id("notifications-count"));
        assert!(first.body.contains("id=\"page-next\" href=\"/console/team/notifications?state=pending&#38;page=2\""), "{}", first.body);
        let second = b.get("/console/team/notifications?state=pending&page=2").await;
        assert_eq!(second.body.matches("class=\"case\"").count(), 1);
        assert!(second.body.contains("id=\"page-prev\""));
        // A retry's address opened in the browser leads back to the page.
        let back = b.get(&format!("/console/team/notifications/{id}/retry")).await;
        assert_eq!(back.status, 303);
        assert_eq!(back.location(), "/console/team/notifications");
    })
    .await;
}

#[tokio::test]
async fn a_youth_worker_is_refused_and_another_organisations_ids_are_the_404_of_unknown_ones() {
    with_console(NO_DELIVERY, |app| async move {
        add_worker_as(&app, "cora@example.org", "Cora Coord", DUTY, "coordinator").await;
        add_worker_as(&app, "wren@example.org", "Wren Worker", DUTY, "worker").await;
        add_worker_as(&app, "sam@example.org", "Sam Lead", OTHER, "coordinator").await;

        // Another organisation's endpoint and notification.
        let mut sam = Browser::signed_in(&app, "sam@example.org").await;
        let (theirs, _) =
            add_in_console(&mut sam, "https://safer.example.org/hook", "notify").await;
        let csrf = sam.get("/console/team/webhooks").await.csrf();
        let sent = sam
            .post(
                &format!("/console/team/webhooks/{theirs}/test"),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(sent.status, 303);
        let their_notification = outbox::Entity::find()
            .one(app.db())
            .await
            .unwrap()
            .unwrap()
            .id;

        // A youth worker: the 403 page on every team page and form, and nothing changes.
        let mut wren = Browser::signed_in(&app, "wren@example.org").await;
        let inbox = wren.get("/console/inbox").await;
        assert!(
            !inbox.body.contains("/console/team"),
            "no link to the team pages"
        );
        let csrf = inbox.csrf();
        for path in [
            "/console/team/webhooks".to_string(),
            "/console/team/notifications".to_string(),
            format!("/console/team/webhooks/{theirs}/remove"),
        ] {
            let page = wren.get(&path).await;
            assert_eq!(page.status, 403, "{path}");
            assert_html_page(&page, &path);
            assert!(page.by_id("error-heading").contains("Only coordinators"));
        }
        let add = wren
            .post(
                "/console/team/webhooks",
                &[
                    ("csrf", &csrf),
                    ("url", "https://x.example.org"),
                    ("purpose", "notify"),
                ],
            )
            .await;
        assert_eq!(add.status, 403);
        let retry = wren
            .post(
                &format!("/console/team/notifications/{their_notification}/retry"),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(retry.status, 403);
        assert_eq!(app.count("SELECT COUNT(*) FROM webhook_endpoints").await, 1);

        // A coordinator of another team: exactly the page an unknown id gets.
        let mut cora = Browser::signed_in(&app, "cora@example.org").await;
        let csrf = cora.get("/console/team/webhooks").await.csrf();
        let unknown = uuid::Uuid::now_v7();
        let page_for = |p: &Page| (p.status, p.body.clone());
        for (theirs_path, unknown_path) in [
            (
                format!("/console/team/webhooks/{theirs}/remove"),
                format!("/console/team/webhooks/{unknown}/remove"),
            ),
            (
                format!("/console/team/webhooks/{theirs}/test"),
                format!("/console/team/webhooks/{unknown}/test"),
            ),
            (
                format!("/console/team/notifications/{their_notification}/retry"),
                format!("/console/team/notifications/{unknown}/retry"),
            ),
        ] {
            let a = cora.post(&theirs_path, &[("csrf", &csrf)]).await;
            let u = cora.post(&unknown_path, &[("csrf", &csrf)]).await;
            assert_eq!(a.status, 404, "{theirs_path}");
            assert_eq!(page_for(&a), page_for(&u), "{theirs_path}");
        }
        let a = cora
            .get(&format!("/console/team/webhooks/{theirs}/remove"))
            .await;
        let u = cora
            .get(&format!("/console/team/webhooks/{unknown}/remove"))
            .await;
        assert_eq!(a.status, 404);
        assert_eq!(page_for(&a), page_for(&u));
        assert_eq!(
            cora.get("/console/team/webhooks/not-an-id/remove")
                .await
                .status,
            404
        );
        // Nothing of theirs changed or shows.
        assert!(endpoints(&app).await.iter().all(|e| e.active));
        assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 1);
        let list = cora.get("/console/team/webhooks").await;
        assert!(!list.body.contains("safer.example.org"));
        let notes = cora.get("/console/team/notifications?state=pending").await;
        assert!(notes.body.contains("id=\"notifications-empty\""));
        assert!(!notes.body.contains(&their_notification.to_string()));
    })
    .await;
}
