//! `Idempotency-Key`: a young person on a weak signal may send the same request twice.
//! The first answer is kept for 24 hours, sealed under a key derived from the
//! idempotency key (never stored), and a retry with the same key gets the same answer —
//! the same referral and the same receipt — without a second one being made.
//!
//! The stored row is written first in the transaction of the change it answers, so two
//! requests with one key at once cannot both make something: the second waits on the
//! row's unique key, fails, and replays what the first stored.
use axum::{
    extract::FromRequestParts,
    http::{HeaderValue, StatusCode, request::Parts},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypto::Keys;
use crate::entities::idempotency_key;
use crate::error::{ApiError, ApiResult};

pub const HEADER: &str = "Idempotency-Key";
/// Set (to `true`) on an answer that is a replay of an earlier one.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// How long an answer is kept for a retry.
pub const KEEP: Duration = Duration::hours(24);
const MAX_KEY_LEN: usize = 255;

/// A client's idempotency key: 1–255 visible ASCII characters (a UUID is typical).
#[derive(Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let key = raw.trim();
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err("must be 1 to 255 characters (a UUID is a good choice)");
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("must be visible ASCII characters without spaces");
        }
        Ok(Self(key.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Never printed: a key is as good as a receipt for the 24 hours its answer is kept.
impl std::fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdempotencyKey(redacted)")
    }
}

/// The optional `Idempotency-Key` header; a malformed one is a 422 naming the header.
pub struct MaybeIdempotencyKey(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeIdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(HEADER) else {
            return Ok(Self(None));
        };
        let raw = value
            .to_str()
            .map_err(|_| ApiError::field(HEADER, "must be visible ASCII characters"))?;
        IdempotencyKey::parse(raw)
            .map(|k| Self(Some(k)))
            .map_err(|m| ApiError::field(HEADER, m))
    }
}

/// One request's claim on a key: where it is stored, and what the request was, so the
/// same key sent with a different request is refused rather than answered wrongly.
pub struct Claim {
    scope: String,
    key: IdempotencyKey,
    fingerprint: String,
}

impl Claim {
    /// `scope` separates uses (`referral`, `message:<referral id>`); `request` is the
    /// parsed request, whose hash is kept (sealed) with the answer.
    pub fn new(scope: impl Into<String>, key: IdempotencyKey, request: &impl Serialize) -> Self {
        let bytes = serde_json::to_vec(request).unwrap_or_default();
        Self {
            scope: scope.into(),
            key,
            fingerprint: blake3::hash(&bytes).to_hex().to_string(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Stored {
    fingerprint: String,
    status: u16,
    /// The answer's JSON exactly as first sent, so a replay is byte for byte the same.
    body: String,
}

/// What a request with an optional key got: a new answer, or the one kept for its key.
pub enum Answer<T> {
    Fresh(T),
    Replayed(Replay),
}

/// A stored answer to replay.
pub struct Replay {
    pub status: StatusCode,
    /// JSON, exactly as first sent.
    pub body: String,
}

impl IntoResponse for Replay {
    fn into_response(self) -> Response {
        (
            self.status,
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (
                    axum::http::HeaderName::from_static(REPLAYED_HEADER),
                    HeaderValue::from_static("true"),
                ),
            ],
            self.body,
        )
            .into_response()
    }
}

/// The answer kept for `claim`, if one is and it has not expired.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    keys: &Keys,
    claim: &Claim,
    now: DateTime<Utc>,
) -> ApiResult<Option<Replay>> {
    let hash = keys.idempotency_lookup(&claim.scope, claim.key.as_str());
    let Some(row) = idempotency_key::Entity::find_by_id(hash)
        .filter(idempotency_key::Column::ExpiresAt.gt(now))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let json = keys
        .idempotency_open(&claim.scope, claim.key.as_str(), &row.response_sealed)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored idempotent answer: {e}")))?;
    let stored: Stored = serde_json::from_str(&json)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored idempotent answer: {e}")))?;
    if stored.fingerprint != claim.fingerprint {
        return Err(ApiError::field(
            HEADER,
            "was already used for a different request; use a new key for a new request",
        ));
    }
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    Ok(Some(Replay {
        status,
        body: stored.body,
    }))
}

/// Writes the answer for `claim`. Call it first in the transaction that makes the
/// change: a unique-key failure means another request with the same key got there first
/// (see [`is_taken`]).
pub async fn store<C: ConnectionTrait>(
    db: &C,
    keys: &Keys,
    claim: &Claim,
    referral_id: Option<Uuid>,
    status: StatusCode,
    body: &impl Serialize,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let hash = keys.idempotency_lookup(&claim.scope, claim.key.as_str());
    // An expired answer that the purge has not reached yet frees its key.
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::KeyHash.eq(hash.clone()))
        .filter(idempotency_key::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    let stored = Stored {
        fingerprint: claim.fingerprint.clone(),
        status: status.as_u16(),
        body: serde_json::to_string(body).map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?,
    };
    let json = serde_json::to_string(&stored).map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
    idempotency_key::ActiveModel {
        key_hash: Set(hash),
        referral_id: Set(referral_id),
        response_sealed: Set(keys.idempotency_seal(&claim.scope, claim.key.as_str(), &json)),
        created_at: Set(now),
        expires_at: Set(now + KEEP),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// True when `store` failed because the key is already taken.
pub fn is_taken(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Forgets every kept answer for a referral: after its receipt is replaced or it is
/// withdrawn, a replay must not hand out the old receipt.
pub async fn forget_referral<C: ConnectionTrait>(
    db: &C,
    referral_id: Uuid,
) -> Result<u64, sea_orm::DbErr> {
    Ok(idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::ReferralId.eq(referral_id))
        .exec(db)
        .await?
        .rows_affected)
}

/// Deletes answers older than 24 hours.
pub async fn purge_expired<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    Ok(idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_parsed_once() {
        assert!(IdempotencyKey::parse("0b6e4c1e-8d1f-4c2e-9a55-3f0e8f1d2a10").is_ok());
        assert_eq!(IdempotencyKey::parse("  abc ").unwrap().as_str(), "abc");
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse("é").is_err());
        assert!(IdempotencyKey::parse(&"a".repeat(256)).is_err());
        assert!(IdempotencyKey::parse(&"a".repeat(255)).is_ok());
        assert_eq!(
            format!("{:?}", IdempotencyKey::parse("secret").unwrap()),
            "IdempotencyKey(redacted)"
        );
    }

    #[test]
    fn the_same_request_has_the_same_fingerprint() {
        let k = || IdempotencyKey::parse("k").unwrap();
        let a = Claim::new("referral", k(), &serde_json::json!({"a": 1}));
        let b = Claim::new("referral", k(), &serde_json::json!({"a": 1}));
        let c = Claim::new("referral", k(), &serde_json::json!({"a": 2}));
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_ne!(a.fingerprint, c.fingerprint);
    }
}
