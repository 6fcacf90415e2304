//! The coordinator's team page over HTTP (caseloads, unclaimed urgent, overdue routine,
//! giving a referral to someone) and moving a referral to another team from the console,
//! on SQLite and PostgreSQL.
mod common;

use chrono::Duration;
use common::TestApp;
use common::console::*;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use signpost::entities::{organisation, referral};
use uuid::Uuid;

const DUTY: &str = "signpost-duty-team";

async fn worker_id(app: &TestApp, email: &str) -> Uuid {
    signpost::workers::accounts::find_by_email(app.db(), email)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn referral_by_reference(app: &TestApp, reference: &str) -> referral::Model {
    referral::Entity::find()
        .filter(referral::Column::Reference.eq(reference))
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

async fn organisation_id(app: &TestApp, slug: &str) -> Uuid {
    organisation::Entity::find()
        .filter(organisation::Column::Slug.eq(slug))
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn team(app: &TestApp) {
    add_worker_as(app, "cora@example.org", "Cora Lead", DUTY, "coordinator").await;
    add_worker_as(app, "dana@example.org", "Dana Duty", DUTY, "worker").await;
    add_worker_as(app, "eli@example.org", "Eli Evans", DUTY, "worker").await;
    add_worker_as(
        app,
        "sol@example.org",
        "Sol London",
        "safer-london",
        "worker",
    )
    .await;
}

#[tokio::test]
async fn the_team_page_shows_caseloads_and_what_waits_and_gives_a_referral_to_someone() {
    with_console(&[], |app| async move {
        team(&app).await;
        let urgent = refer(
            &app,
            json!({"needs": ["activities"], "message": "scared to go home", "in_danger_now": true}),
        )
        .await;
        let urgent_ref = urgent["reference"].as_str().unwrap().to_string();
        for _ in 0..2 {
            refer(&app, json!({"needs": ["activities"], "message": "any football near me?"})).await;
        }
        // Two days on: the routine ones are past the 48 hours they were promised.
        app.clock.advance(Duration::hours(49));

        let mut cora = Browser::signed_in(&app, "cora@example.org").await;
        let page = cora.get("/console/team").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_html_page(&page, "team page");
        assert!(page.body.contains("id=\"nav-team\""));
        assert!(page.body.contains("Urgent, and nobody has taken them (1)"), "{}", page.body);
        assert!(page.body.contains("Routine, and past the answer we promised (2)"));
        assert!(page.body.contains(&urgent_ref));
        // Nobody holds anything yet: every caseload is 0.
        assert!(page.body.contains("<th scope=\"row\">Dana Duty</th><td>Youth worker</td><td class=\"num\">0</td>"));

        // Give the urgent one to Dana.
        let r = referral_by_reference(&app, &urgent_ref).await;
        let dana = worker_id(&app, "dana@example.org").await;
        let csrf = page.csrf();
        let res = cora
            .post(
                "/console/team/claim",
                &[("csrf", &csrf), ("referral_id", &r.id.to_string()), ("worker_id", &dana.to_string())],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(res.location(), "/console/team");
        let r = referral_by_reference(&app, &urgent_ref).await;
        assert_eq!(r.claimed_by, Some(dana));
        assert_eq!(r.status, "claimed");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referral_events WHERE kind = 'claimed_for'").await,
            1
        );
        let page = cora.get("/console/team").await;
        assert!(page.body.contains("Urgent, and nobody has taken them (0)"));
        // Dana now holds one, and it is overdue (urgent: 2 hours, long gone).
        assert!(
            page.body.contains("<th scope=\"row\">Dana Duty</th><td>Youth worker</td><td class=\"num\">1</td><td class=\"num\"><strong class=\"clock clock-overdue\">1</strong>"),
            "{}",
            page.body
        );
        // The referral's timeline says who gave it to whom.
        let detail = cora.get(&format!("/console/referrals/{}", r.id)).await;
        assert!(detail.body.contains("Given to Dana Duty by their coordinator"));

        // Giving it again (someone holds it now) is refused and changes nothing.
        let eli = worker_id(&app, "eli@example.org").await;
        let res = cora
            .post(
                "/console/team/claim",
                &[("csrf", &csrf), ("referral_id", &r.id.to_string()), ("worker_id", &eli.to_string())],
            )
            .await;
        assert_eq!(res.status, 409, "{}", res.body);
        assert_eq!(referral_by_reference(&app, &urgent_ref).await.claimed_by, Some(dana));

        // Someone from another team cannot be given it.
        let others = refer(&app, json!({"needs": ["activities"], "message": "help pls"})).await;
        let other_ref = others["reference"].as_str().unwrap();
        let o = referral_by_reference(&app, other_ref).await;
        let sol = worker_id(&app, "sol@example.org").await;
        let res = cora
            .post(
                "/console/team/claim",
                &[("csrf", &csrf), ("referral_id", &o.id.to_string()), ("worker_id", &sol.to_string())],
            )
            .await;
        assert_eq!(res.status, 422, "{}", res.body);
        assert!(res.body.contains("Worker id"), "names the field: {}", res.body);
        assert_eq!(referral_by_reference(&app, other_ref).await.claimed_by, None);

        // Without its token, nothing happens.
        let res = cora
            .post(
                "/console/team/claim",
                &[("referral_id", &o.id.to_string()), ("worker_id", &eli.to_string())],
            )
            .await;
        assert_eq!(res.status, 403);
        assert_eq!(referral_by_reference(&app, other_ref).await.claimed_by, None);
    })
    .await;
}

#[tokio::test]
async fn a_youth_worker_never_sees_the_team_pages() {
    with_console(&[], |app| async move {
        team(&app).await;
        let created = refer(&app, json!({"needs": ["activities"], "message": "hi"})).await;
        let r = referral_by_reference(&app, created["reference"].as_str().unwrap()).await;
        let mut dana = Browser::signed_in(&app, "dana@example.org").await;
        let inbox = dana.get("/console/inbox").await;
        assert!(
            !inbox.body.contains("nav-team"),
            "no link to the team pages"
        );
        assert!(inbox.body.contains("id=\"nav-account\""));
        for path in [
            "/console/team",
            "/console/team/accounts",
            "/console/team/webhooks",
            "/console/team/notifications",
        ] {
            let res = dana.get(path).await;
            assert_eq!(res.status, 403, "{path}: {}", res.body);
            assert_html_page(&res, path);
        }
        let detail = dana.get(&format!("/console/referrals/{}", r.id)).await;
        assert!(!detail.body.contains("transfer-link"));
        assert_eq!(
            dana.get(&format!("/console/referrals/{}/transfer", r.id))
                .await
                .status,
            403
        );
        let csrf = inbox.csrf();
        let me = worker_id(&app, "dana@example.org").await;
        let res = dana
            .post(
                "/console/team/claim",
                &[
                    ("csrf", &csrf),
                    ("referral_id", &r.id.to_string()),
                    ("worker_id", &me.to_string()),
                ],
            )
            .await;
        assert_eq!(res.status, 403);
        let duty = organisation_id(&app, DUTY).await;
        let london = organisation_id(&app, "safer-london").await;
        let res = dana
            .post(
                &format!("/console/referrals/{}/transfer", r.id),
                &[
                    ("csrf", &csrf),
                    ("organisation_id", &london.to_string()),
                    ("reason", "x"),
                ],
            )
            .await;
        assert_eq!(res.status, 403);
        let r = referral_by_reference(&app, &r.reference).await;
        assert_eq!(r.claimed_by, None);
        assert_eq!(r.organisation_id, duty);
    })
    .await;
}

#[tokio::test]
async fn a_coordinator_moves_a_referral_to_another_team_with_a_reason() {
    with_console(&[], |app| async move {
        team(&app).await;
        let created = refer(
            &app,
            json!({"needs": ["activities"], "message": "someone is following me"}),
        )
        .await;
        let reference = created["reference"].as_str().unwrap().to_string();
        let r = referral_by_reference(&app, &reference).await;
        let duty = organisation_id(&app, DUTY).await;
        let london = organisation_id(&app, "safer-london").await;

        let mut cora = Browser::signed_in(&app, "cora@example.org").await;
        let detail = cora.get(&format!("/console/referrals/{}", r.id)).await;
        assert!(detail.body.contains("id=\"transfer-link\""));
        let form = cora
            .get(&format!("/console/referrals/{}/transfer", r.id))
            .await;
        assert_eq!(form.status, 200, "{}", form.body);
        assert_html_page(&form, "transfer page");
        // Only teams with accounts are offered; never this one.
        assert!(form.body.contains("Safer London"));
        assert!(!form.body.contains(&format!("value=\"{duty}\"")));
        let csrf = form.csrf();
        let path = format!("/console/referrals/{}/transfer", r.id);

        // No reason: refused, nothing moves.
        let res = cora
            .post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("organisation_id", &london.to_string()),
                    ("reason", "  "),
                ],
            )
            .await;
        assert_eq!(res.status, 422);
        assert!(res.body.contains("Say why it is moving"));
        // No team chosen.
        let res = cora
            .post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("organisation_id", ""),
                    ("reason", "They work with exploitation"),
                ],
            )
            .await;
        assert_eq!(res.status, 422);
        // Without the token.
        let res = cora
            .post(
                &path,
                &[
                    ("organisation_id", &london.to_string()),
                    ("reason", "They work with exploitation"),
                ],
            )
            .await;
        assert_eq!(res.status, 403);
        assert_eq!(
            referral_by_reference(&app, &reference)
                .await
                .organisation_id,
            duty
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM referral_messages").await, 0);

        let res = cora
            .post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("organisation_id", &london.to_string()),
                    ("reason", "They work with exploitation"),
                ],
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_html_page(&res, "moved page");
        assert!(res.body.contains("has moved to Safer London"));
        let moved = referral_by_reference(&app, &reference).await;
        assert_eq!(moved.organisation_id, london);
        assert_eq!(moved.claimed_by, None);
        // The reason is a private note; the young person is told in their thread.
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referral_messages WHERE sender = 'worker_note'")
                .await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referral_messages WHERE sender = 'signpost'")
                .await,
            1
        );
        // Gone from this team (the same 404 as an unknown id), there for the new one.
        assert_eq!(
            cora.get(&format!("/console/referrals/{}", r.id))
                .await
                .status,
            404
        );
        assert_eq!(cora.get(&path).await.status, 404);
        let mut sol = Browser::signed_in(&app, "sol@example.org").await;
        let theirs = sol.get(&format!("/console/referrals/{}", r.id)).await;
        assert_eq!(theirs.status, 200);
        assert!(theirs.body.contains("They work with exploitation"));
    })
    .await;
}
