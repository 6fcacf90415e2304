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
                "sources",
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
            for t in line["topics"].as_array().expect("topics") {
                assert!(
                    signpost::help::TOPICS.contains(&t.as_str().unwrap()),
                    "{t} ({})",
                    line["id"]
                );
            }
        }
        let spec = app.get_json("/openapi.json").await;
        assert!(spec["components"]["schemas"]["HelpLine"]["properties"]["topics"].is_object());
        let report_remove = list.iter().find(|l| l["id"] == "report-remove").unwrap();
        assert_eq!(
            report_remove["topics"],
            serde_json::json!(["online-images"])
        );
        for id in [
            "childline",
            "samaritans",
            "shout",
            "crimestoppers",
            "fearless",
            "nhs-111-mental-health",
            "papyrus",
            "report-remove",
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

/// Every `.md` and `.toml` file under `content/` (not the reference data), with its path
/// relative to `content/`.
fn content_files(root: &std::path::Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("data") {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_some_and(|x| x == "md" || x == "toml") {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// An article file's front matter (parsed) and body.
fn article_parts(text: &str) -> (toml::Table, String) {
    let rest = text.strip_prefix("+++\n").expect("front matter");
    let end = rest.find("\n+++").expect("end of front matter");
    let front: toml::Table = rest[..=end].parse().expect("front matter TOML");
    (front, rest[end + 4..].to_string())
}

fn strings(v: Option<&toml::Value>) -> Vec<String> {
    v.and_then(toml::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Parenthesised text in a Markdown body, except link targets (`[text](url)`).
fn parentheticals(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = body[from..].find('(').map(|i| from + i) {
        let Some(close) = body[open..].find(')').map(|i| open + i) else {
            break;
        };
        if !body[..open].ends_with(']') {
            out.push(&body[open + 1..close]);
        }
        from = open + 1;
    }
    out
}

#[tokio::test]
async fn articles_keep_their_sources_apart_and_young_peoples_carry_no_money_figures() {
    let facts = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/FACTS.md"),
    )
    .unwrap();
    // What a source note looks like: the sources FACTS.md names (its last column), the
    // ones articles list in their front matter, and the words such notes use.
    let mut sources: Vec<String> = facts
        .lines()
        .filter(|l| l.starts_with("| ") && l.matches('|').count() == 4)
        .filter_map(|l| l.trim_end_matches('|').rsplit('|').next())
        .flat_map(|cell| cell.split(';'))
        .map(|s| s.trim().to_lowercase())
        .filter(|s| s.len() > 3 && s != "source" && !s.starts_with('-'))
        .collect();
    let articles: Vec<(String, String)> = content_files(&common::shipped_content())
        .into_iter()
        .filter(|(rel, _)| rel.starts_with("articles/"))
        .collect();
    for (_, text) in &articles {
        let (front, _) = article_parts(text);
        sources.extend(
            strings(front.get("sources"))
                .iter()
                .map(|s| s.to_lowercase()),
        );
    }
    sources.extend(
        [
            "publication",
            "press release",
            "blog",
            "decision",
            "'s page",
            "news pages",
            "local press",
            "toolkit",
        ]
        .map(str::to_string),
    );
    assert!(
        sources.iter().any(|s| s == "mopac publication"),
        "{sources:?}"
    );
    let mut with_sources = 0;
    for (rel, text) in &articles {
        let (front, body) = article_parts(text);
        for note in parentheticals(&body) {
            let lower = note.to_lowercase();
            assert!(
                !sources.iter().any(|s| lower.contains(s.as_str())),
                "{rel}: ({note}) is a source note: put it in the front matter's sources"
            );
        }
        if !strings(front.get("sources")).is_empty() {
            with_sources += 1;
        }
        let audience = strings(front.get("audience"));
        if audience.iter().any(|a| a == "young-people") {
            for (i, line) in body.lines().enumerate() {
                assert!(
                    !line.contains('£'),
                    "{rel}: a money figure in an article for young people, body line {}: {line}",
                    i + 1
                );
            }
        }
    }
    assert!(
        with_sources >= 8,
        "sources moved to front matter ({with_sources})"
    );

    // Served apart from the text.
    with_app(&[], |app| async move {
        let a = app
            .get_json("/v1/articles/getting-out-of-a-gang-or-being-exploited")
            .await;
        let sources: Vec<&str> = a["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert!(sources.contains(&"MOPAC publication"), "{sources:?}");
        let body = a["body_markdown"].as_str().unwrap();
        assert!(!body.contains("MOPAC publication"));
        let spec = app.get_json("/openapi.json").await;
        assert!(
            spec["components"]["schemas"]["Article"]["properties"]["sources"].is_object(),
            "sources is in the OpenAPI schema"
        );
        let private = app
            .get_json("/v1/articles/keeping-this-private-on-your-phone")
            .await;
        let text = private["body_markdown"].as_str().unwrap().to_lowercase();
        for said in [
            "receipt code",
            "camera roll",
            "notes app",
            "in the app",
            "when it is safe",
            "no to leaving a message",
            "notifications",
            "browser",
            "withdraw",
            "erases",
        ] {
            assert!(text.contains(said), "the privacy article says {said:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn no_stigmatising_label_anywhere_in_content() {
    let files = content_files(&common::shipped_content());
    assert!(files.len() > 20);
    // content/README.md is the editors' guide: it names the words not to use.
    for (rel, text) in files.iter().filter(|(rel, _)| rel != "README.md") {
        let lower = text.to_lowercase();
        for phrase in [
            "teachable moment",
            "at-risk",
            "at risk pupils",
            "pupils at risk",
            "pupils who may be at risk",
        ] {
            assert!(!lower.contains(phrase), "{rel} says {phrase:?}");
        }
        // "Gang exit" only as the past scheme's proper name, London Gang Exit. The
        // referral needs' slugs are API identifiers kept for the app (content/referrals).
        let forms: &[&str] = if rel.starts_with("referrals/") {
            &["gang exit"]
        } else {
            &["gang exit", "gang-exit"]
        };
        for form in forms {
            for (at, _) in lower.match_indices(form) {
                let before = &lower[..at];
                assert!(
                    before.ends_with("london ") || before.ends_with("london-"),
                    "{rel}: {:?} uses \"gang exit\" as a label",
                    &lower[lower.floor_char_boundary(at.saturating_sub(30))
                        ..lower.ceil_char_boundary(at + 40)]
                );
            }
        }
    }
}

/// What in `content_dir`'s organisation files (and `programmes.toml`, when there)
/// contradicts docs/FACTS.md about who a service is for; one line per problem.
fn age_contradictions(content_dir: &std::path::Path) -> Vec<String> {
    let mut problems = Vec::new();
    let programmes: Vec<toml::Table> = std::fs::read_to_string(content_dir.join("programmes.toml"))
        .ok()
        .map(|t| t.parse::<toml::Table>().unwrap())
        .and_then(|t| t.get("programme").and_then(|p| p.as_array()).cloned())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.as_table().cloned())
        .collect();
    let ended: Vec<&str> = programmes
        .iter()
        .filter(|p| p.get("active").and_then(toml::Value::as_bool) == Some(false))
        .filter_map(|p| p.get("slug").and_then(toml::Value::as_str))
        .collect();
    for p in &programmes {
        let slug = p["slug"].as_str().unwrap();
        let text = format!(
            "{} {}",
            p["summary"].as_str().unwrap_or_default(),
            p.get("description")
                .and_then(toml::Value::as_str)
                .unwrap_or_default()
        )
        .to_lowercase();
        if slug == "london-violence-exploitation-support-service" {
            if !text.contains("up to 25") && !text.contains("up to the age of 25") {
                problems.push(format!("programme {slug}: does not say it is for up to 25"));
            }
            if text.contains("16 to 24") && !text.contains("london gang exit's") {
                problems.push(format!("programme {slug}: gives London Gang Exit's ages"));
            }
        }
        if slug == "london-gang-exit" && !ended.contains(&slug) {
            problems.push(format!(
                "programme {slug}: ended in June 2024 but is active"
            ));
        }
    }
    let orgs = content_dir.join("organisations");
    let mut files: Vec<_> = std::fs::read_dir(&orgs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    for path in files {
        let org: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let services = org
            .get("services")
            .and_then(toml::Value::as_array)
            .cloned()
            .unwrap_or_default();
        for s in services {
            let s = s.as_table().unwrap();
            let slug = s["slug"].as_str().unwrap();
            let at = format!("{file}: service {slug}");
            let min = s.get("min_age").and_then(toml::Value::as_integer);
            let max = s.get("max_age").and_then(toml::Value::as_integer);
            let programmes = strings(s.get("programmes"));
            let text = ["summary", "description", "how_to_access"]
                .iter()
                .filter_map(|f| s.get(*f).and_then(toml::Value::as_str))
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase();
            let self_referral = s
                .get("accepts_self_referral")
                .and_then(toml::Value::as_bool);
            if let Some(p) = programmes.iter().find(|p| ended.contains(&p.as_str())) {
                problems.push(format!("{at}: belongs to {p}, which has ended"));
            }
            if s["name"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("safer schools")
            {
                problems.push(format!("{at}: Safer Schools Officers ended in May 2025"));
            }
            if programmes
                .iter()
                .any(|p| p == "london-violence-exploitation-support-service")
            {
                // VESS: children and young people up to 25; self-referral not confirmed.
                if max != Some(25) {
                    problems.push(format!("{at}: max_age {max:?}, but VESS supports up to 25"));
                }
                if min != Some(10) {
                    problems.push(format!(
                        "{at}: min_age {min:?}, but VESS has no lower age: it should cover the app's 10"
                    ));
                }
                if self_referral == Some(true) {
                    problems.push(format!(
                        "{at}: accepts_self_referral = true, but VESS self-referral is not confirmed"
                    ));
                }
                for claim in [
                    "ask for help yourself",
                    "refer yourself",
                    "refer themselves",
                    "self-refer",
                    "16 to 24",
                    "16-24",
                    "16–24",
                ] {
                    if text.contains(claim) {
                        problems.push(format!("{at}: says {claim:?}"));
                    }
                }
            }
            // Young Londoners Fund projects whose text gives the fund's 10 to 21.
            if programmes.iter().any(|p| p == "young-londoners-fund") && text.contains("10 to 21") {
                let (lo, hi) = (min.unwrap_or(0), max.unwrap_or(99));
                if lo < 10 || hi > 21 {
                    problems.push(format!(
                        "{at}: ages {lo} to {hi} go outside the fund's 10 to 21"
                    ));
                }
            }
            // Hospital youth workers: young people aged about 11 to 25.
            if programmes.iter().any(|p| p == "hospital-youth-work") {
                let (lo, hi) = (min.unwrap_or(0), max.unwrap_or(99));
                if lo < 11 || hi > 25 {
                    problems.push(format!(
                        "{at}: ages {lo} to {hi}, but the facts say 11 to 25"
                    ));
                }
            }
        }
    }
    problems
}

#[tokio::test]
async fn no_service_ages_contradict_the_facts() {
    let problems = age_contradictions(&common::shipped_content());
    assert!(problems.is_empty(), "{problems:#?}");

    // The check catches the exploitation service as it was listed before (London Gang
    // Exit's 2016 terms): max_age 24, min_age 16, "you can ask for help yourself".
    let old = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(old.path().join("organisations")).unwrap();
    std::fs::write(
        old.path().join("organisations/safer-london.toml"),
        r#"slug = "safer-london"
name = "Safer London"

[[services]]
slug = "london-violence-exploitation-support"
name = "London Violence & Exploitation Support Service"
summary = "Support for young people who want to get out of a gang."
description = "Under London Gang Exit, young people aged 16 to 24 got help."
programmes = ["london-violence-exploitation-support-service"]
categories = ["exploitation-support"]
min_age = 16
max_age = 24
accepts_self_referral = true
how_to_access = "You can ask for help yourself."
"#,
    )
    .unwrap();
    let problems = age_contradictions(old.path()).join("\n");
    for caught in [
        "max_age Some(24)",
        "min_age Some(16)",
        "accepts_self_referral = true",
        "\"ask for help yourself\"",
        "\"16 to 24\"",
    ] {
        assert!(problems.contains(caught), "{caught} in:\n{problems}");
    }
}
