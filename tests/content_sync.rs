//! Loading content/: idempotent, edits change records, removals retire them, and a
//! broken file is reported (file, line, field) while what it had loaded stays.
mod common;

use common::{ContentDir, TestApp, names, on_each_backend};

#[tokio::test]
async fn loading_twice_changes_nothing() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn(&db, ContentDir::shipped_with(&["test-youth-hub"])).await;
        let revision = app.state.directory.load().revision;
        let before = app.get_json("/v1/services?per_page=100").await;
        let report = app.resync().await;
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(
            report.services.created + report.services.updated + report.services.retired,
            0
        );
        assert_eq!(report.services.unchanged, 14);
        assert!(!report.changed);
        assert_eq!(app.state.directory.load().revision, revision);
        assert_eq!(app.get_json("/v1/services?per_page=100").await, before);
        assert_eq!(app.count("SELECT COUNT(*) FROM services").await, 14);
        assert_eq!(app.count("SELECT COUNT(*) FROM locations").await, 7);
    })
    .await;
}

#[tokio::test]
async fn an_edited_file_changes_the_record() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn(&db, ContentDir::shipped_with(&["test-youth-hub"])).await;
        let page = app.get_json("/v1/services?q=boxing%20basics").await;
        let id = page["contents"][0]["id"].as_str().unwrap().to_string();
        let before = app.get_json(&format!("/v1/services/{id}")).await;
        app.clock.advance(chrono::Duration::hours(1));
        let text = app
            .content
            .read_org("test-youth-hub")
            .replace("name = \"Boxing Basics\"", "name = \"Boxing Basics Plus\"")
            .replace("max_age = 18", "max_age = 19");
        app.content.write_org("test-youth-hub", &text);
        let report = app.resync().await;
        assert_eq!(report.services.updated, 1);
        assert!(report.changed);
        let after = app.get_json(&format!("/v1/services/{id}")).await;
        assert_eq!(after["id"], before["id"], "the id is kept");
        assert_eq!(after["name"], "Boxing Basics Plus");
        assert_eq!(after["max_age"], 19);
        assert_ne!(after["updated_at"], before["updated_at"]);
        assert_eq!(
            after["locations"].as_array().unwrap().len(),
            1,
            "children rewritten once"
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM locations").await, 7);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM services WHERE name = 'Boxing Basics Plus' AND max_age = 19"
            )
            .await,
            1
        );
    })
    .await;
}

#[tokio::test]
async fn a_removed_entry_is_retired_and_answers_410() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn(&db, ContentDir::shipped_with(&["test-youth-hub"])).await;
        let page = app.get_json("/v1/services?q=far%20away").await;
        let id = page["contents"][0]["id"].as_str().unwrap().to_string();
        let text = app.content.read_org("test-youth-hub");
        let start = text
            .find("[[services]]\nslug = \"test-far-away-football\"")
            .unwrap();
        let end = start
            + text[start..]
                .find("[[services]]\nslug = \"test-homework-help\"")
                .unwrap();
        app.content.write_org(
            "test-youth-hub",
            &format!("{}{}", &text[..start], &text[end..]),
        );
        let report = app.resync().await;
        assert_eq!(report.services.retired, 1);
        let p = app.get_problem(&format!("/v1/services/{id}"), 410).await;
        assert!(p["detail"].as_str().unwrap().contains("no longer"));
        let all = names(&app.get_json("/v1/services?per_page=100").await);
        assert!(!all.contains(&"Far Away Football".to_string()));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM services WHERE active = FALSE")
                .await,
            1
        );
        // Removing a whole file retires its services and its organisation.
        std::fs::remove_file(app.content.org_path("test-youth-hub")).unwrap();
        let report = app.resync().await;
        assert_eq!(report.services.retired, 3);
        assert_eq!(app.get_json("/v1/services").await["total_items"], 10);
        app.get_problem("/v1/organisations/test-youth-hub", 404)
            .await;
        // Putting it back brings the same records back.
        app.content.write_org("test-youth-hub", &text);
        let report = app.resync().await;
        assert_eq!(report.services.updated, 4, "{:?}", report.services);
        app.get_json(&format!("/v1/services/{id}")).await;
    })
    .await;
}

#[tokio::test]
async fn a_broken_file_names_file_line_and_field_and_keeps_what_was_there() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn(&db, ContentDir::shipped_with(&["test-youth-hub"])).await;
        let good = app.content.read_org("test-youth-hub");
        // A bad value in the second service, and a good edit in the first: neither loads.
        let broken = good
            .replace("name = \"Boxing Basics\"", "name = \"Boxing Renamed\"")
            .replace("min_age = 14", "min_age = 9");
        app.content.write_org("test-youth-hub", &broken);
        let report = app.resync().await;
        assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
        let e = &report.errors[0];
        assert_eq!(e.file, "organisations/test-youth-hub.toml");
        assert_eq!(e.field, "min_age");
        let line = broken.lines().position(|l| l == "min_age = 9").unwrap() + 1;
        assert_eq!(e.line, line);
        assert!(e.to_string().starts_with(&format!(
            "organisations/test-youth-hub.toml:{line}: min_age:"
        )));
        let all = names(&app.get_json("/v1/services?per_page=100").await);
        assert!(
            all.contains(&"Boxing Basics".to_string()),
            "the old record stays"
        );
        assert!(
            !all.contains(&"Boxing Renamed".to_string()),
            "nothing from the broken file loads"
        );
        assert_eq!(all.len(), 14);

        // A syntax error and a type error also name the line.
        app.content.write_org(
            "test-youth-hub",
            &good.replace("free = true\naccepts", "free = \"yes\"\naccepts"),
        );
        let report = app.resync().await;
        assert_eq!(report.errors[0].field, "free");
        assert!(report.errors[0].line > 1);
        app.content
            .write_org("test-youth-hub", &format!("{good}\n[[services]\n"));
        let report = app.resync().await;
        assert_eq!(report.errors.len(), 1);
        assert_eq!(report.errors[0].line, good.lines().count() + 2);

        // Unknown references and unknown fields are errors too.
        for (from, to, field) in [
            (
                "categories = [\"boxing\"]",
                "categories = [\"boxng\"]",
                "categories",
            ),
            (
                "postcode = \"E8 3PL\"",
                "postcode = \"EH1 2NG\"",
                "postcode",
            ),
            ("day = \"monday\"", "day = \"moonday\"", "day"),
            ("closes = \"14:00\"", "closes = \"25:00\"", "closes"),
            ("free = true\naccepts", "frea = true\naccepts", "frea"),
        ] {
            app.content
                .write_org("test-youth-hub", &good.replace(from, to));
            let report = app.resync().await;
            assert!(
                report
                    .errors
                    .iter()
                    .any(|e| e.field == field && e.file.ends_with("test-youth-hub.toml")),
                "{field}: {:?}",
                report.errors
            );
            assert_eq!(
                app.get_json("/v1/services").await["total_items"],
                14,
                "{field}"
            );
        }
        // Other files keep loading while one is broken.
        let lvess = app.content.read_org("safer-london");
        app.content.write_org(
            "safer-london",
            &lvess.replace("min_age = 10", "min_age = 17"),
        );
        app.content.write_org("test-youth-hub", &broken);
        let report = app.resync().await;
        assert_eq!(report.services.updated, 1);
        let s = app.get_json("/v1/services?q=exploitation").await;
        assert_eq!(s["contents"][0]["min_age"], 17);
        // Fixing the file loads it.
        app.content.write_org("test-youth-hub", &good);
        assert!(app.resync().await.errors.is_empty());
    })
    .await;
}

#[tokio::test]
async fn the_command_line_sync_reports_errors_and_exits_non_zero() {
    let content = ContentDir::shipped_with(&["test-youth-hub"]);
    let data = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", data.path().join("cli.db").display());
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_signpost"))
            .args(["content", "sync"])
            .env("DATABASE_URL", &db)
            .env("SIGNPOST_CONTENT_DIR", content.path())
            .env("SIGNPOST_DATA_DIR", data.path())
            .output()
            .unwrap()
    };
    let ok = run();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let good = content.read_org("test-youth-hub");
    content.write_org(
        "test-youth-hub",
        &good.replace("max_age = 12", "max_age = 30"),
    );
    let bad = run();
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("organisations/test-youth-hub.toml:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("max_age: must be between 10 and 25"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_shipped_content_loads_without_errors() {
    on_each_backend(|db| async move {
        let app = TestApp::spawn(&db, ContentDir::shipped_with(&[])).await;
        let report = app.resync().await;
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let s = app.get_json("/v1/services?per_page=100").await;
        let all = names(&s);
        for expected in [
            "London Violence & Exploitation Support Service",
            "Gloves Not Gunz boxing",
            "Stepping Stones",
        ] {
            assert!(all.iter().any(|n| n == expected), "{expected} in {all:?}");
        }
        assert_eq!(all.iter().filter(|n| n.contains("Hospital")).count(), 4);
        // Every shipped location's postcode resolves to the borough it claims.
        for item in s["contents"].as_array().unwrap() {
            if let Some(pc) = item["nearest_location"]["postcode"].as_str() {
                let place = app
                    .get_json(&format!("/v1/places/{}", pc.replace(' ', "%20")))
                    .await;
                assert_eq!(
                    place["borough"]["slug"],
                    item["nearest_location"]["borough"]
                );
            }
        }
    })
    .await;
}
