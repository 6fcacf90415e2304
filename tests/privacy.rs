//! The privacy promise at `/v1/privacy`: plain words, and every number in it the one the
//! running code uses.
mod common;

use common::{ContentDir, TestApp, on_each_backend};
use signpost::referrals::service::{ROUTINE_RESPONSE_HOURS, URGENT_RESPONSE_HOURS};

/// Every run of digits in `text`.
fn numbers(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn the_promise_says_the_numbers_this_instance_uses_and_when_we_would_share() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn_with(&db, ContentDir::shipped_with(&[]), |name| match name {
            "SIGNPOST_RETENTION_DAYS" => Some("37".into()),
            "SIGNPOST_ESCALATE_URGENT_MINUTES" => Some("23".into()),
            _ => None,
        })
        .await;
        let page = app.get_json("/v1/privacy").await;
        let md = page["body_markdown"].as_str().unwrap();
        let html = page["body_html"].as_str().unwrap();
        assert!(md.contains("37 days"), "{md}");
        assert!(html.contains("37 days"), "{html}");
        assert!(md.contains("23 minutes"), "{md}");
        assert!(
            md.contains(&format!("{URGENT_RESPONSE_HOURS} hours")),
            "{md}"
        );
        assert!(
            md.contains(&format!("{ROUTINE_RESPONSE_HOURS} hours")),
            "{md}"
        );
        // No other number: not the default 90 days, not a stale 15 minutes.
        let allowed = [
            "37".to_string(),
            "23".to_string(),
            URGENT_RESPONSE_HOURS.to_string(),
            ROUTINE_RESPONSE_HOURS.to_string(),
            "999".to_string(),
        ];
        for n in numbers(md) {
            assert!(allowed.contains(&n), "stray number {n} in the privacy page");
        }
        assert!(
            !md.contains('{') && !md.contains('}'),
            "placeholders filled: {md}"
        );
        // The same page the offline bundle gets.
        let direct =
            signpost::content::privacy_for(&app.state.catalogue.load(), &app.state.settings)
                .unwrap();
        assert_eq!(direct.body_markdown, md);
        assert_eq!(direct.body_html, html);

        let text = md.to_lowercase();
        for said in [
            // When a youth worker would have to share, and with whom.
            "your life is in danger",
            "seriously harmed",
            "seriously harming someone",
            "police",
            "children's social care",
            "ambulance",
            "not** told just because you asked for help",
            "nobody is told automatically",
            "talk to you about it first",
            // Contact details end full anonymity towards that team.
            "phone number or an email",
            "no longer fully anonymous",
            // A transfer is told in the thread.
            "moved to another team",
            "told in your conversation",
            // Who runs it and how to complain, including to the ICO.
            "signpost duty team",
            "complain",
            "information commissioner's office (ico)",
            "data protection",
            "ico.org.uk",
            // What was there before stays.
            "receipt",
            "ip address",
            "first name",
            "withdraw",
            "999",
        ] {
            assert!(text.contains(said), "the page says {said:?}");
        }
        assert!(html.contains("href=\"https://ico.org.uk\""), "{html}");
    })
    .await;
}

#[tokio::test]
async fn an_unknown_placeholder_is_reported_and_the_last_good_page_stays() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn(&db, ContentDir::shipped_with(&[])).await;
        let before = app.get_json("/v1/privacy").await;
        let path = app.content.path().join("privacy.md");
        let good = std::fs::read_to_string(&path).unwrap();
        let broken = good.replacen("{retention_days}", "{retention_weeks}", 1);
        std::fs::write(&path, &broken).unwrap();
        let report = app.resync().await;
        let e = report
            .errors
            .iter()
            .find(|e| e.file == "privacy.md")
            .expect("an error for privacy.md");
        assert_eq!(e.field, "{retention_weeks}");
        assert_eq!(
            e.line,
            broken
                .lines()
                .position(|l| l.contains("{retention_weeks}"))
                .unwrap()
                + 1
        );
        assert_eq!(app.get_json("/v1/privacy").await, before);
        std::fs::write(&path, &good).unwrap();
        let report = app.resync().await;
        assert!(
            report.errors.iter().all(|e| e.file != "privacy.md"),
            "{:?}",
            report.errors
        );
        // With the default settings: 90 days.
        let page = app.get_json("/v1/privacy").await;
        assert!(
            page["body_markdown"]
                .as_str()
                .unwrap()
                .contains(&format!("{} days", app.state.settings.retention_days))
        );
    })
    .await;
}
