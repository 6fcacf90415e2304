//! GET /v1/sync: a full bundle, exact deltas, and cursors that cannot be mistaken.
mod common;

use std::collections::BTreeMap;

use common::{ContentDir, TestApp, on_each_backend, with_app};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::Value;

const KINDS: [(&str, &str); 11] = [
    ("services", "id"),
    ("articles", "slug"),
    ("help", "id"),
    ("categories", "slug"),
    ("programmes", "slug"),
    ("safe_places", "id"),
    ("needs", "slug"),
    ("boroughs", "slug"),
    ("organisations", "id"),
    ("privacy", "id"),
    ("postcode_districts", "outcode"),
];

type State = BTreeMap<String, BTreeMap<String, Value>>;

fn state_of(bundle: &Value) -> State {
    KINDS
        .iter()
        .map(|(kind, key)| {
            let items = bundle[*kind]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| (v[*key].as_str().unwrap().to_string(), v.clone()))
                .collect();
            (kind.to_string(), items)
        })
        .collect()
}

/// What an app does with a delta.
fn apply(state: &mut State, delta: &Value) {
    assert_eq!(delta["full"], false);
    for (kind, key) in KINDS {
        let map = state.get_mut(kind).unwrap();
        for v in delta[kind].as_array().unwrap() {
            map.insert(v[key].as_str().unwrap().to_string(), v.clone());
        }
        for k in delta["deleted"][kind].as_array().unwrap() {
            map.remove(k.as_str().unwrap());
        }
    }
}

#[tokio::test]
async fn a_full_bundle_has_everything_and_an_empty_delta_nothing() {
    with_app(&["test-youth-hub"], |app| async move {
        let full = app.get_json("/v1/sync").await;
        assert_eq!(full["full"], true);
        let services = app.get_json("/v1/services?per_page=100").await;
        assert_eq!(
            full["services"].as_array().unwrap().len() as u64,
            services["total_items"].as_u64().unwrap()
        );
        assert_eq!(
            full["articles"].as_array().unwrap().len() as u64,
            app.get_json("/v1/articles?per_page=100").await["total_items"]
                .as_u64()
                .unwrap()
        );
        // Help lines in the order to show them, each with its position.
        let help = app.get_json("/v1/help").await;
        let bundled: Vec<Value> = full["help"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                let mut h = h.clone();
                h.as_object_mut().unwrap().remove("position");
                h
            })
            .collect();
        assert_eq!(Value::Array(bundled), help);
        assert_eq!(full["help"][0]["phone"], "999");
        assert_eq!(full["help"][0]["position"], 0);
        assert_eq!(
            full["categories"].as_array().unwrap().len(),
            app.get_json("/v1/categories")
                .await
                .as_array()
                .unwrap()
                .len()
        );
        assert_eq!(full["safe_places"].as_array().unwrap().len(), 4);
        // What the app needs to ask for help and place a young person offline.
        let without_position = |kind: &str| -> Value {
            Value::Array(
                full[kind]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| {
                        let mut v = v.clone();
                        v.as_object_mut().unwrap().remove("position");
                        v
                    })
                    .collect(),
            )
        };
        assert_eq!(
            without_position("needs"),
            app.get_json("/v1/referrals/needs").await
        );
        assert_eq!(full["needs"][1]["position"], 1);
        let mut boroughs = full["boroughs"].as_array().unwrap().clone();
        boroughs.sort_by_key(|b| b["name"].as_str().unwrap().to_string());
        assert_eq!(Value::Array(boroughs), app.get_json("/v1/boroughs").await);
        assert_eq!(full["boroughs"].as_array().unwrap().len(), 33);
        let orgs = app.get_json("/v1/organisations?per_page=100").await;
        assert_eq!(
            full["organisations"].as_array().unwrap().len() as u64,
            orgs["total_items"].as_u64().unwrap()
        );
        assert!(
            orgs["contents"]
                .as_array()
                .unwrap()
                .iter()
                .all(|o| full["organisations"].as_array().unwrap().contains(o))
        );
        let mut privacy = full["privacy"][0].clone();
        assert_eq!(privacy["id"], "privacy");
        privacy.as_object_mut().unwrap().remove("id");
        assert_eq!(privacy, app.get_json("/v1/privacy").await);
        let districts = full["postcode_districts"].as_array().unwrap();
        assert!(districts.len() > 250, "{}", districts.len());
        let e8 = districts.iter().find(|d| d["outcode"] == "E8").unwrap();
        let place = app.get_json("/v1/places/E8").await;
        assert_eq!(e8["lat"], place["lat"]);
        assert_eq!(e8["lon"], place["lon"]);
        assert_eq!(e8["borough"], place["borough"]);
        // Every kind is typed in the OpenAPI document, so a generated client knows it.
        let doc = app.get_json("/openapi.json").await;
        let props = &doc["components"]["schemas"]["SyncBundle"]["properties"];
        for (kind, schema) in [
            ("services", "ServiceDetail"),
            ("articles", "Article"),
            ("help", "PositionedHelpLine"),
            ("needs", "PositionedNeed"),
            ("boroughs", "BoroughView"),
            ("organisations", "OrganisationView"),
            ("privacy", "PrivacyItem"),
            ("postcode_districts", "PostcodeDistrict"),
        ] {
            assert_eq!(
                props[kind]["items"]["$ref"],
                format!("#/components/schemas/{schema}"),
                "{kind}"
            );
            assert!(
                doc["components"]["schemas"][schema].is_object(),
                "{schema} is defined"
            );
        }
        // A service in the bundle is the service in full.
        let first = &full["services"][0];
        assert_eq!(
            *first,
            app.get_json(&format!("/v1/services/{}", first["id"].as_str().unwrap()))
                .await
        );
        let cursor = full["cursor"].as_str().unwrap();
        let delta = app.get_json(&format!("/v1/sync?since={cursor}")).await;
        assert_eq!(delta["full"], false);
        assert_eq!(delta["cursor"], full["cursor"]);
        for (kind, _) in KINDS {
            assert!(delta[kind].as_array().unwrap().is_empty(), "{kind}");
            assert!(
                delta["deleted"][kind].as_array().unwrap().is_empty(),
                "{kind}"
            );
        }
        // Unchanged: 304 with the ETag.
        let res = app.get(&format!("/v1/sync?since={cursor}")).await;
        let etag = res.headers()["etag"].to_str().unwrap().to_string();
        let again = app
            .client
            .get(format!("{}/v1/sync?since={cursor}", app.url))
            .header("If-None-Match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304);
    })
    .await;
}

#[tokio::test]
async fn unknown_or_corrupt_cursors_are_422_never_a_silent_full_sync() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn(&db, ContentDir::shipped_with(&[])).await;
        let cursor = app.get_json("/v1/sync").await["cursor"]
            .as_str()
            .unwrap()
            .to_string();
        let mut corrupt = cursor.clone().into_bytes();
        corrupt[2] = if corrupt[2] == b'A' { b'B' } else { b'A' };
        let corrupt = String::from_utf8(corrupt).unwrap();
        for bad in [
            corrupt.as_str(),
            "garbage",
            "bm90OmE6Y3Vyc29y",
            &"x".repeat(300),
        ] {
            let p = app.get_problem(&format!("/v1/sync?since={bad}"), 422).await;
            assert_eq!(p["errors"][0]["field"], "since", "{bad}");
        }
        // A cursor from another database (another epoch) is unknown here.
        let other_db = common::TestDb::create(common::Backend::Sqlite).await;
        let other = TestApp::spawn(&other_db, ContentDir::shipped_with(&[])).await;
        let foreign = other.get_json("/v1/sync").await["cursor"]
            .as_str()
            .unwrap()
            .to_string();
        app.get_problem(&format!("/v1/sync?since={foreign}"), 422)
            .await;
    })
    .await;
}

/// The fixture organisation's services, rewritten whole on each edit.
fn write_services(app: &TestApp, services: &BTreeMap<String, String>) {
    let mut text = String::from("slug = \"test-sync-org\"\nname = \"Test Sync Org\"\n");
    for (slug, summary) in services {
        text.push_str(&format!(
            "\n[[services]]\nslug = \"{slug}\"\nname = \"Service {slug}\"\nsummary = \"{summary}\"\ncategories = [\"sport\"]\nboroughs = [\"hackney\"]\n"
        ));
    }
    app.content.write_org("test-sync-org", &text);
}

fn write_article(app: &TestApp, slug: &str, body: &str) {
    let text = format!(
        "+++\nslug = \"{slug}\"\nkind = \"guide\"\ntitle = \"Title {slug}\"\nsummary = \"About {slug}\"\naudience = [\"young-people\"]\ntags = [\"test\"]\npublished = 2026-11-21\n+++\n\n{body}\n"
    );
    std::fs::write(app.content.path().join(format!("articles/{slug}.md")), text).unwrap();
}

fn edit_help(app: &TestApp, rng: &mut StdRng, round: usize) {
    let path = app.content.path().join("help.toml");
    let mut doc: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    let lines = doc.get_mut("line").unwrap().as_array_mut().unwrap();
    match rng.random_range(0..3) {
        // Change how to use a line (never the 999 line at the top).
        0 => {
            let i = rng.random_range(1..lines.len());
            lines[i].as_table_mut().unwrap().insert(
                "when_to_use".into(),
                toml::Value::String(format!("changed in round {round}")),
            );
        }
        1 if lines.len() > 4 => {
            let i = rng.random_range(1..lines.len());
            lines.remove(i);
        }
        _ => {
            let mut t = toml::Table::new();
            t.insert(
                "id".into(),
                toml::Value::String(format!("test-line-{round}")),
            );
            t.insert(
                "name".into(),
                toml::Value::String(format!("Test line {round}")),
            );
            t.insert(
                "url".into(),
                toml::Value::String("https://www.fearless.org".into()),
            );
            t.insert("when_to_use".into(), toml::Value::String("test".into()));
            t.insert("urgent".into(), toml::Value::Boolean(false));
            lines.push(toml::Value::Table(t));
        }
    }
    std::fs::write(&path, toml::to_string(&doc).unwrap()).unwrap();
}

#[tokio::test]
async fn replaying_deltas_from_any_earlier_cursor_gives_the_full_state() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn(&db, ContentDir::shipped_with(&[])).await;
        let mut rng = StdRng::seed_from_u64(20261121);
        let mut services: BTreeMap<String, String> = (0..4)
            .map(|i| (format!("sync-{i}"), format!("summary {i}")))
            .collect();
        let mut articles: BTreeMap<String, String> = BTreeMap::new();
        write_services(&app, &services);
        app.resync().await;
        let mut history: Vec<(String, State)> = Vec::new();
        let mut next_id = 100;
        for round in 0..14 {
            let full = app.get_json("/v1/sync").await;
            history.push((
                full["cursor"].as_str().unwrap().to_string(),
                state_of(&full),
            ));
            // One to three random edits, then a reload.
            for _ in 0..rng.random_range(1..=3) {
                match rng.random_range(0..7) {
                    0 => {
                        services.insert(format!("sync-{next_id}"), format!("new in round {round}"));
                        next_id += 1;
                    }
                    1 if services.len() > 1 => {
                        let k = services
                            .keys()
                            .nth(rng.random_range(0..services.len()))
                            .unwrap()
                            .clone();
                        services.remove(&k);
                    }
                    2 => {
                        let k = services
                            .keys()
                            .nth(rng.random_range(0..services.len()))
                            .unwrap()
                            .clone();
                        services.insert(k, format!("edited in round {round}"));
                    }
                    3 => {
                        articles.insert(
                            format!("test-sync-article-{next_id}"),
                            format!("Body from round {round}."),
                        );
                        next_id += 1;
                    }
                    4 if !articles.is_empty() => {
                        let k = articles
                            .keys()
                            .nth(rng.random_range(0..articles.len()))
                            .unwrap()
                            .clone();
                        articles.insert(k, format!("Edited in round {round}."));
                    }
                    5 if !articles.is_empty() => {
                        let k = articles
                            .keys()
                            .nth(rng.random_range(0..articles.len()))
                            .unwrap()
                            .clone();
                        articles.remove(&k);
                        std::fs::remove_file(app.content.path().join(format!("articles/{k}.md")))
                            .unwrap();
                    }
                    _ => edit_help(&app, &mut rng, round),
                }
            }
            write_services(&app, &services);
            for (slug, body) in &articles {
                write_article(&app, slug, body);
            }
            let report = app.resync().await;
            assert!(report.errors.is_empty(), "{:?}", report.errors);
        }
        let now_full = app.get_json("/v1/sync").await;
        let now = state_of(&now_full);
        assert_eq!(
            now["services"].len(),
            10 + services.len(),
            "the shipped 10 plus the test's"
        );
        let mut saw_deletions = false;
        for (i, (cursor, earlier)) in history.iter().enumerate() {
            let delta = app.get_json(&format!("/v1/sync?since={cursor}")).await;
            saw_deletions |= KINDS
                .iter()
                .any(|(k, _)| !delta["deleted"][*k].as_array().unwrap().is_empty());
            let mut replayed = earlier.clone();
            apply(&mut replayed, &delta);
            assert_eq!(
                replayed, now,
                "replaying from cursor {i} differs from a full sync"
            );
            assert_eq!(delta["cursor"], now_full["cursor"]);
        }
        assert!(saw_deletions, "the random edits removed something");
        // Chained deltas, round by round, end in the same place.
        let mut chained = history[0].1.clone();
        let mut cursor = history[0].0.clone();
        loop {
            let delta = app.get_json(&format!("/v1/sync?since={cursor}")).await;
            apply(&mut chained, &delta);
            if delta["cursor"] == Value::String(cursor.clone()) {
                break;
            }
            cursor = delta["cursor"].as_str().unwrap().to_string();
        }
        assert_eq!(chained, now);
    })
    .await;
}
