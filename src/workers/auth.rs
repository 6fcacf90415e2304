//! `Authorization: Bearer <token>` for youth workers.
use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};

use super::accounts;
use crate::entities::{worker, worker_session};
use crate::error::ApiError;
use crate::state::AppState;

pub struct SignedIn {
    pub worker: worker::Model,
    pub session: worker_session::Model,
}

impl SignedIn {
    pub fn can_transfer(&self) -> bool {
        matches!(self.worker.role.as_str(), "coordinator" | "admin")
    }
}

const NOT_SIGNED_IN: &str = "Sign in again: this login is not valid or has expired.";

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::Unauthorized(NOT_SIGNED_IN.into()))?;
        match accounts::worker_for_token(&state.db, token, state.clock.now()).await? {
            Some((worker, session)) => Ok(Self { worker, session }),
            None => Err(ApiError::Unauthorized(NOT_SIGNED_IN.into())),
        }
    }
}
