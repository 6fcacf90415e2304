//! signpost import hsds: files in three shapes, a paged ORUK feed that fails now and
//! then, idempotence, rejected records and dry runs.
mod common;

use std::time::Duration;

use common::{ContentDir, TestApp, names, on_each_backend};
use serde_json::{Value, json};
use signpost::hsds::import::{ImportOptions, import};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn service(id: &str, name: &str, postcode: &str) -> Value {
    json!({
        "id": id,
        "name": name,
        "description": format!("{name} runs every week. Everyone welcome."),
        "url": "https://example.org/service",
        "email": "hello@example.org",
        "minimum_age": 11,
        "maximum_age": 30,
        "organization": {"id": "org-1", "name": "Feed Org", "description": "An organisation in a feed"},
        "service_at_locations": [{
            "id": format!("{id}-sal"),
            "location": {"id": format!("{id}-loc"), "name": "Hall", "addresses": [{"address_1": "1 Test Street", "city": "London", "postal_code": postcode}]},
            "schedules": [{"byday": "MO,WE", "opens_at": "16:00:00", "closes_at": "18:30"}]
        }],
        "cost_options": [],
        "phones": [{"number": "020 0000 0000"}],
        "languages": [{"name": "English"}],
        "attributes": [
            {"taxonomy_term": {"id": "t1", "code": "boxing", "name": "Boxing"}},
            {"taxonomy_term": {"id": "t2", "code": "knitting", "name": "Knitting", "description": "Yarn"}}
        ]
    })
}

fn feed() -> Vec<Value> {
    let mut paid = service("svc-3", "Paid Drama", "SE5 9RS");
    paid["cost_options"] = json!([{"amount": 5, "currency": "GBP", "option": "£5 a week"}]);
    vec![
        service("svc-1", "Feed Boxing", "E8 3PL"),
        service("svc-2", "Feed Knitting", "E8 2AA"),
        paid,
    ]
}

fn opts() -> ImportOptions {
    ImportOptions {
        http_backoff: Duration::from_millis(10),
        http_timeout: Duration::from_secs(5),
        ..ImportOptions::default()
    }
}

async fn imported_names(app: &TestApp) -> Vec<String> {
    names(&app.get_json("/v1/services?q=feed&per_page=100").await)
        .into_iter()
        .chain(names(
            &app.get_json("/v1/services?q=drama&per_page=100").await,
        ))
        .collect()
}

#[tokio::test]
async fn files_in_three_shapes_import_the_same_services() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn(&db, ContentDir::shipped_with(&[])).await;
        let dir = tempfile::tempdir().unwrap();
        let array = dir.path().join("array.json");
        std::fs::write(&array, serde_json::to_string_pretty(&feed()).unwrap()).unwrap();
        let envelope = dir.path().join("envelope.json");
        std::fs::write(&envelope, serde_json::to_string_pretty(&json!({"total_items": 3, "total_pages": 1, "page_number": 1, "size": 3, "first_page": true, "last_page": true, "empty": false, "contents": feed()})).unwrap()).unwrap();
        let ndjson = dir.path().join("feed.ndjson");
        std::fs::write(&ndjson, feed().iter().map(|v| v.to_string()).collect::<Vec<_>>().join("\n")).unwrap();
        for (i, file) in [array, envelope, ndjson].iter().enumerate() {
            let mut o = opts();
            o.source_name = Some(format!("shape-{i}"));
            let report = import(&app.state, file.to_str().unwrap(), &o).await.unwrap();
            assert!(report.rejected.is_empty(), "{:?}", report.rejected);
            assert_eq!(report.counts.created, 3, "{}", file.display());
            assert!(report.complete);
        }
        signpost::record_changes(&app.state).await.unwrap();
        assert_eq!(app.count("SELECT COUNT(*) FROM services WHERE source LIKE 'hsds:%'").await, 9);
        // The mapping.
        let list = app.get_json("/v1/services?q=feed%20boxing&per_page=100").await;
        let s = &list["contents"][0];
        let full = app.get_json(&format!("/v1/services/{}", s["id"].as_str().unwrap())).await;
        assert_eq!(full["summary"], "Feed Boxing runs every week.");
        assert_eq!((full["min_age"].as_u64(), full["max_age"].as_u64()), (Some(11), Some(25)), "clamped to 10–25");
        assert_eq!(full["free"], true, "no cost options is free");
        assert_eq!(full["phone"], "020 0000 0000");
        assert_eq!(full["languages"], json!(["English"]));
        assert_eq!(full["locations"][0]["postcode"], "E8 3PL");
        assert_eq!(full["locations"][0]["borough"], "hackney", "borough from the postcode table");
        assert_eq!(full["locations"][0]["opening_hours"], json!([{"day": "monday", "opens": "16:00", "closes": "18:30"}, {"day": "wednesday", "opens": "16:00", "closes": "18:30"}]));
        let cats: Vec<&str> = full["categories"].as_array().unwrap().iter().map(|c| c["slug"].as_str().unwrap()).collect();
        assert!(cats.contains(&"boxing"), "matched to ours");
        assert!(cats.contains(&"hsds-knitting"), "kept as its own term");
        let all_cats = app.get_json("/v1/categories").await;
        assert!(all_cats.as_array().unwrap().iter().any(|c| c["slug"] == "hsds-knitting" && c["name"] == "Knitting"));
        let paid = app.get_json("/v1/services?q=paid%20drama").await;
        assert_eq!(paid["contents"][0]["free"], false);
        assert_eq!(paid["contents"][0]["boroughs"], json!(["lambeth"]));
        // Category filters and search see imported services.
        let boxing = names(&app.get_json("/v1/services?category=boxing&per_page=100").await);
        assert!(boxing.contains(&"Feed Boxing".to_string()));
    })
    .await;
}

#[tokio::test]
async fn reimporting_is_idempotent_and_sources_never_retire_each_other() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn(&db, ContentDir::shipped_with(&["test-youth-hub"])).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("feed.json");
        std::fs::write(&file, serde_json::to_string(&feed()).unwrap()).unwrap();
        let f = file.to_str().unwrap();
        let first = import(&app.state, f, &opts()).await.unwrap();
        assert_eq!(first.counts.created, 3);
        let revision = app.count("SELECT revision FROM directory_revision").await;
        let again = import(&app.state, f, &opts()).await.unwrap();
        assert_eq!(
            (
                again.counts.created,
                again.counts.updated,
                again.counts.unchanged,
                again.counts.retired
            ),
            (0, 0, 3, 0)
        );
        assert_eq!(
            app.count("SELECT revision FROM directory_revision").await,
            revision,
            "nothing changed"
        );
        // A changed record is updated; a record gone from a full re-import is retired.
        let mut changed = feed();
        changed[0]["name"] = json!("Feed Boxing Club");
        changed.pop();
        std::fs::write(&file, serde_json::to_string(&changed).unwrap()).unwrap();
        let third = import(&app.state, f, &opts()).await.unwrap();
        assert_eq!(
            (
                third.counts.updated,
                third.counts.unchanged,
                third.counts.retired
            ),
            (1, 1, 1)
        );
        signpost::record_changes(&app.state).await.unwrap();
        let list = imported_names(&app).await;
        assert!(list.contains(&"Feed Boxing Club".to_string()));
        assert!(!list.contains(&"Paid Drama".to_string()));
        // Content services are untouched by the import, and the import by a content sync.
        assert_eq!(
            app.count("SELECT COUNT(*) FROM services WHERE source = 'content' AND active = TRUE")
                .await,
            14
        );
        let report = app.resync().await;
        assert_eq!(report.services.retired, 0);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM services WHERE source LIKE 'hsds:%' AND active = TRUE")
                .await,
            2
        );
        assert!(
            app.get_json("/v1/categories")
                .await
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["slug"] == "hsds-knitting"),
            "imported terms survive a content sync"
        );
        // The same ids are kept across imports.
        let id_before = app
            .count("SELECT COUNT(*) FROM services WHERE source_key = 'svc-1'")
            .await;
        assert_eq!(id_before, 1);
    })
    .await;
}

#[tokio::test]
async fn bad_records_are_reported_one_by_one_and_skipped() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn(&db, ContentDir::shipped_with(&[])).await;
        let mut records = feed();
        let mut bad = |f: &dyn Fn(&mut Value)| {
            let mut v = service("x", "Bad", "E8 3PL");
            f(&mut v);
            records.push(v);
        };
        bad(&|v| {
            v.as_object_mut().unwrap().remove("id");
        });
        bad(&|v| {
            v["id"] = json!("no-name");
            v.as_object_mut().unwrap().remove("name");
        });
        bad(&|v| {
            v["id"] = json!("bad-email");
            v["email"] = json!("nope");
        });
        bad(&|v| {
            v["id"] = json!("too-old");
            v["minimum_age"] = json!(60);
            v["maximum_age"] = json!(99);
        });
        bad(&|v| {
            v["id"] = json!("bad-postcode");
            v["service_at_locations"][0]["location"]["addresses"][0]["postal_code"] =
                json!("NOT A CODE");
        });
        bad(&|v| {
            v["id"] = json!("bad-day");
            v["service_at_locations"][0]["schedules"][0]["byday"] = json!("FUNDAY");
        });
        bad(&|v| {
            v["id"] = json!("bad-time");
            v["service_at_locations"][0]["schedules"][0]["opens_at"] = json!("teatime");
        });
        bad(&|v| {
            v["id"] = json!("no-org");
            v.as_object_mut().unwrap().remove("organization");
        });
        bad(&|v| {
            v["id"] = json!("svc-1");
        });
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("feed.ndjson");
        let mut text: Vec<String> = records.iter().map(|v| v.to_string()).collect();
        text.insert(2, "{not json".into());
        std::fs::write(&file, text.join("\n")).unwrap();
        let report = import(&app.state, file.to_str().unwrap(), &opts())
            .await
            .unwrap();
        assert_eq!(report.counts.created, 3, "the good ones still arrive");
        let got: Vec<(String, String)> = report
            .rejected
            .iter()
            .map(|r| (r.record.clone(), r.field.clone()))
            .collect();
        for (record, field) in [
            ("#4", "id"),
            ("no-name", "name"),
            ("bad-email", "email"),
            ("too-old", "minimum_age"),
            (
                "bad-postcode",
                "service_at_locations[0].location.addresses[0].postal_code",
            ),
            ("bad-day", "service_at_locations[0].schedules[0].byday"),
            ("bad-time", "service_at_locations[0].schedules[0].opens_at"),
            ("no-org", "organization.name"),
            ("svc-1", "id"),
            ("line 3", "(json)"),
        ] {
            assert!(
                got.contains(&(record.to_string(), field.to_string())),
                "{record} {field} in {got:?}"
            );
        }
        assert_eq!(report.rejected.len(), 10);
        assert!(report.rejected.iter().all(|r| !r.reason.is_empty()));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM services WHERE source LIKE 'hsds:%'")
                .await,
            3,
            "nothing half-written"
        );
    })
    .await;
}

#[tokio::test]
async fn a_dry_run_reports_and_writes_nothing() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn(&db, ContentDir::shipped_with(&[])).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("feed.json");
        std::fs::write(&file, serde_json::to_string(&feed()).unwrap()).unwrap();
        let before = app.count("SELECT COUNT(*) FROM services").await;
        let cats = app.count("SELECT COUNT(*) FROM categories").await;
        let mut o = opts();
        o.dry_run = true;
        let report = import(&app.state, file.to_str().unwrap(), &o)
            .await
            .unwrap();
        assert_eq!(report.counts.created, 3);
        assert_eq!(app.count("SELECT COUNT(*) FROM services").await, before);
        assert_eq!(app.count("SELECT COUNT(*) FROM categories").await, cats);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM organisations WHERE source LIKE 'hsds:%'")
                .await,
            0
        );
    })
    .await;
}

#[tokio::test]
async fn a_paged_feed_that_fails_now_and_then_arrives_once() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn(&db, ContentDir::shipped_with(&[])).await;
        let server = MockServer::start().await;
        let all = feed();
        let mut extra = service("svc-4", "Feed Football", "E8 2AA");
        extra["attributes"] = json!([{"taxonomy_term": {"code": "football", "name": "Football"}}]);
        let page = |n: u64, items: Vec<Value>, last: bool| json!({"total_items": 4, "total_pages": 2, "page_number": n, "size": 2, "first_page": n == 1, "last_page": last, "empty": false, "contents": items});
        // Page 1: a full record and a partial one (fetched by id); page 2 fails once first.
        let partial = json!({"id": "svc-2", "name": "Feed Knitting"});
        Mock::given(method("GET")).and(path("/api/services")).and(query_param("page", "1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(page(1, vec![all[0].clone(), partial], false)))
            .mount(&server).await;
        Mock::given(method("GET")).and(path("/api/services")).and(query_param("page", "2"))
            .respond_with(ResponseTemplate::new(503)).up_to_n_times(1).with_priority(1).mount(&server).await;
        Mock::given(method("GET")).and(path("/api/services")).and(query_param("page", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(page(2, vec![all[2].clone(), extra], true)))
            .with_priority(2).mount(&server).await;
        Mock::given(method("GET")).and(path("/api/services/svc-2"))
            .respond_with(ResponseTemplate::new(500)).up_to_n_times(2).with_priority(1).mount(&server).await;
        Mock::given(method("GET")).and(path("/api/services/svc-2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(all[1].clone())).with_priority(2).mount(&server).await;
        let report = import(&app.state, &format!("{}/api/", server.uri()), &opts()).await.unwrap();
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        assert_eq!(report.counts.created, 4);
        assert_eq!(app.count("SELECT COUNT(*) FROM services WHERE source LIKE 'hsds:%'").await, 4, "each once");
        let reqs = server.received_requests().await.unwrap();
        assert!(reqs.iter().all(|r| r.headers.get("user-agent").is_some_and(|u| u.to_str().unwrap().starts_with("signpost-importer/"))));
        assert!(reqs.iter().any(|r| r.url.query() == Some("page=1&per_page=100")));
        // Again: unchanged, nothing new.
        let again = import(&app.state, &format!("{}/api", server.uri()), &opts()).await.unwrap();
        assert_eq!((again.counts.created, again.counts.unchanged), (0, 4));
    })
    .await;
}

#[tokio::test]
async fn an_unreadable_source_is_an_error() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn(&db, ContentDir::shipped_with(&[])).await;
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(500))
            .mount(&server)
            .await;
        let err = import(&app.state, &server.uri(), &opts())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("HTTP 500"), "{err}");
        assert!(
            server.received_requests().await.unwrap().len() >= 6,
            "retried with backoff"
        );
        let err = import(&app.state, "/no/such/file.json", &opts())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("could not be read"));
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.txt");
        std::fs::write(&junk, "hello").unwrap();
        assert!(
            import(&app.state, junk.to_str().unwrap(), &opts())
                .await
                .is_err()
        );
    })
    .await;
}

#[tokio::test]
async fn the_command_reports_counts_and_exits_non_zero_only_for_an_unreadable_source() {
    let content = ContentDir::shipped_with(&[]);
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("feed.json");
    let mut records = feed();
    records.push(json!({"id": "broken"}));
    std::fs::write(&file, serde_json::to_string(&records).unwrap()).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_signpost"))
            .args(args)
            .env("SIGNPOST_CONTENT_DIR", content.path())
            .env("SIGNPOST_DATA_DIR", data.path())
            .env("SIGNPOST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    let dry = run(&["import", "hsds", file.to_str().unwrap(), "--dry-run"]);
    assert!(dry.status.success());
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(
        out.contains("dry run") && out.contains("created 3") && out.contains("rejected 1"),
        "{out}"
    );
    let real = run(&["import", "hsds", file.to_str().unwrap()]);
    assert!(real.status.success(), "a rejected record is not a failure");
    assert!(String::from_utf8_lossy(&real.stderr).contains("rejected record broken: name"));
    let again = run(&["import", "hsds", file.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&again.stdout)
            .contains("created 0, updated 0, unchanged 3, retired 0")
    );
    let missing = run(&["import", "hsds", "/no/such/feed.json"]);
    assert_eq!(missing.status.code(), Some(1));
}

#[tokio::test]
async fn a_round_trip_through_hsds_gives_an_identical_directory() {
    on_each_backend(|db| async move {
        let origin = TestApp::spawn(&db, ContentDir::shipped_with(&["test-youth-hub"])).await;
        // A fresh instance: the same taxonomy and programmes, none of the organisations
        // (only the duty team its referral rules need).
        let fresh_db = common::TestDb::create(db.backend).await;
        let content = ContentDir::shipped_with(&[]);
        for entry in std::fs::read_dir(content.path().join("organisations")).unwrap() {
            let path = entry.unwrap().path();
            if !path.ends_with("signpost-duty-team.toml") {
                std::fs::remove_file(path).unwrap();
            }
        }
        std::fs::write(
            content.path().join("referrals/routing.toml"),
            "duty_team = \"signpost-duty-team\"\n",
        )
        .unwrap();
        let copy = TestApp::spawn(&fresh_db, content).await;
        assert_eq!(copy.get_json("/v1/services").await["total_items"], 0);
        let report = import(&copy.state, &format!("{}/hsds", origin.url), &opts())
            .await
            .unwrap();
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        assert_eq!(report.counts.created, 14);
        signpost::record_changes(&copy.state).await.unwrap();
        for query in [
            "",
            "&q=boxing",
            "&near=E8%203PL&radius_km=10",
            "&category=sport",
            "&borough=lambeth",
            "&programme=young-londoners-fund",
            "&age=12&free=true",
        ] {
            let a = origin
                .get_json(&format!("/v1/services?per_page=100{query}"))
                .await;
            let b = copy
                .get_json(&format!("/v1/services?per_page=100{query}"))
                .await;
            assert_eq!(a, b, "/v1/services?{query}");
        }
        fresh_db.drop_database().await;
    })
    .await;
}

#[tokio::test]
async fn a_running_instance_picks_up_an_import_and_records_it_for_offline_sync() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn_with(&db, ContentDir::shipped_with(&[]), |n| {
            (n == "SIGNPOST_RELOAD_SECS").then(|| "1".into())
        })
        .await;
        let cursor = app.get_json("/v1/sync").await["cursor"]
            .as_str()
            .unwrap()
            .to_string();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("feed.json");
        std::fs::write(&file, serde_json::to_string(&feed()).unwrap()).unwrap();
        // As `signpost import hsds` does from another process: write, and nothing more.
        import(&app.state, file.to_str().unwrap(), &opts())
            .await
            .unwrap();
        for _ in 0..100 {
            if app.get_json("/v1/services?q=feed").await["total_items"] == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(app.get_json("/v1/services?q=feed").await["total_items"], 3);
        // Search sees the import as soon as the directory reloads; the change is recorded
        // for offline sync a moment later, under a newer revision. An app that keeps
        // syncing from its cursor receives it.
        let mut names: Vec<String> = Vec::new();
        for _ in 0..100 {
            let delta = app.get_json(&format!("/v1/sync?since={cursor}")).await;
            names = delta["services"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["name"].as_str().unwrap().to_string())
                .collect();
            if !names.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            names.iter().any(|n| n == "Feed Boxing") && names.iter().any(|n| n == "Paid Drama"),
            "{names:?}"
        );
    })
    .await;
}
