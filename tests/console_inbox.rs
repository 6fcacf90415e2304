//! The console inbox over HTTP, on SQLite and PostgreSQL: the "New message" mark (per
//! worker, cleared when that worker opens the referral), the need and "waiting for us"
//! filters, find by reference, and bad filter values.
mod common;

use chrono::Duration;
use common::TestApp;
use common::console::*;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

/// The young person writes on their thread.
async fn young_person_writes(app: &TestApp, receipt: &str, body: &str) {
    let res = app
        .client
        .post(format!("{}/v1/referrals/self/messages", app.url))
        .bearer_auth(receipt)
        .json(&json!({ "body": body }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

/// The referral's id, as stored.
async fn id_of(app: &TestApp, r: &Value) -> String {
    let reference = r["reference"].as_str().unwrap();
    let found = signpost::entities::referral::Entity::find()
        .filter(signpost::entities::referral::Column::Reference.eq(reference))
        .one(app.db())
        .await
        .unwrap()
        .expect("stored");
    found.id.to_string()
}

fn marked(page: &Page, id: &str) -> bool {
    page.body.contains(&format!("id=\"unread-{id}\""))
}

#[tokio::test]
async fn a_new_message_is_marked_for_each_worker_until_they_open_it() {
    with_console(&[], |app| async move {
        add_worker(&app, "dana@example.org", "Dana Duty", "signpost-duty-team").await;
        add_worker(&app, "dev@example.org", "Dev Second", "signpost-duty-team").await;
        let r1 = refer(
            &app,
            json!({"needs": ["activities"], "message": "Is there boxing?"}),
        )
        .await;
        let r2 = refer(
            &app,
            json!({"needs": ["other"], "message": "Where can I study?"}),
        )
        .await;
        let (id1, id2) = (id_of(&app, &r1).await, id_of(&app, &r2).await);
        let mut dana = Browser::signed_in(&app, "dana@example.org").await;
        let mut dev = Browser::signed_in(&app, "dev@example.org").await;

        // A new referral on its own is not a new message.
        let inbox = dana.get("/console/inbox").await;
        assert_eq!(inbox.status, 200);
        assert!(!inbox.body.contains("New message"), "{}", inbox.body);

        app.clock.advance(Duration::minutes(1));
        young_person_writes(&app, r1["receipt"].as_str().unwrap(), "are you there").await;
        app.clock.advance(Duration::minutes(1));
        let inbox = dana.get("/console/inbox").await;
        assert_html_page(&inbox, "inbox with a mark");
        assert!(marked(&inbox, &id1), "{}", inbox.body);
        assert_eq!(inbox.by_id(&format!("unread-{id1}")), "New message");
        assert!(!marked(&inbox, &id2));
        assert!(
            !inbox.body.contains("are you there"),
            "no message text in the list"
        );
        // The refresh shows it too.
        let rows = dana.get("/console/inbox/rows").await;
        assert!(marked(&rows, &id1));

        // Dana opens it: gone for her, still there for Dev.
        assert_eq!(
            dana.get(&format!("/console/referrals/{id1}")).await.status,
            200
        );
        app.clock.advance(Duration::minutes(1));
        let inbox = dana.get("/console/inbox").await;
        assert!(!marked(&inbox, &id1), "{}", inbox.body);
        assert!(!marked(&dana.get("/console/inbox/rows").await, &id1));
        let theirs = dev.get("/console/inbox").await;
        assert!(marked(&theirs, &id1), "{}", theirs.body);
        assert!(marked(&dev.get("/console/inbox/rows").await, &id1));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referral_views").await,
            1,
            "one worker has opened one referral"
        );

        // Opening it twice keeps one row; writing again marks it again.
        assert_eq!(
            dana.get(&format!("/console/referrals/{id1}")).await.status,
            200
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM referral_views").await, 1);
        app.clock.advance(Duration::minutes(1));
        young_person_writes(&app, r1["receipt"].as_str().unwrap(), "hello?").await;
        app.clock.advance(Duration::minutes(1));
        assert!(marked(&dana.get("/console/inbox").await, &id1));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referrals WHERE young_person_wrote_at IS NOT NULL")
                .await,
            1
        );
    })
    .await;
}

#[tokio::test]
async fn waiting_for_us_and_need_filters_keep_each_other() {
    with_console(&[], |app| async move {
        add_worker(&app, "dana@example.org", "Dana Duty", "signpost-duty-team").await;
        // r1: the young person wrote, nobody replied. r2: we replied last. r3: we replied,
        // then they wrote. r4: nobody has answered their request yet.
        let r1 = refer(&app, json!({"needs": ["activities"], "message": "one"})).await;
        let r2 = refer(&app, json!({"needs": ["other"], "message": "two"})).await;
        let r3 = refer(&app, json!({"needs": ["activities"], "message": "three"})).await;
        let r4 = refer(&app, json!({"needs": ["other"], "message": "four"})).await;
        let ids = [
            id_of(&app, &r1).await,
            id_of(&app, &r2).await,
            id_of(&app, &r3).await,
            id_of(&app, &r4).await,
        ];
        let mut b = Browser::signed_in(&app, "dana@example.org").await;
        app.clock.advance(Duration::minutes(1));
        young_person_writes(&app, r1["receipt"].as_str().unwrap(), "hi").await;
        young_person_writes(&app, r2["receipt"].as_str().unwrap(), "hi").await;
        app.clock.advance(Duration::minutes(1));
        let csrf = b.get("/console/inbox").await.csrf();
        for id in [&ids[1], &ids[2]] {
            let res = b
                .post(
                    &format!("/console/referrals/{id}/reply"),
                    &[("csrf", &csrf), ("body", "Hello, I'm Dana")],
                )
                .await;
            assert_eq!(res.status, 303, "{}", res.body);
        }
        // A private note is not a reply.
        let res = b
            .post(
                &format!("/console/referrals/{}/note", ids[0]),
                &[("csrf", &csrf), ("body", "Rang the school")],
            )
            .await;
        assert_eq!(res.status, 303);
        app.clock.advance(Duration::minutes(1));
        young_person_writes(&app, r3["receipt"].as_str().unwrap(), "thanks, when?").await;
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referrals WHERE last_message_from = 'young_person'")
                .await,
            2
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referrals WHERE last_message_from = 'youth_worker'")
                .await,
            1
        );

        let listed = |page: &Page| -> Vec<bool> {
            ids.iter()
                .map(|id| page.body.contains(&format!("id=\"referral-{id}\"")))
                .collect()
        };
        let page = b.get("/console/inbox?waiting=1").await;
        assert_eq!(page.status, 200);
        assert_eq!(listed(&page), [true, false, true, true], "{}", page.body);
        assert!(page.body.contains("3 referrals match these filters"));
        assert!(page.body.contains(
            "id=\"filter-waiting\" name=\"waiting\" type=\"checkbox\" value=\"1\" checked"
        ));

        // The need filter offers the needs by their plain names.
        assert!(
            page.body
                .contains("<option value=\"activities\">Things to do</option>"),
            "{}",
            page.body
        );
        let page = b.get("/console/inbox?need=activities").await;
        assert_eq!(listed(&page), [true, false, true, false]);
        assert!(
            page.body
                .contains("<option value=\"activities\" selected>Things to do</option>")
        );
        let page = b.get("/console/inbox?need=other&waiting=1").await;
        assert_eq!(listed(&page), [false, false, false, true], "{}", page.body);
        assert!(
            page.body.contains("1 referral matches these filters"),
            "{}",
            page.body
        );
        // The refresh and the find form keep both.
        assert!(
            page.body
                .contains("data-refresh=\"/console/inbox/rows?need=other&#38;waiting=1\""),
            "{}",
            page.body
        );
        assert!(
            page.body
                .contains("<input type=\"hidden\" name=\"need\" value=\"other\">")
        );
        assert!(
            page.body
                .contains("<input type=\"hidden\" name=\"waiting\" value=\"1\">")
        );
        let rows = b.get("/console/inbox/rows?need=other&waiting=1").await;
        assert_eq!(listed(&rows), [false, false, false, true]);
        // With the other filters too.
        let page = b
            .get("/console/inbox?need=activities&waiting=1&urgency=urgent")
            .await;
        assert_eq!(listed(&page), [false, false, false, false]);
        assert!(page.body.contains("No referral matches these filters."));

        // Closed is not waiting for anyone.
        let res = b
            .post(
                &format!("/console/referrals/{}/status", ids[0]),
                &[
                    ("csrf", &csrf),
                    ("status", "closed"),
                    ("outcome", "supported"),
                    ("note", ""),
                ],
            )
            .await;
        assert_eq!(res.status, 303);
        let page = b.get("/console/inbox?waiting=1").await;
        assert_eq!(listed(&page), [false, false, true, true]);
    })
    .await;
}

#[tokio::test]
async fn paging_keeps_the_need_and_waiting_filters() {
    with_console(&[("SIGNPOST_REFERRALS_PER_CLIENT_HOUR", "100")], |app| async move {
        add_worker(&app, "dana@example.org", "Dana Duty", "signpost-duty-team").await;
        for i in 0..26 {
            refer(&app, json!({"needs": ["activities"], "message": format!("boxing {i}")})).await;
            app.clock.advance(Duration::seconds(1));
        }
        refer(&app, json!({"needs": ["other"], "message": "something"})).await;
        let mut b = Browser::signed_in(&app, "dana@example.org").await;
        let first = b.get("/console/inbox?need=activities&waiting=1").await;
        assert!(first.body.contains("26 referrals match these filters · page 1 of 2"), "{}", first.body);
        assert!(first.body.contains("id=\"page-next\" href=\"/console/inbox?need=activities&#38;waiting=1&#38;page=2\""), "{}", first.body);
        let second = b.get("/console/inbox?need=activities&waiting=1&page=2").await;
        assert_eq!(second.body.matches("class=\"case\"").count(), 1);
    })
    .await;
}

/// The not-found answer with what was typed taken out.
fn without(page: &Page, typed: &str) -> String {
    page.body.replace(&escaped(typed), "TYPED")
}

fn escaped(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

#[tokio::test]
async fn find_by_reference_opens_our_own_and_nothing_else() {
    with_console(&[], |app| async move {
        add_worker(&app, "dana@example.org", "Dana Duty", "signpost-duty-team").await;
        add_worker(&app, "sol@example.org", "Sol London", "safer-london").await;
        let ours = refer(&app, json!({"needs": ["activities"], "message": "Is there boxing?"})).await;
        let theirs = refer(&app, json!({"needs": ["gang-exit"], "age": 16, "message": "I want out of it now"})).await;
        let (our_id, their_id) = (id_of(&app, &ours).await, id_of(&app, &theirs).await);
        assert_eq!(
            app.count(&format!("SELECT COUNT(*) FROM referrals WHERE reference = '{}' AND organisation_id = (SELECT organisation_id FROM workers WHERE email = 'sol@example.org')", theirs["reference"].as_str().unwrap())).await,
            1,
            "the second referral is Safer London's"
        );
        let mut b = Browser::signed_in(&app, "dana@example.org").await;
        let inbox = b.get("/console/inbox").await;
        assert!(inbox.body.contains("id=\"find-reference-form\""));
        assert!(inbox.body.contains("<label for=\"find-reference\">Find by reference</label>"));
        assert!(inbox.body.contains("id=\"find-reference\" name=\"reference\""));
        assert!(!inbox.body.contains("id=\"find-reference-error\""));

        // Typed any case, with spaces around it: straight to the referral.
        let typed = format!("  {}  ", ours["reference"].as_str().unwrap().to_lowercase());
        let q = form_urlencoded::Serializer::new(String::new()).append_pair("reference", &typed).finish();
        let res = b.get(&format!("/console/inbox?{q}")).await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(res.location(), format!("/console/referrals/{our_id}"));

        // Another team's reference is the same answer as an unknown one, and says nothing.
        let their_ref = theirs["reference"].as_str().unwrap();
        let other = b.get(&format!("/console/inbox?reference={their_ref}")).await;
        let unknown = b.get("/console/inbox?reference=SP-0000-0000").await;
        assert_eq!(other.status, 404);
        assert_eq!(unknown.status, 404);
        assert_html_page(&other, "another team's reference");
        assert!(other.body.contains("No referral in your inbox has that reference"));
        assert!(other.body.contains("id=\"find-reference-error\""));
        assert_eq!(without(&other, their_ref), without(&unknown, "SP-0000-0000"));
        assert!(!other.body.contains(&their_id));
        assert!(!other.body.contains("I want out"));
        // The inbox is still there beneath it, with our referral.
        assert!(other.body.contains(&format!("id=\"referral-{our_id}\"")));
        // Looking does not count as opening anything.
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referral_events WHERE kind = 'viewed'").await,
            0
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM referral_views").await, 0);

        // Nothing typed: say what to do.
        let empty = b.get("/console/inbox?reference=+").await;
        assert_eq!(empty.status, 422);
        assert!(empty.body.contains("Enter the reference of the referral you are looking for"));
        // The filters in force stay with the answer.
        let kept = b.get("/console/inbox?status=assigned&need=activities&reference=SP-0000-0000").await;
        assert_eq!(kept.status, 404);
        assert!(kept.body.contains("<input type=\"hidden\" name=\"status\" value=\"assigned\">"));
        assert!(kept.body.contains("<option value=\"activities\" selected>"));

        // Sol finds his own, and not Dana's.
        let mut sol = Browser::signed_in(&app, "sol@example.org").await;
        let res = sol.get(&format!("/console/inbox?reference={their_ref}")).await;
        assert_eq!(res.status, 303);
        assert_eq!(res.location(), format!("/console/referrals/{their_id}"));
        let res = sol.get(&format!("/console/inbox?reference={}", ours["reference"].as_str().unwrap())).await;
        assert_eq!(res.status, 404);
    })
    .await;
}

#[tokio::test]
async fn bad_filter_values_are_a_clear_400_naming_the_filter() {
    with_console(&[], |app| async move {
        add_worker(&app, "dana@example.org", "Dana Duty", "signpost-duty-team").await;
        let mut b = Browser::signed_in(&app, "dana@example.org").await;
        for (query, field) in [
            ("need=nonsense", "need"),
            ("need=activities%25", "need"),
            ("waiting=maybe", "waiting"),
            ("mine=yes", "mine"),
            ("status=lost", "status"),
            ("urgency=soon", "urgency"),
            ("page=0", "page"),
        ] {
            for path in ["/console/inbox", "/console/inbox/rows"] {
                let page = b.get(&format!("{path}?{query}")).await;
                assert_eq!(page.status, 400, "{path}?{query}");
                assert_html_page(&page, query);
                assert_eq!(
                    page.by_id("error-heading"),
                    "That filter is not one the inbox knows"
                );
                assert!(
                    page.by_id("error-message").contains(&format!("({field})")),
                    "{}",
                    page.body
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn the_migration_fills_the_marks_in_from_the_thread_and_the_audit_trail() {
    use migration::MigratorTrait;
    with_console(&[], |app| async move {
        add_worker(&app, "dana@example.org", "Dana Duty", "signpost-duty-team").await;
        add_worker(&app, "dev@example.org", "Dev Second", "signpost-duty-team").await;
        let r1 = refer(&app, json!({"needs": ["activities"], "message": "one"})).await;
        let r2 = refer(&app, json!({"needs": ["other"], "message": "two"})).await;
        let r3 = refer(&app, json!({"needs": ["other"], "message": "three"})).await;
        let ids = [
            id_of(&app, &r1).await,
            id_of(&app, &r2).await,
            id_of(&app, &r3).await,
        ];
        let mut dana = Browser::signed_in(&app, "dana@example.org").await;
        let mut dev = Browser::signed_in(&app, "dev@example.org").await;
        app.clock.advance(Duration::minutes(1));
        young_person_writes(&app, r1["receipt"].as_str().unwrap(), "hi").await;
        young_person_writes(&app, r2["receipt"].as_str().unwrap(), "hi").await;
        app.clock.advance(Duration::minutes(1));
        assert_eq!(dana.get(&format!("/console/referrals/{}", ids[0])).await.status, 200);
        let csrf = dana.get("/console/inbox").await.csrf();
        let res = dana
            .post(
                &format!("/console/referrals/{}/reply", ids[1]),
                &[("csrf", &csrf), ("body", "Hello")],
            )
            .await;
        assert_eq!(res.status, 303);
        app.clock.advance(Duration::minutes(1));
        let before = (
            dana.get("/console/inbox?waiting=1").await.body,
            dev.get("/console/inbox").await.body,
            dana.get("/console/inbox").await.body,
        );
        assert!(before.1.contains(&format!("id=\"unread-{}\"", ids[0])));
        assert!(!before.2.contains(&format!("id=\"unread-{}\"", ids[0])));

        // Undo migration 000010 (and the indexes after it) and run it again over the stored
        // thread and audit trail.
        migration::Migrator::down(app.db(), Some(3)).await.unwrap();
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referral_events WHERE kind = 'viewed'").await,
            1
        );
        migration::Migrator::up(app.db(), None).await.unwrap();
        assert_eq!(app.count("SELECT COUNT(*) FROM referral_views").await, 1);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM referrals WHERE last_message_from = 'young_person' AND young_person_wrote_at = last_message_at")
                .await,
            1
        );
        let after = (
            dana.get("/console/inbox?waiting=1").await.body,
            dev.get("/console/inbox").await.body,
            dana.get("/console/inbox").await.body,
        );
        assert_eq!(before, after, "the same marks and filters as before");
    })
    .await;
}

/// Opening a referral is recorded once a visit: the page shown again after a reply adds
/// no "Opened" line and no write, yet a message from the young person in between is
/// still marked and cleared exactly.
#[tokio::test]
async fn opening_again_in_the_same_visit_is_not_recorded_twice_but_new_messages_still_count() {
    with_console(&[], |app| async move {
        add_worker(&app, "dana@example.org", "Dana Duty", "signpost-duty-team").await;
        let r = refer(&app, json!({"needs": ["activities"], "message": "boxing?"})).await;
        let id = id_of(&app, &r).await;
        let receipt = r["receipt"].as_str().unwrap().to_string();
        let viewed = || app.count("SELECT COUNT(*) FROM referral_events WHERE kind = 'viewed'");
        let mut dana = Browser::signed_in(&app, "dana@example.org").await;
        let path = format!("/console/referrals/{id}");
        assert_eq!(dana.get(&path).await.status, 200);
        app.clock.advance(Duration::minutes(2));
        assert_eq!(dana.get(&path).await.status, 200);
        assert_eq!(viewed().await, 1, "the same visit");

        // The young person writes: it is marked, and opening it now is recorded.
        app.clock.advance(Duration::minutes(1));
        young_person_writes(&app, &receipt, "is it free").await;
        app.clock.advance(Duration::minutes(1));
        assert!(marked(&dana.get("/console/inbox").await, &id));
        assert_eq!(dana.get(&path).await.status, 200);
        assert_eq!(viewed().await, 2);
        assert!(!marked(&dana.get("/console/inbox").await, &id));

        // After ten minutes it is a new visit.
        app.clock.advance(Duration::minutes(10));
        assert_eq!(dana.get(&path).await.status, 200);
        assert_eq!(viewed().await, 3);
    })
    .await;
}
