//! The console's CSS and script: in the repository, embedded in the binary, served under
//! names that carry a hash of their content, so a browser may keep them for a year and a
//! new build is fetched at once. Nothing is ever loaded from another host.
use std::sync::LazyLock;

use axum::{
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

pub struct Asset {
    /// The name it is served under, e.g. `console.3f2a….css`.
    pub name: String,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

fn asset(stem: &str, ext: &str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
    let hash = blake3::hash(bytes).to_hex();
    Asset {
        name: format!("{stem}.{}.{ext}", &hash.as_str()[..16]),
        content_type,
        bytes,
    }
}

static CSS: LazyLock<Asset> = LazyLock::new(|| {
    asset(
        "console",
        "css",
        "text/css; charset=utf-8",
        include_bytes!("static/console.css"),
    )
});

static JS: LazyLock<Asset> = LazyLock::new(|| {
    asset(
        "console",
        "js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/console.js"),
    )
});

pub const PREFIX: &str = "/console/assets/";

/// Where the stylesheet is served.
pub fn css_url() -> String {
    format!("{PREFIX}{}", CSS.name)
}

/// Where the script is served.
pub fn js_url() -> String {
    format!("{PREFIX}{}", JS.name)
}

pub async fn serve(Path(name): Path<String>) -> Response {
    let found = [&*CSS, &*JS].into_iter().find(|a| a.name == name);
    let Some(a) = found else {
        return super::error::not_found().into_response();
    };
    let mut response = (StatusCode::OK, a.bytes).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_a_hash_of_the_content() {
        assert!(css_url().starts_with("/console/assets/console."));
        assert!(css_url().ends_with(".css"));
        assert!(js_url().ends_with(".js"));
        assert_ne!(css_url(), js_url());
        assert_eq!(CSS.name.len(), "console..css".len() + 16);
    }
}
