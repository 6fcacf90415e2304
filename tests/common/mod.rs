//! The test harness: the real app on 127.0.0.1:0 with a fresh database, talked to with
//! reqwest as the mobile app would. Every test runs on SQLite and, when
//! `SIGNPOST_TEST_POSTGRES_URL` is set, on a fresh PostgreSQL database too.
#![allow(dead_code)]

pub mod console;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use futures::FutureExt;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use signpost::{AppState, Clock, Server, Settings};
use tempfile::TempDir;

pub const POSTGRES_ENV: &str = "SIGNPOST_TEST_POSTGRES_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backends to run on: SQLite always; PostgreSQL when the variable is set.
pub fn backends() -> Vec<Backend> {
    let mut b = vec![Backend::Sqlite];
    if std::env::var(POSTGRES_ENV).is_ok_and(|v| !v.trim().is_empty()) {
        b.push(Backend::Postgres);
    }
    b
}

pub fn shipped_content() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("content")
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A content folder for one test: the shipped files copied (so a test may edit them),
/// the big reference tables linked, plus any fixture organisations named.
pub struct ContentDir {
    pub dir: TempDir,
}

impl ContentDir {
    pub fn shipped_with(fixture_orgs: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let src = shipped_content();
        std::fs::create_dir_all(dir.path().join("referrals")).expect("mkdir");
        for f in [
            "programmes.toml",
            "categories.toml",
            "help.toml",
            "referrals/needs.toml",
            "referrals/urgent_words.toml",
            "referrals/routing.toml",
        ] {
            std::fs::copy(src.join(f), dir.path().join(f)).expect("copy content");
        }
        std::fs::create_dir_all(dir.path().join("organisations")).expect("mkdir");
        for entry in std::fs::read_dir(src.join("organisations")).expect("read content") {
            let entry = entry.expect("entry");
            std::fs::copy(
                entry.path(),
                dir.path().join("organisations").join(entry.file_name()),
            )
            .expect("copy org");
        }
        for sub in ["articles", "safe_places"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
            for entry in std::fs::read_dir(src.join(sub)).expect("read content") {
                let entry = entry.expect("entry");
                std::fs::copy(entry.path(), dir.path().join(sub).join(entry.file_name()))
                    .expect("copy content");
            }
        }
        std::fs::copy(src.join("privacy.md"), dir.path().join("privacy.md")).expect("copy privacy");
        for name in fixture_orgs {
            let file = format!("{name}.toml");
            std::fs::copy(
                fixtures().join("organisations").join(&file),
                dir.path().join("organisations").join(&file),
            )
            .expect("copy fixture");
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(src.join("data"), dir.path().join("data")).expect("link data");
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn org_path(&self, slug: &str) -> PathBuf {
        self.path()
            .join("organisations")
            .join(format!("{slug}.toml"))
    }

    pub fn write_org(&self, slug: &str, text: &str) {
        std::fs::write(self.org_path(slug), text).expect("write org");
    }

    pub fn read_org(&self, slug: &str) -> String {
        std::fs::read_to_string(self.org_path(slug)).expect("read org")
    }
}

/// A fresh database for one test, dropped afterwards.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    dir: Option<TempDir>,
    pg_admin: Option<(String, String)>,
}

impl TestDb {
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                Self {
                    backend,
                    url,
                    dir: Some(dir),
                    pg_admin: None,
                }
            }
            Backend::Postgres => {
                let admin_url = std::env::var(POSTGRES_ENV).expect("postgres url");
                let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| {
                    panic!(
                        "{POSTGRES_ENV} is set but PostgreSQL is unreachable at {admin_url}: {e}"
                    )
                });
                let name = format!("signpost_test_{}", uuid::Uuid::new_v4().simple());
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
                let _ = admin.close().await;
                let url = replace_database(&admin_url, &name);
                Self {
                    backend,
                    url,
                    dir: None,
                    pg_admin: Some((admin_url, name)),
                }
            }
        }
    }

    /// The SQLite file, for tests that search the raw bytes on disk.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.path().join("test.db"))
    }

    pub async fn drop_database(&self) {
        if let Some((admin_url, name)) = &self.pg_admin
            && let Ok(admin) = Database::connect(admin_url).await
        {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
            let _ = admin.close().await;
        }
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].rfind('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// A running app.
pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub clock: Clock,
    pub content: ContentDir,
    pub backend: Backend,
    pub data_dir: TempDir,
    /// Shared so that `with_app` can keep the server up even when a test body's
    /// `async move` block captures only some of the app's fields.
    server: std::sync::Arc<Server>,
}

/// 2026-06-15 12:00 UTC, a Monday.
pub fn default_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 15, 12, 0, 0).unwrap()
}

impl TestApp {
    pub async fn spawn(db: &TestDb, content: ContentDir) -> Self {
        Self::spawn_with(db, content, |_| None).await
    }

    /// Starts the app with extra settings (`SIGNPOST_*` name → value).
    pub async fn spawn_with(
        db: &TestDb,
        content: ContentDir,
        extra: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let content_path = content.path().display().to_string();
        let data_path = data_dir.path().display().to_string();
        let db_url = db.url.clone();
        let settings = Settings::from_lookup(|name| {
            extra(name).or_else(|| match name {
                "SIGNPOST_LISTEN" => Some("127.0.0.1:0".into()),
                "DATABASE_URL" => Some(db_url.clone()),
                "SIGNPOST_CONTENT_DIR" => Some(content_path.clone()),
                "SIGNPOST_DATA_DIR" => Some(data_path.clone()),
                "SIGNPOST_DB_MAX_CONNECTIONS" => Some("5".into()),
                "SIGNPOST_RELOAD_SECS" => Some("3600".into()),
                // Most tests sign in with email and password only; tests of the second
                // factor set this themselves.
                "SIGNPOST_REQUIRE_2FA" => Some("none".into()),
                _ => None,
            })
        })
        .expect("settings");
        let clock = Clock::manual(default_now());
        let state = signpost::prepare(settings, clock.clone())
            .await
            .expect("app prepares");
        let server = signpost::start(state.clone(), std::future::pending())
            .await
            .expect("app starts");
        Self {
            url: server.url(),
            client: reqwest::Client::new(),
            state,
            clock,
            content,
            backend: db.backend,
            data_dir,
            server: std::sync::Arc::new(server),
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.state.db
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("request sent")
    }

    /// GET that must answer 200 with JSON.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let res = self.get(path).await;
        let status = res.status();
        let body = res.text().await.expect("body");
        assert_eq!(status, 200, "GET {path} answered {status}: {body}");
        serde_json::from_str(&body).expect("JSON body")
    }

    /// GET that must answer a problem with `status`; returns the problem.
    pub async fn get_problem(&self, path: &str, status: u16) -> serde_json::Value {
        let res = self.get(path).await;
        assert_eq!(res.status().as_u16(), status, "GET {path}");
        let ct = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert_eq!(ct, "application/problem+json", "GET {path}");
        let body: serde_json::Value = res.json().await.expect("problem JSON");
        assert_eq!(body["status"], status, "{body}");
        assert!(
            body["title"].is_string() && body["detail"].is_string() && body["type"].is_string()
        );
        body
    }

    /// Runs the content sync as `signpost content sync` would, then reloads.
    pub async fn resync(&self) -> signpost::content::SyncReport {
        signpost::sync_content(&self.state)
            .await
            .expect("sync runs")
    }

    /// Counts rows with a raw query, as stored.
    pub async fn count(&self, sql: &str) -> i64 {
        let backend = self.db().get_database_backend();
        let row = self
            .db()
            .query_one_raw(Statement::from_string(backend, sql.to_string()))
            .await
            .expect("query")
            .expect("a row");
        row.try_get_by_index::<i64>(0).expect("a count")
    }
}

/// Runs `body` once per backend, each on a fresh database that is dropped afterwards.
pub async fn on_each_backend<F, Fut>(body: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        eprintln!("-- on {backend:?}");
        let db = TestDb::create(backend).await;
        let pg = db.pg_admin.clone();
        let url = db.url.clone();
        let outcome = AssertUnwindSafe(body(db)).catch_unwind().await;
        let cleanup = TestDb {
            backend,
            url,
            dir: None,
            pg_admin: pg,
        };
        cleanup.drop_database().await;
        if let Err(panic) = outcome {
            eprintln!("-- failed on {backend:?}");
            std::panic::resume_unwind(panic);
        }
    }
}

/// `on_each_backend` for the common case: the shipped content plus fixtures.
pub async fn with_app<F, Fut>(fixture_orgs: &[&str], body: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let names: Vec<String> = fixture_orgs.iter().map(|s| s.to_string()).collect();
    on_each_backend(|db| {
        let names = names.clone();
        let fut_body = &body;
        async move {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let app = TestApp::spawn(&db, ContentDir::shipped_with(&refs)).await;
            let keep_serving = app.server.clone();
            fut_body(app).await;
            drop(keep_serving);
        }
    })
    .await;
}

pub fn names(page: &serde_json::Value) -> Vec<String> {
    page["contents"]
        .as_array()
        .expect("contents")
        .iter()
        .map(|s| s["name"].as_str().expect("name").to_string())
        .collect()
}
