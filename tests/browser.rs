//! The youth-worker console in a real Chromium (WebDriver), on SQLite and PostgreSQL.
//! Run with `SIGNPOST_TEST_BROWSER=1` (`.ci/run` installs Debian's chromium and
//! chromium-driver and sets it); without it these tests say so and do nothing else.
#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::Browser;
use chrono::Utc;
use common::{TestApp, with_app};
use fantoccini::Locator;

const PASSWORD: &str = "correct horse battery staple";

/// Phone and desktop widths.
const WIDTHS: [(u32, u32, &str); 2] = [(360, 780, "phone"), (1280, 900, "desktop")];

async fn add_worker(app: &TestApp, email: &str, org: &str, role: &str) {
    signpost::workers::accounts::add(
        app.db(),
        email,
        "Dana Duty",
        org,
        role,
        PASSWORD,
        Utc::now(),
    )
    .await
    .expect("worker added");
}

async fn sign_in(b: &Browser, app: &TestApp, email: &str) {
    b.goto(&format!("{}/console/sign-in", app.url)).await;
    let c = &b.client;
    c.find(Locator::Css("input[name=email]"))
        .await
        .expect("email field")
        .send_keys(email)
        .await
        .expect("typed");
    c.find(Locator::Css("input[name=password]"))
        .await
        .expect("password field")
        .send_keys(PASSWORD)
        .await
        .expect("typed");
    c.find(Locator::Css("form button[type=submit]"))
        .await
        .expect("sign-in button")
        .click()
        .await
        .expect("clicked");
}

fn assert_accessible(page: &str, violations: &[serde_json::Value]) {
    assert!(
        violations.is_empty(),
        "{page}: serious or critical accessibility problems: {}",
        serde_json::to_string_pretty(violations).unwrap_or_default()
    );
}

#[tokio::test]
async fn the_sign_in_page_and_inbox_work_and_are_accessible_at_both_widths() {
    if !browser::enabled() {
        return;
    }
    with_app(&[], |app| async move {
        add_worker(&app, "duty@example.org", "signpost-duty-team", "worker").await;
        app.client
            .post(format!("{}/v1/referrals", app.url))
            .json(&serde_json::json!({"needs": ["feeling-unsafe"], "message": "someone from the estate keeps following me home", "age": 15}))
            .send()
            .await
            .expect("referral sent");
        for (width, height, label) in WIDTHS {
            let b = Browser::start(width, height).await;
            b.goto(&format!("{}/console/sign-in", app.url)).await;
            assert_accessible(&format!("sign-in at {label}"), &b.accessibility_violations().await);
            b.screenshot(&format!("sign-in-{label}")).await;
            sign_in(&b, &app, "duty@example.org").await;
            b.screenshot(&format!("after-sign-in-{label}")).await;
            let url = b.client.current_url().await.expect("url");
            assert!(url.path().starts_with("/console/inbox"), "{url}");
            let body = b
                .client
                .find(Locator::Css("main"))
                .await
                .expect("main landmark")
                .text()
                .await
                .expect("text");
            assert!(body.contains("urgent") || body.contains("Urgent"), "{body}");
            assert_accessible(&format!("inbox at {label}"), &b.accessibility_violations().await);
            b.screenshot(&format!("inbox-{label}")).await;
            b.close().await;
        }
    })
    .await;
}
