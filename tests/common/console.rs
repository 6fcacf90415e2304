//! The console seen over HTTP, as a browser without JavaScript would: a cookie jar, forms
//! posted with their anti-forgery token and `Origin`, redirects not followed. Shared by the
//! console's test files (`#[path = "common/console.rs"] mod console_harness;`).
#![allow(dead_code)]

use std::collections::HashMap;

use chrono::Utc;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::Value;

use super::{ContentDir, TestApp, on_each_backend};

pub const PASSWORD: &str = "correct horse battery staple";
pub const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Runs `body` on each backend with the console's settings (`SIGNPOST_*` name → value).
pub async fn with_console<F, Fut>(extra: &'static [(&'static str, &'static str)], body: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    on_each_backend(|db| {
        let body = &body;
        async move {
            let app = TestApp::spawn_with(&db, ContentDir::shipped_with(&[]), |name| {
                extra
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
                    .or_else(|| (name == "SIGNPOST_REQUIRE_2FA").then(|| "none".to_string()))
            })
            .await;
            body(app).await;
        }
    })
    .await;
}

pub async fn add_worker(app: &TestApp, email: &str, name: &str, org: &str) {
    add_worker_as(app, email, name, org, "worker").await;
}

pub async fn add_worker_as(app: &TestApp, email: &str, name: &str, org: &str, role: &str) {
    signpost::workers::accounts::add(app.db(), email, name, org, role, PASSWORD, Utc::now())
        .await
        .unwrap();
}

pub async fn refer(app: &TestApp, body: Value) -> Value {
    let res = app
        .client
        .post(format!("{}/v1/referrals", app.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

/// A browser: keeps cookies, never follows redirects, sends `Origin` on forms.
pub struct Browser {
    pub base: String,
    pub origin: String,
    pub client: reqwest::Client,
    pub cookies: HashMap<String, String>,
    /// Every `Set-Cookie` seen, as sent.
    pub set_cookies: Vec<String>,
}

pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The `value` of the first hidden `csrf` field.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field");
        let rest = &self.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }

    /// The text inside the element with this id (first level only).
    pub fn by_id(&self, id: &str) -> String {
        let at = self
            .body
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no #{id} in {}", self.body));
        let rest = &self.body[at..];
        let start = rest.find('>').unwrap() + 1;
        let end = rest[start..].find('<').unwrap() + start;
        rest[start..end].trim().to_string()
    }
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self {
            base: app.url.clone(),
            origin: app.url.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
            set_cookies: Vec::new(),
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn take(&mut self, res: reqwest::Response) -> Page {
        for v in res.headers().get_all(SET_COOKIE) {
            let raw = v.to_str().unwrap().to_string();
            let (pair, _) = raw.split_once(';').unwrap_or((&raw, ""));
            let (k, val) = pair.split_once('=').unwrap();
            if raw.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), val.to_string());
            }
            self.set_cookies.push(raw);
        }
        Page {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: res.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.take(res).await
    }

    /// A form as a browser sends it, from `origin` (None: no `Origin` header).
    pub async fn post_from(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Page {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish(),
            );
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let res = req.send().await.unwrap();
        self.take(res).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let origin = self.origin.clone();
        self.post_from(path, form, Some(&origin)).await
    }

    /// Signs in with a password; returns the answer to the form.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/console/sign-in").await;
        assert_eq!(form.status, 200);
        let csrf = form.csrf();
        self.post(
            "/console/sign-in",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }

    pub async fn signed_in(app: &TestApp, email: &str) -> Self {
        let mut b = Self::new(app);
        let res = b.sign_in(email, PASSWORD).await;
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(res.location(), "/console/inbox");
        b
    }
}

pub fn assert_console_headers(page: &Page, what: &str) {
    let h = |n: &str| {
        page.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no {n}"))
            .to_string()
    };
    assert_eq!(h("cache-control"), "no-store", "{what}");
    assert_eq!(h("content-security-policy"), CSP, "{what}");
    assert_eq!(h("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(h("x-frame-options"), "DENY", "{what}");
}

pub fn assert_html_page(page: &Page, what: &str) {
    assert_console_headers(page, what);
    let ct = page.headers["content-type"].to_str().unwrap();
    assert_eq!(ct, "text/html; charset=utf-8", "{what}");
    // Nothing inline that the policy would block, and nothing from another host.
    for bad in [
        "style=",
        "<style",
        "onclick",
        "javascript:",
        "src=\"http",
        "href=\"http",
        "//",
    ] {
        if bad == "//" {
            assert!(
                !page.body.contains("=\"//"),
                "{what}: a protocol-relative address"
            );
            continue;
        }
        assert!(!page.body.contains(bad), "{what}: has {bad}");
    }
    assert!(
        !page.body.contains("<script>") && !page.body.contains("<script >"),
        "{what}: an inline script"
    );
}
