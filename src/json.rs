//! JSON responses serialised straight into one buffer sized for them.
//!
//! `axum::Json` writes through a `BytesMut` that starts at 128 bytes and grows; a page of
//! services is about 12 KB, so the hot directory routes spent a tenth of their time
//! growing and copying it (docs/PERFORMANCE.md). Serialising inside the handler also lets
//! a view borrow from the directory snapshot the handler holds instead of copying it.
use axum::{
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::error::ApiError;

/// `value` as an `application/json` response; the buffer starts at `capacity` bytes.
pub fn render<T: Serialize>(value: &T, capacity: usize) -> Response {
    let mut buf = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut buf, value) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            buf,
        )
            .into_response(),
        Err(e) => {
            ApiError::Internal(anyhow::anyhow!("serialising a response: {e}")).into_response()
        }
    }
}
