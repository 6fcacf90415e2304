//! One-time set-password links. A new account has no usable password; its owner sets one
//! through a link their coordinator hands them. The link's token is 256 random bits of
//! which only the SHA-256 is stored; it lives 24 hours, works once (two uses at the same
//! moment: one wins), and stops working when a newer link is made for the account or the
//! account is deactivated. Setting a password ends every session of the account.
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    TransactionTrait, sea_query::Expr,
};
use uuid::Uuid;

use super::accounts::{self, AccountError};
use crate::crypto::{hash_password, new_token, token_hash};
use crate::entities::{password_link, worker};
use crate::settings::Settings;
use crate::state::AppState;

/// How long a link works.
pub const LINK_HOURS: i64 = 24;
/// The console page a link opens.
pub const PATH: &str = "/console/set-password";

/// Makes a link for an account; its older unused links stop working. Returns the token.
pub async fn issue<C: ConnectionTrait>(
    db: &C,
    worker_id: Uuid,
    created_by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<String, sea_orm::DbErr> {
    revoke_unused(db, worker_id, now).await?;
    let (token, hash) = new_token();
    password_link::ActiveModel {
        id: Set(Uuid::now_v7()),
        worker_id: Set(worker_id),
        token_hash: Set(hash),
        created_by: Set(created_by),
        created_at: Set(now),
        expires_at: Set(now + Duration::hours(LINK_HOURS)),
        used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// Every unused link of the account stops working.
pub async fn revoke_unused<C: ConnectionTrait>(
    db: &C,
    worker_id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    Ok(password_link::Entity::update_many()
        .col_expr(password_link::Column::RevokedAt, Expr::value(now))
        .filter(password_link::Column::WorkerId.eq(worker_id))
        .filter(password_link::Column::UsedAt.is_null())
        .filter(password_link::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

/// The full address of a link: `SIGNPOST_PUBLIC_URL` + the page + the token. Without a
/// public URL, the address on this server (the coordinator's browser knows the host).
pub fn url(settings: &Settings, token: &str) -> String {
    let base = settings.public_url.as_deref().unwrap_or("");
    format!("{base}{PATH}?token={token}")
}

/// The account a link that still works belongs to (an active one), or `None`.
pub async fn worker_for(
    state: &AppState,
    token: &str,
) -> Result<Option<worker::Model>, sea_orm::DbErr> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let now = state.clock.now();
    let Some(link) = password_link::Entity::find()
        .filter(password_link::Column::TokenHash.eq(token_hash(token)))
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    if link.used_at.is_some() || link.revoked_at.is_some() || link.expires_at <= now {
        return Ok(None);
    }
    Ok(worker::Entity::find_by_id(link.worker_id)
        .one(&state.db)
        .await?
        .filter(|w| w.active))
}

/// Why a link could not set a password.
#[derive(Debug, thiserror::Error)]
pub enum UseLinkError {
    /// Unknown, used, replaced, expired, or of a deactivated account: one answer for all.
    #[error("this link does not work any more")]
    Gone,
    #[error(transparent)]
    Account(#[from] AccountError),
}

impl From<sea_orm::DbErr> for UseLinkError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Account(e.into())
    }
}

/// Sets the account's password through a link, which is then used up; every session of
/// the account ends. Of two uses of one link at the same moment, one wins.
pub async fn set_password(
    state: &AppState,
    token: &str,
    password: &str,
    again: &str,
) -> Result<worker::Model, UseLinkError> {
    let Some(w) = worker_for(state, token).await? else {
        return Err(UseLinkError::Gone);
    };
    accounts::check_new_password(password, again)?;
    let hash = hash_password(password).map_err(AccountError::from)?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let used = password_link::Entity::update_many()
        .col_expr(password_link::Column::UsedAt, Expr::value(now))
        .filter(password_link::Column::TokenHash.eq(token_hash(token)))
        .filter(password_link::Column::WorkerId.eq(w.id))
        .filter(password_link::Column::UsedAt.is_null())
        .filter(password_link::Column::RevokedAt.is_null())
        .filter(password_link::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await?;
    if used.rows_affected != 1 {
        txn.rollback().await?;
        return Err(UseLinkError::Gone);
    }
    let updated = worker::Entity::update_many()
        .col_expr(worker::Column::PasswordHash, Expr::value(hash))
        .filter(worker::Column::Id.eq(w.id))
        .filter(worker::Column::Active.eq(true))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        txn.rollback().await?;
        return Err(UseLinkError::Gone);
    }
    accounts::end_sessions(&txn, w.id, None, now).await?;
    txn.commit().await?;
    Ok(w)
}
