//! The youth-worker console over HTTP: headers on every page, cookie flags, sign-in,
//! the inbox and a referral, forms and their anti-forgery checks, the idle timeout, the
//! 404 for another team's referral, the assets, the second step of sign-in, and the
//! reports of wrong listings.
mod common;

use chrono::Duration;
use common::TestApp;
use common::console::*;
use serde_json::{Value, json};

#[tokio::test]
async fn every_page_has_its_headers_and_refers_to_no_other_host() {
    with_console(&[], |app| async move {
        add_worker(&app, "dana@example.org", "Dana Duty", "signpost-duty-team").await;
        let r = refer(&app, json!({"needs": ["activities"], "message": "Is there boxing near me?", "age": 15, "where": "E8 3PL"})).await;
        let _ = r;
        let mut anon = Browser::new(&app);
        let home = anon.get("/console").await;
        assert_eq!(home.status, 303);
        assert_eq!(home.location(), "/console/sign-in");
        assert_console_headers(&home, "/console signed out");
        let sign_in = anon.get("/console/sign-in").await;
        assert_html_page(&sign_in, "sign-in");
        assert!(sign_in.body.contains("name=\"email\"") && sign_in.body.contains("name=\"password\""));
        let inbox_anon = anon.get("/console/inbox").await;
        assert_eq!(inbox_anon.status, 303);
        assert_eq!(inbox_anon.location(), "/console/sign-in");

        let mut b = Browser::signed_in(&app, "dana@example.org").await;
        let home = b.get("/console").await;
        assert_eq!(home.location(), "/console/inbox");
        let inbox = b.get("/console/inbox").await;
        assert_eq!(inbox.status, 200);
        assert_html_page(&inbox, "inbox");
        let id = {
            let at = inbox.body.find("href=\"/console/referrals/").unwrap() + "href=\"/console/referrals/".len();
            inbox.body[at..at + 36].to_string()
        };
        let referral = b.get(&format!("/console/referrals/{id}")).await;
        assert_eq!(referral.status, 200);
        assert_html_page(&referral, "referral");
        let rows = b.get("/console/inbox/rows").await;
        assert_eq!(rows.status, 200);
        assert_console_headers(&rows, "inbox rows");
        assert!(rows.body.contains("id=\"inbox-list\""));
        let filtered = b.get("/console/inbox?status=closed&urgency=urgent&mine=1&unclaimed=1").await;
        assert_html_page(&filtered, "filtered inbox");
        assert!(filtered.body.contains("id=\"inbox-empty\""));
        let bad = b.get("/console/inbox?status=archived").await;
        assert_eq!(bad.status, 400);
        assert_html_page(&bad, "bad filter");
        let missing = b.get("/console/nothing-here").await;
        assert_eq!(missing.status, 404);
        assert_html_page(&missing, "404");
        // Opening a form's address leads back to its page; other methods are an error page.
        let res = b.get(&format!("/console/referrals/{id}/reply")).await;
        assert_eq!(res.status, 303);
        assert_eq!(res.location(), format!("/console/referrals/{id}"));
        assert_eq!(b.get("/console/sign-out").await.location(), "/console");
        let res = b
            .client
            .delete(format!("{}/console/inbox", b.base))
            .header("cookie", b.cookie_header())
            .send()
            .await
            .unwrap();
        let res = b.take(res).await;
        assert_eq!(res.status, 405);
        assert_html_page(&res, "405");
        let refused = b.post_from("/console/sign-out", &[], None).await;
        assert_eq!(refused.status, 403);
        assert_html_page(&refused, "403");

        // Assets: hashed names, a year's cache, served from here.
        let mut assets = Vec::new();
        for page in [&sign_in.body, &inbox.body, &referral.body] {
            for attr in ["href=\"/console/assets/", "src=\"/console/assets/"] {
                let mut rest = page.as_str();
                while let Some(at) = rest.find(attr) {
                    let tail = &rest[at + attr.len() - "/console/assets/".len()..];
                    let url = &tail[..tail.find('"').unwrap()];
                    if !assets.contains(&url.to_string()) {
                        assets.push(url.to_string());
                    }
                    rest = &rest[at + attr.len()..];
                }
            }
        }
        assert_eq!(assets.len(), 2, "one stylesheet and one script: {assets:?}");
        for url in &assets {
            let name = url.trim_start_matches("/console/assets/");
            let parts: Vec<&str> = name.split('.').collect();
            assert_eq!(parts.len(), 3, "{name}");
            assert_eq!(parts[0], "console");
            assert_eq!(parts[1].len(), 16);
            assert!(parts[1].chars().all(|c| c.is_ascii_hexdigit()), "{name}");
            let res = b.get(url).await;
            assert_eq!(res.status, 200, "{url}");
            assert_eq!(
                res.headers["cache-control"],
                "public, max-age=31536000, immutable"
            );
            assert_eq!(res.headers["x-content-type-options"], "nosniff");
            let ct = res.headers["content-type"].to_str().unwrap();
            assert!(ct.starts_with(if name.ends_with(".css") { "text/css" } else { "text/javascript" }), "{ct}");
            assert!(!res.body.contains("http:") && !res.body.contains("https:") && !res.body.contains("@import"), "{url} names another host");
        }
        let unknown = b.get("/console/assets/console.0000000000000000.css").await;
        assert_eq!(unknown.status, 404);
    })
    .await;
}

#[tokio::test]
async fn cookie_flags_without_https() {
    with_console(&[], |app| async move {
        add_worker(&app, "dana@example.org", "Dana Duty", "signpost-duty-team").await;
        let b = Browser::signed_in(&app, "dana@example.org").await;
        let session = b
            .set_cookies
            .iter()
            .find(|c| c.starts_with("signpost_session="))
            .expect("a session cookie");
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(session.contains(flag), "{session}");
        }
        assert!(!session.contains("Secure"), "{session}");
        assert!(!b.set_cookies.iter().any(|c| c.starts_with("__Host-")));
        // Stored only as a hash, marked as a console session.
        let token = &b.cookies["signpost_session"];
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM worker_sessions WHERE kind = 'console' AND token_hash = '{}'",
                signpost::crypto::token_hash(token)
            ))
            .await,
            1
        );
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM worker_sessions WHERE token_hash = '{token}'"
            ))
            .await,
            0
        );
        // A console cookie is not a bearer token for the JSON API.
        let res = app
            .client
            .get(format!("{}/v1/inbox", app.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    })
    .await;
}

#[tokio::test]
async fn cookie_flags_behind_https() {
    with_console(
        &[("SIGNPOST_PUBLIC_URL", "https://console.example.org")],
        |app| async move {
            add_worker(&app, "dana@example.org", "Dana Duty", "signpost-duty-team").await;
            let mut b = Browser::new(&app);
            b.origin = "https://console.example.org".into();
            let res = b.sign_in("dana@example.org", PASSWORD).await;
            assert_eq!(res.status, 303, "{}", res.body);
            for base in ["presign", "session"] {
                let c = b
                    .set_cookies
                    .iter()
                    .find(|c| c.starts_with(&format!("__Host-signpost_{base}=")))
                    .unwrap_or_else(|| panic!("no __Host- {base} cookie in {:?}", b.set_cookies));
                for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
                    assert!(c.contains(flag), "{c}");
                }
                assert!(!c.contains("Domain"), "{c}");
            }
            let inbox = b.get("/console/inbox").await;
            assert_eq!(inbox.status, 200);
            // Behind the public URL, a form from the host's own address is another origin.
            let csrf = inbox.csrf();
            let url = app.url.clone();
            let refused = b
                .post_from("/console/sign-out", &[("csrf", &csrf)], Some(&url))
                .await;
            assert_eq!(refused.status, 403);
            let out = b.post("/console/sign-out", &[("csrf", &csrf)]).await;
            assert_eq!(out.status, 303);
            assert!(
                b.set_cookies
                    .last()
                    .unwrap()
                    .starts_with("__Host-signpost_session=;")
            );
            assert!(b.set_cookies.last().unwrap().contains("Max-Age=0"));
        },
    )
    .await;
}

#[tokio::test]
async fn a_wrong_password_is_refused_on_the_page() {
    with_console(&[], |app| async move {
        add_worker(&app, "dana@example.org", "Dana Duty", "signpost-duty-team").await;
        let mut b = Browser::new(&app);
        for (email, password) in [
            ("dana@example.org", "wrong password!!"),
            ("nobody@example.org", PASSWORD),
            ("", ""),
        ] {
            let res = b.sign_in(email, password).await;
            assert_eq!(res.status, 401, "{email}");
            assert_html_page(&res, "wrong password");
            assert!(res.body.contains("id=\"sign-in-error\""));
            assert!(
                res.body
                    .contains("The email address or password is not right")
            );
            assert!(
                !res.body.contains(password) || password.is_empty(),
                "the password is never echoed"
            );
        }
        assert!(!b.cookies.contains_key("signpost_session"));
        assert_eq!(app.count("SELECT COUNT(*) FROM worker_sessions").await, 0);
        // A sign-in form without its token is refused.
        let res = b
            .post(
                "/console/sign-in",
                &[("email", "dana@example.org"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(res.status, 403);
        assert_eq!(app.count("SELECT COUNT(*) FROM worker_sessions").await, 0);
    })
    .await;
}

#[tokio::test]
async fn a_referral_from_the_app_reaches_the_inbox_and_a_reply_reaches_the_young_person() {
    with_console(&[], |app| async move {
        add_worker(&app, "dana@example.org", "Dana Duty", "signpost-duty-team").await;
        let r = refer(&app, json!({
            "needs": ["activities", "other"], "message": "Someone is following me home", "age": 15, "where": "E8 3PL",
            "in_danger_now": true,
            "contact": {"method": "text", "value": "07700 900123", "safe_times": "after 6", "ok_to_leave_message": false}
        })).await;
        let reference = r["reference"].as_str().unwrap().to_string();
        let receipt = r["receipt"].as_str().unwrap().to_string();
        let routine = refer(&app, json!({"needs": ["activities"], "message": "Is there boxing?"})).await;
        app.clock.advance(Duration::minutes(9));

        let mut b = Browser::signed_in(&app, "dana@example.org").await;
        let inbox = b.get("/console/inbox").await;
        assert_eq!(inbox.status, 200);
        // Urgent first, with its escalation clock; the title counts it.
        let first = inbox.body.find(&reference).expect("the urgent referral is listed");
        let second = inbox.body.find(routine["reference"].as_str().unwrap()).expect("the routine one too");
        assert!(first < second, "urgent first");
        assert!(inbox.body.contains("escalates in 6 min"), "{}", inbox.body);
        assert!(inbox.body.contains("reply due in 1 day 23 h"));
        assert!(inbox.body.contains("<title>(1) Inbox"), "the title counts unclaimed urgent");
        assert!(inbox.body.contains("Hackney") && inbox.body.contains("14–15"));
        assert!(!inbox.body.contains("Someone is following me"), "no message in the list");

        let at = inbox.body.find("href=\"/console/referrals/").unwrap() + "href=\"/console/referrals/".len();
        let id = inbox.body[at..at + 36].to_string();
        let page = b.get(&format!("/console/referrals/{id}")).await;
        assert_eq!(page.status, 200);
        assert_eq!(page.by_id("referral-message"), "Someone is following me home");
        assert!(page.body.contains("id=\"no-message\""));
        assert!(page.body.contains("Do not leave a message"));
        assert_eq!(page.by_id("contact-safe-times"), "after 6");
        assert!(page.body.contains("They said they are in danger now."));
        assert!(page.body.contains("id=\"why-urgent\""));
        assert!(page.body.contains("id=\"help-lines\"") && page.body.contains("999"));
        assert!(page.body.contains("id=\"claim-form\""));

        // Claim, reply, a private note, then close.
        let csrf = page.csrf();
        let res = b.post(&format!("/console/referrals/{id}/claim"), &[("csrf", &csrf)]).await;
        assert_eq!(res.status, 303);
        assert_eq!(res.location(), format!("/console/referrals/{id}"));
        let res = b.post(&format!("/console/referrals/{id}/reply"), &[("csrf", &csrf), ("body", "Hi, I'm Dana. Are you safe right now?")]).await;
        assert_eq!(res.status, 303);
        let res = b.post(&format!("/console/referrals/{id}/note"), &[("csrf", &csrf), ("body", "Called the safeguarding lead")]).await;
        assert_eq!(res.status, 303);
        let empty = b.post(&format!("/console/referrals/{id}/reply"), &[("csrf", &csrf), ("body", "   ")]).await;
        assert_eq!(empty.status, 422);
        assert_html_page(&empty, "empty reply");

        let own: Value = app.client.get(format!("{}/v1/referrals/self", app.url)).bearer_auth(&receipt).send().await.unwrap().json().await.unwrap();
        assert_eq!(own["status"], "claimed");
        let bodies: Vec<&str> = own["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
        assert_eq!(bodies, ["Hi, I'm Dana. Are you safe right now?"], "the note stays private");
        assert_eq!(own["messages"][0]["worker_name"], "Dana");

        let page = b.get(&format!("/console/referrals/{id}")).await;
        assert!(page.body.contains("Called the safeguarding lead"));
        assert!(page.body.contains("id=\"release-form\""));
        assert_eq!(page.by_id("referral-claimed-by"), "Dana Duty");
        let no_outcome = b.post(&format!("/console/referrals/{id}/status"), &[("csrf", &csrf), ("status", "closed"), ("outcome", "")]).await;
        assert_eq!(no_outcome.status, 422, "closing needs an outcome");
        let closed = b.post(&format!("/console/referrals/{id}/status"), &[("csrf", &csrf), ("status", "closed"), ("outcome", "supported"), ("note", "")]).await;
        assert_eq!(closed.status, 303);
        let page = b.get(&format!("/console/referrals/{id}")).await;
        assert_eq!(page.by_id("referral-status"), "Closed");
        assert_eq!(page.by_id("referral-outcome"), "We supported them");
        assert!(!page.body.contains("id=\"reply-form\""));
        assert!(page.body.contains("Closed: We supported them"), "the timeline");

        // Sign out ends the session.
        let csrf = page.csrf();
        let out = b.post("/console/sign-out", &[("csrf", &csrf)]).await;
        assert_eq!(out.status, 303);
        assert!(!b.cookies.contains_key("signpost_session"));
        assert_eq!(app.count("SELECT COUNT(*) FROM worker_sessions WHERE revoked_at IS NULL").await, 0);

        // Three days on, the routine referral nobody took is overdue.
        app.clock.advance(Duration::days(3));
        let mut b = Browser::signed_in(&app, "dana@example.org").await;
        let inbox = b.get("/console/inbox?unclaimed=1").await;
        assert!(inbox.body.contains("overdue by 1 day"), "{}", inbox.body);
        assert!(!inbox.body.contains(&reference), "the claimed one is filtered out");
    })
    .await;
}

#[tokio::test]
async fn forms_without_a_valid_token_or_from_another_origin_change_nothing() {
    with_console(&[], |app| async move {
        add_worker(&app, "dana@example.org", "Dana Duty", "signpost-duty-team").await;
        refer(
            &app,
            json!({"needs": ["activities"], "message": "Is there boxing?"}),
        )
        .await;
        let mut b = Browser::signed_in(&app, "dana@example.org").await;
        let inbox = b.get("/console/inbox").await;
        let at = inbox.body.find("href=\"/console/referrals/").unwrap()
            + "href=\"/console/referrals/".len();
        let id = inbox.body[at..at + 36].to_string();
        let page = b.get(&format!("/console/referrals/{id}")).await;
        let csrf = page.csrf();
        let other = Browser::signed_in(&app, "dana@example.org").await;
        let reply = format!("/console/referrals/{id}/reply");
        let claim = format!("/console/referrals/{id}/claim");
        let url = app.url.clone();
        let attempts: Vec<Attempt> = vec![
            (
                "no token",
                vec![("body", "hello".into())],
                Some(url.clone()),
            ),
            (
                "wrong token",
                vec![("csrf", "0".repeat(64)), ("body", "hello".into())],
                Some(url.clone()),
            ),
            (
                "another session's token",
                vec![
                    ("csrf", other_csrf(&other, &app).await),
                    ("body", "hello".into()),
                ],
                Some(url.clone()),
            ),
            (
                "foreign origin",
                vec![("csrf", csrf.clone()), ("body", "hello".into())],
                Some("http://evil.example".into()),
            ),
            (
                "Origin: null without same-origin fetch metadata",
                vec![("csrf", csrf.clone()), ("body", "hello".into())],
                Some("null".into()),
            ),
            (
                "no origin",
                vec![("csrf", csrf.clone()), ("body", "hello".into())],
                None,
            ),
        ];
        for (what, form, origin) in attempts {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            for path in [&reply, &claim] {
                let res = b.post_from(path, &pairs, origin.as_deref()).await;
                assert_eq!(res.status, 403, "{what} on {path}");
                assert_html_page(&res, what);
                assert!(
                    res.body.contains("This form could not be accepted"),
                    "{what}"
                );
                assert!(res.body.contains("Nothing was changed"), "{what}");
            }
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM referral_messages").await, 0);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referrals WHERE claimed_by IS NOT NULL")
                .await,
            0
        );
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM referral_events WHERE kind IN ('claimed', 'worker_message')"
            )
            .await,
            0
        );
        // Signing out from another site does nothing either.
        let res = b
            .post_from(
                "/console/sign-out",
                &[("csrf", &csrf)],
                Some("http://evil.example"),
            )
            .await;
        assert_eq!(res.status, 403);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM worker_sessions WHERE revoked_at IS NOT NULL")
                .await,
            0
        );
        // The right token from the right origin works.
        let res = b.post(&reply, &[("csrf", &csrf), ("body", "hello")]).await;
        assert_eq!(res.status, 303);
        assert_eq!(app.count("SELECT COUNT(*) FROM referral_messages").await, 1);
    })
    .await;
}

/// What is wrong with a form, its fields, and the `Origin` it is sent from.
type Attempt<'a> = (&'a str, Vec<(&'a str, String)>, Option<String>);

async fn other_csrf(other: &Browser, app: &TestApp) -> String {
    let mut b = Browser {
        base: other.base.clone(),
        origin: app.url.clone(),
        client: other.client.clone(),
        cookies: other.cookies.clone(),
        set_cookies: Vec::new(),
    };
    b.get("/console/inbox").await.csrf()
}

#[tokio::test]
async fn idle_timeout_signs_out_with_a_message() {
    with_console(&[], |app| async move {
        add_worker(&app, "dana@example.org", "Dana Duty", "signpost-duty-team").await;
        let mut b = Browser::signed_in(&app, "dana@example.org").await;
        // Activity keeps it alive; the background refresh does not count.
        app.clock.advance(Duration::minutes(20));
        assert_eq!(b.get("/console/inbox").await.status, 200);
        app.clock.advance(Duration::minutes(20));
        assert_eq!(b.get("/console/inbox/rows").await.status, 200);
        app.clock.advance(Duration::minutes(11));
        let res = b.get("/console/inbox").await;
        assert_eq!(res.status, 303);
        assert_eq!(res.location(), "/console/sign-in?signed_out=idle");
        assert!(
            !b.cookies.contains_key("signpost_session"),
            "the cookie is cleared"
        );
        let page = b.get(res.location()).await;
        assert_eq!(page.status, 200);
        assert!(
            page.body
                .contains("You were signed out after 30 minutes without activity"),
            "{}",
            page.body
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM worker_sessions WHERE revoked_at IS NOT NULL")
                .await,
            1
        );

        // And 31 minutes with nothing at all.
        let mut b = Browser::signed_in(&app, "dana@example.org").await;
        let token = b.cookies["signpost_session"].clone();
        app.clock.advance(Duration::minutes(31));
        let res = b.get("/console/inbox").await;
        assert_eq!(res.location(), "/console/sign-in?signed_out=idle");
        // The old cookie stays dead even if sent again.
        b.cookies.insert("signpost_session".into(), token);
        let res = b.get("/console/inbox").await;
        assert_eq!(res.status, 303);
        assert_eq!(res.location(), "/console/sign-in");

        // The absolute limit: SIGNPOST_SESSION_HOURS, whatever the activity.
        let mut b = Browser::signed_in(&app, "dana@example.org").await;
        for _ in 0..25 {
            app.clock.advance(Duration::minutes(29));
            let _ = b.get("/console/inbox").await;
        }
        let res = b.get("/console/inbox").await;
        assert_eq!(res.status, 303, "12 hours is the most a sign-in lasts");
    })
    .await;
}

#[tokio::test]
async fn another_organisations_referral_is_the_same_404_as_an_unknown_id() {
    with_console(&[], |app| async move {
        add_worker(&app, "dana@example.org", "Dana Duty", "signpost-duty-team").await;
        add_worker(&app, "sol@example.org", "Sol London", "safer-london").await;
        refer(
            &app,
            json!({"needs": ["activities"], "message": "Is there boxing?"}),
        )
        .await;
        let mut dana = Browser::signed_in(&app, "dana@example.org").await;
        let inbox = dana.get("/console/inbox").await;
        let at = inbox.body.find("href=\"/console/referrals/").unwrap()
            + "href=\"/console/referrals/".len();
        let id = inbox.body[at..at + 36].to_string();
        let mut sol = Browser::signed_in(&app, "sol@example.org").await;
        let theirs = sol.get(&format!("/console/referrals/{id}")).await;
        let unknown = sol
            .get(&format!("/console/referrals/{}", uuid::Uuid::now_v7()))
            .await;
        let garbage = sol.get("/console/referrals/not-an-id").await;
        assert_eq!(theirs.status, 404);
        assert_eq!(unknown.status, 404);
        assert_eq!(garbage.status, 404);
        assert_html_page(&theirs, "another team's referral");
        assert_eq!(theirs.body, unknown.body, "byte for byte the same page");
        assert_eq!(theirs.body, garbage.body);
        assert!(!theirs.body.contains("boxing"));
        // Acting on it is the same 404, and changes nothing.
        let csrf = sol.get("/console/inbox").await.csrf();
        let res = sol
            .post(
                &format!("/console/referrals/{id}/claim"),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(res.status, 404);
        assert_eq!(res.body, unknown.body);
        let res = sol
            .post(
                &format!("/console/referrals/{id}/reply"),
                &[("csrf", &csrf), ("body", "hi")],
            )
            .await;
        assert_eq!(res.status, 404);
        assert_eq!(app.count("SELECT COUNT(*) FROM referral_messages").await, 0);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referrals WHERE claimed_by IS NOT NULL")
                .await,
            0
        );
        // Nor does it show in their inbox.
        let theirs = sol.get("/console/inbox").await;
        assert!(!theirs.body.contains(&id));
    })
    .await;
}

/// The code an authenticator app shows for `secret` at the app's clock, `steps` steps on.
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

fn wrong(code: &str) -> String {
    let last = code.chars().last().unwrap().to_digit(10).unwrap();
    format!("{}{}", &code[..code.len() - 1], (last + 1) % 10)
}

#[tokio::test]
async fn sign_in_with_a_second_factor_enrolled_the_first_time() {
    with_console(&[("SIGNPOST_REQUIRE_2FA", "all")], |app| async move {
        add_worker(&app, "dana@example.org", "Dana Duty", "signpost-duty-team").await;
        let mut b = Browser::new(&app);
        // The first time: set up the app.
        let res = b.sign_in("dana@example.org", PASSWORD).await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(res.location(), "/console/sign-in/enrol");
        assert!(
            !b.cookies.contains_key("signpost_session"),
            "no session before the second step"
        );
        let challenge = b
            .set_cookies
            .iter()
            .find(|c| c.starts_with("signpost_challenge="))
            .expect("a challenge cookie")
            .clone();
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=600"] {
            assert!(challenge.contains(flag), "{challenge}");
        }
        // Without the second step, the inbox is not open.
        assert_eq!(b.get("/console/inbox").await.status, 303);
        let enrol = b.get("/console/sign-in/enrol").await;
        assert_eq!(enrol.status, 200);
        assert_html_page(&enrol, "enrol");
        assert!(enrol.body.contains("<svg"), "the QR code is drawn inline");
        let secret = enrol.by_id("secret");
        assert!(secret.len() >= 16, "{secret}");
        let csrf = enrol.csrf();
        let code = totp_code(&app, &secret);
        let res = b
            .post(
                "/console/sign-in/enrol",
                &[("csrf", &csrf), ("code", &wrong(&code))],
            )
            .await;
        assert_eq!(res.status, 401);
        assert!(res.body.contains("id=\"code-error\""));
        assert!(!b.cookies.contains_key("signpost_session"));
        let res = b
            .post(
                "/console/sign-in/enrol",
                &[("csrf", &csrf), ("code", &code)],
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_html_page(&res, "recovery codes");
        let list_at = res.body.find("id=\"recovery-codes\"").unwrap();
        let list = &res.body[list_at..res.body[list_at..].find("</ul>").unwrap() + list_at];
        let codes: Vec<String> = list
            .split("<code>")
            .skip(1)
            .map(|c| c[..c.find("</code>").unwrap()].to_string())
            .collect();
        assert_eq!(codes.len(), 10);
        assert!(b.cookies.contains_key("signpost_session"));
        assert!(
            !b.cookies.contains_key("signpost_challenge"),
            "the step is over"
        );
        assert_eq!(b.get("/console/inbox").await.status, 200);
        let csrf = b.get("/console/inbox").await.csrf();
        assert_eq!(
            b.post("/console/sign-out", &[("csrf", &csrf)]).await.status,
            303
        );

        // Next time: a code from the app (a used step is refused; the next one works).
        let res = b.sign_in("dana@example.org", PASSWORD).await;
        assert_eq!(res.location(), "/console/sign-in/code");
        let form = b.get("/console/sign-in/code").await;
        assert_eq!(form.status, 200);
        assert_html_page(&form, "code");
        assert!(form.body.contains("name=\"code\""));
        let csrf = form.csrf();
        let res = b
            .post("/console/sign-in/code", &[("csrf", &csrf), ("code", &code)])
            .await;
        assert_eq!(res.status, 401, "the step already used");
        assert!(res.body.contains("id=\"code-error\""));
        app.clock.advance(Duration::seconds(30));
        let code = totp_code(&app, &secret);
        let res = b
            .post("/console/sign-in/code", &[("csrf", &csrf), ("code", &code)])
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(res.location(), "/console/inbox");
        assert_eq!(b.get("/console/inbox").await.status, 200);
        // The challenge is single use.
        let res = b
            .post("/console/sign-in/code", &[("csrf", &csrf), ("code", &code)])
            .await;
        assert_eq!(res.status, 400);

        // A recovery code works once.
        let mut other = Browser::new(&app);
        assert_eq!(
            other.sign_in("dana@example.org", PASSWORD).await.location(),
            "/console/sign-in/code"
        );
        let csrf = other.get("/console/sign-in/code").await.csrf();
        let res = other
            .post(
                "/console/sign-in/code",
                &[("csrf", &csrf), ("code", &codes[0])],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        let mut third = Browser::new(&app);
        third.sign_in("dana@example.org", PASSWORD).await;
        let csrf = third.get("/console/sign-in/code").await.csrf();
        let res = third
            .post(
                "/console/sign-in/code",
                &[("csrf", &csrf), ("code", &codes[0])],
            )
            .await;
        assert_eq!(res.status, 401);
    })
    .await;
}

#[tokio::test]
async fn the_inbox_pages_and_keeps_its_filters() {
    with_console(
        &[("SIGNPOST_REFERRALS_PER_CLIENT_HOUR", "100")],
        |app| async move {
            add_worker(&app, "dana@example.org", "Dana Duty", "signpost-duty-team").await;
            for i in 0..27 {
                refer(
                    &app,
                    json!({"needs": ["activities"], "message": format!("Is there boxing? {i}")}),
                )
                .await;
                app.clock.advance(Duration::seconds(1));
            }
            let mut b = Browser::signed_in(&app, "dana@example.org").await;
            let first = b.get("/console/inbox?urgency=routine").await;
            assert_eq!(first.status, 200);
            assert!(
                first
                    .body
                    .contains("27 referrals match these filters · page 1 of 2"),
                "{}",
                first.body
            );
            assert_eq!(first.body.matches("class=\"case\"").count(), 25);
            let at = first.body.find("id=\"page-next\"").expect("a next link");
            assert!(
                first.body.contains(
                    "id=\"page-next\" href=\"/console/inbox?urgency=routine&#38;page=2\""
                ),
                "{}",
                &first.body[at..at + 80]
            );
            assert!(!first.body.contains("id=\"page-prev\""));
            let second = b.get("/console/inbox?urgency=routine&page=2").await;
            assert_eq!(second.body.matches("class=\"case\"").count(), 2);
            assert!(
                second
                    .body
                    .contains("id=\"page-prev\" href=\"/console/inbox?urgency=routine\"")
            );
            // The background refresh keeps the same filters and page.
            assert!(
                second
                    .body
                    .contains("data-refresh=\"/console/inbox/rows?urgency=routine&#38;page=2\"")
            );
            let rows = b.get("/console/inbox/rows?urgency=routine&page=2").await;
            assert_eq!(rows.body.matches("class=\"case\"").count(), 2);
            assert_eq!(b.get("/console/inbox?page=0").await.status, 400);
        },
    )
    .await;
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_with_the_login_limiter() {
    with_console(&[("SIGNPOST_LOGIN_FAILURES", "2")], |app| async move {
        add_worker(&app, "dana@example.org", "Dana Duty", "signpost-duty-team").await;
        let mut b = Browser::new(&app);
        for _ in 0..2 {
            assert_eq!(
                b.sign_in("dana@example.org", "not the password")
                    .await
                    .status,
                401
            );
        }
        // Over the limit even the right password waits, on a plain page.
        let res = b.sign_in("dana@example.org", PASSWORD).await;
        assert_eq!(res.status, 429);
        assert_html_page(&res, "too many");
        assert!(res.body.contains("Wait 15 minutes"));
        assert_eq!(app.count("SELECT COUNT(*) FROM worker_sessions").await, 0);
    })
    .await;
}

/// Text as askama escapes it in a page.
fn escaped(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

#[tokio::test]
async fn reports_of_wrong_listings_are_seen_and_resolved_by_coordinators_and_admins() {
    with_console(&[], |app| async move {
        // A service of any organisation but Safer London, reported through the app.
        let services = app.get_json("/v1/services?per_page=100&sort=name").await;
        let service = services["contents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["organisation"]["slug"] != "safer-london")
            .expect("a service outside Safer London")
            .clone();
        let service_id = service["id"].as_str().unwrap();
        let org = service["organisation"]["slug"].as_str().unwrap();
        let details = "The <b>hall</b> is boarded up & the number's \"dead\"";
        let res = app
            .client
            .post(format!("{}/v1/services/{service_id}/reports", app.url))
            .json(&json!({"reason": "wrong_times", "details": details}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
        add_worker_as(&app, "ada@example.org", "Ada Admin", "signpost-duty-team", "admin").await;
        add_worker_as(&app, "cora@example.org", "Cora Own", org, "coordinator").await;
        add_worker_as(&app, "sol@example.org", "Sol London", "safer-london", "coordinator").await;
        add_worker(&app, "wes@example.org", "Wes Worker", org).await;

        // The admin sees it, with the reason in plain words and the details escaped.
        let mut ada = Browser::signed_in(&app, "ada@example.org").await;
        let inbox = ada.get("/console/inbox").await;
        assert!(inbox.body.contains("id=\"nav-reports\" href=\"/console/reports\""));
        let page = ada.get("/console/reports").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_html_page(&page, "reports");
        assert_eq!(page.by_id("reports-count"), "1 report not dealt with yet");
        let at = page.body.find("id=\"report-").expect("a report") + "id=\"report-".len();
        let rid = page.body[at..at + 36].to_string();
        assert!(page.body.contains(&escaped(service["name"].as_str().unwrap())));
        assert!(page.body.contains("Wrong opening times"));
        assert!(page.body.contains(&escaped(details)), "{}", page.body);
        assert!(!page.body.contains("<b>hall</b>"), "the details are escaped");
        assert!(page.body.contains(&format!("action=\"/console/reports/{rid}/resolve\"")), "{}", page.body);
        // A coordinator of the service's organisation sees it too.
        let mut cora = Browser::signed_in(&app, "cora@example.org").await;
        let theirs = cora.get("/console/reports").await;
        assert_eq!(theirs.status, 200);
        assert!(theirs.body.contains(&format!("id=\"report-{rid}\"")));

        // A coordinator of another organisation sees none of it, and cannot resolve it.
        let mut sol = Browser::signed_in(&app, "sol@example.org").await;
        let other = sol.get("/console/reports").await;
        assert_eq!(other.status, 200);
        assert_eq!(other.by_id("reports-count"), "0 reports not dealt with yet");
        assert!(other.body.contains("id=\"reports-empty\""));
        assert!(!other.body.contains(&rid) && !other.body.contains("boarded"));
        let csrf = other.csrf();
        let res = sol.post(&format!("/console/reports/{rid}/resolve"), &[("csrf", &csrf)]).await;
        assert_eq!(res.status, 404);
        assert_html_page(&res, "another organisation's report");

        // A youth worker has no link, cannot open the page, and cannot resolve.
        let mut wes = Browser::signed_in(&app, "wes@example.org").await;
        let inbox = wes.get("/console/inbox").await;
        assert!(!inbox.body.contains("nav-reports"));
        let refused = wes.get("/console/reports").await;
        assert_eq!(refused.status, 403);
        assert_html_page(&refused, "reports for a worker");
        assert_eq!(refused.by_id("error-heading"), "Only coordinators and admins see reports");
        assert!(!refused.body.contains("boarded"));
        let csrf = inbox.csrf();
        let res = wes.post(&format!("/console/reports/{rid}/resolve"), &[("csrf", &csrf)]).await;
        assert_eq!(res.status, 403);
        let open = "SELECT COUNT(*) FROM service_reports WHERE state = 'open' AND resolved_at IS NULL";
        assert_eq!(app.count(open).await, 1);

        // Without a valid token, or from another site, resolving is refused and changes nothing.
        let resolve = format!("/console/reports/{rid}/resolve");
        let csrf = page.csrf();
        for (what, form, origin) in [
            ("no token", vec![], Some(app.url.as_str())),
            ("wrong token", vec![("csrf", "0".repeat(64))], Some(app.url.as_str())),
            ("foreign origin", vec![("csrf", csrf.clone())], Some("http://evil.example")),
        ] {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let res = ada.post_from(&resolve, &pairs, origin).await;
            assert_eq!(res.status, 403, "{what}");
            assert_html_page(&res, what);
            assert!(res.body.contains("This form could not be accepted"), "{what}");
        }
        assert_eq!(app.count(open).await, 1);

        // Opening the form's address leads back; an unknown id is the 404 page.
        let res = ada.get(&resolve).await;
        assert_eq!((res.status, res.location()), (303, "/console/reports"));
        let unknown = format!("/console/reports/{}/resolve", uuid::Uuid::now_v7());
        assert_eq!(ada.post(&unknown, &[("csrf", &csrf)]).await.status, 404);
        assert_eq!(ada.post("/console/reports/nope/resolve", &[("csrf", &csrf)]).await.status, 404);
        assert_eq!(ada.get("/console/reports?state=maybe").await.status, 400);
        assert_eq!(ada.get("/console/reports?page=0").await.status, 400);

        // With the token: dealt with, gone from the open list, kept under the resolved.
        let res = ada.post(&resolve, &[("csrf", &csrf)]).await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(res.location(), "/console/reports");
        let after = ada.get("/console/reports").await;
        assert!(!after.body.contains(&rid));
        assert!(after.body.contains("id=\"reports-empty\""));
        assert_eq!(app.count(open).await, 0);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM service_reports WHERE state = 'resolved' AND resolved_at IS NOT NULL AND resolved_by IS NOT NULL"
            )
            .await,
            1
        );
        let resolved = ada.get("/console/reports?state=resolved").await;
        assert_eq!(resolved.status, 200);
        assert_html_page(&resolved, "resolved reports");
        assert!(resolved.body.contains(&format!("id=\"report-{rid}\"")));
        assert!(!resolved.body.contains("/resolve\""), "no button on a resolved report");
    })
    .await;
}
