//! What the young person sends and sees.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::{Validate, ValidationError};

use crate::help::HelpLine;

pub const MAX_MESSAGE_CHARS: u64 = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactMethod {
    App,
    Phone,
    Text,
    Email,
}

impl ContactMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::App => "app",
            Self::Phone => "phone",
            Self::Text => "text",
            Self::Email => "email",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[validate(schema(function = "contact_value_fits_method", skip_on_field_errors = false))]
pub struct Contact {
    pub method: ContactMethod,
    /// A phone number (phone, text) or an email address; not needed for `app`.
    #[validate(length(max = 200))]
    pub value: Option<String>,
    /// When it is safe to get in touch.
    #[validate(length(max = 200))]
    pub safe_times: Option<String>,
    #[serde(default)]
    pub ok_to_leave_message: bool,
}

/// A UK phone number: digits with optional spaces, dashes, brackets and a leading +.
pub fn is_phone(s: &str) -> bool {
    let s = s.trim();
    let allowed = s
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || " -()".contains(c) || (c == '+' && i == 0));
    let digits = s.chars().filter(char::is_ascii_digit).count();
    allowed && (10..=15).contains(&digits)
}

fn contact_value_fits_method(c: &Contact) -> Result<(), ValidationError> {
    let value = c.value.as_deref().map(str::trim).unwrap_or_default();
    let problem = match c.method {
        ContactMethod::App => None,
        _ if value.is_empty() => Some("is required unless the method is app"),
        ContactMethod::Phone | ContactMethod::Text if !is_phone(value) => {
            Some("must be a phone number")
        }
        ContactMethod::Email if !validator::ValidateEmail::validate_email(&value) => {
            Some("must be an email address")
        }
        _ => None,
    };
    match problem {
        // validator files a schema error under `__all__`; `field` names the real one.
        Some(message) => {
            let mut e = ValidationError::new("contact_value").with_message(message.into());
            e.add_param("field".into(), &"value");
            Err(e)
        }
        None => Ok(()),
    }
}

/// `POST /v1/referrals`.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct NewReferral {
    /// 1–5 slugs from `GET /v1/referrals/needs`.
    #[validate(length(min = 1, max = 5, message = "choose between 1 and 5 needs"))]
    pub needs: Vec<String>,
    /// What the young person wants to say: 1–2000 characters.
    #[validate(length(min = 1, max = 2000))]
    pub message: String,
    #[validate(range(min = 10, max = 25))]
    pub age: Option<u32>,
    /// A postcode, outward code or borough slug.
    #[serde(rename = "where")]
    #[validate(length(max = 64))]
    pub where_: Option<String>,
    pub service_id: Option<String>,
    #[serde(default)]
    pub in_danger_now: bool,
    #[validate(nested)]
    pub contact: Option<Contact>,
    /// Left empty by the app; anything here is a bot.
    #[serde(default)]
    pub website: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoutedTo {
    pub slug: String,
    pub name: String,
}

/// `201` to `POST /v1/referrals`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralReceipt {
    /// A public handle to quote, e.g. `SP-7KM2-Q9XD`.
    pub reference: String,
    /// The only way back in. Shown once, never stored: it cannot be recovered.
    pub receipt: String,
    pub status: String,
    pub urgency: String,
    pub routed_to: RoutedTo,
    pub respond_within_hours: u32,
    /// Who will read the request and when, in plain words to show as it is.
    pub what_happens_next: String,
    /// Crisis and help lines: 999 first, then the lines that fit what was said, then
    /// crisis lines first when urgent.
    pub help: Vec<HelpLine>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadMessage {
    pub id: Uuid,
    /// `you`, `youth_worker`, or `signpost` for a notice from the service itself (for
    /// example that the request moved to another team).
    pub from: String,
    /// A youth worker's first name only.
    pub worker_name: Option<String>,
    pub body: String,
    pub sent_at: DateTime<Utc>,
}

/// `GET /v1/referrals/self`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnReferral {
    pub reference: String,
    pub status: String,
    pub urgency: String,
    pub created_at: DateTime<Utc>,
    /// When anything in this answer last changed (a message, a status).
    pub updated_at: DateTime<Utc>,
    pub routed_to: RoutedTo,
    /// What was asked for, so the app can show it again on a new phone.
    pub needs: Vec<NeedView>,
    /// The opening message, as sent. Absent once erased.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub respond_within_hours: u32,
    /// Where the request is now and what happens next, in plain words.
    pub what_happens_next: String,
    /// Messages from youth workers or Signpost since the young person last opened the
    /// thread.
    pub unread: u32,
    pub messages: Vec<ThreadMessage>,
    pub help: Vec<HelpLine>,
}

/// `POST /v1/referrals/self/receipt`: the new receipt. The old one stops working at once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewReceipt {
    /// Shown once, never stored: it cannot be recovered.
    pub receipt: String,
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
pub struct NewMessage {
    #[validate(length(min = 1, max = 2000))]
    pub body: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NeedView {
    pub slug: String,
    pub name: String,
    pub description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers() {
        assert!(is_phone("07700 900123"));
        assert!(is_phone("+44 7700 900123"));
        assert!(!is_phone("call me"));
        assert!(!is_phone("123"));
        assert!(!is_phone("0770+0900123"));
    }
}
