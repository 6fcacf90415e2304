//! Youth-worker accounts and their logins. Passwords are argon2id hashes; login tokens are
//! 256 random bits of which only a SHA-256 is stored.
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait, sea_query::Expr,
};
use uuid::Uuid;

use crate::crypto::{burn_password_check, hash_password, new_token, token_hash, verify_password};
use crate::entities::{organisation, referral, worker, worker_session};
use crate::referrals::service;
use crate::state::AppState;
use crate::workers::{password_links, second_factor};

pub const ROLES: [&str; 3] = ["worker", "coordinator", "admin"];

#[derive(Debug, thiserror::Error)]
pub enum AddWorkerError {
    #[error("no active organisation has the slug {0:?}")]
    UnknownOrganisation(String),
    #[error("role must be one of worker, coordinator, admin")]
    BadRole,
    #[error("{0:?} is not an email address")]
    BadEmail(String),
    #[error("the password must be at least 12 characters (and at most 1,024 bytes)")]
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
    if password_problem(password).is_some() {
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
        // An account waiting for its set-password link has no usable password; the check
        // costs the same as a real one.
        Some(w) if w.password_hash == NO_PASSWORD => {
            burn_password_check(password);
            Ok(None)
        }
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

/// Deactivates an account (from the command line): see [`deactivate_by`].
pub async fn deactivate(db: &DatabaseConnection, worker_id: Uuid) -> Result<(), sea_orm::DbErr> {
    deactivate_by(db, worker_id, None, Utc::now()).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Managing accounts (the console's team pages; a coordinator or admin acting on their own
// organisation) and a worker's own account.

/// The stored password of an account that has none yet (it waits for its set-password
/// link): not a PHC string, so no password ever matches it.
pub const NO_PASSWORD: &str = "!no password set";
/// Fewest characters in a password.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Most bytes in a password (sign-in refuses longer ones).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// What is wrong with a new password, in plain words, or `None` when it will do. The one
/// password rule for the command line, set-password links and changing a password.
pub fn password_problem(password: &str) -> Option<&'static str> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        Some("must be at least 12 characters long")
    } else if password.len() > MAX_PASSWORD_BYTES {
        Some("is too long: use at most 1,024 characters")
    } else {
        None
    }
}

/// Where a form's problem is, for the error summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Email,
    Role,
    CurrentPassword,
    NewPassword,
    NewPasswordAgain,
}

impl Field {
    /// The form field's name (and the input's id, with `_` as `-`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Email => "email",
            Self::Role => "role",
            Self::CurrentPassword => "current_password",
            Self::NewPassword => "new_password",
            Self::NewPasswordAgain => "new_password_again",
        }
    }
}

/// Why an account could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Something the user typed: which field and what to do.
    #[error("{message}")]
    Invalid { field: Field, message: String },
    /// No such account in this organisation (also another organisation's).
    #[error("no such account in this organisation")]
    NotFound,
    /// Allowed to nobody in this position; the message says why.
    #[error("{0}")]
    Refused(&'static str),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

fn invalid(field: Field, message: impl Into<String>) -> AccountError {
    AccountError::Invalid {
        field,
        message: message.into(),
    }
}

fn rank(role: &str) -> u8 {
    match role {
        "admin" => 2,
        "coordinator" => 1,
        _ => 0,
    }
}

/// Whether someone of `actor_role` may give an account `role`: a coordinator may make
/// youth workers and coordinators; only an admin may make an admin.
pub fn may_grant(actor_role: &str, role: &str) -> bool {
    ROLES.contains(&role) && rank(actor_role) >= 1 && rank(role) <= rank(actor_role)
}

/// The roles someone of `actor_role` may give, lowest first.
pub fn grantable_roles(actor_role: &str) -> Vec<&'static str> {
    ROLES
        .iter()
        .copied()
        .filter(|r| may_grant(actor_role, r))
        .collect()
}

/// One account as the team's list shows it.
#[derive(Debug, Clone)]
pub struct AccountSummary {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: String,
    pub active: bool,
    pub second_factor: bool,
    /// No password set yet: waiting for its set-password link to be used.
    pub waiting_for_password: bool,
    /// When a session last started (sign-in), if any.
    pub last_sign_in: Option<DateTime<Utc>>,
}

/// The organisation's accounts, active first, then by name.
pub async fn list(
    db: &DatabaseConnection,
    organisation: Uuid,
) -> Result<Vec<AccountSummary>, sea_orm::DbErr> {
    let workers = worker::Entity::find()
        .filter(worker::Column::OrganisationId.eq(organisation))
        .order_by_desc(worker::Column::Active)
        .order_by_asc(worker::Column::Name)
        .order_by_asc(worker::Column::Email)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = workers.iter().map(|w| w.id).collect();
    let last: HashMap<Uuid, DateTime<Utc>> = if ids.is_empty() {
        HashMap::new()
    } else {
        worker_session::Entity::find()
            .select_only()
            .column(worker_session::Column::WorkerId)
            .column_as(worker_session::Column::CreatedAt.max(), "last")
            .filter(worker_session::Column::WorkerId.is_in(ids))
            .group_by(worker_session::Column::WorkerId)
            .into_tuple::<(Uuid, Option<DateTime<Utc>>)>()
            .all(db)
            .await?
            .into_iter()
            .filter_map(|(w, at)| at.map(|at| (w, at)))
            .collect()
    };
    Ok(workers
        .into_iter()
        .map(|w| AccountSummary {
            last_sign_in: last.get(&w.id).copied(),
            id: w.id,
            second_factor: w.totp_secret_sealed.is_some(),
            waiting_for_password: w.password_hash == NO_PASSWORD,
            name: w.name,
            email: w.email,
            role: w.role,
            active: w.active,
        })
        .collect())
}

/// One account of the organisation's; another organisation's is [`AccountError::NotFound`].
pub async fn find_in(
    db: &DatabaseConnection,
    organisation: Uuid,
    id: Uuid,
) -> Result<worker::Model, AccountError> {
    worker::Entity::find_by_id(id)
        .filter(worker::Column::OrganisationId.eq(organisation))
        .one(db)
        .await?
        .ok_or(AccountError::NotFound)
}

/// The target account, if `actor` may manage it: their own organisation's, and a
/// coordinator never manages an admin (a set-password link would hand them the account).
/// Whether `actor` may change `target`'s account (same organisation assumed): a
/// coordinator or admin, and never an account of a higher role than their own.
pub fn may_manage(actor: &worker::Model, target: &worker::Model) -> bool {
    rank(&actor.role) >= 1
        && actor.organisation_id == target.organisation_id
        && rank(&target.role) <= rank(&actor.role)
}

async fn manageable(
    db: &DatabaseConnection,
    actor: &worker::Model,
    target: Uuid,
) -> Result<worker::Model, AccountError> {
    if rank(&actor.role) < 1 {
        return Err(AccountError::Refused(
            "only coordinators and admins manage accounts",
        ));
    }
    let w = find_in(db, actor.organisation_id, target).await?;
    if !may_manage(actor, &w) {
        return Err(AccountError::Refused(
            "only an admin can change an admin's account",
        ));
    }
    Ok(w)
}

/// A new account in the actor's organisation, with no usable password, and the token of
/// its one-time set-password link (shown once).
pub async fn create(
    state: &AppState,
    actor: &worker::Model,
    name: &str,
    email: &str,
    role: &str,
) -> Result<(worker::Model, String), AccountError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(invalid(Field::Name, "Enter their name"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(
            Field::Name,
            "Shorten the name to 200 characters or fewer",
        ));
    }
    let email = email.trim().to_lowercase();
    if email.is_empty() {
        return Err(invalid(Field::Email, "Enter their email address"));
    }
    if !validator::ValidateEmail::validate_email(&email) {
        return Err(invalid(
            Field::Email,
            "Enter an email address in the right form, like name@example.org",
        ));
    }
    if !ROLES.contains(&role) {
        return Err(invalid(Field::Role, "Choose a role from the list"));
    }
    if !may_grant(&actor.role, role) {
        return Err(invalid(
            Field::Role,
            "Only an admin can make an admin account",
        ));
    }
    if find_by_email(&state.db, &email).await?.is_some() {
        return Err(invalid(
            Field::Email,
            "There is already an account with this email address. Use another one",
        ));
    }
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let w = worker::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(actor.organisation_id),
        email: Set(email),
        name: Set(name.to_string()),
        role: Set(role.to_string()),
        password_hash: Set(NO_PASSWORD.to_string()),
        active: Set(true),
        created_at: Set(now),
        totp_secret_sealed: Set(None),
        totp_enrolled_at: Set(None),
        totp_last_step: Set(None),
    }
    .insert(&txn)
    .await?;
    let token = password_links::issue(&txn, w.id, Some(actor.id), now).await?;
    txn.commit().await?;
    Ok((w, token))
}

/// A new set-password link for an account (a forgotten password, an expired link): the
/// account's older unused links stop working. Returns the token (shown once).
pub async fn new_password_link(
    state: &AppState,
    actor: &worker::Model,
    target: Uuid,
) -> Result<(worker::Model, String), AccountError> {
    let w = manageable(&state.db, actor, target).await?;
    if !w.active {
        return Err(AccountError::Refused(
            "this account is deactivated, so it cannot be given a new password",
        ));
    }
    let txn = state.db.begin().await?;
    let token = password_links::issue(&txn, w.id, Some(actor.id), state.clock.now()).await?;
    txn.commit().await?;
    Ok((w, token))
}

/// Ends every live session of a worker (console cookies and JSON tokens), but `except`.
pub async fn end_sessions<C: ConnectionTrait>(
    db: &C,
    worker_id: Uuid,
    except: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    let mut q = worker_session::Entity::update_many()
        .col_expr(worker_session::Column::RevokedAt, Expr::value(now))
        .filter(worker_session::Column::WorkerId.eq(worker_id))
        .filter(worker_session::Column::RevokedAt.is_null());
    if let Some(keep) = except {
        q = q.filter(worker_session::Column::Id.ne(keep));
    }
    Ok(q.exec(db).await?.rows_affected)
}

/// Deactivates an account: it can no longer sign in, its sessions and set-password links
/// end at once, and every open referral it had taken goes back to its team unclaimed (on
/// each referral's timeline, by `by`). Its messages stay in their threads. Returns how
/// many referrals went back.
pub async fn deactivate_by(
    db: &DatabaseConnection,
    worker_id: Uuid,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    let txn = db.begin().await?;
    worker::Entity::update_many()
        .col_expr(worker::Column::Active, Expr::value(false))
        .filter(worker::Column::Id.eq(worker_id))
        .exec(&txn)
        .await?;
    end_sessions(&txn, worker_id, None, now).await?;
    password_links::revoke_unused(&txn, worker_id, now).await?;
    let held = referral::Entity::find()
        .filter(referral::Column::ClaimedBy.eq(worker_id))
        .filter(referral::Column::Status.is_not_in(["closed", "withdrawn"]))
        .all(&txn)
        .await?;
    let mut released = 0;
    for r in held {
        let done = referral::Entity::update_many()
            .col_expr(
                referral::Column::ClaimedBy,
                Expr::value(Option::<Uuid>::None),
            )
            .col_expr(referral::Column::Status, Expr::value("assigned"))
            .col_expr(referral::Column::UpdatedAt, Expr::value(now))
            .filter(referral::Column::Id.eq(r.id))
            .filter(referral::Column::ClaimedBy.eq(worker_id))
            .exec(&txn)
            .await?;
        if done.rows_affected == 1 {
            service::event(
                &txn,
                r.id,
                "released",
                by,
                Some(r.organisation_id),
                Some("account deactivated".into()),
                now,
            )
            .await
            .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
            released += 1;
        }
    }
    txn.commit().await?;
    Ok(released)
}

/// A coordinator or admin deactivates an account of their organisation (never their own).
pub async fn deactivate_account(
    state: &AppState,
    actor: &worker::Model,
    target: Uuid,
) -> Result<u64, AccountError> {
    let w = manageable(&state.db, actor, target).await?;
    if w.id == actor.id {
        return Err(AccountError::Refused(
            "you cannot deactivate your own account: ask another coordinator or an admin",
        ));
    }
    if !w.active {
        return Ok(0);
    }
    Ok(deactivate_by(&state.db, w.id, Some(actor.id), state.clock.now()).await?)
}

/// Changes an account's role, within what the actor may give; nobody lowers their own.
pub async fn change_role(
    state: &AppState,
    actor: &worker::Model,
    target: Uuid,
    role: &str,
) -> Result<worker::Model, AccountError> {
    let w = manageable(&state.db, actor, target).await?;
    if !ROLES.contains(&role) {
        return Err(invalid(Field::Role, "Choose a role from the list"));
    }
    if !may_grant(&actor.role, role) {
        return Err(invalid(
            Field::Role,
            "Only an admin can make an admin account",
        ));
    }
    if w.id == actor.id && rank(role) < rank(&w.role) {
        return Err(AccountError::Refused(
            "you cannot lower your own role: ask another coordinator or an admin, so the team \
             is never left without one",
        ));
    }
    if w.role == role {
        return Ok(w);
    }
    worker::Entity::update_many()
        .col_expr(worker::Column::Role, Expr::value(role))
        .filter(worker::Column::Id.eq(w.id))
        .exec(&state.db)
        .await?;
    find_in(&state.db, actor.organisation_id, w.id).await
}

/// Clears an account's second factor: they set it up again at their next sign-in.
pub async fn reset_second_factor(
    state: &AppState,
    actor: &worker::Model,
    target: Uuid,
) -> Result<worker::Model, AccountError> {
    let w = manageable(&state.db, actor, target).await?;
    second_factor::reset(state, w.id)
        .await
        .map_err(|e| anyhow::anyhow!("resetting a second factor: {e}"))?;
    Ok(w)
}

/// The checks on a new password typed twice.
pub fn check_new_password(new: &str, again: &str) -> Result<(), AccountError> {
    if let Some(p) = password_problem(new) {
        return Err(invalid(Field::NewPassword, format!("The new password {p}")));
    }
    if new != again {
        return Err(invalid(
            Field::NewPasswordAgain,
            "The two new passwords are not the same. Type the same new password twice",
        ));
    }
    Ok(())
}

/// A worker changes their own password (the current one required); every other session
/// of theirs ends. A wrong current password changes nothing.
pub async fn change_password(
    state: &AppState,
    worker_id: Uuid,
    keep_session: Uuid,
    current: &str,
    new: &str,
    again: &str,
) -> Result<(), AccountError> {
    let w = worker::Entity::find_by_id(worker_id)
        .one(&state.db)
        .await?
        .ok_or(AccountError::NotFound)?;
    if current.len() > MAX_PASSWORD_BYTES || !verify_password(current, &w.password_hash) {
        return Err(invalid(
            Field::CurrentPassword,
            "Your current password is not right. Type the password you signed in with",
        ));
    }
    check_new_password(new, again)?;
    let hash = hash_password(new)?;
    let txn = state.db.begin().await?;
    worker::Entity::update_many()
        .col_expr(worker::Column::PasswordHash, Expr::value(hash))
        .filter(worker::Column::Id.eq(w.id))
        .exec(&txn)
        .await?;
    end_sessions(&txn, w.id, Some(keep_session), state.clock.now()).await?;
    txn.commit().await?;
    Ok(())
}

/// Ends every session of a worker, this one included: "sign out everywhere".
pub async fn sign_out_everywhere(state: &AppState, worker_id: Uuid) -> Result<u64, sea_orm::DbErr> {
    end_sessions(&state.db, worker_id, None, state.clock.now()).await
}

/// The organisation's name, for "Your account".
pub async fn organisation_name(
    db: &DatabaseConnection,
    organisation: Uuid,
) -> Result<Option<String>, sea_orm::DbErr> {
    Ok(organisation::Entity::find_by_id(organisation)
        .one(db)
        .await?
        .map(|o| o.name))
}
