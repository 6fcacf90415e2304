//! The second factor for youth-worker sign-in: the JSON login's second step, enrolment
//! through the domain functions the console uses, replay, recovery codes, throttling per
//! account and per client, `SIGNPOST_REQUIRE_2FA`, reset, and nothing secret at rest.
mod common;

use chrono::Utc;
use common::{ContentDir, TestApp, on_each_backend};
use serde_json::{Value, json};
use signpost::error::ApiError;
use signpost::workers::second_factor;
use std::net::{IpAddr, Ipv4Addr};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple";
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn spawn(db: &common::TestDb, settings: &[(&str, &str)]) -> TestApp {
    let settings: Vec<(String, String)> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    TestApp::spawn_with(db, ContentDir::shipped_with(&[]), move |name| {
        settings
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
    .await
}

async fn add_worker(app: &TestApp, email: &str, role: &str) -> Uuid {
    signpost::workers::accounts::add(
        app.db(),
        email,
        "Sam Jones",
        "signpost-duty-team",
        role,
        PASSWORD,
        Utc::now(),
    )
    .await
    .unwrap()
    .id
}

async fn login(app: &TestApp, email: &str, code: Option<&str>) -> reqwest::Response {
    let mut body = json!({"email": email, "password": PASSWORD});
    if let Some(c) = code {
        body["code"] = json!(c);
    }
    app.client
        .post(format!("{}/v1/auth/login", app.url))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Signs in with a code that must work; returns the token.
async fn login_ok(app: &TestApp, email: &str, code: Option<&str>) -> String {
    let res = login(app, email, code).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_string()
}

/// Expects a problem with `status` and `kind` (the end of `type`); returns it.
async fn problem(res: reqwest::Response, status: u16, kind: &str) -> Value {
    assert_eq!(res.status().as_u16(), status);
    assert_eq!(
        res.headers()["content-type"],
        "application/problem+json",
        "{kind}"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], format!("/problems/{kind}"), "{body}");
    assert!(body.get("token").is_none(), "{body}");
    body
}

/// The code an authenticator app shows for `secret` at the app's (manual) clock time.
fn code_now(app: &TestApp, secret: &str) -> String {
    code_at(secret, app.clock.now().timestamp())
}

fn code_at(secret: &str, unix: i64) -> String {
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
        .build()
        .unwrap();
    totp.generate(u64::try_from(unix).unwrap()).to_string()
}

/// Sets up a second factor as the console would; returns the secret and recovery codes.
async fn enrol(app: &TestApp, worker_id: Uuid) -> (String, Vec<String>) {
    let challenge = second_factor::start_challenge(&app.state, worker_id)
        .await
        .unwrap();
    let e = second_factor::begin_enrolment(&app.state, &challenge)
        .await
        .unwrap();
    let codes = second_factor::confirm_enrolment(
        &app.state,
        &challenge,
        &code_now(app, &e.secret_base32),
        CLIENT,
    )
    .await
    .unwrap();
    second_factor::finish_challenge(&app.state, &challenge)
        .await
        .unwrap();
    (e.secret_base32, codes)
}

async fn sessions(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM worker_sessions").await
}

#[tokio::test]
async fn json_login_asks_for_a_code_and_takes_each_code_once() {
    on_each_backend(|db| async move {
        let app = spawn(&db, &[("SIGNPOST_REQUIRE_2FA", "all")]).await;
        let id = add_worker(&app, "sam@example.org", "worker").await;

        // Not set up yet: told to set it up in the console; no token, no session.
        let body = problem(
            login(&app, "sam@example.org", None).await,
            403,
            "second-factor-setup-required",
        )
        .await;
        assert_eq!(body["second_factor"], "setup");
        assert_eq!(body["setup_at"], "/console");
        assert!(body["detail"].as_str().unwrap().contains("/console"));
        // A wrong password is still the plain 401, whatever the second factor.
        let res = app
            .client
            .post(format!("{}/v1/auth/login", app.url))
            .json(&json!({"email": "sam@example.org", "password": "wrong password!", "code": "123456"}))
            .send()
            .await
            .unwrap();
        problem(res, 401, "unauthorized").await;
        assert_eq!(sessions(&app).await, 0);

        // Enrolment, as the console does it.
        let challenge = second_factor::start_challenge(&app.state, id).await.unwrap();
        assert_eq!(challenge.len(), 43, "256 bits, base64url");
        let w = second_factor::worker_for_challenge(&app.state, &challenge)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(w.id, id);
        assert!(matches!(
            second_factor::after_password(&app.state, &w).await.unwrap(),
            second_factor::AfterPassword::NeedEnrolment
        ));
        let e = second_factor::begin_enrolment(&app.state, &challenge).await.unwrap();
        let again = second_factor::begin_enrolment(&app.state, &challenge).await.unwrap();
        assert_eq!(e.secret_base32, again.secret_base32, "same secret for one challenge");
        assert!(e.otpauth_uri.starts_with("otpauth://totp/"));
        assert!(e.qr_svg.starts_with("<svg"));
        assert!(!format!("{e:?}").contains(&e.secret_base32));
        let right = code_now(&app, &e.secret_base32);
        let codes = second_factor::confirm_enrolment(&app.state, &challenge, &right, CLIENT)
            .await
            .unwrap();
        assert_eq!(codes.len(), 10);
        assert_eq!(
            second_factor::recovery_codes_left(&app.state, id).await.unwrap(),
            10
        );
        // Set up once: a second enrolment needs a reset first.
        assert!(matches!(
            second_factor::begin_enrolment(&app.state, &challenge).await,
            Err(ApiError::Conflict(_))
        ));
        // A challenge is finished once, and is then no longer live.
        second_factor::finish_challenge(&app.state, &challenge).await.unwrap();
        assert!(matches!(
            second_factor::finish_challenge(&app.state, &challenge).await,
            Err(ApiError::Unauthorized(_))
        ));
        assert!(
            second_factor::worker_for_challenge(&app.state, &challenge)
                .await
                .unwrap()
                .is_none()
        );

        // Now the JSON login asks for the code, and makes no session without it.
        let body = problem(
            login(&app, "sam@example.org", None).await,
            401,
            "second-factor-required",
        )
        .await;
        assert_eq!(body["second_factor"], "code");
        assert_eq!(sessions(&app).await, 0);

        // The code used to enrol was taken: it does not sign in.
        problem(
            login(&app, "sam@example.org", Some(&right)).await,
            401,
            "unauthorized",
        )
        .await;
        assert_eq!(sessions(&app).await, 0);

        // The next step's code works once; the token opens the inbox.
        app.clock.advance(chrono::Duration::seconds(30));
        let code = code_now(&app, &e.secret_base32);
        let token = login_ok(&app, "sam@example.org", Some(&format!(" {} {} ", &code[..3], &code[3..]))).await;
        let res = app
            .client
            .get(format!("{}/v1/inbox", app.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(sessions(&app).await, 1);
        // Replay in the same step: refused.
        let body = problem(
            login(&app, "sam@example.org", Some(&code)).await,
            401,
            "unauthorized",
        )
        .await;
        assert!(body["detail"].as_str().unwrap().contains("code"));
        assert_eq!(sessions(&app).await, 1);
        // The next step's code is still accepted (±1 step), then not again.
        let next = code_at(&e.secret_base32, app.clock.now().timestamp() + 30);
        if next != code {
            login_ok(&app, "sam@example.org", Some(&next)).await;
            problem(login(&app, "sam@example.org", Some(&next)).await, 401, "unauthorized").await;
        }
        // Too far ahead (two steps) is refused.
        app.clock.advance(chrono::Duration::seconds(60));
        let far = code_at(&e.secret_base32, app.clock.now().timestamp() + 60);
        let near: Vec<String> = [-30, 0, 30]
            .iter()
            .map(|d| code_at(&e.secret_base32, app.clock.now().timestamp() + d))
            .collect();
        if !near.contains(&far) {
            problem(login(&app, "sam@example.org", Some(&far)).await, 401, "unauthorized").await;
        }

    })
    .await;
}

#[tokio::test]
async fn recovery_codes_work_once_and_are_replaced_together() {
    on_each_backend(|db| async move {
        let app = spawn(&db, &[("SIGNPOST_REQUIRE_2FA", "all")]).await;
        let id = add_worker(&app, "sam@example.org", "worker").await;
        let (_, codes) = enrol(&app, id).await;
        assert_eq!(codes.len(), 10);
        let mut distinct = codes.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 10);
        // A recovery code works once, typed any which way; then it is used up.
        let recovery = codes[0].to_lowercase().replace('-', " ");
        login_ok(&app, "sam@example.org", Some(&recovery)).await;
        problem(
            login(&app, "sam@example.org", Some(&codes[0])).await,
            401,
            "unauthorized",
        )
        .await;
        assert_eq!(
            second_factor::recovery_codes_left(&app.state, id)
                .await
                .unwrap(),
            9
        );
        login_ok(&app, "sam@example.org", Some(&codes[1])).await;

        // New recovery codes replace all the old ones.
        let fresh = second_factor::new_recovery_codes(&app.state, id)
            .await
            .unwrap();
        assert_eq!(fresh.len(), 10);
        assert_eq!(
            second_factor::recovery_codes_left(&app.state, id)
                .await
                .unwrap(),
            10
        );
        problem(
            login(&app, "sam@example.org", Some(&codes[2])).await,
            401,
            "unauthorized",
        )
        .await;
        login_ok(&app, "sam@example.org", Some(&fresh[9])).await;
    })
    .await;
}

#[tokio::test]
async fn wrong_codes_are_throttled_per_account() {
    on_each_backend(|db| async move {
        // The per-client limit is far away: only the account's limit can refuse.
        let app = spawn(
            &db,
            &[
                ("SIGNPOST_REQUIRE_2FA", "all"),
                ("SIGNPOST_LOGIN_FAILURES", "100"),
            ],
        )
        .await;
        let id = add_worker(&app, "sam@example.org", "worker").await;
        let other = add_worker(&app, "alex@example.org", "worker").await;
        let (secret, codes) = enrol(&app, id).await;
        let (other_secret, _) = enrol(&app, other).await;
        app.clock.advance(chrono::Duration::seconds(30));

        let right = code_now(&app, &secret);
        let wrong = if right == "111111" {
            "222222"
        } else {
            "111111"
        };
        for _ in 0..5 {
            problem(
                login(&app, "sam@example.org", Some(wrong)).await,
                401,
                "unauthorized",
            )
            .await;
        }
        // Now even the right code and a recovery code are refused, for 15 minutes.
        for code in [right.as_str(), codes[0].as_str()] {
            let res = login(&app, "sam@example.org", Some(code)).await;
            let retry: u64 = res.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(retry > 0 && retry <= 900);
            let body = problem(res, 429, "too-many-requests").await;
            assert!(body["detail"].as_str().unwrap().contains("wrong codes"));
        }
        assert_eq!(sessions(&app).await, 0);
        // Nothing was used up while refused.
        assert_eq!(
            second_factor::recovery_codes_left(&app.state, id)
                .await
                .unwrap(),
            10
        );
        // The domain function used by the console says the same.
        let w = signpost::workers::accounts::find_by_email(app.db(), "sam@example.org")
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(
            second_factor::verify(
                &app.state,
                &w,
                &right,
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9))
            )
            .await,
            Err(ApiError::TooManyRequests { .. })
        ));
        // Another account from the same client is not held up.
        login_ok(
            &app,
            "alex@example.org",
            Some(&code_now(&app, &other_secret)),
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn wrong_codes_are_throttled_per_client() {
    on_each_backend(|db| async move {
        let app = spawn(
            &db,
            &[
                ("SIGNPOST_REQUIRE_2FA", "all"),
                ("SIGNPOST_LOGIN_FAILURES", "3"),
            ],
        )
        .await;
        let a = add_worker(&app, "a@example.org", "worker").await;
        let b = add_worker(&app, "b@example.org", "worker").await;
        let (_, _) = enrol(&app, a).await;
        let (b_secret, _) = enrol(&app, b).await;
        app.clock.advance(chrono::Duration::seconds(30));
        let right = code_now(&app, &b_secret);
        let wrong = if right == "111111" {
            "222222"
        } else {
            "111111"
        };
        problem(
            login(&app, "a@example.org", Some(wrong)).await,
            401,
            "unauthorized",
        )
        .await;
        problem(
            login(&app, "a@example.org", Some(wrong)).await,
            401,
            "unauthorized",
        )
        .await;
        problem(
            login(&app, "b@example.org", Some(wrong)).await,
            401,
            "unauthorized",
        )
        .await;
        // b has one wrong code, but this client has had three.
        problem(
            login(&app, "b@example.org", Some(&right)).await,
            429,
            "too-many-requests",
        )
        .await;
        // From another client, b's right code works.
        let w = signpost::workers::accounts::find_by_email(app.db(), "b@example.org")
            .await
            .unwrap()
            .unwrap();
        second_factor::verify(
            &app.state,
            &w,
            &right,
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)),
        )
        .await
        .unwrap();
    })
    .await;
}

#[tokio::test]
async fn leads_asks_coordinators_and_admins_only() {
    on_each_backend(|db| async move {
        let app = spawn(&db, &[("SIGNPOST_REQUIRE_2FA", "leads")]).await;
        add_worker(&app, "worker@example.org", "worker").await;
        let coordinator = add_worker(&app, "lead@example.org", "coordinator").await;
        add_worker(&app, "admin@example.org", "admin").await;
        login_ok(&app, "worker@example.org", None).await;
        problem(
            login(&app, "lead@example.org", None).await,
            403,
            "second-factor-setup-required",
        )
        .await;
        problem(
            login(&app, "admin@example.org", None).await,
            403,
            "second-factor-setup-required",
        )
        .await;
        let (secret, _) = enrol(&app, coordinator).await;
        problem(
            login(&app, "lead@example.org", None).await,
            401,
            "second-factor-required",
        )
        .await;
        app.clock.advance(chrono::Duration::seconds(30));
        login_ok(&app, "lead@example.org", Some(&code_now(&app, &secret))).await;
    })
    .await;
}

#[tokio::test]
async fn none_signs_in_with_a_password_as_before() {
    on_each_backend(|db| async move {
        let app = spawn(&db, &[("SIGNPOST_REQUIRE_2FA", "none")]).await;
        let id = add_worker(&app, "lead@example.org", "admin").await;
        login_ok(&app, "lead@example.org", None).await;
        // Even with a second factor set up, and a code sent or not.
        enrol(&app, id).await;
        login_ok(&app, "lead@example.org", None).await;
        login_ok(&app, "lead@example.org", Some("999999")).await;
        assert_eq!(sessions(&app).await, 3);
    })
    .await;
}

#[tokio::test]
async fn reset_means_setting_up_again() {
    on_each_backend(|db| async move {
        let app = spawn(&db, &[("SIGNPOST_REQUIRE_2FA", "all")]).await;
        let id = add_worker(&app, "sam@example.org", "worker").await;
        let (old_secret, codes) = enrol(&app, id).await;
        second_factor::reset(&app.state, id).await.unwrap();
        assert_eq!(
            second_factor::recovery_codes_left(&app.state, id)
                .await
                .unwrap(),
            0
        );
        app.clock.advance(chrono::Duration::seconds(30));
        // The old code and recovery codes no longer mean anything: set it up again.
        for code in [
            None,
            Some(code_now(&app, &old_secret)),
            Some(codes[0].clone()),
        ] {
            problem(
                login(&app, "sam@example.org", code.as_deref()).await,
                403,
                "second-factor-setup-required",
            )
            .await;
        }
        assert!(matches!(
            second_factor::new_recovery_codes(&app.state, id).await,
            Err(ApiError::Conflict(_))
        ));
        let (new_secret, _) = enrol(&app, id).await;
        assert_ne!(new_secret, old_secret);
        app.clock.advance(chrono::Duration::seconds(30));
        login_ok(&app, "sam@example.org", Some(&code_now(&app, &new_secret))).await;
    })
    .await;
}

#[tokio::test]
async fn a_challenge_lives_ten_minutes_and_needs_an_active_worker() {
    on_each_backend(|db| async move {
        let app = spawn(&db, &[("SIGNPOST_REQUIRE_2FA", "all")]).await;
        let id = add_worker(&app, "sam@example.org", "worker").await;
        let challenge = second_factor::start_challenge(&app.state, id)
            .await
            .unwrap();
        assert!(
            second_factor::worker_for_challenge(&app.state, "nonsense")
                .await
                .unwrap()
                .is_none()
        );
        app.clock.advance(chrono::Duration::minutes(9));
        assert!(
            second_factor::worker_for_challenge(&app.state, &challenge)
                .await
                .unwrap()
                .is_some()
        );
        app.clock.advance(chrono::Duration::minutes(1));
        assert!(
            second_factor::worker_for_challenge(&app.state, &challenge)
                .await
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            second_factor::begin_enrolment(&app.state, &challenge).await,
            Err(ApiError::Unauthorized(_))
        ));
        let challenge = second_factor::start_challenge(&app.state, id)
            .await
            .unwrap();
        // Confirming needs a secret begun on this challenge, and a right code for it.
        assert!(matches!(
            second_factor::confirm_enrolment(&app.state, &challenge, "123456", CLIENT).await,
            Err(ApiError::Conflict(_))
        ));
        let e = second_factor::begin_enrolment(&app.state, &challenge)
            .await
            .unwrap();
        let right = code_now(&app, &e.secret_base32);
        let wrong = if right == "111111" {
            "222222"
        } else {
            "111111"
        };
        assert!(matches!(
            second_factor::confirm_enrolment(&app.state, &challenge, wrong, CLIENT).await,
            Err(ApiError::Unauthorized(_))
        ));
        assert_eq!(
            second_factor::recovery_codes_left(&app.state, id)
                .await
                .unwrap(),
            0
        );
        signpost::workers::accounts::deactivate(app.db(), id)
            .await
            .unwrap();
        assert!(
            second_factor::worker_for_challenge(&app.state, &challenge)
                .await
                .unwrap()
                .is_none()
        );
        // Only the token's SHA-256 is stored.
        let stored = app
            .count(&format!(
                "SELECT COUNT(*) FROM login_challenges WHERE token_hash = '{challenge}'"
            ))
            .await;
        assert_eq!(stored, 0);
    })
    .await;
}

#[tokio::test]
async fn nothing_secret_is_stored_in_the_clear() {
    on_each_backend(|db| async move {
        let app = spawn(&db, &[("SIGNPOST_REQUIRE_2FA", "all")]).await;
        let id = add_worker(&app, "sam@example.org", "worker").await;
        // A secret waiting on its challenge is sealed too.
        let challenge = second_factor::start_challenge(&app.state, id)
            .await
            .unwrap();
        let pending = second_factor::begin_enrolment(&app.state, &challenge)
            .await
            .unwrap();
        let stored = stored_text(&app).await;
        assert!(
            stored.contains("v1:"),
            "the pending secret is stored sealed"
        );
        assert!(!stored.contains(&pending.secret_base32));

        let (secret, codes) = enrol(&app, id).await;
        let stored = stored_text(&app).await;
        assert!(!stored.contains(&secret), "TOTP secret in the clear");
        assert!(!stored.contains(&secret.to_lowercase()));
        for code in &codes {
            assert!(
                !stored.contains(code.as_str()),
                "recovery code in the clear"
            );
            assert!(!stored.contains(&code.replace('-', "")));
            assert!(!stored.contains(&code.replace('-', "").to_lowercase()));
        }
        if let Some(file) = db.sqlite_file() {
            // Let SQLite move its write-ahead log into the file first.
            use sea_orm::ConnectionTrait;
            app.db()
                .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await
                .unwrap();
            let bytes = std::fs::read(file).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(&secret));
            for code in &codes {
                assert!(!text.contains(&code.replace('-', "")));
            }
        }
    })
    .await;
}

/// Every stored value of the second factor's columns, joined.
async fn stored_text(app: &TestApp) -> String {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = app.db().get_database_backend();
    let mut out = String::new();
    for sql in [
        "SELECT totp_secret_sealed FROM workers WHERE totp_secret_sealed IS NOT NULL",
        "SELECT pending_secret_sealed FROM login_challenges WHERE pending_secret_sealed IS NOT NULL",
        "SELECT code_hash FROM recovery_codes",
        "SELECT token_hash FROM login_challenges",
    ] {
        for row in app
            .db()
            .query_all_raw(Statement::from_string(backend, sql.to_string()))
            .await
            .unwrap()
        {
            let v: String = row.try_get_by_index(0).unwrap();
            out.push_str(&v);
            out.push('\n');
        }
    }
    out
}
