//! Extractors that turn bad input into a 400/415/422 problem naming the field at fault.
use std::borrow::Cow;

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::{header, request::Parts},
};
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::error::{ApiError, FieldError};

/// Query string deserialised (repeated keys allowed) and validated.
pub struct ValidatedQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ValidatedQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let value = parse_query::<T>(query)?;
        value.validate().map_err(validation_errors)?;
        Ok(Self(value))
    }
}

/// Deserialises a query string, naming the parameter at fault.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_html_form::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|err| {
        let (field, message) =
            field_and_message(&err.path().to_string(), &err.inner().to_string(), "query");
        ApiError::field(field, message)
    })
}

/// JSON body deserialised and validated: 415 without a JSON content type, 400 for
/// malformed JSON, 422 naming the field for anything else.
pub struct ValidatedJson<T>(pub T);

impl<S, T> FromRequest<S> for ValidatedJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime_lite::Mime>().ok())
            .is_some_and(|m| m.is_json());
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON with Content-Type: application/json".into(),
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge("the request body is too large".into())
                } else {
                    ApiError::BadRequest("could not read the request body".into())
                }
            })?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value: T = match serde_path_to_error::deserialize(&mut de) {
            Ok(v) => v,
            Err(err) => {
                let inner = err.inner();
                if inner.is_syntax() || inner.is_eof() {
                    return Err(ApiError::BadRequest(format!(
                        "the body is not valid JSON: {inner}"
                    )));
                }
                let (field, message) =
                    field_and_message(&err.path().to_string(), &inner.to_string(), "body");
                return Err(ApiError::field(field, message));
            }
        };
        if de.end().is_err() {
            return Err(ApiError::BadRequest(
                "the body is not valid JSON: trailing characters".into(),
            ));
        }
        value.validate().map_err(validation_errors)?;
        Ok(Self(value))
    }
}

/// The field at fault: serde names a missing field in its message, at the parent's path.
fn field_and_message(path: &str, message: &str, root: &str) -> (String, String) {
    let message = friendly(message);
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
        .map(str::to_string);
    let field = match (path, missing) {
        (".", Some(name)) => name,
        (".", None) => root.to_string(),
        (p, Some(name)) => format!("{p}.{name}"),
        (p, None) => p.to_string(),
    };
    let message = if message.starts_with("missing field") {
        "is required".to_string()
    } else {
        message
    };
    (field, message)
}

/// Trims serde's position suffix ("at line 1 column 9") from a message.
fn friendly(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Flattens validator's tree into `field` / `parent.child` / `list[0]` paths.
pub fn validation_errors(errors: ValidationErrors) -> ApiError {
    let mut out = Vec::new();
    flatten("", &errors, &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    ApiError::Validation(out)
}

fn flatten(prefix: &str, errors: &ValidationErrors, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            // A struct-level check names its field in a `field` parameter.
            ValidationErrorsKind::Field(list) if field == "__all__" => {
                for e in list {
                    let name = e
                        .params
                        .get("field")
                        .and_then(|v| v.as_str())
                        .unwrap_or("body");
                    let path = if prefix.is_empty() {
                        name.to_string()
                    } else {
                        format!("{prefix}.{name}")
                    };
                    out.push(FieldError::new(path, describe(e)));
                }
            }
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    out.push(FieldError::new(path.clone(), describe(e)));
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten(&path, inner, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    flatten(&format!("{path}[{i}]"), inner, out);
                }
            }
        }
    }
}

fn describe(e: &validator::ValidationError) -> String {
    if let Some(message) = &e.message {
        return message.to_string();
    }
    let param = |name: &str| e.params.get(name).map(|v| v.to_string());
    match (e.code.as_ref(), param("min"), param("max")) {
        ("range", Some(min), Some(max)) => format!("must be between {min} and {max}"),
        ("range", Some(min), None) => format!("must be at least {min}"),
        ("range", None, Some(max)) => format!("must be at most {max}"),
        ("length", Some(min), Some(max)) => {
            format!("must be between {min} and {max} characters")
        }
        ("length", Some(min), None) => format!("must be at least {min} characters"),
        ("length", None, Some(max)) => format!("must be at most {max} characters"),
        ("email", _, _) => "must be an email address".to_string(),
        ("url", _, _) => "must be a URL".to_string(),
        (code, _, _) => Cow::<str>::Owned(format!("is not valid ({code})")).into_owned(),
    }
}

/// A minimal media-type check: `application/json` or any `+json` suffix.
mod mime_lite {
    pub struct Mime(String);

    impl std::str::FromStr for Mime {
        type Err = ();
        fn from_str(s: &str) -> Result<Self, ()> {
            let essence = s.split(';').next().unwrap_or_default().trim();
            (!essence.is_empty())
                .then(|| Mime(essence.to_ascii_lowercase()))
                .ok_or(())
        }
    }

    impl Mime {
        pub fn is_json(&self) -> bool {
            self.0 == "application/json"
                || (self.0.starts_with("application/") && self.0.ends_with("+json"))
        }
    }
}
