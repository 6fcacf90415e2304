//! An organisation's webhook endpoints and the notifications sent to them: the rules the
//! JSON routes ([`super::admin`]) and the console's team pages both call. Who may act,
//! which organisation's endpoints they see, what a usable endpoint address is, listing,
//! adding, removing, a test notification, and retrying one that could not be delivered.
//!
//! Secrets are sealed at rest under the endpoint's id and never read back here: only the
//! deliverer opens them, to sign.
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;
use validator::ValidateUrl;

use super::outbox::{
    self as outbox_rows, EVENT_ESCALATED, EVENT_MESSAGE, EVENT_REMINDER, EVENT_ROUTED, EVENT_TEST,
    EVENT_TRANSFERRED, PURPOSE_ESCALATION, PURPOSE_NOTIFY,
};
use crate::entities::{outbox, referral, webhook_endpoint};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::paging::{Page, PageQuery};
use crate::state::AppState;

/// The longest endpoint address accepted.
pub const URL_MAX: usize = 2000;
/// A shared secret's length, in characters.
pub const SECRET_MIN: usize = 32;
pub const SECRET_MAX: usize = 512;

/// Whose endpoints and notifications someone acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Only this organisation's (coordinators; admins in the console).
    Organisation(Uuid),
    /// Every organisation's; new endpoints go to `own` unless another is named (admins
    /// through the JSON routes).
    Every { own: Uuid },
}

impl Scope {
    fn organisation(self) -> Option<Uuid> {
        match self {
            Self::Organisation(o) => Some(o),
            Self::Every { .. } => None,
        }
    }
}

/// Who manages notifications: coordinators their own organisation's, admins every
/// organisation's; a youth worker none (`None`).
pub fn scope_for(role: &str, organisation: Uuid) -> Option<Scope> {
    match role {
        "admin" => Some(Scope::Every { own: organisation }),
        "coordinator" => Some(Scope::Organisation(organisation)),
        _ => None,
    }
}

/// What an endpoint is told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// New referrals, messages from young people, transfers and reminders.
    Notify,
    /// Urgent referrals nobody has taken in time.
    Escalation,
}

impl Purpose {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            PURPOSE_NOTIFY => Some(Self::Notify),
            PURPOSE_ESCALATION => Some(Self::Escalation),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notify => PURPOSE_NOTIFY,
            Self::Escalation => PURPOSE_ESCALATION,
        }
    }

    /// In plain words, for people.
    pub fn words(self) -> &'static str {
        match self {
            Self::Notify => "new referrals, messages and reminders",
            Self::Escalation => "urgent escalations",
        }
    }
}

/// What a notification was about, in plain words.
pub fn event_words(event: &str) -> &'static str {
    match event {
        EVENT_ROUTED => "A new referral",
        EVENT_TRANSFERRED => "A referral transferred to the team",
        EVENT_MESSAGE => "A new message from a young person",
        EVENT_ESCALATED => "An urgent referral nobody has taken yet",
        EVENT_REMINDER => "A reminder about a referral still waiting",
        EVENT_TEST => "A test notification",
        _ => "A notification",
    }
}

/// A shared secret: never in `Debug`, never logged.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Self(s)
    }

    /// The text, to show once or to seal.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A new secret made on the server: 32 bytes from the operating system's CSPRNG, as 43
/// base64url characters.
pub fn new_secret() -> Secret {
    Secret(crate::crypto::new_token().0)
}

/// An endpoint as people see it: never its secret.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub url: String,
    /// `notify` or `escalation`, as stored.
    pub purpose: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl Endpoint {
    /// The purpose in plain words.
    pub fn purpose_words(&self) -> &'static str {
        Purpose::parse(&self.purpose).map_or("notifications", Purpose::words)
    }
}

impl From<webhook_endpoint::Model> for Endpoint {
    fn from(e: webhook_endpoint::Model) -> Self {
        Self {
            id: e.id,
            organisation_id: e.organisation_id,
            url: e.url,
            purpose: e.purpose,
            active: e.active,
            created_at: e.created_at,
        }
    }
}

/// What someone asked to add.
#[derive(Debug)]
pub struct NewEndpoint {
    pub url: String,
    pub purpose: String,
    pub secret: Secret,
    /// Another organisation (admins only); `None` for one's own.
    pub organisation: Option<Uuid>,
}

/// The rule for an endpoint's address, wherever one is added: an absolute http or https
/// URL of at most [`URL_MAX`] characters. Returns the address as it will be stored.
///
/// There is no check of where the address points (a private or loopback network, say):
/// delivery has no such guard either.
pub fn check_url(url: &str) -> Result<String, FieldError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(FieldError::new("url", "is required"));
    }
    if url.chars().count() > URL_MAX {
        return Err(FieldError::new(
            "url",
            format!("must be at most {URL_MAX} characters"),
        ));
    }
    if !url.validate_url() {
        return Err(FieldError::new("url", "must be a URL"));
    }
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Err(FieldError::new("url", "must be an http or https URL"));
    }
    Ok(url.to_string())
}

/// Every field error of a new endpoint at once, sorted by field; nothing is stored.
fn check(new: &NewEndpoint) -> Result<(String, Purpose), ApiError> {
    let mut errors = Vec::new();
    let purpose = Purpose::parse(new.purpose.trim());
    if purpose.is_none() {
        errors.push(FieldError::new("purpose", "must be notify or escalation"));
    }
    let secret_len = new.secret.expose().chars().count();
    if !(SECRET_MIN..=SECRET_MAX).contains(&secret_len) {
        errors.push(FieldError::new(
            "secret",
            format!("must be between {SECRET_MIN} and {SECRET_MAX} characters"),
        ));
    }
    let url = check_url(&new.url).map_err(|e| errors.push(e)).ok();
    match (url, purpose) {
        (Some(url), Some(purpose)) if errors.is_empty() => Ok((url, purpose)),
        _ => {
            errors.sort_by(|a, b| a.field.cmp(&b.field));
            Err(ApiError::Validation(errors))
        }
    }
}

/// The active endpoints in `scope`, oldest first.
pub async fn list(db: &DatabaseConnection, scope: Scope) -> Result<Vec<Endpoint>, DbErr> {
    let mut q = webhook_endpoint::Entity::find().filter(webhook_endpoint::Column::Active.eq(true));
    if let Some(o) = scope.organisation() {
        q = q.filter(webhook_endpoint::Column::OrganisationId.eq(o));
    }
    Ok(q.order_by_asc(webhook_endpoint::Column::CreatedAt)
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Endpoint::from)
        .collect())
}

/// One active endpoint in `scope`; another organisation's is the same 404 as an unknown id.
pub async fn get(db: &DatabaseConnection, scope: Scope, id: Uuid) -> ApiResult<Endpoint> {
    let mut q =
        webhook_endpoint::Entity::find_by_id(id).filter(webhook_endpoint::Column::Active.eq(true));
    if let Some(o) = scope.organisation() {
        q = q.filter(webhook_endpoint::Column::OrganisationId.eq(o));
    }
    q.one(db).await?.map(Endpoint::from).ok_or_else(no_endpoint)
}

fn no_endpoint() -> ApiError {
    ApiError::NotFound("no endpoint of yours has this id".into())
}

/// Adds an endpoint, its secret sealed under its id. Bad input stores nothing.
pub async fn add(state: &AppState, scope: Scope, new: NewEndpoint) -> ApiResult<Endpoint> {
    let (url, purpose) = check(&new)?;
    let organisation = match (scope, new.organisation) {
        (Scope::Organisation(own), Some(o)) if o != own => {
            return Err(ApiError::Forbidden(
                "only admins set endpoints for another organisation".into(),
            ));
        }
        (Scope::Organisation(own), _) => own,
        (Scope::Every { .. }, Some(o)) => o,
        (Scope::Every { own }, None) => own,
    };
    if !state
        .directory
        .load()
        .organisations_by_id
        .contains_key(&organisation)
    {
        return Err(ApiError::field(
            "organisation_id",
            "no active organisation has this id",
        ));
    }
    let id = Uuid::now_v7();
    let e = webhook_endpoint::ActiveModel {
        id: Set(id),
        organisation_id: Set(organisation),
        url: Set(url),
        secret_sealed: Set(state.keys.seal(new.secret.expose(), id.as_bytes())),
        purpose: Set(purpose.as_str().to_string()),
        active: Set(true),
        created_at: Set(state.clock.now()),
    }
    .insert(&state.db)
    .await?;
    Ok(e.into())
}

/// Stops sending to an endpoint. Its notifications stay listed.
pub async fn remove(db: &DatabaseConnection, scope: Scope, id: Uuid) -> ApiResult<()> {
    let mut q = webhook_endpoint::Entity::update_many()
        .col_expr(webhook_endpoint::Column::Active, Expr::value(false))
        .filter(webhook_endpoint::Column::Id.eq(id));
    if let Some(o) = scope.organisation() {
        q = q.filter(webhook_endpoint::Column::OrganisationId.eq(o));
    }
    match q.exec(db).await?.rows_affected {
        0 => Err(no_endpoint()),
        _ => Ok(()),
    }
}

/// Queues a test notification to one active endpoint in `scope` and wakes the deliverer.
/// Returns the notification's id.
pub async fn send_test(state: &AppState, scope: Scope, id: Uuid) -> ApiResult<Uuid> {
    let endpoint = get(&state.db, scope, id).await?;
    let notification = outbox_rows::enqueue_test(
        &state.db,
        endpoint.id,
        state.clock.now(),
        state.settings.outbox_retry_hours,
    )
    .await?;
    state.outbox_wake.notify_one();
    Ok(notification)
}

/// Which notifications to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    Pending,
    Delivered,
    Dead,
}

impl Delivery {
    /// `pending`, `delivered` or `dead`; anything else is a 422 naming `state`.
    pub fn parse(s: &str) -> ApiResult<Self> {
        match s {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "dead" => Ok(Self::Dead),
            _ => Err(ApiError::field(
                "state",
                format!("{s:?} is not pending, delivered or dead"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }
}

/// One notification as a coordinator sees it: never its body.
#[derive(Clone, Debug)]
pub struct Notification {
    pub id: Uuid,
    pub event_type: String,
    /// The referral's reference, when it was about one that still exists.
    pub reference: Option<String>,
    /// `pending`, `delivered` or `dead`.
    pub state: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub endpoint_id: Uuid,
    pub endpoint_url: String,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl Notification {
    /// Whether it can be tried again now: not delivered yet.
    pub fn retryable(&self) -> bool {
        self.state != "delivered"
    }
}

/// Every endpoint in `scope`, removed ones too: their notifications stay visible.
async fn endpoints_in(
    db: &DatabaseConnection,
    scope: Scope,
) -> Result<Vec<webhook_endpoint::Model>, DbErr> {
    let mut q = webhook_endpoint::Entity::find();
    if let Some(o) = scope.organisation() {
        q = q.filter(webhook_endpoint::Column::OrganisationId.eq(o));
    }
    q.all(db).await
}

/// Notifications to endpoints in `scope`, newest first; `state` filters.
pub async fn notifications(
    db: &DatabaseConnection,
    scope: Scope,
    state: Option<Delivery>,
    paging: &PageQuery,
) -> ApiResult<Page<Notification>> {
    let endpoints = endpoints_in(db, scope).await?;
    let mut select = outbox::Entity::find()
        .filter(outbox::Column::EndpointId.is_in(endpoints.iter().map(|e| e.id)));
    if let Some(s) = state {
        select = select.filter(outbox::Column::State.eq(s.as_str()));
    }
    let total = select.clone().count(db).await?;
    let rows = select
        .order_by_desc(outbox::Column::CreatedAt)
        .order_by_desc(outbox::Column::Id)
        .offset(paging.offset() as u64)
        .limit(u64::from(paging.per_page()))
        .all(db)
        .await?;
    let referral_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.referral_id).collect();
    let references: HashMap<Uuid, String> = if referral_ids.is_empty() {
        HashMap::new()
    } else {
        referral::Entity::find()
            .filter(referral::Column::Id.is_in(referral_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|r| (r.id, r.reference))
            .collect()
    };
    let urls: HashMap<Uuid, String> = endpoints.into_iter().map(|e| (e.id, e.url)).collect();
    let items = rows
        .into_iter()
        .map(|r| Notification {
            id: r.id,
            reference: r.referral_id.and_then(|id| references.get(&id).cloned()),
            event_type: r.event_type,
            state: r.state,
            attempts: r.attempts,
            last_status: r.last_status,
            last_error: r.last_error,
            endpoint_url: urls.get(&r.endpoint_id).cloned().unwrap_or_default(),
            endpoint_id: r.endpoint_id,
            created_at: r.created_at,
            next_attempt_at: r.next_attempt_at,
            delivered_at: r.delivered_at,
        })
        .collect();
    Ok(Page::new(items, total, paging))
}

/// Tries a dead (or pending) notification again now, with a fresh retry window, and wakes
/// the deliverer. A delivered one is a conflict; another organisation's is not found.
pub async fn retry(state: &AppState, scope: Scope, id: Uuid) -> ApiResult<()> {
    let endpoints = endpoints_in(&state.db, scope).await?;
    let row = outbox::Entity::find_by_id(id)
        .filter(outbox::Column::EndpointId.is_in(endpoints.iter().map(|e| e.id)))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::NotFound("no notification of yours has this id".into()))?;
    if row.state == "delivered" {
        return Err(ApiError::Conflict("this notification was delivered".into()));
    }
    let now = state.clock.now();
    outbox::Entity::update_many()
        .col_expr(outbox::Column::State, Expr::value("pending"))
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(now))
        .col_expr(
            outbox::Column::RetryUntil,
            Expr::value(now + Duration::hours(i64::from(state.settings.outbox_retry_hours))),
        )
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(outbox::Column::Id.eq(id))
        .exec(&state.db)
        .await?;
    state.outbox_wake.notify_one();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_an_endpoint_address() {
        assert_eq!(
            check_url(" https://hooks.example.org/signpost ")
                .as_deref()
                .ok(),
            Some("https://hooks.example.org/signpost")
        );
        assert!(check_url("http://127.0.0.1:9/x").is_ok());
        for bad in [
            "",
            "not a url",
            "ftp://example.org/x",
            "mailto:a@example.org",
        ] {
            let e = check_url(bad).err();
            assert_eq!(e.map(|e| e.field), Some("url".to_string()), "{bad}");
        }
        let long = format!("https://example.org/{}", "a".repeat(URL_MAX));
        assert!(check_url(&long).is_err());
    }

    #[test]
    fn secrets_are_long_and_never_in_debug() {
        let s = new_secret();
        assert!(s.expose().len() >= SECRET_MIN);
        assert_ne!(s.expose(), new_secret().expose());
        assert!(!format!("{s:?}").contains(s.expose()));
        let new = NewEndpoint {
            url: "https://example.org".into(),
            purpose: "notify".into(),
            secret: s.clone(),
            organisation: None,
        };
        assert!(!format!("{new:?}").contains(s.expose()));
    }

    #[test]
    fn roles_and_words() {
        let o = Uuid::now_v7();
        assert_eq!(scope_for("coordinator", o), Some(Scope::Organisation(o)));
        assert_eq!(scope_for("admin", o), Some(Scope::Every { own: o }));
        assert_eq!(scope_for("worker", o), None);
        assert_eq!(
            Purpose::Notify.words(),
            "new referrals, messages and reminders"
        );
        assert_eq!(Purpose::Escalation.words(), "urgent escalations");
        assert_eq!(event_words(EVENT_TEST), "A test notification");
    }
}
