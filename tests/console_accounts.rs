//! The console's account pages over HTTP, on SQLite and PostgreSQL: the team's accounts
//! (coordinators and admins of their own organisation), one-time set-password links,
//! deactivation (sessions end, claims go back to the team), roles, second-factor resets,
//! and "Your account" (password, recovery codes, sign out everywhere).
mod common;

use chrono::Duration;
use common::TestApp;
use common::console::*;
use serde_json::json;

const DUTY: &str = "signpost-duty-team";
const OTHER: &str = "safer-london";
const NEW_PASSWORD: &str = "a brand new long password";

/// The link on the answer page (`#set-password-link`), as a path on the test server.
fn link_path(page: &Page) -> String {
    assert!(page.body.contains("class=\"once\""), "{}", page.body);
    let link = page.by_id("set-password-link");
    assert!(link.starts_with("/console/set-password?token="), "{link}");
    link
}

fn token_of(link: &str) -> String {
    link.split_once("token=").unwrap().1.to_string()
}

async fn id_of(app: &TestApp, email: &str) -> uuid::Uuid {
    signpost::workers::accounts::find_by_email(app.db(), email)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn add_account(b: &mut Browser, name: &str, email: &str, role: &str) -> Page {
    let form = b.get("/console/team/accounts/new").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.csrf();
    b.post(
        "/console/team/accounts/new",
        &[
            ("csrf", &csrf),
            ("name", name),
            ("email", email),
            ("role", role),
        ],
    )
    .await
}

/// Sets a password through a link in a fresh browser; returns the answer.
async fn use_link(app: &TestApp, link: &str, password: &str, again: &str) -> Page {
    let mut b = Browser::new(app);
    let form = b.get(link).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.csrf();
    b.post(
        "/console/set-password",
        &[
            ("csrf", &csrf),
            ("token", &token_of(link)),
            ("password", password),
            ("password_again", again),
        ],
    )
    .await
}

#[tokio::test]
async fn a_new_account_sets_its_password_once_through_its_link() {
    with_console(&[], |app| async move {
        add_worker_as(&app, "cora@example.org", "Cora Lead", DUTY, "coordinator").await;
        let mut cora = Browser::signed_in(&app, "cora@example.org").await;
        let list = cora.get("/console/team/accounts").await;
        assert_eq!(list.status, 200);
        assert_html_page(&list, "accounts");
        assert!(list.body.contains("cora@example.org"));
        assert!(list.body.contains("aria-current=\"page\">Accounts"));

        let res = add_account(&mut cora, "Nia New", " Nia@Example.org ", "worker").await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_html_page(&res, "the link, once");
        let link = link_path(&res);
        let token = token_of(&link);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM workers WHERE email = 'nia@example.org' AND role = 'worker' AND active = true AND name = 'Nia New'").await,
            1
        );
        // Only a hash of the token is stored.
        assert_eq!(app.count("SELECT COUNT(*) FROM password_links").await, 1);
        assert_eq!(
            app.count(&format!("SELECT COUNT(*) FROM password_links WHERE token_hash = '{}'", signpost::crypto::token_hash(&token))).await,
            1
        );
        assert_eq!(
            app.count(&format!("SELECT COUNT(*) FROM password_links WHERE token_hash = '{token}'")).await,
            0
        );
        // No password works before the link is used, not even an empty one.
        let mut nia = Browser::new(&app);
        assert_eq!(nia.sign_in("nia@example.org", "").await.status, 401);
        assert_eq!(nia.sign_in("nia@example.org", PASSWORD).await.status, 401);
        let list = cora.get("/console/team/accounts").await;
        assert!(list.body.contains("Waiting for them to set a password"));

        // The form names the account; a problem keeps the link working.
        let form = nia.get(&link).await;
        assert_eq!(form.status, 200);
        assert_html_page(&form, "set-password form");
        assert_eq!(form.by_id("set-password-email"), "nia@example.org");
        let csrf = form.csrf();
        let res = nia
            .post("/console/set-password", &[("csrf", &csrf), ("token", &token), ("password", "short"), ("password_again", "short")])
            .await;
        assert_eq!(res.status, 422, "{}", res.body);
        assert!(res.body.contains("href=\"#password\""));
        assert!(res.body.contains("at least 12 characters"));
        let res = nia
            .post("/console/set-password", &[("csrf", &csrf), ("token", &token), ("password", NEW_PASSWORD), ("password_again", "a different long password")])
            .await;
        assert_eq!(res.status, 422);
        assert!(res.body.contains("href=\"#password-again\""));
        // Without the anti-forgery token: refused, nothing changes.
        let res = nia
            .post("/console/set-password", &[("token", &token), ("password", NEW_PASSWORD), ("password_again", NEW_PASSWORD)])
            .await;
        assert_eq!(res.status, 403);
        assert_eq!(app.count("SELECT COUNT(*) FROM password_links WHERE used_at IS NULL").await, 1);

        let res = nia
            .post("/console/set-password", &[("csrf", &csrf), ("token", &token), ("password", NEW_PASSWORD), ("password_again", NEW_PASSWORD)])
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(res.location(), "/console/set-password?done=1");
        let done = nia.get(res.location()).await;
        assert_eq!(done.status, 200);
        assert_html_page(&done, "password set");
        assert!(done.body.contains("id=\"password-set-message\""));
        assert!(done.body.contains("href=\"/console/sign-in\""));
        assert_eq!(app.count("SELECT COUNT(*) FROM password_links WHERE used_at IS NOT NULL").await, 1);

        // Used once: the same post again, and the link itself, are one clear page.
        let again = nia
            .post("/console/set-password", &[("csrf", &csrf), ("token", &token), ("password", "yet another long password"), ("password_again", "yet another long password")])
            .await;
        assert_eq!(again.status, 410);
        assert_html_page(&again, "used link");
        assert!(again.body.contains("Ask your coordinator for a new link"));
        let open = nia.get(&link).await;
        assert_eq!(open.status, 410);
        assert_eq!(open.body, again.body);
        let unknown = nia.get("/console/set-password?token=nonsense").await;
        assert_eq!(unknown.status, 410);
        assert_eq!(unknown.body, again.body);

        // The password set by the link signs in; the second try's did not stick.
        let mut b = Browser::new(&app);
        assert_eq!(b.sign_in("nia@example.org", "yet another long password").await.status, 401);
        let res = b.sign_in("nia@example.org", NEW_PASSWORD).await;
        assert_eq!(res.status, 303);
        assert_eq!(res.location(), "/console/inbox");
        assert_eq!(b.get("/console/inbox").await.status, 200);

        // A new link (forgotten password) ends every session of the account once used.
        let nia_id = id_of(&app, "nia@example.org").await;
        let page = cora.get(&format!("/console/team/accounts/{nia_id}")).await;
        assert_eq!(page.status, 200);
        assert_html_page(&page, "an account");
        let csrf = page.csrf();
        let res = cora
            .post(&format!("/console/team/accounts/{nia_id}/link"), &[("csrf", &csrf)])
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        let second = link_path(&res);
        let res = use_link(&app, &second, "her second long password", "her second long password").await;
        assert_eq!(res.status, 303);
        let inbox = b.get("/console/inbox").await;
        assert_eq!(inbox.status, 303, "her session ended");
        assert!(inbox.location().starts_with("/console/sign-in"));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM worker_sessions s JOIN workers w ON w.id = s.worker_id WHERE w.email = 'nia@example.org' AND s.revoked_at IS NULL").await,
            0
        );
    })
    .await;
}

#[tokio::test]
async fn a_link_lasts_24_hours_and_a_newer_one_replaces_it() {
    with_console(&[], |app| async move {
        add_worker_as(&app, "cora@example.org", "Cora Lead", DUTY, "coordinator").await;
        let mut cora = Browser::signed_in(&app, "cora@example.org").await;
        let res = add_account(&mut cora, "Nia New", "nia@example.org", "worker").await;
        let first = link_path(&res);
        let nia = id_of(&app, "nia@example.org").await;
        let csrf = cora
            .get(&format!("/console/team/accounts/{nia}"))
            .await
            .csrf();
        let res = cora
            .post(
                &format!("/console/team/accounts/{nia}/link"),
                &[("csrf", &csrf)],
            )
            .await;
        let second = link_path(&res);
        assert_ne!(first, second);
        let mut anon = Browser::new(&app);
        assert_eq!(
            anon.get(&first).await.status,
            410,
            "the older link stopped working"
        );
        assert_eq!(anon.get(&second).await.status, 200);
        app.clock
            .advance(Duration::hours(23) + Duration::minutes(59));
        assert_eq!(anon.get(&second).await.status, 200);
        // The form opened in time, sent too late: refused, nothing set.
        let form = anon.get(&second).await;
        app.clock.advance(Duration::minutes(2));
        assert_eq!(anon.get(&second).await.status, 410);
        let res = anon
            .post(
                "/console/set-password",
                &[
                    ("csrf", &form.csrf()),
                    ("token", &token_of(&second)),
                    ("password", NEW_PASSWORD),
                    ("password_again", NEW_PASSWORD),
                ],
            )
            .await;
        assert_eq!(res.status, 410);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM password_links WHERE used_at IS NOT NULL")
                .await,
            0
        );
        assert_eq!(
            anon.sign_in("nia@example.org", NEW_PASSWORD).await.status,
            401
        );
    })
    .await;
}

#[tokio::test]
async fn with_a_public_url_the_link_is_built_from_it() {
    with_console(
        &[("SIGNPOST_PUBLIC_URL", "https://console.example.org/")],
        |app| async move {
            add_worker_as(&app, "cora@example.org", "Cora Lead", DUTY, "coordinator").await;
            let mut cora = Browser::new(&app);
            cora.origin = "https://console.example.org".into();
            let res = cora.sign_in("cora@example.org", PASSWORD).await;
            assert_eq!(res.status, 303, "{}", res.body);
            let res = add_account(&mut cora, "Nia New", "nia@example.org", "worker").await;
            assert_eq!(res.status, 200, "{}", res.body);
            let link = res.by_id("set-password-link");
            assert!(
                link.starts_with("https://console.example.org/console/set-password?token="),
                "{link}"
            );
        },
    )
    .await;
}

#[tokio::test]
async fn adding_an_account_refuses_bad_input_and_changes_nothing() {
    with_console(&[], |app| async move {
        add_worker_as(&app, "cora@example.org", "Cora Lead", DUTY, "coordinator").await;
        add_worker_as(&app, "ada@example.org", "Ada Admin", DUTY, "admin").await;
        let mut cora = Browser::signed_in(&app, "cora@example.org").await;
        let before = app.count("SELECT COUNT(*) FROM workers").await;
        for (name, email, role, field) in [
            ("Nia", "cora@example.org", "worker", "email"),
            ("Nia", "CORA@example.org", "worker", "email"),
            ("Nia", "not an email", "worker", "email"),
            ("Nia", "", "worker", "email"),
            ("   ", "nia@example.org", "worker", "name"),
            ("Nia", "nia@example.org", "admin", "role"),
            ("Nia", "nia@example.org", "boss", "role"),
        ] {
            let res = add_account(&mut cora, name, email, role).await;
            assert_eq!(res.status, 422, "{email} {role}: {}", res.body);
            assert_html_page(&res, "a refused account");
            assert!(res.body.contains(&format!("href=\"#{field}\"")), "{field}: {}", res.body);
            assert!(res.body.contains("error-summary"));
            assert!(!res.body.contains("set-password-link"));
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM workers").await, before);
        assert_eq!(app.count("SELECT COUNT(*) FROM password_links").await, 0);
        // A coordinator may make a coordinator; an admin may make an admin.
        let res = add_account(&mut cora, "Col Lead", "col@example.org", "coordinator").await;
        assert_eq!(res.status, 200);
        let mut ada = Browser::signed_in(&app, "ada@example.org").await;
        let form = ada.get("/console/team/accounts/new").await;
        assert!(form.body.contains("value=\"admin\""));
        let res = add_account(&mut ada, "Adi Admin", "adi@example.org", "admin").await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM workers WHERE (email = 'col@example.org' AND role = 'coordinator') OR (email = 'adi@example.org' AND role = 'admin')").await,
            2
        );
        // Without the anti-forgery token nothing is made.
        let res = cora
            .post("/console/team/accounts/new", &[("name", "Zed"), ("email", "zed@example.org"), ("role", "worker")])
            .await;
        assert_eq!(res.status, 403);
        assert_eq!(app.count("SELECT COUNT(*) FROM workers WHERE email = 'zed@example.org'").await, 0);
    })
    .await;
}

#[tokio::test]
async fn a_youth_worker_gets_403_on_every_team_account_address() {
    with_console(&[], |app| async move {
        add_worker(&app, "wes@example.org", "Wes Worker", DUTY).await;
        add_worker(&app, "val@example.org", "Val Worker", DUTY).await;
        let val = id_of(&app, "val@example.org").await;
        let mut wes = Browser::signed_in(&app, "wes@example.org").await;
        let csrf = wes.get("/console/inbox").await.csrf();
        for path in [
            "/console/team/accounts".to_string(),
            "/console/team/accounts/new".to_string(),
            format!("/console/team/accounts/{val}"),
        ] {
            let res = wes.get(&path).await;
            assert_eq!(res.status, 403, "{path}");
            assert_html_page(&res, &path);
            assert!(res.body.contains("Only coordinators manage the team"));
        }
        for (path, extra) in [
            (
                "/console/team/accounts/new".to_string(),
                vec![
                    ("name", "Zed"),
                    ("email", "zed@example.org"),
                    ("role", "admin"),
                ],
            ),
            (
                format!("/console/team/accounts/{val}/role"),
                vec![("role", "admin")],
            ),
            (format!("/console/team/accounts/{val}/link"), vec![]),
            (
                format!("/console/team/accounts/{val}/second-factor"),
                vec![],
            ),
            (format!("/console/team/accounts/{val}/deactivate"), vec![]),
        ] {
            let mut form = vec![("csrf", csrf.as_str())];
            form.extend(extra);
            let res = wes.post(&path, &form).await;
            assert_eq!(res.status, 403, "{path}");
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM workers WHERE role = 'worker' AND active = true")
                .await,
            2
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM workers").await, 2);
        assert_eq!(app.count("SELECT COUNT(*) FROM password_links").await, 0);
        let inbox = wes.get("/console/inbox").await;
        assert!(!inbox.body.contains("/console/team/accounts"));
    })
    .await;
}

#[tokio::test]
async fn another_organisations_account_is_the_same_404_as_an_unknown_id() {
    with_console(&[], |app| async move {
        add_worker_as(&app, "cora@example.org", "Cora Lead", DUTY, "coordinator").await;
        add_worker(&app, "sol@example.org", "Sol London", OTHER).await;
        let sol = id_of(&app, "sol@example.org").await;
        let mut cora = Browser::signed_in(&app, "cora@example.org").await;
        let theirs = cora.get(&format!("/console/team/accounts/{sol}")).await;
        let unknown = cora
            .get(&format!("/console/team/accounts/{}", uuid::Uuid::now_v7()))
            .await;
        let garbage = cora.get("/console/team/accounts/nonsense").await;
        assert_eq!(theirs.status, 404);
        assert_eq!(theirs.body, unknown.body);
        assert_eq!(theirs.body, garbage.body);
        assert!(!theirs.body.contains("Sol London"));
        let list = cora.get("/console/team/accounts").await;
        assert!(!list.body.contains("sol@example.org"));
        let csrf = cora.get("/console/inbox").await.csrf();
        for action in ["role", "link", "second-factor", "deactivate"] {
            let res = cora
                .post(&format!("/console/team/accounts/{sol}/{action}"), &[("csrf", &csrf), ("role", "coordinator")])
                .await;
            assert_eq!(res.status, 404, "{action}");
            assert_eq!(res.body, unknown.body, "{action}");
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM workers WHERE email = 'sol@example.org' AND active = true AND role = 'worker'").await,
            1
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM password_links").await, 0);
    })
    .await;
}

#[tokio::test]
async fn deactivating_ends_sessions_stops_sign_in_and_gives_claims_back() {
    with_console(&[], |app| async move {
        add_worker_as(&app, "cora@example.org", "Cora Lead", DUTY, "coordinator").await;
        add_worker(&app, "wes@example.org", "Wes Worker", DUTY).await;
        refer(&app, json!({"needs": ["activities"], "message": "Is there boxing?"})).await;
        let mut wes = Browser::signed_in(&app, "wes@example.org").await;
        let inbox = wes.get("/console/inbox").await;
        let at = inbox.body.find("href=\"/console/referrals/").unwrap() + "href=\"/console/referrals/".len();
        let referral = inbox.body[at..at + 36].to_string();
        let res = wes
            .post(&format!("/console/referrals/{referral}/claim"), &[("csrf", &inbox.csrf())])
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(app.count("SELECT COUNT(*) FROM referrals WHERE claimed_by IS NOT NULL").await, 1);
        // A JSON token too.
        let wes_id = id_of(&app, "wes@example.org").await;
        signpost::workers::accounts::start_session(app.db(), wes_id, 12, app.clock.now())
            .await
            .unwrap();

        let mut cora = Browser::signed_in(&app, "cora@example.org").await;
        let page = cora.get(&format!("/console/team/accounts/{wes_id}")).await;
        assert!(page.body.contains("id=\"deactivate\""));
        let csrf = page.csrf();
        // Without the token: nothing changes.
        let res = cora
            .post(&format!("/console/team/accounts/{wes_id}/deactivate"), &[])
            .await;
        assert_eq!(res.status, 403);
        assert_eq!(app.count("SELECT COUNT(*) FROM workers WHERE email = 'wes@example.org' AND active = true").await, 1);

        let res = cora
            .post(&format!("/console/team/accounts/{wes_id}/deactivate"), &[("csrf", &csrf)])
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(res.location(), format!("/console/team/accounts/{wes_id}?done=deactivated"));
        let after = cora.get(res.location()).await;
        assert!(after.by_id("account-state").contains("Deactivated"));
        assert!(after.body.contains("account-notice"));
        assert_eq!(app.count("SELECT COUNT(*) FROM workers WHERE email = 'wes@example.org' AND active = false").await, 1);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM worker_sessions s JOIN workers w ON w.id = s.worker_id WHERE w.email = 'wes@example.org' AND s.revoked_at IS NULL").await,
            0,
            "console and JSON sessions all ended"
        );
        let res = wes.get("/console/inbox").await;
        assert_eq!(res.status, 303);
        assert!(res.location().starts_with("/console/sign-in"));
        let mut again = Browser::new(&app);
        assert_eq!(again.sign_in("wes@example.org", PASSWORD).await.status, 401);
        // The claim went back to the team, on the referral's timeline.
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referrals WHERE claimed_by IS NULL AND status = 'assigned'").await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referral_events WHERE kind = 'released' AND detail = 'account deactivated' AND worker_id IS NOT NULL").await,
            1
        );
        let shown = cora.get(&format!("/console/referrals/{referral}")).await;
        assert!(shown.body.contains("Given back to the team: the account that held it was closed"));
        // A deactivated account gets no new link.
        let res = cora
            .post(&format!("/console/team/accounts/{wes_id}/link"), &[("csrf", &csrf)])
            .await;
        assert_eq!(res.status, 403);
        assert_eq!(app.count("SELECT COUNT(*) FROM password_links").await, 0);
    })
    .await;
}

#[tokio::test]
async fn roles_change_within_limits_and_nobody_demotes_or_deactivates_themself() {
    with_console(&[], |app| async move {
        add_worker_as(&app, "cora@example.org", "Cora Lead", DUTY, "coordinator").await;
        add_worker_as(&app, "ada@example.org", "Ada Admin", DUTY, "admin").await;
        add_worker(&app, "wes@example.org", "Wes Worker", DUTY).await;
        let (cora_id, ada_id, wes_id) = (
            id_of(&app, "cora@example.org").await,
            id_of(&app, "ada@example.org").await,
            id_of(&app, "wes@example.org").await,
        );
        let mut cora = Browser::signed_in(&app, "cora@example.org").await;
        let csrf = cora.get("/console/inbox").await.csrf();
        let role = |id: uuid::Uuid| format!("/console/team/accounts/{id}/role");

        let res = cora.post(&role(wes_id), &[("csrf", &csrf), ("role", "coordinator")]).await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(app.count("SELECT COUNT(*) FROM workers WHERE email = 'wes@example.org' AND role = 'coordinator'").await, 1);
        let res = cora.post(&role(wes_id), &[("csrf", &csrf), ("role", "admin")]).await;
        assert_eq!(res.status, 422);
        assert!(res.body.contains("role"));
        let res = cora.post(&role(wes_id), &[("csrf", &csrf), ("role", "boss")]).await;
        assert_eq!(res.status, 422);
        assert_eq!(app.count("SELECT COUNT(*) FROM workers WHERE email = 'wes@example.org' AND role = 'coordinator'").await, 1);

        // Their own account: no demotion, no deactivation, and the page says why.
        let own = cora.get(&format!("/console/team/accounts/{cora_id}")).await;
        assert!(own.body.contains("You cannot deactivate it or lower its role"));
        assert!(!own.body.contains("id=\"deactivate\""));
        let res = cora.post(&role(cora_id), &[("csrf", &csrf), ("role", "worker")]).await;
        assert_eq!(res.status, 403);
        assert!(res.body.contains("You cannot lower your own role"));
        let res = cora
            .post(&format!("/console/team/accounts/{cora_id}/deactivate"), &[("csrf", &csrf)])
            .await;
        assert_eq!(res.status, 403);
        assert!(res.body.contains("You cannot deactivate your own account"));
        assert_eq!(app.count("SELECT COUNT(*) FROM workers WHERE email = 'cora@example.org' AND role = 'coordinator' AND active = true").await, 1);

        // A coordinator cannot touch an admin's account (a new link would hand it over).
        let page = cora.get(&format!("/console/team/accounts/{ada_id}")).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Only an admin can change an admin"));
        assert!(!page.body.contains("id=\"new-link\""));
        for action in ["link", "deactivate", "second-factor"] {
            let res = cora
                .post(&format!("/console/team/accounts/{ada_id}/{action}"), &[("csrf", &csrf)])
                .await;
            assert_eq!(res.status, 403, "{action}");
        }
        let res = cora.post(&role(ada_id), &[("csrf", &csrf), ("role", "worker")]).await;
        assert_eq!(res.status, 403);
        assert_eq!(app.count("SELECT COUNT(*) FROM workers WHERE email = 'ada@example.org' AND role = 'admin' AND active = true").await, 1);
        assert_eq!(app.count("SELECT COUNT(*) FROM password_links").await, 0);

        // An admin may make an admin.
        let mut ada = Browser::signed_in(&app, "ada@example.org").await;
        let csrf = ada.get(&format!("/console/team/accounts/{wes_id}")).await.csrf();
        let res = ada.post(&role(wes_id), &[("csrf", &csrf), ("role", "admin")]).await;
        assert_eq!(res.status, 303);
        assert_eq!(app.count("SELECT COUNT(*) FROM workers WHERE email = 'wes@example.org' AND role = 'admin'").await, 1);
        // GET on a form's address leads back to the account.
        let res = ada.get(&role(wes_id)).await;
        assert_eq!(res.status, 303);
        assert_eq!(res.location(), format!("/console/team/accounts/{wes_id}"));
    })
    .await;
}

/// The code an authenticator app shows for `secret` now, on the app's clock.
fn totp_code(app: &TestApp, secret: &str) -> String {
    use totp_rs::{Algorithm, Builder, Secret};
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(Secret::try_from_base32(secret).unwrap())
        .build()
        .unwrap();
    totp.generate(u64::try_from(app.clock.now().timestamp()).unwrap())
        .to_string()
}

/// Signs in for the first time, setting up the app; returns the browser and the codes.
async fn enrolled(app: &TestApp, email: &str) -> (Browser, Vec<String>) {
    let mut b = Browser::new(app);
    let res = b.sign_in(email, PASSWORD).await;
    assert_eq!(res.location(), "/console/sign-in/enrol");
    let enrol = b.get("/console/sign-in/enrol").await;
    let secret = enrol.by_id("secret");
    let res = b
        .post(
            "/console/sign-in/enrol",
            &[("csrf", &enrol.csrf()), ("code", &totp_code(app, &secret))],
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    (b, codes_of(&res))
}

fn codes_of(page: &Page) -> Vec<String> {
    let at = page.body.find("id=\"recovery-codes\"").expect("codes");
    let list = &page.body[at..page.body[at..].find("</ul>").unwrap() + at];
    list.split("<code>")
        .skip(1)
        .map(|c| c[..c.find("</code>").unwrap()].to_string())
        .collect()
}

#[tokio::test]
async fn second_factor_reset_and_new_recovery_codes() {
    with_console(&[("SIGNPOST_REQUIRE_2FA", "all")], |app| async move {
        add_worker_as(&app, "cora@example.org", "Cora Lead", DUTY, "coordinator").await;
        add_worker(&app, "wes@example.org", "Wes Worker", DUTY).await;
        let (mut wes, old_codes) = enrolled(&app, "wes@example.org").await;
        assert_eq!(old_codes.len(), 10);

        let mine = wes.get("/console/account").await;
        assert_eq!(mine.status, 200);
        assert_html_page(&mine, "your account");
        assert!(mine.by_id("codes-left").contains("10 unused"));
        let res = wes.post("/console/account/recovery-codes", &[]).await;
        assert_eq!(res.status, 403, "no token: refused");
        let res = wes
            .post("/console/account/recovery-codes", &[("csrf", &mine.csrf())])
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_html_page(&res, "new codes");
        assert!(res.body.contains("class=\"once\""));
        let new_codes = codes_of(&res);
        assert_eq!(new_codes.len(), 10);
        assert!(new_codes.iter().all(|c| !old_codes.contains(c)));
        assert_eq!(app.count("SELECT COUNT(*) FROM recovery_codes r JOIN workers w ON w.id = r.worker_id WHERE w.email = 'wes@example.org' AND r.used_at IS NULL").await, 10);
        // An old code no longer passes the second step; a new one does.
        let mut b = Browser::new(&app);
        b.sign_in("wes@example.org", PASSWORD).await;
        let form = b.get("/console/sign-in/code").await;
        let res = b.post("/console/sign-in/code", &[("csrf", &form.csrf()), ("code", &old_codes[0])]).await;
        assert_eq!(res.status, 401);
        let res = b.post("/console/sign-in/code", &[("csrf", &form.csrf()), ("code", &new_codes[0])]).await;
        assert_eq!(res.status, 303, "{}", res.body);

        // The coordinator resets it: set up again at the next sign-in.
        let (mut cora, _) = enrolled(&app, "cora@example.org").await;
        let wes_id = id_of(&app, "wes@example.org").await;
        let page = cora.get(&format!("/console/team/accounts/{wes_id}")).await;
        assert_eq!(page.by_id("account-second-factor"), "Set up");
        let res = cora
            .post(&format!("/console/team/accounts/{wes_id}/second-factor"), &[("csrf", &page.csrf())])
            .await;
        assert_eq!(res.status, 303);
        assert_eq!(app.count("SELECT COUNT(*) FROM workers WHERE email = 'wes@example.org' AND totp_secret_sealed IS NULL AND totp_enrolled_at IS NULL").await, 1);
        assert_eq!(app.count("SELECT COUNT(*) FROM recovery_codes r JOIN workers w ON w.id = r.worker_id WHERE w.email = 'wes@example.org'").await, 0);
        let mut b = Browser::new(&app);
        assert_eq!(b.sign_in("wes@example.org", PASSWORD).await.location(), "/console/sign-in/enrol");
        let list = cora.get("/console/team/accounts").await;
        assert!(list.body.contains("Not set up"));
        // Without a second factor there are no codes to make.
        let mine = wes.get("/console/account").await;
        assert!(!mine.body.contains("id=\"new-codes\""));
        let res = wes.post("/console/account/recovery-codes", &[("csrf", &mine.csrf())]).await;
        assert_eq!(res.status, 409);
        assert_eq!(app.count("SELECT COUNT(*) FROM recovery_codes").await, 10, "only the coordinator's");
    })
    .await;
}

#[tokio::test]
async fn your_account_changes_the_password_and_signs_out_everywhere() {
    with_console(&[], |app| async move {
        add_worker(&app, "wes@example.org", "Wes Worker", DUTY).await;
        let mut here = Browser::signed_in(&app, "wes@example.org").await;
        let mut there = Browser::signed_in(&app, "wes@example.org").await;
        let page = here.get("/console/account").await;
        assert_eq!(page.status, 200);
        assert_html_page(&page, "your account");
        assert_eq!(page.by_id("my-name"), "Wes Worker");
        assert_eq!(page.by_id("my-email"), "wes@example.org");
        assert_eq!(page.by_id("my-role"), "Youth worker");
        assert!(!page.by_id("my-organisation").is_empty());
        assert!(!page.body.contains("id=\"new-codes\""));
        let csrf = page.csrf();
        let change = |current: &'static str, new: &'static str, again: &'static str| {
            vec![("current_password", current), ("new_password", new), ("new_password_again", again)]
        };
        async fn post(b: &mut Browser, form: &[(&str, &str)], csrf: &str) -> Page {
            let mut all = vec![("csrf", csrf)];
            all.extend_from_slice(form);
            b.post("/console/account/password", &all).await
        }
        // A wrong current password: 422, nothing changes.
        let res = post(&mut here, &change("not my password", NEW_PASSWORD, NEW_PASSWORD), &csrf).await;
        assert_eq!(res.status, 422, "{}", res.body);
        assert_html_page(&res, "wrong current password");
        assert!(res.body.contains("href=\"#current-password\""));
        let res = post(&mut here, &change(PASSWORD, "short", "short"), &csrf).await;
        assert_eq!(res.status, 422);
        assert!(res.body.contains("href=\"#new-password\""));
        let res = post(&mut here, &change(PASSWORD, NEW_PASSWORD, "something else entirely"), &csrf).await;
        assert_eq!(res.status, 422);
        assert!(res.body.contains("href=\"#new-password-again\""));
        let res = here
            .post("/console/account/password", &change(PASSWORD, NEW_PASSWORD, NEW_PASSWORD))
            .await;
        assert_eq!(res.status, 403, "no token");
        assert_eq!(there.get("/console/inbox").await.status, 200, "nothing changed");
        let mut check = Browser::new(&app);
        assert_eq!(check.sign_in("wes@example.org", PASSWORD).await.status, 303);

        let res = post(&mut here, &change(PASSWORD, NEW_PASSWORD, NEW_PASSWORD), &csrf).await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(res.location(), "/console/account?done=password");
        let after = here.get(res.location()).await;
        assert_eq!(after.status, 200, "still signed in here");
        assert!(after.body.contains("account-notice"));
        assert_eq!(there.get("/console/inbox").await.status, 303, "signed out elsewhere");
        assert_eq!(check.get("/console/inbox").await.status, 303);
        let mut b = Browser::new(&app);
        assert_eq!(b.sign_in("wes@example.org", PASSWORD).await.status, 401);
        assert_eq!(b.sign_in("wes@example.org", NEW_PASSWORD).await.status, 303);

        // Sign out everywhere: every session, JSON tokens too.
        let wes_id = id_of(&app, "wes@example.org").await;
        let (token, _) = signpost::workers::accounts::start_session(app.db(), wes_id, 12, app.clock.now())
            .await
            .unwrap();
        let api = |token: String| {
            let url = format!("{}/v1/inbox", app.url);
            let client = app.client.clone();
            async move { client.get(url).bearer_auth(token).send().await.unwrap().status().as_u16() }
        };
        assert_eq!(api(token.clone()).await, 200);
        let csrf = here.get("/console/account").await.csrf();
        let res = here.post("/console/account/sign-out-everywhere", &[]).await;
        assert_eq!(res.status, 403, "no token");
        assert_eq!(b.get("/console/inbox").await.status, 200);
        let res = here.post("/console/account/sign-out-everywhere", &[("csrf", &csrf)]).await;
        assert_eq!(res.status, 303);
        assert_eq!(res.location(), "/console/sign-in?signed_out=everywhere");
        let sign_in = here.get(res.location()).await;
        assert_eq!(sign_in.status, 200);
        assert!(sign_in.body.contains("signed-out-message"));
        assert!(sign_in.body.contains("You have been signed out everywhere"), "{}", sign_in.body);
        assert_eq!(here.get("/console/inbox").await.status, 303);
        assert_eq!(b.get("/console/inbox").await.status, 303);
        assert_eq!(api(token).await, 401);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM worker_sessions s JOIN workers w ON w.id = s.worker_id WHERE w.email = 'wes@example.org' AND s.revoked_at IS NULL").await,
            0
        );
    })
    .await;
}

#[tokio::test]
async fn wrong_current_passwords_count_toward_the_sign_in_throttle() {
    with_console(&[("SIGNPOST_LOGIN_FAILURES", "3")], |app| async move {
        add_worker(&app, "wes@example.org", "Wes Worker", DUTY).await;
        let mut b = Browser::signed_in(&app, "wes@example.org").await;
        let csrf = b.get("/console/account").await.csrf();
        for _ in 0..3 {
            let res = b
                .post(
                    "/console/account/password",
                    &[
                        ("csrf", &csrf),
                        ("current_password", "wrong password!"),
                        ("new_password", NEW_PASSWORD),
                        ("new_password_again", NEW_PASSWORD),
                    ],
                )
                .await;
            assert_eq!(res.status, 422);
        }
        let res = b
            .post(
                "/console/account/password",
                &[
                    ("csrf", &csrf),
                    ("current_password", PASSWORD),
                    ("new_password", NEW_PASSWORD),
                    ("new_password_again", NEW_PASSWORD),
                ],
            )
            .await;
        assert_eq!(res.status, 429);
        let mut other = Browser::new(&app);
        assert_eq!(other.sign_in("wes@example.org", PASSWORD).await.status, 429);
    })
    .await;
}

#[tokio::test]
async fn two_uses_of_one_link_at_once_one_wins() {
    with_console(&[], |app| async move {
        add_worker_as(&app, "cora@example.org", "Cora Lead", DUTY, "coordinator").await;
        let mut cora = Browser::signed_in(&app, "cora@example.org").await;
        let link = link_path(&add_account(&mut cora, "Nia New", "nia@example.org", "worker").await);
        let token = token_of(&link);
        let mut one = Browser::new(&app);
        let mut two = Browser::new(&app);
        let (c1, c2) = (one.get(&link).await.csrf(), two.get(&link).await.csrf());
        let first = "the first long password";
        let second = "the second long password";
        let f1 = [
            ("csrf", c1.as_str()),
            ("token", token.as_str()),
            ("password", first),
            ("password_again", first),
        ];
        let f2 = [
            ("csrf", c2.as_str()),
            ("token", token.as_str()),
            ("password", second),
            ("password_again", second),
        ];
        let (a, b) = tokio::join!(
            one.post("/console/set-password", &f1),
            two.post("/console/set-password", &f2),
        );
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [303, 410]);
        let winner = if a.status == 303 { first } else { second };
        let loser = if a.status == 303 { second } else { first };
        let mut b = Browser::new(&app);
        assert_eq!(b.sign_in("nia@example.org", loser).await.status, 401);
        assert_eq!(b.sign_in("nia@example.org", winner).await.status, 303);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM password_links WHERE used_at IS NOT NULL")
                .await,
            1
        );
    })
    .await;
}
