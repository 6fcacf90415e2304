//! One error type for every handler, rendered as RFC 9457 problem details.
use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

/// A field at fault in a 422 answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    Conflict(String),
    /// One answer for every bad credential, so nothing can be learnt from it.
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("service unavailable")]
    Unavailable,
    /// Never shown to the client: logged once, answered as a bare 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Internal(err.into())
    }
}

/// The RFC 9457 body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem, e.g. `/problems/validation-error`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("/problems/{kind}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: None,
        }
    }

    pub fn into_response_with(self, status: StatusCode) -> Response {
        let mut response = (status, Json(self)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, problem) = match self {
            ApiError::Validation(errors) => {
                let detail = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut p = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation-error",
                    "Some of what was sent is not valid",
                    detail,
                );
                p.errors = Some(errors);
                (StatusCode::UNPROCESSABLE_ENTITY, p)
            }
            ApiError::BadRequest(d) => (
                StatusCode::BAD_REQUEST,
                Problem::new(StatusCode::BAD_REQUEST, "bad-request", "Bad request", d),
            ),
            ApiError::UnsupportedMediaType(d) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Problem::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported-media-type",
                    "Unsupported media type",
                    d,
                ),
            ),
            ApiError::PayloadTooLarge(d) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload-too-large",
                    "Request too large",
                    d,
                ),
            ),
            ApiError::NotFound(d) => (
                StatusCode::NOT_FOUND,
                Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", d),
            ),
            ApiError::Gone(d) => (
                StatusCode::GONE,
                Problem::new(StatusCode::GONE, "gone", "No longer available", d),
            ),
            ApiError::Conflict(d) => (
                StatusCode::CONFLICT,
                Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", d),
            ),
            ApiError::Unauthorized(d) => (
                StatusCode::UNAUTHORIZED,
                Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", "Not signed in", d),
            ),
            ApiError::Forbidden(d) => (
                StatusCode::FORBIDDEN,
                Problem::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed", d),
            ),
            ApiError::TooManyRequests {
                detail,
                retry_after_secs,
            } => {
                let mut response = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too-many-requests",
                    "Too many requests",
                    detail,
                )
                .into_response_with(StatusCode::TOO_MANY_REQUESTS);
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs.max(1)),
                );
                return response;
            }
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable",
                    "The service cannot answer right now. Please try again shortly.",
                ),
            ),
            ApiError::Internal(err) => {
                // The cause goes to the log, never to the client.
                tracing::error!(error = %err, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Problem::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "Something went wrong",
                        "Something went wrong on our side. Please try again.",
                    ),
                )
            }
        };
        problem.into_response_with(status)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
