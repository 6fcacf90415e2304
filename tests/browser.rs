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
            wait_for_path(&b, "/console/inbox").await;
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
            click(&b, "a[href*='/console/referrals/']").await;
            find(&b, "#referral-message").await;
            assert_accessible(
                &format!("referral at {label}"),
                &b.accessibility_violations().await,
            );
            b.screenshot(&format!("referral-{label}")).await;
            // Claiming works by tapping at this width too.
            if width < 500 {
                b.client
                    .execute("document.getElementById('claim').scrollIntoView()", vec![])
                    .await
                    .expect("scrolled");
                click(&b, "#claim").await;
                find(&b, "#release").await;
            }
            b.close().await;
        }
    })
    .await;
}

/// The code an authenticator app shows for `secret` at the app's clock.
fn totp_code(app: &TestApp, secret: &str) -> String {
    use totp_rs::{Algorithm, Builder, Secret};
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(Secret::try_from_base32(secret).expect("base32 secret"))
        .build()
        .expect("totp");
    totp.generate(u64::try_from(app.clock.now().timestamp()).expect("positive time"))
        .to_string()
}

/// The element, once it is on the page (pages load after a click in their own time).
async fn find(b: &Browser, css: &str) -> fantoccini::elements::Element {
    match b
        .client
        .wait()
        .at_most(std::time::Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(e) => e,
        Err(e) => {
            let shot = b.screenshot("failure").await;
            let body = b.client.source().await.unwrap_or_default();
            panic!("{css}: {e}; screenshot {}; page: {body}", shot.display())
        }
    }
}

async fn text_of(b: &Browser, css: &str) -> String {
    for _ in 0..20 {
        match find(b, css).await.text().await {
            Ok(t) => return t,
            // Replaced by a page that was still loading: look again.
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    panic!("{css}: the element kept going stale")
}

/// Waits until `css`'s text contains `needle` (after a form post reloads the page).
async fn wait_for_text(b: &Browser, css: &str, needle: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        last = text_of(b, css).await;
        if last.contains(needle) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let shot = b.screenshot("failure").await;
    panic!(
        "{css} never said {needle:?}: {last}; screenshot {}",
        shot.display()
    )
}

async fn wait_for_path(b: &Browser, path: &str) {
    for _ in 0..100 {
        let url = b.client.current_url().await.expect("url");
        if url.path() == path {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let url = b.client.current_url().await.expect("url");
    let shot = b.screenshot("failure").await;
    panic!(
        "never reached {path}, at {url}; screenshot {}",
        shot.display()
    )
}

async fn click(b: &Browser, css: &str) {
    for _ in 0..20 {
        if find(b, css).await.click().await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{css}: could not click it")
}

async fn type_into(b: &Browser, css: &str, text: &str) {
    find(b, css).await.send_keys(text).await.expect("typed");
}

async fn check_page(b: &Browser, name: &str) {
    assert_accessible(name, &b.accessibility_violations().await);
    b.screenshot(name).await;
}

/// The story from the issue, in a real browser: a young person refers (urgent); a worker
/// signs in with password and a second factor (enrolling the first time), sees it at the
/// top with its escalation clock, claims it and replies; the young person reads the reply
/// and answers; the worker sees the "seen" time and the answer; the referral moves to
/// another team, which closes it with an outcome.
#[tokio::test]
async fn a_referral_from_first_message_to_closed_in_the_console() {
    if !browser::enabled() {
        return;
    }
    common::on_each_backend(|db| async move {
        let app = TestApp::spawn_with(&db, common::ContentDir::shipped_with(&[]), |n| {
            (n == "SIGNPOST_REQUIRE_2FA").then(|| "all".into())
        })
        .await;
        add_worker(&app, "duty@example.org", "signpost-duty-team", "worker").await;
        add_worker(&app, "sl@example.org", "safer-london", "worker").await;
        let res = app
            .client
            .post(format!("{}/v1/referrals", app.url))
            .json(&serde_json::json!({
                "needs": ["other"],
                "message": "a boy at school keeps saying hes gonna stab me after school",
                "age": 14,
                "contact": {"method": "app"}
            }))
            .send()
            .await
            .expect("referral sent");
        let referral: serde_json::Value = res.json().await.expect("json");
        assert_eq!(referral["urgency"], "urgent");
        let reference = referral["reference"]
            .as_str()
            .expect("reference")
            .to_string();
        let receipt = referral["receipt"].as_str().expect("receipt").to_string();

        let b = Browser::start(1280, 900).await;
        // Password, then the second factor's enrolment.
        sign_in(&b, &app, "duty@example.org").await;
        wait_for_path(&b, "/console/sign-in/enrol").await;
        find(&b, "#secret").await;
        check_page(&b, "enrol-desktop").await;
        let secret = text_of(&b, "#secret").await;
        type_into(&b, "#code", &totp_code(&app, secret.trim())).await;
        click(&b, "#enrol-submit").await;
        let codes = text_of(&b, "#recovery-codes").await;
        assert_eq!(codes.lines().filter(|l| !l.trim().is_empty()).count(), 10);
        check_page(&b, "recovery-codes-desktop").await;
        click(&b, "#continue").await;

        // The inbox: the urgent referral at the top with its clock.
        wait_for_path(&b, "/console/inbox").await;
        let main = wait_for_text(&b, "main", &reference).await;
        assert!(main.contains(&reference), "{main}");
        assert!(main.contains("escalates in 15 min"), "{main}");
        let title = b.client.title().await.expect("title");
        assert!(
            title.starts_with("(1)"),
            "tab title counts unclaimed urgent: {title}"
        );
        click(&b, "a[href*='/console/referrals/']").await;
        find(&b, "#referral-message").await;
        let url = b.client.current_url().await.expect("url");
        assert!(
            !url.as_str().contains("stab"),
            "no referral content in a URL: {url}"
        );
        assert!(text_of(&b, "#referral-message").await.contains("stab me"));
        // Why it is urgent, in the young person's own words, not the word lists' syntax.
        let why = text_of(&b, "#why-urgent").await;
        assert!(why.contains("stab me"), "{why}");
        assert!(!why.contains('|') && !why.contains(".."), "{why}");
        check_page(&b, "referral-desktop").await;

        // Claim it and reply.
        click(&b, "#claim").await;
        wait_for_text(&b, "#referral-claimed-by", "Dana").await;
        type_into(
            &b,
            "#reply-body",
            "Hi, I'm Dana. You did the right thing telling us. Are you safe right now?",
        )
        .await;
        click(&b, "#reply-send").await;
        wait_for_text(&b, "#thread", "Are you safe right now?").await;

        // The young person reads it and answers.
        app.clock.advance(chrono::Duration::minutes(2));
        let own: serde_json::Value = app
            .client
            .get(format!("{}/v1/referrals/self", app.url))
            .bearer_auth(&receipt)
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("json");
        assert_eq!(own["unread"], 1);
        assert_eq!(own["messages"][0]["worker_name"], "Dana");
        let res = app
            .client
            .post(format!("{}/v1/referrals/self/messages", app.url))
            .bearer_auth(&receipt)
            .json(&serde_json::json!({"body": "yeah im home now. thank u"}))
            .send()
            .await
            .expect("sent");
        assert_eq!(res.status(), 201);

        // The worker's inbox marks it: the young person has written since they looked.
        b.goto(&format!("{}/console/inbox", app.url)).await;
        wait_for_text(&b, "#inbox-rows", "New message").await;
        check_page(&b, "inbox-unread-desktop").await;
        // The worker sees the answer and when the reply was seen; the mark goes.
        click(&b, "a[href*='/console/referrals/']").await;
        find(&b, "#referral-message").await;
        wait_for_text(&b, "#thread", "yeah im home now").await;
        wait_for_text(&b, "#seen-at", "Seen by the young person at").await;
        b.goto(&format!("{}/console/inbox", app.url)).await;
        let rows = text_of(&b, "#inbox-rows").await;
        assert!(!rows.contains("New message"), "read now: {rows}");

        // Dana is done for now; the coordinator moves it to Safer London in the console.
        let id = url
            .path()
            .rsplit('/')
            .next()
            .expect("id in the path")
            .to_string();
        b.close().await;
        add_worker(
            &app,
            "coord@example.org",
            "signpost-duty-team",
            "coordinator",
        )
        .await;
        let b = Browser::start(1280, 900).await;
        sign_in(&b, &app, "coord@example.org").await;
        wait_for_path(&b, "/console/sign-in/enrol").await;
        let secret = text_of(&b, "#secret").await;
        // A new 30-second step, so the code is not one already used today.
        app.clock.advance(chrono::Duration::seconds(30));
        type_into(&b, "#code", &totp_code(&app, secret.trim())).await;
        click(&b, "#enrol-submit").await;
        click(&b, "#continue").await;
        wait_for_path(&b, "/console/inbox").await;
        b.goto(&format!("{}/console/referrals/{id}", app.url)).await;
        click(&b, "#transfer-link").await;
        wait_for_path(&b, &format!("/console/referrals/{id}/transfer")).await;
        check_page(&b, "transfer-desktop").await;
        let safer_london = app
            .state
            .directory
            .load()
            .organisations
            .iter()
            .find(|o| o.slug == "safer-london")
            .expect("safer london")
            .id;
        find(&b, "#transfer-to")
            .await
            .select_by_value(&safer_london.to_string())
            .await
            .expect("team chosen");
        type_into(&b, "#transfer-reason", "they run the exploitation service").await;
        click(&b, "#transfer-submit").await;
        wait_for_text(&b, "#transferred-message", "moved to Safer London").await;
        // Nobody at the duty team reaches it now: the same page as an unknown referral.
        b.goto(&format!("{}/console/referrals/{id}", app.url)).await;
        let gone = text_of(&b, "main").await;
        assert!(!gone.contains("stab me"), "{gone}");
        b.close().await;

        // Safer London's worker signs in and closes it with an outcome.
        let b = Browser::start(1280, 900).await;
        sign_in(&b, &app, "sl@example.org").await;
        wait_for_path(&b, "/console/sign-in/enrol").await;
        let secret = text_of(&b, "#secret").await;
        type_into(&b, "#code", &totp_code(&app, secret.trim())).await;
        click(&b, "#enrol-submit").await;
        click(&b, "#continue").await;
        wait_for_path(&b, "/console/inbox").await;
        check_page(&b, "inbox-desktop-story").await;
        b.goto(&format!("{}/console/referrals/{id}", app.url)).await;
        wait_for_text(&b, "#thread", "moved to Safer London").await;
        check_page(&b, "referral-transferred-desktop").await;
        click(&b, "#claim").await;
        find(&b, "#release").await;
        click(&b, "#status-closed").await;
        find(&b, "#status-outcome")
            .await
            .select_by_value("supported")
            .await
            .expect("outcome chosen");
        click(&b, "#status-save").await;
        find(&b, "#referral-outcome").await;
        check_page(&b, "referral-closed-desktop").await;
        b.close().await;
        let own: serde_json::Value = app
            .client
            .get(format!("{}/v1/referrals/self", app.url))
            .bearer_auth(&receipt)
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("json");
        assert_eq!(own["status"], "closed");
    })
    .await;
}

/// A youth worker on their work phone takes a referral and closes it with an outcome.
#[tokio::test]
async fn a_referral_can_be_taken_and_closed_at_phone_width() {
    if !browser::enabled() {
        return;
    }
    common::on_each_backend(|db| async move {
        let app = TestApp::spawn(&db, common::ContentDir::shipped_with(&[])).await;
        add_worker(&app, "duty@example.org", "signpost-duty-team", "worker").await;
        let res = app
            .client
            .post(format!("{}/v1/referrals", app.url))
            .json(&serde_json::json!({"needs": ["activities"], "message": "is there boxing near me", "age": 14}))
            .send()
            .await
            .expect("sent");
        assert_eq!(res.status(), 201);
        let b = Browser::start(360, 780).await;
        sign_in(&b, &app, "duty@example.org").await;
        wait_for_path(&b, "/console/inbox").await;
        click(&b, "a[href*='/console/referrals/']").await;
        click(&b, "#claim").await;
        find(&b, "#release").await;
        click(&b, "#status-closed").await;
        find(&b, "#status-outcome")
            .await
            .select_by_value("supported")
            .await
            .expect("outcome chosen");
        click(&b, "#status-save").await;
        wait_for_text(&b, "#referral-status", "Closed").await;
        check_page(&b, "referral-closed-phone").await;
        b.close().await;
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referrals WHERE status = 'closed' AND outcome = 'supported'")
                .await,
            1
        );
    })
    .await;
}

/// A coordinator's list of reports of wrong listings, at both widths.
#[tokio::test]
async fn the_reports_page_is_accessible_at_both_widths() {
    if !browser::enabled() {
        return;
    }
    with_app(&[], |app| async move {
        add_worker(&app, "admin@example.org", "signpost-duty-team", "admin").await;
        let services = app.get_json("/v1/services?per_page=1").await;
        let id = services["contents"][0]["id"].as_str().expect("id").to_string();
        let res = app
            .client
            .post(format!("{}/v1/services/{id}/reports", app.url))
            .json(&serde_json::json!({"reason": "wrong_times", "details": "it says saturdays but its only fridays now"}))
            .send()
            .await
            .expect("sent");
        assert_eq!(res.status(), 202);
        for (width, height, label) in WIDTHS {
            let b = Browser::start(width, height).await;
            sign_in(&b, &app, "admin@example.org").await;
            wait_for_path(&b, "/console/inbox").await;
            click(&b, "#nav-reports").await;
            wait_for_text(&b, "main", "only fridays now").await;
            check_page(&b, &format!("reports-{label}")).await;
            b.close().await;
        }
    })
    .await;
}

/// Types on the keyboard, into whatever has focus, as someone at a keyboard would (no
/// element is targeted: the keys go where focus is).
async fn press(b: &Browser, keys: &str) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let mut actions = KeyActions::new("keyboard".into());
    for c in keys.chars() {
        actions = actions
            .then(KeyAction::Down { value: c })
            .then(KeyAction::Up { value: c });
    }
    b.client
        .perform_actions(actions)
        .await
        .expect("keys pressed");
}

/// What has focus: its id, its address (for a link) and whether it is drawn with a
/// visible focus indicator (an outline, a box shadow or the yellow background). Past
/// the last control focus leaves the page (the body), then comes round to the top.
async fn focused(b: &Browser) -> (String, String, bool) {
    let v = b
        .client
        .execute(
            "const e = document.activeElement; const s = getComputedStyle(e);
             if (e === document.body) { return ['', '', true]; }
             return [e.id || e.outerHTML.slice(0, 80), e.getAttribute('href') || '',
               (s.outlineStyle !== 'none' && s.outlineWidth !== '0px')
               || s.boxShadow !== 'none' || s.backgroundColor === 'rgb(255, 221, 0)'];",
            vec![],
        )
        .await
        .expect("script ran");
    (
        v[0].as_str().unwrap_or_default().to_string(),
        v[1].as_str().unwrap_or_default().to_string(),
        v[2].as_bool().unwrap_or(false),
    )
}

/// Tabs forward until `wanted` says yes of what has focus; every stop must show focus.
async fn tab_to(b: &Browser, what: &str, wanted: impl Fn(&str, &str) -> bool) {
    use fantoccini::key::Key;
    for _ in 0..80 {
        press(b, &Key::Tab.to_string()).await;
        let (id, href, visible) = focused(b).await;
        assert!(
            visible,
            "on the way to {what}: focus on {id} {href} is not visible"
        );
        if wanted(&id, &href) {
            return;
        }
    }
    let shot = b.screenshot("failure").await;
    panic!("Tab never reached {what}; screenshot {}", shot.display())
}

/// Keyboard alone: skip link first, sign in, open a referral from the inbox, take it,
/// reply, and (as a coordinator) move between the team pages; focus always visible.
#[tokio::test]
async fn a_worker_can_do_every_task_with_the_keyboard_alone() {
    use fantoccini::key::Key;
    if !browser::enabled() {
        return;
    }
    with_app(&[], |app| async move {
        add_worker(&app, "lead@example.org", "signpost-duty-team", "coordinator").await;
        let res = app
            .client
            .post(format!("{}/v1/referrals", app.url))
            .json(&serde_json::json!({"needs": ["activities"], "message": "any boxing clubs near stratford", "age": 15}))
            .send()
            .await
            .expect("sent");
        assert_eq!(res.status(), 201);
        let b = Browser::start(1280, 900).await;
        b.goto(&format!("{}/console/sign-in", app.url)).await;
        // The first Tab reaches the skip link.
        tab_to(&b, "the skip link", |_, href| href == "#main").await;
        tab_to(&b, "the email field", |id, _| id == "email").await;
        press(&b, "lead@example.org").await;
        tab_to(&b, "the password field", |id, _| id == "password").await;
        press(&b, PASSWORD).await;
        press(&b, &Key::Enter.to_string()).await;
        wait_for_path(&b, "/console/inbox").await;

        tab_to(&b, "a referral", |_, href| href.starts_with("/console/referrals/")).await;
        press(&b, &Key::Enter.to_string()).await;
        find(&b, "#referral-message").await;
        tab_to(&b, "Take this referral", |id, _| id == "claim").await;
        press(&b, &Key::Enter.to_string()).await;
        find(&b, "#release").await;
        tab_to(&b, "the reply box", |id, _| id == "reply-body").await;
        press(&b, "hi, there is one at the leisure centre on tuesdays").await;
        tab_to(&b, "Send reply", |id, _| id == "reply-send").await;
        press(&b, &Key::Enter.to_string()).await;
        wait_for_text(&b, "#thread", "leisure centre on tuesdays").await;

        // The team pages and the account page by keyboard.
        tab_to(&b, "the Team link", |id, _| id == "nav-team").await;
        press(&b, &Key::Enter.to_string()).await;
        wait_for_path(&b, "/console/team").await;
        tab_to(&b, "the accounts tab", |id, _| id == "team-nav-accounts").await;
        press(&b, &Key::Enter.to_string()).await;
        wait_for_path(&b, "/console/team/accounts").await;
        tab_to(&b, "Your account", |id, _| id == "nav-account").await;
        press(&b, &Key::Enter.to_string()).await;
        wait_for_path(&b, "/console/account").await;
        b.close().await;
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referrals WHERE claimed_by IS NOT NULL")
                .await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referral_messages WHERE sender = 'youth_worker'")
                .await,
            1
        );
    })
    .await;
}

/// Every coordinator page, the account page, moving a referral, the set-password link
/// and the error pages: no serious or critical accessibility problem at either width, and
/// a screenshot of each. Creating an account and a webhook is done with the forms.
#[tokio::test]
async fn every_team_and_account_page_is_accessible_at_both_widths() {
    if !browser::enabled() {
        return;
    }
    with_app(&[], |app| async move {
        add_worker(&app, "lead@example.org", "signpost-duty-team", "coordinator").await;
        add_worker(&app, "sl@example.org", "safer-london", "worker").await;
        for body in [
            serde_json::json!({"needs": ["feeling-unsafe"], "message": "they said they will jump me after school", "age": 14}),
            serde_json::json!({"needs": ["activities"], "message": "wat is there to do on saturdays in croydon", "age": 16}),
        ] {
            let res = app
                .client
                .post(format!("{}/v1/referrals", app.url))
                .json(&body)
                .send()
                .await
                .expect("sent");
            assert_eq!(res.status(), 201);
        }
        // Two days later, so the team page has something waiting and overdue.
        app.clock.advance(chrono::Duration::hours(49));
        for (width, height, label) in WIDTHS {
            let b = Browser::start(width, height).await;
            sign_in(&b, &app, "lead@example.org").await;
            wait_for_path(&b, "/console/inbox").await;
            let page = |path: &str| format!("{}{path}", app.url);

            b.goto(&page("/console/team")).await;
            find(&b, "#caseloads").await;
            check_page(&b, &format!("team-{label}")).await;

            // A new account, and its one-time link.
            b.goto(&page("/console/team/accounts/new")).await;
            check_page(&b, &format!("account-new-{label}")).await;
            type_into(&b, "#name", &format!("Sam {label}")).await;
            type_into(&b, "#email", &format!("sam-{label}@example.org")).await;
            click(&b, "#create-account").await;
            let link = text_of(&b, "#set-password-link").await;
            assert!(link.contains("/console/set-password"), "{link}");
            check_page(&b, &format!("account-link-{label}")).await;
            b.goto(&page("/console/team/accounts")).await;
            find(&b, "#accounts-rows").await;
            check_page(&b, &format!("accounts-{label}")).await;
            click(&b, "#accounts-rows a").await;
            find(&b, "#account-details").await;
            check_page(&b, &format!("account-show-{label}")).await;

            // A webhook endpoint, its secret shown once, and the notifications.
            b.goto(&page("/console/team/webhooks")).await;
            check_page(&b, &format!("webhooks-{label}")).await;
            type_into(&b, "#url", "https://hooks.example.org/signpost").await;
            click(&b, "#purpose-notify").await;
            click(&b, "#webhook-add").await;
            let secret = text_of(&b, "#webhook-secret").await;
            assert!(secret.trim().len() >= 32, "{secret}");
            check_page(&b, &format!("webhook-added-{label}")).await;
            b.goto(&page("/console/team/notifications")).await;
            find(&b, "#notifications-heading").await;
            check_page(&b, &format!("notifications-{label}")).await;

            // Your account.
            b.goto(&page("/console/account")).await;
            find(&b, "#password-form").await;
            check_page(&b, &format!("account-{label}")).await;

            // Moving a referral: the form.
            b.goto(&page("/console/inbox")).await;
            click(&b, "a[href*='/console/referrals/']").await;
            click(&b, "#transfer-link").await;
            find(&b, "#transfer-form").await;
            check_page(&b, &format!("transfer-{label}")).await;

            // An error page.
            b.goto(&page("/console/referrals/00000000-0000-7000-8000-000000000000"))
                .await;
            check_page(&b, &format!("not-found-{label}")).await;
            b.close().await;

            // The link, opened by the new worker on their own device.
            let b = Browser::start(width, height).await;
            // Without SIGNPOST_PUBLIC_URL the link is relative to this server.
            let link = link.trim();
            if link.starts_with('/') {
                b.goto(&page(link)).await;
            } else {
                b.goto(link).await;
            }
            find(&b, "#set-password-form").await;
            check_page(&b, &format!("set-password-{label}")).await;
            type_into(&b, "#password", "a long new password for sam").await;
            type_into(&b, "#password-again", "a long new password for sam").await;
            click(&b, "#set-password").await;
            find(&b, "#password-set-message").await;
            check_page(&b, &format!("password-set-{label}")).await;
            b.close().await;
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM workers WHERE email LIKE 'sam-%'").await,
            2
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM webhook_endpoints").await, 2);
    })
    .await;
}
