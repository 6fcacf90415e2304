//! A JSON response serialised straight into one buffer sized for it.
//!
//! `axum::Json` writes through a `BytesMut` that starts at 128 bytes and grows; a page of
//! services is about 12 KB, so the hot directory routes spent a tenth of their time
//! growing and copying it (docs/PERFORMANCE.md). Same bytes, same headers.
use axum::{
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::error::ApiError;

/// `Json` with a capacity hint: the buffer starts at `capacity` bytes.
pub struct SizedJson<T> {
    pub value: T,
    pub capacity: usize,
}

impl<T> SizedJson<T> {
    pub fn new(value: T, capacity: usize) -> Self {
        Self { value, capacity }
    }
}

impl<T: Serialize> IntoResponse for SizedJson<T> {
    fn into_response(self) -> Response {
        let mut buf = Vec::with_capacity(self.capacity);
        match serde_json::to_writer(&mut buf, &self.value) {
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
}
