//! Youth-worker accounts and their logins. Passwords are argon2id hashes; login tokens are
//! 256 random bits of which only a SHA-256 is stored.
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::crypto::{burn_password_check, hash_password, new_token, token_hash, verify_password};
use crate::entities::{organisation, worker, worker_session};

pub const ROLES: [&str; 3] = ["worker", "coordinator", "admin"];

#[derive(Debug, thiserror::Error)]
pub enum AddWorkerError {
    #[error("no active organisation has the slug {0:?}")]
    UnknownOrganisation(String),
    #[error("role must be one of worker, coordinator, admin")]
    BadRole,
    #[error("{0:?} is not an email address")]
    BadEmail(String),
    #[error("the password must be at least 12 characters")]
    WeakPassword,
    #[error("a worker with this email already exists")]
    Exists,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Creates a youth-worker account in an organisation.
pub async fn add(
    db: &DatabaseConnection,
    email: &str,
    name: &str,
    organisation_slug: &str,
    role: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<worker::Model, AddWorkerError> {
    let email = email.trim().to_lowercase();
    if !validator::ValidateEmail::validate_email(&email) {
        return Err(AddWorkerError::BadEmail(email));
    }
    if !ROLES.contains(&role) {
        return Err(AddWorkerError::BadRole);
    }
    if password.chars().count() < 12 {
        return Err(AddWorkerError::WeakPassword);
    }
    let org = organisation::Entity::find()
        .filter(organisation::Column::Slug.eq(organisation_slug))
        .filter(organisation::Column::Active.eq(true))
        .one(db)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(|| AddWorkerError::UnknownOrganisation(organisation_slug.to_string()))?;
    let exists = worker::Entity::find()
        .filter(worker::Column::Email.eq(email.clone()))
        .one(db)
        .await
        .map_err(anyhow::Error::from)?;
    if exists.is_some() {
        return Err(AddWorkerError::Exists);
    }
    let hash = hash_password(password)?;
    let w = worker::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(org.id),
        email: Set(email),
        name: Set(name.trim().to_string()),
        role: Set(role.to_string()),
        password_hash: Set(hash),
        active: Set(true),
        created_at: Set(now),
        totp_secret_sealed: Set(None),
        totp_enrolled_at: Set(None),
        totp_last_step: Set(None),
    }
    .insert(db)
    .await
    .map_err(anyhow::Error::from)?;
    Ok(w)
}

/// Checks an email and password. An unknown email costs the same as a wrong password.
pub async fn authenticate(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
) -> Result<Option<worker::Model>, sea_orm::DbErr> {
    let found = worker::Entity::find()
        .filter(worker::Column::Email.eq(email.trim().to_lowercase()))
        .one(db)
        .await?;
    match found {
        Some(w) if verify_password(password, &w.password_hash) && w.active => Ok(Some(w)),
        Some(_) => Ok(None),
        None => {
            burn_password_check(password);
            Ok(None)
        }
    }
}

/// A bearer token for the JSON API.
pub const SESSION_API: &str = "api";
/// A browser session of the youth-worker console (a cookie).
pub const SESSION_CONSOLE: &str = "console";

/// Starts a session; returns the bearer token (shown once) and when it expires.
pub async fn start_session(
    db: &DatabaseConnection,
    worker_id: Uuid,
    hours: u32,
    now: DateTime<Utc>,
) -> Result<(String, DateTime<Utc>), sea_orm::DbErr> {
    start_session_of_kind(db, worker_id, hours, now, SESSION_API).await
}

/// Starts a session of a kind (`api` or `console`); only the token's SHA-256 is stored.
pub async fn start_session_of_kind(
    db: &DatabaseConnection,
    worker_id: Uuid,
    hours: u32,
    now: DateTime<Utc>,
    kind: &str,
) -> Result<(String, DateTime<Utc>), sea_orm::DbErr> {
    let (token, hash) = new_token();
    let expires_at = now + Duration::hours(i64::from(hours));
    worker_session::ActiveModel {
        id: Set(Uuid::now_v7()),
        worker_id: Set(worker_id),
        token_hash: Set(hash),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        last_seen_at: Set(Some(now)),
        kind: Set(kind.to_string()),
    }
    .insert(db)
    .await?;
    Ok((token, expires_at))
}

/// The active worker behind a live bearer token (a console cookie is not one).
pub async fn worker_for_token(
    db: &DatabaseConnection,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<(worker::Model, worker_session::Model)>, sea_orm::DbErr> {
    worker_for_session_token(db, token, SESSION_API, now).await
}

/// The active worker behind a live token of a kind: unknown, revoked, expired, of
/// another kind or of a deactivated account is `None`.
pub async fn worker_for_session_token(
    db: &DatabaseConnection,
    token: &str,
    kind: &str,
    now: DateTime<Utc>,
) -> Result<Option<(worker::Model, worker_session::Model)>, sea_orm::DbErr> {
    let Some(session) = worker_session::Entity::find()
        .filter(worker_session::Column::TokenHash.eq(token_hash(token)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if session.revoked_at.is_some() || session.expires_at <= now || session.kind != kind {
        return Ok(None);
    }
    let w = worker::Entity::find_by_id(session.worker_id)
        .one(db)
        .await?;
    Ok(w.filter(|w| w.active).map(|w| (w, session)))
}

/// Records that a session was used now.
pub async fn touch(
    db: &DatabaseConnection,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    worker_session::Entity::update_many()
        .col_expr(worker_session::Column::LastSeenAt, Expr::value(now))
        .filter(worker_session::Column::Id.eq(session_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn revoke(
    db: &DatabaseConnection,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    worker_session::Entity::update_many()
        .col_expr(worker_session::Column::RevokedAt, Expr::value(now))
        .filter(worker_session::Column::Id.eq(session_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn find_by_email(
    db: &DatabaseConnection,
    email: &str,
) -> Result<Option<worker::Model>, sea_orm::DbErr> {
    worker::Entity::find()
        .filter(worker::Column::Email.eq(email.trim().to_lowercase()))
        .one(db)
        .await
}

/// Deactivates an account: its logins stop working; its messages stay in threads.
pub async fn deactivate(db: &DatabaseConnection, worker_id: Uuid) -> Result<(), sea_orm::DbErr> {
    worker::Entity::update_many()
        .col_expr(worker::Column::Active, Expr::value(false))
        .filter(worker::Column::Id.eq(worker_id))
        .exec(db)
        .await?;
    Ok(())
}
