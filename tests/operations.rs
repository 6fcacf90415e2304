//! Health, readiness, metrics, the OpenAPI document and its offline page, and the binary
//! itself: start-up, its one log line, graceful shutdown, and logs that hold nothing
//! that could identify a young person.
mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{ContentDir, with_app};

#[tokio::test]
async fn health_readiness_and_metrics() {
    with_app(&[], |app| async move {
        assert_eq!(app.get_json("/healthz").await["status"], "ok");
        assert_eq!(app.get_json("/readyz").await["status"], "ready");
        let metrics = app.get("/metrics").await;
        assert_eq!(metrics.status(), 200);
        assert!(
            metrics.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        let text = metrics.text().await.unwrap();
        assert!(text.contains("# TYPE signpost_directory_services gauge"));
        assert!(text.contains("signpost_directory_services 10"), "{text}");
        let about = app.get_json("/v1/about").await;
        assert!(
            about["data_attribution"][3]
                .as_str()
                .unwrap()
                .contains("Open Government Licence")
        );
        let p = app.get_problem("/nowhere", 404).await;
        assert_eq!(p["type"], "/problems/not-found");
    })
    .await;
}

#[tokio::test]
async fn openapi_document_covers_the_contract_and_docs_work_offline() {
    with_app(&[], |app| async move {
        let doc = app.get_json("/openapi.json").await;
        assert_eq!(doc["info"]["title"], "Signpost API");
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/v1/services",
            "/v1/services/{id}",
            "/v1/categories",
            "/v1/programmes",
            "/v1/boroughs",
            "/v1/organisations",
            "/v1/organisations/{id}",
            "/v1/places/{query}",
            "/healthz",
            "/readyz",
        ] {
            assert!(paths.contains_key(path), "{path} documented");
        }
        let params: Vec<&str> = doc["paths"]["/v1/services"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for name in [
            "q",
            "category",
            "programme",
            "borough",
            "age",
            "free",
            "open_now",
            "near",
            "lat",
            "lon",
            "radius_km",
            "sort",
            "page",
            "per_page",
        ] {
            assert!(params.contains(&name), "{name} documented");
        }
        let page = app.get("/docs/").await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("swagger-ui"), "{html}");
        assert!(!html.contains("cdn"), "no CDN: the page must work offline");
        // Its script is served by us.
        let js = app.get("/docs/swagger-ui-bundle.js").await;
        assert_eq!(js.status(), 200);
        let init = app
            .get("/docs/swagger-initializer.js")
            .await
            .text()
            .await
            .unwrap();
        assert!(init.contains("/openapi.json"));
    })
    .await;
}

#[tokio::test]
async fn malformed_requests_are_problems_not_500s() {
    with_app(&[], |app| async move {
        // Percent-encoding that is not UTF-8, and a query that is not a form.
        let r = app.get("/v1/services?q=%FF%FE").await;
        assert!(r.status() == 200 || r.status() == 422, "{}", r.status());
        app.get_problem("/v1/services?age=%FF", 422).await;
        let r = app.get("/v1/services?q=a%00b").await;
        assert_eq!(r.status(), 200);
        // A long query string is handled.
        let long = "x".repeat(300);
        let p = app
            .get_problem(&format!("/v1/services?q={long}"), 422)
            .await;
        assert_eq!(p["errors"][0]["field"], "q");
    })
    .await;
}

/// Reads the child's stderr on a thread; returns what it has seen so far.
fn collect(stderr: std::process::ChildStderr) -> std::sync::Arc<std::sync::Mutex<String>> {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let out = seen.clone();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stderr);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            out.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
    seen
}

#[tokio::test]
async fn the_binary_starts_logs_its_url_and_shuts_down_gracefully_without_logging_identity() {
    let content = ContentDir::shipped_with(&[]);
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_signpost"))
        .env("SIGNPOST_LISTEN", "127.0.0.1:0")
        .env("SIGNPOST_CONTENT_DIR", content.path())
        .env("SIGNPOST_DATA_DIR", data.path())
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let seen = collect(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    let url = loop {
        let text = seen.lock().unwrap().clone();
        if let Some(i) = text.find("listening on http://") {
            let rest = &text[i + "listening on ".len()..];
            break rest.split_whitespace().next().unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "no start-up line: {text}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        data.path().join("signpost.db").exists(),
        "the embedded database is created under the data dir"
    );
    let client = reqwest::Client::new();
    let sentinel_ip = "203.0.113.77";
    let sentinel_ua = "SentinelAgent/9.9";
    let res = client
        .get(format!("{url}/v1/services?near=E8%203PL&q=sentinelquery"))
        .header("X-Forwarded-For", sentinel_ip)
        .header("User-Agent", sentinel_ua)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        client
            .get(format!("{url}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // A referral, and a bad receipt, from the same identifiable client.
    let res = client
        .post(format!("{url}/v1/referrals"))
        .header("X-Forwarded-For", sentinel_ip)
        .header("User-Agent", sentinel_ua)
        .json(&serde_json::json!({"needs": ["other"], "message": "sentinelmessage please help", "where": "E8 3PL"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body = res.text().await.unwrap();
    assert!(
        !body.contains(sentinel_ip) && !body.contains(sentinel_ua),
        "nothing echoed"
    );
    let res = client
        .get(format!("{url}/v1/referrals/self"))
        .header("X-Forwarded-For", sentinel_ip)
        .header("User-Agent", sentinel_ua)
        .bearer_auth("AAAA-BBBB-CCCC-DDDD-EEEE")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body = res.text().await.unwrap();
    assert!(
        !body.contains(sentinel_ip) && !body.contains("AAAA"),
        "nothing echoed"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "graceful exit: {exit:?}");
    std::thread::sleep(Duration::from_millis(100));
    let logs = seen.lock().unwrap().clone();
    assert!(
        logs.contains("route=\"/v1/services\""),
        "requests are logged by route: {logs}"
    );
    assert!(logs.contains("route=\"/v1/referrals\""), "{logs}");
    for secret in [
        sentinel_ip,
        sentinel_ua,
        "E8 3PL",
        "E8%203PL",
        "sentinelquery",
        "sentinelmessage",
        "AAAA-BBBB",
        "127.0.0.1:",
    ] {
        let hits: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains(secret) && !l.contains("listening on"))
            .collect();
        assert!(hits.is_empty(), "{secret} appears in the logs: {hits:?}");
    }
    let mut db_bytes = Vec::new();
    for file in ["signpost.db", "signpost.db-wal"] {
        if let Ok(mut f) = std::fs::File::open(data.path().join(file)) {
            f.read_to_end(&mut db_bytes).unwrap();
        }
    }
    let db_text = String::from_utf8_lossy(&db_bytes);
    assert!(!db_text.contains(sentinel_ip) && !db_text.contains(sentinel_ua));
    assert!(!db_text.contains("sentinelmessage") && !db_text.contains("E8 3PL"));
}
