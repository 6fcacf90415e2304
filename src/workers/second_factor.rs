//! The second factor for youth-worker sign-in, used by the JSON login and the console.
//!
//! - **TOTP** (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, one step either side).
//!   The secret is 160 random bits, sealed at rest with the worker's id as associated data.
//!   The last step accepted is kept, so a code (or an older one) is never accepted twice.
//! - **Recovery codes**: 10 single-use codes of 80 random bits, shown once and stored only
//!   as a keyed hash bound to the worker. Typed in any case, with or without dashes or
//!   spaces, O for 0 and I or L for 1.
//! - **Challenges**: between a right password and the second factor, a 256-bit token (only
//!   its SHA-256 stored) that lives 10 minutes and is used once. A secret being set up
//!   waits on the challenge, sealed with the challenge's id, until a right code confirms it.
//! - **Wrong codes** are throttled per account (whoever sends them) and per client.
//!
//! No code or secret is ever logged; the types that hold one have a redacted `Debug`.
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, PaginatorTrait,
    QueryFilter, TransactionTrait, sea_query::Expr,
};
use totp_rs::{Algorithm, Builder, Secret, Totp};
use uuid::Uuid;

use crate::crypto::{new_token, token_hash};
use crate::entities::{login_challenge, recovery_code, worker};
use crate::error::{ApiError, ApiResult};
use crate::referrals::CODE_FAILURES_PER_ACCOUNT;
use crate::referrals::guard::Verdict;
use crate::settings::{RequireSecondFactor, Settings};
use crate::state::AppState;

/// The name authenticator apps show next to the account.
const ISSUER: &str = "Signpost";
/// How long a sign-in challenge lives.
const CHALLENGE_MINUTES: i64 = 10;
const STEP_SECS: u64 = 30;
const DIGITS: u8 = 6;
/// Steps accepted either side of the current one, for a phone's clock being a little off.
const SKEW_STEPS: i64 = 1;
/// 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;
const RECOVERY_CODE_COUNT: usize = 10;
/// 16 characters of 5 bits: 80 bits each.
const RECOVERY_CODE_LEN: usize = 16;
/// Crockford's base32: no I, L, O or U, so nothing is mistaken for something else.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// One answer for every wrong code, whatever was wrong with it.
pub(crate) const WRONG_CODE: &str = "That code is not right. Type the newest 6-digit code from your authenticator app, or one of your recovery codes.";
const CHALLENGE_GONE: &str =
    "This sign-in has expired or was already used. Sign in again with your email and password.";
const ALREADY_ENROLLED: &str = "A second factor is already set up for this account. If you have lost it, ask your coordinator to reset it.";
const NOT_ENROLLED: &str =
    "No second factor is set up for this account yet. Set one up when you next sign in.";
const NO_PENDING_SECRET: &str =
    "Setting up the second factor has not started for this sign-in. Start again.";

/// What a right password leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterPassword {
    /// Signed in: no second factor is asked for.
    Complete,
    /// The worker has a second factor: ask for a code.
    NeedCode,
    /// A second factor is required and not set up yet: set it up first.
    NeedEnrolment,
}

/// A new TOTP secret to show once while it is being set up.
#[derive(Clone)]
pub struct Enrolment {
    /// The secret as base32 text, for typing into an authenticator app.
    pub secret_base32: String,
    /// `otpauth://totp/…`, the same as the QR code.
    pub otpauth_uri: String,
    /// The QR code of `otpauth_uri` as an SVG document, rendered here (nothing sent anywhere).
    pub qr_svg: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment(redacted)")
    }
}

/// Whether `SIGNPOST_REQUIRE_2FA` requires a second factor of someone with `role`.
pub fn required_for(settings: &Settings, role: &str) -> bool {
    match settings.require_2fa {
        RequireSecondFactor::All => true,
        RequireSecondFactor::Leads => matches!(role, "coordinator" | "admin"),
        RequireSecondFactor::None => false,
    }
}

/// What follows a right password. A worker who has set up a second factor is always asked
/// for a code (unless `SIGNPOST_REQUIRE_2FA=none` turns second factors off entirely); one
/// who has not must set it up when the setting requires it of their role.
pub async fn after_password(state: &AppState, worker: &worker::Model) -> ApiResult<AfterPassword> {
    if state.settings.require_2fa == RequireSecondFactor::None {
        return Ok(AfterPassword::Complete);
    }
    let enrolled = worker::Entity::find_by_id(worker.id)
        .one(&state.db)
        .await?
        .is_some_and(|w| w.totp_secret_sealed.is_some());
    Ok(if enrolled {
        AfterPassword::NeedCode
    } else if required_for(&state.settings, &worker.role) {
        AfterPassword::NeedEnrolment
    } else {
        AfterPassword::Complete
    })
}

/// Starts the step between password and second factor: a 256-bit token (only its SHA-256
/// is stored) that lives 10 minutes and can be finished once.
pub async fn start_challenge(state: &AppState, worker_id: Uuid) -> ApiResult<String> {
    let now = state.clock.now();
    // This worker's dead challenges are of no further use.
    login_challenge::Entity::delete_many()
        .filter(login_challenge::Column::WorkerId.eq(worker_id))
        .filter(
            Condition::any()
                .add(login_challenge::Column::ExpiresAt.lte(now))
                .add(login_challenge::Column::UsedAt.is_not_null()),
        )
        .exec(&state.db)
        .await?;
    let (token, hash) = new_token();
    login_challenge::ActiveModel {
        id: Set(Uuid::now_v7()),
        worker_id: Set(worker_id),
        token_hash: Set(hash),
        pending_secret_sealed: Set(None),
        created_at: Set(now),
        expires_at: Set(now + Duration::minutes(CHALLENGE_MINUTES)),
        used_at: Set(None),
    }
    .insert(&state.db)
    .await?;
    Ok(token)
}

/// The active worker behind a live, unused challenge.
pub async fn worker_for_challenge(
    state: &AppState,
    token: &str,
) -> ApiResult<Option<worker::Model>> {
    Ok(live_challenge(state, token).await?.map(|(_, w)| w))
}

/// Marks a challenge used: it cannot be used again. A challenge that is not live is a 401.
pub async fn finish_challenge(state: &AppState, token: &str) -> ApiResult<()> {
    let now = state.clock.now();
    let done = login_challenge::Entity::update_many()
        .col_expr(login_challenge::Column::UsedAt, Expr::value(now))
        .col_expr(
            login_challenge::Column::PendingSecretSealed,
            Expr::value(Option::<String>::None),
        )
        .filter(login_challenge::Column::TokenHash.eq(token_hash(token)))
        .filter(login_challenge::Column::UsedAt.is_null())
        .filter(login_challenge::Column::ExpiresAt.gt(now))
        .exec(&state.db)
        .await?;
    if done.rows_affected == 0 {
        return Err(ApiError::Unauthorized(CHALLENGE_GONE.into()));
    }
    Ok(())
}

/// A new secret for the challenge's worker, kept (sealed) on the challenge until a right
/// code confirms it. Called again for the same challenge, it gives the same secret.
/// Refused (409) if the worker already has a second factor: replacing one needs a reset.
pub async fn begin_enrolment(state: &AppState, challenge_token: &str) -> ApiResult<Enrolment> {
    let (challenge, w) = live_challenge(state, challenge_token)
        .await?
        .ok_or_else(|| ApiError::Unauthorized(CHALLENGE_GONE.into()))?;
    if w.totp_secret_sealed.is_some() {
        return Err(ApiError::Conflict(ALREADY_ENROLLED.into()));
    }
    let aad = challenge_aad(challenge.id);
    let secret = match &challenge.pending_secret_sealed {
        Some(sealed) => open(state, sealed, &aad)?,
        None => {
            let fresh = new_secret_base32()?;
            let done = login_challenge::Entity::update_many()
                .col_expr(
                    login_challenge::Column::PendingSecretSealed,
                    Expr::value(state.keys.seal(&fresh.0, &aad)),
                )
                .filter(login_challenge::Column::Id.eq(challenge.id))
                .filter(login_challenge::Column::PendingSecretSealed.is_null())
                .exec(&state.db)
                .await?;
            if done.rows_affected == 1 {
                fresh
            } else {
                // Another request set one up for this challenge at the same moment: use it.
                let sealed = login_challenge::Entity::find_by_id(challenge.id)
                    .one(&state.db)
                    .await?
                    .and_then(|c| c.pending_secret_sealed)
                    .ok_or_else(|| ApiError::Unauthorized(CHALLENGE_GONE.into()))?;
                open(state, &sealed, &aad)?
            }
        }
    };
    enrolment_for(&secret, &w.email)
}

/// Checks a code against the secret being set up. On a right code the secret becomes the
/// worker's second factor and 10 new recovery codes are returned (shown once, stored
/// hashed); the challenge stays live for the caller to finish the sign-in.
pub async fn confirm_enrolment(
    state: &AppState,
    challenge_token: &str,
    code: &str,
    client: IpAddr,
) -> ApiResult<Vec<String>> {
    let (challenge, w) = live_challenge(state, challenge_token)
        .await?
        .ok_or_else(|| ApiError::Unauthorized(CHALLENGE_GONE.into()))?;
    if w.totp_secret_sealed.is_some() {
        return Err(ApiError::Conflict(ALREADY_ENROLLED.into()));
    }
    check_throttle(state, w.id, client)?;
    let sealed = challenge
        .pending_secret_sealed
        .as_deref()
        .ok_or_else(|| ApiError::Conflict(NO_PENDING_SECRET.into()))?;
    let secret = open(state, sealed, &challenge_aad(challenge.id))?;
    let totp = totp_for(&secret)?;
    let now_secs = unix_secs(state.clock.now());
    let Some(step) = matching_step(&totp, &normalise_totp(code), now_secs, None) else {
        return Err(wrong_code(state, w.id, client));
    };

    let now = state.clock.now();
    let (codes, hashes) = new_recovery_set(state, w.id)?;
    let txn = state.db.begin().await?;
    let done = worker::Entity::update_many()
        .col_expr(
            worker::Column::TotpSecretSealed,
            Expr::value(state.keys.seal(&secret.0, &worker_aad(w.id))),
        )
        .col_expr(worker::Column::TotpEnrolledAt, Expr::value(now))
        .col_expr(worker::Column::TotpLastStep, Expr::value(step))
        .filter(worker::Column::Id.eq(w.id))
        .filter(worker::Column::TotpSecretSealed.is_null())
        .exec(&txn)
        .await?;
    if done.rows_affected != 1 {
        txn.rollback().await?;
        return Err(ApiError::Conflict(ALREADY_ENROLLED.into()));
    }
    replace_recovery_codes(&txn, w.id, hashes, now).await?;
    login_challenge::Entity::update_many()
        .col_expr(
            login_challenge::Column::PendingSecretSealed,
            Expr::value(Option::<String>::None),
        )
        .filter(login_challenge::Column::Id.eq(challenge.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(codes)
}

/// Checks a code for a worker who has a second factor: a TOTP code (a step already
/// accepted, or older, is refused) or an unused recovery code (then used up). A wrong
/// code is a 401 with one plain message; too many wrong codes for the account, or from
/// the client, are a 429.
pub async fn verify(
    state: &AppState,
    worker: &worker::Model,
    code: &str,
    client: IpAddr,
) -> ApiResult<()> {
    check_throttle(state, worker.id, client)?;
    let fresh = worker::Entity::find_by_id(worker.id)
        .one(&state.db)
        .await?
        .filter(|w| w.active)
        .ok_or_else(|| ApiError::Unauthorized(WRONG_CODE.into()))?;
    let Some(sealed) = fresh.totp_secret_sealed.as_deref() else {
        return Err(ApiError::Conflict(NOT_ENROLLED.into()));
    };
    let now = state.clock.now();
    let accepted = match classify(code) {
        Code::Totp(digits) => {
            let secret = open(state, sealed, &worker_aad(fresh.id))?;
            let totp = totp_for(&secret)?;
            match matching_step(&totp, &digits, unix_secs(now), fresh.totp_last_step) {
                // Taken only if no other request has taken this step (or a later one).
                Some(step) => {
                    worker::Entity::update_many()
                        .col_expr(worker::Column::TotpLastStep, Expr::value(step))
                        .filter(worker::Column::Id.eq(fresh.id))
                        .filter(
                            Condition::any()
                                .add(worker::Column::TotpLastStep.is_null())
                                .add(worker::Column::TotpLastStep.lt(step)),
                        )
                        .exec(&state.db)
                        .await?
                        .rows_affected
                        == 1
                }
                None => false,
            }
        }
        Code::Recovery(normalised) => {
            let hash = state
                .keys
                .recovery_code_hash(fresh.id.as_bytes(), &normalised);
            recovery_code::Entity::update_many()
                .col_expr(recovery_code::Column::UsedAt, Expr::value(now))
                .filter(recovery_code::Column::WorkerId.eq(fresh.id))
                .filter(recovery_code::Column::CodeHash.eq(hash))
                .filter(recovery_code::Column::UsedAt.is_null())
                .exec(&state.db)
                .await?
                .rows_affected
                >= 1
        }
        Code::Malformed => false,
    };
    if accepted {
        Ok(())
    } else {
        Err(wrong_code(state, fresh.id, client))
    }
}

/// Clears the worker's second factor and recovery codes: they must set it up again at
/// their next sign-in.
pub async fn reset(state: &AppState, worker_id: Uuid) -> ApiResult<()> {
    let txn = state.db.begin().await?;
    worker::Entity::update_many()
        .col_expr(
            worker::Column::TotpSecretSealed,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            worker::Column::TotpEnrolledAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            worker::Column::TotpLastStep,
            Expr::value(Option::<i64>::None),
        )
        .filter(worker::Column::Id.eq(worker_id))
        .exec(&txn)
        .await?;
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::WorkerId.eq(worker_id))
        .exec(&txn)
        .await?;
    login_challenge::Entity::update_many()
        .col_expr(
            login_challenge::Column::PendingSecretSealed,
            Expr::value(Option::<String>::None),
        )
        .filter(login_challenge::Column::WorkerId.eq(worker_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Replaces all of a worker's recovery codes with 10 new ones (shown once). Only for a
/// worker who has a second factor (409 otherwise).
pub async fn new_recovery_codes(state: &AppState, worker_id: Uuid) -> ApiResult<Vec<String>> {
    let w = worker::Entity::find_by_id(worker_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::NotFound("No such youth worker.".into()))?;
    if w.totp_secret_sealed.is_none() {
        return Err(ApiError::Conflict(NOT_ENROLLED.into()));
    }
    let (codes, hashes) = new_recovery_set(state, worker_id)?;
    let txn = state.db.begin().await?;
    replace_recovery_codes(&txn, worker_id, hashes, state.clock.now()).await?;
    txn.commit().await?;
    Ok(codes)
}

/// Unused recovery codes the worker has left.
pub async fn recovery_codes_left(state: &AppState, worker_id: Uuid) -> ApiResult<u64> {
    Ok(recovery_code::Entity::find()
        .filter(recovery_code::Column::WorkerId.eq(worker_id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(&state.db)
        .await?)
}

// ---------------------------------------------------------------------------------------

/// A secret as base32 text; never printed.
struct SecretText(String);

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText(redacted)")
    }
}

/// What a typed code is, after normalising.
#[derive(PartialEq, Eq)]
enum Code {
    Totp(String),
    Recovery(String),
    Malformed,
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Code::Totp(_) => "Code::Totp(redacted)",
            Code::Recovery(_) => "Code::Recovery(redacted)",
            Code::Malformed => "Code::Malformed",
        })
    }
}

fn classify(code: &str) -> Code {
    let totp = normalise_totp(code);
    if totp.len() == usize::from(DIGITS) && totp.bytes().all(|b| b.is_ascii_digit()) {
        return Code::Totp(totp);
    }
    match normalise_recovery(code) {
        Some(n) => Code::Recovery(n),
        None => Code::Malformed,
    }
}

/// Spaces and dashes dropped: "123 456" is 123456.
fn normalise_totp(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

/// Upper case, spaces and dashes dropped, O read as 0 and I or L as 1; `None` unless it
/// is then 16 characters of the recovery alphabet.
fn normalise_recovery(code: &str) -> Option<String> {
    let n: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    (n.len() == RECOVERY_CODE_LEN && n.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(n)
}

/// A new recovery code, grouped in fours for reading: `ABCD-EFGH-JKMN-PQRS`.
fn new_recovery_code() -> ApiResult<String> {
    let mut bytes = [0u8; RECOVERY_CODE_LEN];
    getrandom::fill(&mut bytes).map_err(|e| {
        ApiError::Internal(anyhow::anyhow!("OS random number generator failed: {e}"))
    })?;
    let mut out = String::with_capacity(RECOVERY_CODE_LEN + RECOVERY_CODE_LEN / 4);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        // 256 is a multiple of 32, so taking the low 5 bits is unbiased.
        out.push(char::from(RECOVERY_ALPHABET[usize::from(b & 0x1f)]));
    }
    Ok(out)
}

/// Ten new codes and their stored hashes.
fn new_recovery_set(state: &AppState, worker_id: Uuid) -> ApiResult<(Vec<String>, Vec<String>)> {
    let mut codes = Vec::with_capacity(RECOVERY_CODE_COUNT);
    let mut hashes = Vec::with_capacity(RECOVERY_CODE_COUNT);
    while codes.len() < RECOVERY_CODE_COUNT {
        let code = new_recovery_code()?;
        let normalised = normalise_recovery(&code).ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("a new recovery code did not normalise"))
        })?;
        let hash = state
            .keys
            .recovery_code_hash(worker_id.as_bytes(), &normalised);
        if !hashes.contains(&hash) {
            codes.push(code);
            hashes.push(hash);
        }
    }
    Ok((codes, hashes))
}

async fn replace_recovery_codes(
    txn: &sea_orm::DatabaseTransaction,
    worker_id: Uuid,
    hashes: Vec<String>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::WorkerId.eq(worker_id))
        .exec(txn)
        .await?;
    let rows = hashes.into_iter().map(|h| recovery_code::ActiveModel {
        id: Set(Uuid::now_v7()),
        worker_id: Set(worker_id),
        code_hash: Set(h),
        created_at: Set(now),
        used_at: Set(None),
    });
    recovery_code::Entity::insert_many(rows).exec(txn).await?;
    Ok(())
}

fn new_secret_base32() -> ApiResult<SecretText> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| {
        ApiError::Internal(anyhow::anyhow!("OS random number generator failed: {e}"))
    })?;
    Ok(SecretText(Secret::from(bytes).to_base32()))
}

/// A TOTP checker for one step at a time (the window is walked here, so each step can be
/// compared with the last one accepted).
fn totp_for(secret: &SecretText) -> ApiResult<Totp> {
    let bytes = Secret::try_from_base32(&secret.0)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("a stored TOTP secret is not base32")))?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(0)
        .with_step_duration(STEP_SECS)
        .with_secret(bytes)
        .build()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("building a TOTP checker: {e}")))
}

/// The earliest step within one either side of `now_secs` whose code is `code` and that
/// is later than `after`.
fn matching_step(totp: &Totp, code: &str, now_secs: u64, after: Option<i64>) -> Option<i64> {
    let origin = i64::try_from(now_secs / STEP_SECS).ok()?;
    (origin - SKEW_STEPS..=origin + SKEW_STEPS)
        .filter(|&step| step >= 0 && after.is_none_or(|last| step > last))
        .find(|&step| {
            u64::try_from(step)
                .ok()
                .and_then(|s| totp.check(code, s * STEP_SECS))
                .is_some()
        })
}

fn unix_secs(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp()).unwrap_or(0)
}

fn enrolment_for(secret: &SecretText, email: &str) -> ApiResult<Enrolment> {
    let bytes = Secret::try_from_base32(&secret.0)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("a TOTP secret is not base32")))?;
    // The label's parts are separated by ':', so none may contain one.
    let account = email.replace(':', "_");
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_step_duration(STEP_SECS)
        .with_secret(bytes)
        .with_issuer(Some(ISSUER))
        .with_account_name(account)
        .build()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("building a TOTP URI: {e}")))?;
    let otpauth_uri = totp
        .to_url()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("building a TOTP URI: {e}")))?;
    let qr = qrcode::QrCode::new(otpauth_uri.as_bytes())
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("rendering the QR code: {e}")))?;
    let svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // Without the XML declaration, so it can be placed inside an HTML page as it is.
    let qr_svg = match svg.find("<svg") {
        Some(i) => svg[i..].to_string(),
        None => svg,
    };
    Ok(Enrolment {
        secret_base32: secret.0.clone(),
        otpauth_uri,
        qr_svg,
    })
}

fn worker_aad(worker_id: Uuid) -> Vec<u8> {
    format!("worker:{worker_id}:totp_secret").into_bytes()
}

fn challenge_aad(challenge_id: Uuid) -> Vec<u8> {
    format!("login_challenge:{challenge_id}:pending_secret").into_bytes()
}

fn open(state: &AppState, sealed: &str, aad: &[u8]) -> ApiResult<SecretText> {
    state
        .keys
        .open(sealed, aad)
        .map(SecretText)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("opening a TOTP secret: {e}")))
}

async fn live_challenge(
    state: &AppState,
    token: &str,
) -> ApiResult<Option<(login_challenge::Model, worker::Model)>> {
    let now = state.clock.now();
    let Some(challenge) = login_challenge::Entity::find()
        .filter(login_challenge::Column::TokenHash.eq(token_hash(token.trim())))
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    if challenge.used_at.is_some() || challenge.expires_at <= now {
        return Ok(None);
    }
    let w = worker::Entity::find_by_id(challenge.worker_id)
        .one(&state.db)
        .await?;
    Ok(w.filter(|w| w.active).map(|w| (challenge, w)))
}

fn check_throttle(state: &AppState, worker_id: Uuid, client: IpAddr) -> ApiResult<()> {
    let g = &state.guards;
    if g.code_failures_per_account.count(&worker_id) >= CODE_FAILURES_PER_ACCOUNT
        || g.code_failures_per_client.count(&client) >= state.settings.login_failures_allowed
    {
        return Err(ApiError::TooManyRequests {
            detail: "Too many wrong codes. Wait 15 minutes, then try again. If you have lost your authenticator app and your recovery codes, ask your coordinator to reset your second factor.".into(),
            retry_after_secs: g.code_failures_window.as_secs(),
        });
    }
    Ok(())
}

/// Counts a wrong code against the account and the client.
fn wrong_code(state: &AppState, worker_id: Uuid, client: IpAddr) -> ApiError {
    let g = &state.guards;
    let account = g.code_failures_per_account.hit(&worker_id);
    let from_client = g.code_failures_per_client.hit(&client);
    if matches!(account, Verdict::Refuse { .. }) || matches!(from_client, Verdict::Refuse { .. }) {
        tracing::warn!("wrong second-factor codes over the limit");
    }
    ApiError::Unauthorized(WRONG_CODE.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totp(secret: &SecretText) -> Totp {
        totp_for(secret).unwrap()
    }

    #[test]
    fn codes_are_normalised_for_case_dashes_and_spaces() {
        assert_eq!(classify(" 123 456 "), Code::Totp("123456".into()));
        assert_eq!(classify("123-456"), Code::Totp("123456".into()));
        let code = "ABCD-EFGH-JKMN-PQRS";
        let want = Code::Recovery("ABCDEFGHJKMNPQRS".into());
        assert_eq!(classify(code), want);
        assert_eq!(classify("abcd efgh jkmn pqrs"), want);
        assert_eq!(classify("abcdefghjkmnpqrs"), want);
        assert_eq!(
            classify("oIl0-0000-0000-0000"),
            Code::Recovery("0110000000000000".into())
        );
        for bad in [
            "",
            "12345",
            "1234567",
            "ABCD-EFGH-JKMN-PQR",
            "ABCD-EFGH-JKMN-PQRU",
            "12345a",
        ] {
            assert_eq!(classify(bad), Code::Malformed, "{bad}");
        }
    }

    #[test]
    fn recovery_codes_are_grouped_random_and_normalise_to_themselves() {
        let a = new_recovery_code().unwrap();
        let b = new_recovery_code().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 19);
        assert_eq!(a.split('-').count(), 4);
        assert!(a.split('-').all(|g| g.len() == 4));
        assert_eq!(normalise_recovery(&a), Some(a.replace('-', "")));
        assert_eq!(
            normalise_recovery(&a.to_lowercase()),
            Some(a.replace('-', ""))
        );
    }

    #[test]
    fn totp_accepts_one_step_either_side_and_never_a_step_twice() {
        let secret = new_secret_base32().unwrap();
        let t = totp(&secret);
        let now: u64 = 1_781_524_800; // 2026-06-15 12:00 UTC, on a step boundary
        let step = i64::try_from(now / STEP_SECS).unwrap();
        let code_at = |offset: i64| {
            let s = u64::try_from(step + offset).unwrap();
            t.generate(s * STEP_SECS).to_string()
        };
        for offset in [-1, 0, 1] {
            assert_eq!(
                matching_step(&t, &code_at(offset), now, None),
                Some(step + offset),
                "offset {offset}"
            );
        }
        for offset in [-3, -2, 2, 3] {
            let code = code_at(offset);
            // A code of a far step may by chance equal one in the window; skip that case.
            if [-1, 0, 1].iter().any(|&o| code_at(o) == code) {
                continue;
            }
            assert_eq!(matching_step(&t, &code, now, None), None, "offset {offset}");
        }
        // Mid-step: the whole 30 seconds read the same step.
        assert_eq!(matching_step(&t, &code_at(0), now + 29, None), Some(step));
        // Once a step is accepted, it and earlier steps are refused; later ones are not.
        assert_eq!(matching_step(&t, &code_at(0), now, Some(step)), None);
        assert_eq!(matching_step(&t, &code_at(-1), now, Some(step)), None);
        assert_eq!(
            matching_step(&t, &code_at(1), now, Some(step)),
            Some(step + 1)
        );
        // Wrong length or letters never match.
        assert_eq!(matching_step(&t, "12345", now, None), None);
        assert_eq!(matching_step(&t, "abcdef", now, None), None);
    }

    #[test]
    fn totp_matches_rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1, seed "12345678901234567890", read as 6 digits.
        let secret = SecretText(Secret::from(*b"12345678901234567890").to_base32());
        let t = totp(&secret);
        for (time, eight_digits) in [
            (59_u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            assert_eq!(t.generate(time).to_string(), eight_digits[2..], "{time}");
        }
    }

    #[test]
    fn enrolment_carries_uri_qr_and_secret_and_debug_hides_them() {
        let secret = new_secret_base32().unwrap();
        let e = enrolment_for(&secret, "sam@example.org").unwrap();
        assert_eq!(e.secret_base32, secret.0);
        assert!(
            e.otpauth_uri
                .starts_with("otpauth://totp/Signpost:sam%40example.org?")
        );
        assert!(e.otpauth_uri.contains(&format!("secret={}", secret.0)));
        assert!(e.otpauth_uri.contains("issuer=Signpost"));
        assert!(e.qr_svg.starts_with("<svg"));
        assert!(e.qr_svg.ends_with("</svg>"));
        assert!(!format!("{e:?}").contains(&secret.0));
        assert!(!format!("{secret:?}").contains(&secret.0));
        assert!(!format!("{:?}", classify("123456")).contains("123456"));
    }

    #[test]
    fn who_needs_a_second_factor() {
        for (setting, worker, coordinator, admin) in [
            ("all", true, true, true),
            ("leads", false, true, true),
            ("none", false, false, false),
        ] {
            let s =
                Settings::from_lookup(|n| (n == "SIGNPOST_REQUIRE_2FA").then(|| setting.into()))
                    .unwrap();
            assert_eq!(required_for(&s, "worker"), worker, "{setting}");
            assert_eq!(required_for(&s, "coordinator"), coordinator, "{setting}");
            assert_eq!(required_for(&s, "admin"), admin, "{setting}");
        }
    }
}
