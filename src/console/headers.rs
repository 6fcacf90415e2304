//! What every console answer carries, and the `Origin` check on every form.
use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::state::AppState;

pub const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Security headers on every console answer; `Cache-Control: no-store` unless the answer
/// set its own (only the hashed assets do). A POST from another origin, or with no
/// `Origin` at all, is refused before any handler runs, so it changes nothing.
pub async fn console_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = if request.method() == Method::POST
        && !origin_allowed(request.headers(), state.settings.public_url.as_deref())
    {
        super::error::forged_form().into_response()
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// `scheme://host[:port]` of a URL, lowercased.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if scheme.is_empty() || host.is_empty() {
        return None;
    }
    Some(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase()
    ))
}

/// The form must come from the public URL's origin, or, without that setting, from the
/// host it was sent to. A missing `Origin` is refused.
///
/// Our pages send `Referrer-Policy: no-referrer`, and under that policy browsers send
/// `Origin: null` even on a same-origin form post (Fetch standard, "serializing a request
/// origin"). Such a post is accepted only when the browser's own Fetch Metadata says it
/// came from this site (`Sec-Fetch-Site: same-origin`), which a page on another site
/// cannot forge; the form's CSRF token is checked as well either way.
pub fn origin_allowed(headers: &HeaderMap, public_url: Option<&str>) -> bool {
    let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(|o| o.trim().to_ascii_lowercase())
    else {
        return false;
    };
    if origin == "null" {
        return headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("same-origin"));
    }
    match public_url {
        Some(url) => origin_of(url).is_some_and(|expected| expected == origin),
        None => {
            let Some(host) = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
            else {
                return false;
            };
            origin == format!("http://{host}") || origin == format!("https://{host}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn a_null_origin_needs_the_browsers_same_origin_fetch_metadata() {
        let null_same = headers(&[
            (header::ORIGIN, "null"),
            (
                header::HeaderName::from_static("sec-fetch-site"),
                "same-origin",
            ),
        ]);
        assert!(origin_allowed(&null_same, Some("https://s.example.org")));
        assert!(origin_allowed(&null_same, None));
        let null_cross = headers(&[
            (header::ORIGIN, "null"),
            (
                header::HeaderName::from_static("sec-fetch-site"),
                "cross-site",
            ),
        ]);
        assert!(!origin_allowed(&null_cross, None));
        assert!(!origin_allowed(&headers(&[(header::ORIGIN, "null")]), None));
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("https://Console.Example.org/path?x").as_deref(),
            Some("https://console.example.org")
        );
        assert_eq!(origin_of("nope"), None);
        let ok = headers(&[(header::ORIGIN, "https://s.example.org")]);
        assert!(origin_allowed(&ok, Some("https://s.example.org/")));
        assert!(!origin_allowed(&ok, Some("https://other.example.org")));
        let by_host = headers(&[
            (header::ORIGIN, "http://127.0.0.1:8080"),
            (header::HOST, "127.0.0.1:8080"),
        ]);
        assert!(origin_allowed(&by_host, None));
        let foreign = headers(&[
            (header::ORIGIN, "http://evil.example"),
            (header::HOST, "127.0.0.1:8080"),
        ]);
        assert!(!origin_allowed(&foreign, None));
        assert!(!origin_allowed(&headers(&[(header::HOST, "a")]), None));
    }
}
