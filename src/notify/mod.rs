//! Notifications that never lose a referral: an outbox written with each change, a
//! deliverer with retries, escalation of unclaimed referrals, and retention.
pub mod admin;
pub mod delivery;
pub mod endpoints;
pub mod escalation;
pub mod outbox;
pub mod retention;

use std::sync::atomic::AtomicU64;

/// Counters for `/metrics` (process-local; gauges are read from the database).
#[derive(Debug, Default)]
pub struct Metrics {
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub dead: AtomicU64,
    /// Referrals made while the duty team had no active youth worker: nobody to read them.
    pub unread_by_anyone: AtomicU64,
}
