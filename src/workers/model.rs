//! What youth workers send and see.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::referrals::model::Contact;

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct Login {
    #[validate(length(min = 3, max = 254))]
    pub email: String,
    #[validate(length(min = 1, max = 1024))]
    pub password: String,
    /// The second factor, when it is asked for: the 6-digit code from the authenticator
    /// app, or a recovery code (any case, with or without dashes or spaces).
    #[validate(length(max = 64))]
    pub code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationBrief {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerView {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub organisation: OrganisationBrief,
}

/// A sign-in that needs its second step: an `application/problem+json` body with one
/// more field. `type` is `/problems/second-factor-required` (401: send the same email and
/// password again with `code`) or `/problems/second-factor-setup-required` (403: the
/// second factor must first be set up in the console, at `setup_at`).
#[derive(Debug, Serialize, ToSchema)]
pub struct SecondFactorNeeded {
    #[serde(flatten)]
    pub problem: crate::error::Problem,
    /// `code` (send `code` with the email and password) or `setup` (set it up in the
    /// console first).
    pub second_factor: String,
    /// Where to set up the second factor (`/console`), when `second_factor` is `setup`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginAnswer {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub worker: WorkerView,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// `received`, `assigned`, `claimed`, `in_progress`, `closed` or `withdrawn`.
    pub status: Option<String>,
    /// `urgent` or `routine`.
    pub urgency: Option<String>,
    /// A need slug (as in `GET /v1/referrals/needs`): only referrals asking for it.
    pub need: Option<String>,
    /// `true`: only referrals waiting for us — open, and the young person had the last
    /// word (they wrote after the team's last reply, or nobody has replied yet).
    pub waiting: Option<bool>,
    /// A reference (any case, spaces around it ignored): only the organisation's referral
    /// with it. Another organisation's reference finds nothing, like an unknown one.
    #[validate(length(max = 64))]
    pub reference: Option<String>,
    #[validate(range(min = 1, max = 1_000_000))]
    pub page: Option<u32>,
    #[validate(range(min = 1, max = 100))]
    pub per_page: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerRef {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxItem {
    pub id: Uuid,
    pub reference: String,
    pub status: String,
    pub urgency: String,
    pub needs: Vec<String>,
    /// Borough slug, when the young person said where.
    pub borough: Option<String>,
    pub claimed_by: Option<WorkerRef>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The young person has written since you last opened this referral.
    pub unread: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NeedRef {
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxMessage {
    pub id: Uuid,
    /// `young_person`, `youth_worker`, `note` (a worker's private note) or `signpost` (a
    /// notice shown to both sides, such as a transfer).
    pub from: String,
    pub worker: Option<WorkerRef>,
    pub body: String,
    pub sent_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub kind: String,
    pub worker: Option<WorkerRef>,
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxReferral {
    #[serde(flatten)]
    pub item: InboxItem,
    pub needs_named: Vec<NeedRef>,
    pub message: Option<String>,
    pub age: Option<u8>,
    /// What the young person typed for where they are.
    #[serde(rename = "where")]
    pub where_: Option<String>,
    pub in_danger_now: bool,
    pub contact: Option<Contact>,
    pub outcome: Option<String>,
    pub thread: Vec<InboxMessage>,
    pub events: Vec<EventView>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct WorkerMessage {
    #[validate(length(min = 1, max = 4000))]
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NewStatus {
    InProgress,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Supported,
    ReferredOn,
    NoContact,
    Duplicate,
    NotAppropriate,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Supported => "supported",
            Self::ReferredOn => "referred_on",
            Self::NoContact => "no_contact",
            Self::Duplicate => "duplicate",
            Self::NotAppropriate => "not_appropriate",
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct StatusChange {
    pub status: NewStatus,
    /// Required when closing.
    pub outcome: Option<Outcome>,
    /// A private note (never shown to the young person).
    #[validate(length(max = 4000))]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct Transfer {
    pub organisation_id: Uuid,
    #[validate(length(min = 1, max = 2000))]
    pub reason: String,
}
