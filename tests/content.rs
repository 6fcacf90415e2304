//! Articles, help lines, safe places and the privacy page.
mod common;

use common::{ContentDir, TestApp, on_each_backend, with_app};
use serde_json::Value;

fn shipped_article_count() -> usize {
    std::fs::read_dir(common::shipped_content().join("articles"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "md")
        })
        .count()
}

#[tokio::test]
async fn articles_are_listed_filtered_and_served_in_full() {
    with_app(&[], |app| async move {
        let page = app.get_json("/v1/articles?per_page=100").await;
        let n = shipped_article_count();
        assert!(n >= 10);
        assert_eq!(page["total_items"], n);
        let items = page["contents"].as_array().unwrap();
        for a in items {
            for f in [
                "slug",
                "kind",
                "title",
                "summary",
                "body_markdown",
                "body_html",
                "audience",
                "tags",
                "published_at",
                "updated_at",
            ] {
                assert!(a.get(f).is_some(), "{f} in {}", a["slug"]);
            }
        }
        let lnya = app.get_json("/v1/articles/london-needs-you-alive").await;
        assert_eq!(lnya["kind"], "campaign");
        assert!(lnya["body_html"].as_str().unwrap().contains("<p>"));
        assert!(!lnya["body_html"].as_str().unwrap().contains("<script"));
        for (q, check) in [
            ("audience=schools", "audience"),
            ("kind=toolkit", "kind"),
            ("tag=knife-crime", "tags"),
        ] {
            let page = app
                .get_json(&format!("/v1/articles?{q}&per_page=100"))
                .await;
            let value = q.split('=').nth(1).unwrap();
            let list = page["contents"].as_array().unwrap();
            assert!(!list.is_empty(), "{q}");
            for a in list {
                let ok = match &a[check] {
                    Value::Array(v) => v.iter().any(|x| x == value),
                    v => v == value,
                };
                assert!(ok, "{q}: {}", a["slug"]);
            }
        }
        for (q, field) in [
            ("audience=aliens", "audience"),
            ("kind=poem", "kind"),
            ("tag=nothing-at-all", "tag"),
            ("per_page=500", "per_page"),
        ] {
            let p = app.get_problem(&format!("/v1/articles?{q}"), 422).await;
            assert_eq!(p["errors"][0]["field"], field, "{q}");
        }
        app.get_problem("/v1/articles/no-such-article", 404).await;
    })
    .await;
}

#[tokio::test]
async fn raw_html_in_an_article_is_neutralised_and_a_broken_file_keeps_its_last_good_version() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn(&db, ContentDir::shipped_with(&[])).await;
        let path = app.content.path().join("articles/test-raw.md");
        std::fs::write(&path, "+++\nslug = \"test-raw\"\nkind = \"guide\"\ntitle = \"Raw\"\nsummary = \"s\"\naudience = [\"young-people\"]\npublished = 2026-11-22\n+++\n\nHello <script>alert('x')</script> <img src=x onerror=\"alert(1)\"> and [link](javascript:alert(1)).\n\n<div onclick=\"steal()\">click</div>\n").unwrap();
        let report = app.resync().await;
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let a = app.get_json("/v1/articles/test-raw").await;
        let html = a["body_html"].as_str().unwrap();
        for bad in ["<script", "<img", "<div", "javascript:"] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
        // Every real tag left is a harmless one; the rest is escaped text.
        for tag in html.split('<').skip(1) {
            let name: String = tag.trim_start_matches('/').chars().take_while(char::is_ascii_alphanumeric).collect();
            assert!(["p", "a", "strong", "em", "code", "pre", "ul", "ol", "li", "h1", "h2", "h3", "blockquote", "br"].contains(&name.as_str()), "<{name} in {html}");
        }
        assert!(a["body_markdown"].as_str().unwrap().contains("<script>"), "the Markdown is served as written");
        // Break an existing article: the error names file, line and field; the old one stays.
        let lnya = app.content.path().join("articles/london-needs-you-alive.md");
        let good = std::fs::read_to_string(&lnya).unwrap();
        let before = app.get_json("/v1/articles/london-needs-you-alive").await;
        let broken = good.replacen("kind = \"campaign\"", "kind = \"rumour\"", 1);
        std::fs::write(&lnya, &broken).unwrap();
        let report = app.resync().await;
        let e = report.errors.iter().find(|e| e.file == "articles/london-needs-you-alive.md").expect("an error for the file");
        assert_eq!(e.field, "kind");
        assert_eq!(e.line, broken.lines().position(|l| l.starts_with("kind =")).unwrap() + 1);
        assert_eq!(app.get_json("/v1/articles/london-needs-you-alive").await, before);
        // Removing a file removes the article.
        std::fs::remove_file(&path).unwrap();
        app.resync().await;
        app.get_problem("/v1/articles/test-raw", 404).await;
    })
    .await;
}

#[tokio::test]
async fn help_lines_are_the_verified_ones_with_999_first() {
    with_app(&[], |app| async move {
        let help = app.get_json("/v1/help").await;
        let list = help.as_array().unwrap();
        assert_eq!(list[0]["phone"], "999");
        assert_eq!(list[0]["urgent"], true);
        let facts = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/FACTS.md"),
        )
        .unwrap();
        let verified = &facts[facts.find("## Help lines (verified)").unwrap()
            ..facts.find("⚠ Not verified").unwrap()];
        for line in list {
            for field in ["phone", "sms", "textphone"] {
                if let Some(n) = line[field].as_str() {
                    assert!(
                        verified.contains(n),
                        "{n} ({}) is not a verified number",
                        line["id"]
                    );
                }
            }
            assert!(line["when_to_use"].as_str().is_some_and(|s| !s.is_empty()));
        }
        for id in [
            "childline",
            "samaritans",
            "shout",
            "crimestoppers",
            "fearless",
        ] {
            assert!(list.iter().any(|l| l["id"] == id), "{id}");
        }
    })
    .await;
}

#[tokio::test]
async fn every_number_in_the_shipped_content_is_a_checked_fact() {
    let facts = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/FACTS.md"),
    )
    .unwrap();
    let mut checked = 0;
    let mut stack = vec![common::shipped_content()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("data") {
                    stack.push(path);
                }
                continue;
            }
            if !path.extension().is_some_and(|x| x == "md" || x == "toml")
                || path.ends_with("README.md")
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Runs of digits and single spaces holding five digits or more: phone numbers.
            let mut run = String::new();
            for c in text.chars().chain(std::iter::once('.')) {
                if c.is_ascii_digit()
                    || (c == ' ' && run.chars().last().is_some_and(|x| x.is_ascii_digit()))
                {
                    run.push(c);
                    continue;
                }
                let number = run.trim().to_string();
                if number.chars().filter(char::is_ascii_digit).count() >= 5 {
                    checked += 1;
                    assert!(
                        facts.contains(&number),
                        "{number} in {} is not in FACTS.md",
                        path.display()
                    );
                }
                run.clear();
            }
        }
    }
    assert!(checked >= 5, "the scan found the help numbers ({checked})");
}

#[tokio::test]
async fn safe_places_nearest_first() {
    with_app(&[], |app| async move {
        let all = app.get_json("/v1/safe-places").await;
        assert_eq!(all["total_items"], 4);
        let near = app
            .get_json("/v1/safe-places?near=SE5%209RS&radius_km=50")
            .await;
        let first = &near["contents"][0];
        assert!(
            first["name"]
                .as_str()
                .unwrap()
                .contains("King's College Hospital")
        );
        assert_eq!(first["distance_km"], 0.0);
        assert_eq!(first["borough"], "lambeth");
        let d: Vec<f64> = near["contents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["distance_km"].as_f64().unwrap())
            .collect();
        assert!(d.windows(2).all(|w| w[0] <= w[1]), "{d:?}");
        let close = app
            .get_json("/v1/safe-places?near=SE5%209RS&radius_km=1")
            .await;
        assert_eq!(close["total_items"], 1);
        for (q, field) in [
            ("lat=51.5", "lon"),
            ("near=SE5&radius_km=500", "radius_km"),
            ("near=nowhere", "near"),
            ("radius_km=2", "radius_km"),
        ] {
            let p = app.get_problem(&format!("/v1/safe-places?{q}"), 422).await;
            assert_eq!(p["errors"][0]["field"], field, "{q}");
        }
    })
    .await;
}

#[tokio::test]
async fn the_privacy_promise_matches_what_the_code_does() {
    with_app(&[], |app| async move {
        let p = app.get_json("/v1/privacy").await;
        let text = p["body_markdown"].as_str().unwrap().to_lowercase();
        let days = app.state.settings.retention_days;
        assert!(
            text.contains(&format!("{days} days")),
            "the retention period in the promise is the one the code uses"
        );
        for promise in ["receipt", "ip address", "999", "first name", "withdraw"] {
            assert!(text.contains(promise), "{promise}");
        }
        assert!(p["body_html"].as_str().unwrap().contains("<p>"));
    })
    .await;
}

#[tokio::test]
async fn public_answers_are_compressed_on_request() {
    with_app(&[], |app| async move {
        // This reqwest has no decompression features: it sends and reads headers as given.
        let client = &app.client;
        let mut sizes = Vec::new();
        for enc in ["gzip", "br"] {
            let res = client
                .get(format!("{}/v1/sync", app.url))
                .header("Accept-Encoding", enc)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(res.headers()["content-encoding"], enc);
            assert!(res.headers().contains_key("etag"));
            let compressed = res.bytes().await.unwrap();
            assert!(
                !compressed.starts_with(b"{"),
                "the body is really {enc}-encoded"
            );
            sizes.push(compressed.len());
        }
        let plain = client
            .get(format!("{}/v1/sync", app.url))
            .send()
            .await
            .unwrap();
        assert!(!plain.headers().contains_key("content-encoding"));
        let plain = plain.bytes().await.unwrap();
        assert!(
            sizes.iter().all(|s| *s * 3 < plain.len()),
            "{sizes:?} vs {}",
            plain.len()
        );
    })
    .await;
}
