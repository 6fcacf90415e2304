//! The console's error pages: what happened and what to do next, in plain words. Never
//! problem+json, never a cause.
use askama::Template;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};

use super::Layout;
use crate::error::ApiError;

#[derive(Template)]
#[template(path = "error/page.html")]
struct ErrorPage<'a> {
    layout: Layout,
    heading: &'a str,
    message: &'a str,
    next_href: &'a str,
    next_label: &'a str,
}

/// Why a console request did not get its page.
#[derive(Debug)]
pub enum ConsoleError {
    /// Not signed in (or no longer): to the sign-in page, clearing the session cookie.
    SignIn {
        idle: bool,
        clear_cookie: Option<HeaderValue>,
    },
    Page {
        status: StatusCode,
        heading: String,
        message: String,
        next_href: String,
        next_label: String,
    },
}

pub type ConsoleResult<T> = Result<T, ConsoleError>;

impl ConsoleError {
    pub fn page(
        status: StatusCode,
        heading: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::Page {
            status,
            heading: heading.into(),
            message: message.into(),
            next_href: "/console/inbox".into(),
            next_label: "Go to the inbox".into(),
        }
    }

    /// Sends the reader back to a page other than the inbox.
    pub fn next(mut self, href: impl Into<String>, label: impl Into<String>) -> Self {
        if let Self::Page {
            next_href,
            next_label,
            ..
        } = &mut self
        {
            *next_href = href.into();
            *next_label = label.into();
        }
        self
    }
}

/// The same page for an unknown id and for another organisation's referral.
pub fn not_found() -> ConsoleError {
    ConsoleError::page(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is nothing at this address in your inbox. If you followed a link, it may be \
         wrong or the referral may belong to another team.",
    )
}

/// A form without a valid anti-forgery token, or sent from another site.
pub fn forged_form() -> ConsoleError {
    ConsoleError::page(
        StatusCode::FORBIDDEN,
        "This form could not be accepted",
        "Nothing was changed. For your safety, the console only accepts forms sent from its \
         own pages in this browser. Go back, reload the page, and try again.",
    )
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>(),
        None => String::new(),
    }
}

impl From<ApiError> for ConsoleError {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::NotFound(_) | ApiError::Gone(_) => not_found(),
            ApiError::Unauthorized(_) => Self::SignIn {
                idle: false,
                clear_cookie: None,
            },
            ApiError::Conflict(d) => Self::page(
                StatusCode::CONFLICT,
                "This could not be done",
                format!(
                    "{}. Reload the page to see where things stand.",
                    capitalised(&d)
                ),
            ),
            ApiError::Forbidden(d) => Self::page(
                StatusCode::FORBIDDEN,
                "You cannot do this",
                format!("{}.", capitalised(&d)),
            ),
            ApiError::Validation(errors) => Self::page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Some of what you sent needs changing",
                format!(
                    "{}. Go back, change it, and send it again.",
                    errors
                        .iter()
                        .map(|e| format!(
                            "{} {}",
                            capitalised(&e.field.replace('_', " ")),
                            e.message
                        ))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            ),
            ApiError::TooManyRequests { .. } => Self::page(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many tries",
                "There have been too many tries from this connection. Wait 15 minutes, then \
                 try again. If you have forgotten your password, ask your coordinator.",
            )
            .next("/console/sign-in", "Go to the sign-in page"),
            ApiError::Unavailable => Self::page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The console cannot answer right now",
                "Try again in a minute. If it keeps happening, tell your coordinator.",
            ),
            ApiError::Internal(e) => {
                // The cause goes to the log, never to the page.
                tracing::error!(error = %e, "console: internal error");
                internal()
            }
            ApiError::BadRequest(_)
            | ApiError::UnsupportedMediaType(_)
            | ApiError::PayloadTooLarge(_) => Self::page(
                StatusCode::BAD_REQUEST,
                "This request could not be read",
                "Go back, reload the page, and try again.",
            ),
        }
    }
}

impl From<sea_orm::DbErr> for ConsoleError {
    fn from(err: sea_orm::DbErr) -> Self {
        ApiError::from(err).into()
    }
}

pub fn internal() -> ConsoleError {
    ConsoleError::page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on our side",
        "Nothing you did caused this. Try again in a minute. If it keeps happening, tell \
         your coordinator.",
    )
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn { idle, clear_cookie } => {
                let to = if idle {
                    "/console/sign-in?signed_out=idle"
                } else {
                    "/console/sign-in"
                };
                let mut response = Redirect::to(to).into_response();
                if let Some(c) = clear_cookie {
                    response.headers_mut().append(header::SET_COOKIE, c);
                }
                response
            }
            Self::Page {
                status,
                heading,
                message,
                next_href,
                next_label,
            } => {
                let page = ErrorPage {
                    layout: Layout::new(&heading, None),
                    heading: &heading,
                    message: &message,
                    next_href: &next_href,
                    next_label: &next_label,
                };
                super::render(status, &page)
            }
        }
    }
}
