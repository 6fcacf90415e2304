//! Anti-forgery tokens. Every state-changing form carries a hidden `csrf` field: an HMAC
//! (under a subkey of the data key) of the session it belongs to, or, before sign-in, of a
//! random pre-session cookie. The `Origin` check in [`super::headers`] comes on top.
use axum::http::{HeaderMap, HeaderValue};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::error::{ConsoleResult, forged_form};
use super::session::{self, PRESIGN};
use crate::crypto::new_token;
use crate::state::AppState;

/// The token for forms of a signed-in session.
pub fn for_session(state: &AppState, session_id: Uuid) -> String {
    state.keys.csrf_token(&format!("session\0{session_id}"))
}

/// The token for the sign-in forms, bound to the pre-session cookie.
pub fn for_presign(state: &AppState, cookie: &str) -> String {
    state.keys.csrf_token(&format!("presign\0{cookie}"))
}

pub fn matches(expected: &str, given: &str) -> bool {
    !given.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// Only the token, read from any form.
#[derive(Debug, Default, Deserialize)]
pub struct CsrfField {
    #[serde(default)]
    pub csrf: String,
}

/// The browser's pre-session cookie, made when it has none.
pub struct PreSession {
    pub csrf: String,
    /// Set when a new cookie was made.
    pub set_cookie: Option<HeaderValue>,
}

pub fn pre_session(state: &AppState, headers: &HeaderMap) -> PreSession {
    let name = session::cookie_name(&state.settings, PRESIGN);
    match session::read_cookie(headers, &name).filter(|v| v.len() >= 32) {
        Some(value) => PreSession {
            csrf: for_presign(state, &value),
            set_cookie: None,
        },
        None => {
            let (value, _) = new_token();
            PreSession {
                csrf: for_presign(state, &value),
                set_cookie: session::set_cookie(&state.settings, PRESIGN, &value, None),
            }
        }
    }
}

/// A sign-in form must carry the token of this browser's pre-session cookie.
pub fn check_presign(state: &AppState, headers: &HeaderMap, given: &str) -> ConsoleResult<()> {
    let name = session::cookie_name(&state.settings, PRESIGN);
    match session::read_cookie(headers, &name) {
        Some(value) if matches(&for_presign(state, &value), given) => Ok(()),
        _ => Err(forged_form()),
    }
}
