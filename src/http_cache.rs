//! Caching for public GETs: a strong `ETag` from the body, `Cache-Control: public`, and
//! `304 Not Modified` for a matching `If-None-Match`. A cheap phone on a weak signal
//! re-downloads nothing that has not changed.
use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Largest body that is buffered to compute an ETag; bigger ones pass through untouched.
const MAX_ETAG_BODY: usize = 32 * 1024 * 1024;

#[derive(Clone, Copy)]
pub struct PublicCache {
    pub max_age: u32,
}

pub async fn public_cache(
    State(policy): State<PublicCache>,
    request: Request,
    next: Next,
) -> Response {
    let is_read = matches!(*request.method(), Method::GET | Method::HEAD);
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    let response = next.run(request).await;
    if !is_read || response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ETAG_BODY).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let etag = etag_for(&bytes);
    set_cache_headers(&mut parts.headers, &etag, policy.max_age);
    if if_none_match.is_some_and(|v| matches_etag(&v, &etag)) {
        let mut not_modified = Response::new(Body::empty());
        *not_modified.status_mut() = StatusCode::NOT_MODIFIED;
        for name in [header::ETAG, header::CACHE_CONTROL, header::VARY] {
            if let Some(v) = parts.headers.get(&name) {
                not_modified.headers_mut().insert(name, v.clone());
            }
        }
        return not_modified;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// `"` + the body's 128-bit XXH3 in hex + `"`. The tag only has to change when the body
/// does (nobody gains from forging a collision on public content), and XXH3 hashes a
/// 12 KB page several times faster than a cryptographic hash (docs/PERFORMANCE.md).
pub fn etag_for(body: &[u8]) -> HeaderValue {
    let hash = xxhash_rust::xxh3::xxh3_128(body);
    HeaderValue::from_str(&format!("\"{hash:032x}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

fn set_cache_headers(headers: &mut HeaderMap, etag: &HeaderValue, max_age: u32) {
    headers.insert(header::ETAG, etag.clone());
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        headers.insert(header::CACHE_CONTROL, v);
    }
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
}

/// `If-None-Match` may list several tags, weak or strong, or `*`.
pub fn matches_etag(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(list) = if_none_match.to_str() else {
        return false;
    };
    let Ok(ours) = etag.to_str() else {
        return false;
    };
    list.split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == ours)
}

/// `Cache-Control: no-store` for everything about referrals and workers.
pub async fn no_store(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_tags() {
        let ours = etag_for(b"hello");
        let s = ours.to_str().unwrap().to_string();
        assert!(matches_etag(&HeaderValue::from_str(&s).unwrap(), &ours));
        assert!(matches_etag(
            &HeaderValue::from_str(&format!("W/{s}")).unwrap(),
            &ours
        ));
        assert!(matches_etag(
            &HeaderValue::from_str(&format!("\"x\", {s}")).unwrap(),
            &ours
        ));
        assert!(matches_etag(&HeaderValue::from_static("*"), &ours));
        assert!(!matches_etag(&HeaderValue::from_static("\"other\""), &ours));
        assert_ne!(etag_for(b"a"), etag_for(b"b"));
    }
}
