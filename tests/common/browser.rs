//! A real Chromium driven through WebDriver (Debian's `chromium` and `chromium-driver`),
//! for the console's browser tests. They run when `SIGNPOST_TEST_BROWSER=1` (`.ci/run`
//! sets it and installs the browser); when it is set and the driver or browser is
//! missing, they fail: never a silent skip.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

pub const BROWSER_ENV: &str = "SIGNPOST_TEST_BROWSER";

/// True when browser tests should run. Otherwise the test says so on stderr and passes
/// without a browser (the HTTP-level tests still cover the console's rules).
pub fn enabled() -> bool {
    let on = std::env::var(BROWSER_ENV).is_ok_and(|v| v.trim() == "1");
    if !on {
        eprintln!("browser test not run: set {BROWSER_ENV}=1 (CI does)");
    }
    on
}

fn find(env: &str, candidates: &[&str]) -> PathBuf {
    if let Ok(p) = std::env::var(env) {
        return PathBuf::from(p);
    }
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "{BROWSER_ENV}=1 but none of {candidates:?} exists: install Debian's chromium and chromium-driver (or set {env})"
            )
        })
}

/// One browser window of a given size, with its own chromedriver.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium `width` × `height`.
    pub async fn start(width: u32, height: u32) -> Self {
        let driver_bin = find("CHROMEDRIVER", &["/usr/bin/chromedriver"]);
        let chromium = find(
            "CHROMIUM",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        );
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            l.local_addr().expect("its address").port()
        };
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver_bin.display()));
        let url = format!("http://127.0.0.1:{port}");
        let mut caps = serde_json::Map::new();
        let mut options = json!({
                "binary": chromium.display().to_string(),
                "args": [
                    "--headless=new",
                    // Root in a container: Chromium's sandbox cannot start.
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    format!("--window-size={width},{height}"),
                ]
        });
        // Headless windows are at least 500 px wide: narrower screens are emulated.
        if width < 500 {
            options["mobileEmulation"] = json!({
                "deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0}
            });
        }
        caps.insert("goog:chromeOptions".into(), options);
        let mut last_err = String::new();
        for _ in 0..50 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => return Self { client, driver },
                Err(e) => {
                    last_err = e.to_string();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        panic!("chromedriver at {url} did not start a session: {last_err}");
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigates");
    }

    /// Saves a PNG of the viewport under `target/screenshots/` (and returns its path).
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Runs axe-core (from the npm registry, `tests/browser/node_modules`, used only by
    /// the tests) on the current page; returns the serious and critical violations.
    pub async fn accessibility_violations(&self) -> Vec<Value> {
        let axe = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/browser/node_modules/axe-core/axe.min.js");
        let source = std::fs::read_to_string(&axe).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run `npm ci --prefix tests/browser` (.ci/run does)",
                axe.display()
            )
        });
        self.client
            .execute(&source, vec![])
            .await
            .expect("axe-core loads into the page");
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                    .then(r => done(r.violations.map(v => ({
                        id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)
                    }))))
                    .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e) }]));",
                vec![],
            )
            .await
            .expect("axe-core runs");
        result
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect()
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}
