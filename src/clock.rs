//! The time source. Production reads the system clock; tests move a manual one.
use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use chrono::{DateTime, Utc};

#[derive(Clone)]
pub struct Clock(Source);

#[derive(Clone)]
enum Source {
    System,
    Manual(Arc<AtomicI64>),
}

impl Clock {
    pub fn system() -> Self {
        Self(Source::System)
    }

    /// A clock that stays at `start` until moved with [`Clock::set`] or [`Clock::advance`].
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self(Source::Manual(Arc::new(AtomicI64::new(
            start.timestamp_millis(),
        ))))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            Source::System => Utc::now(),
            Source::Manual(ms) => {
                DateTime::from_timestamp_millis(ms.load(Ordering::SeqCst)).unwrap_or_default()
            }
        }
    }

    /// Moves a manual clock; a system clock ignores it.
    pub fn set(&self, to: DateTime<Utc>) {
        if let Source::Manual(ms) = &self.0 {
            ms.store(to.timestamp_millis(), Ordering::SeqCst);
        }
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.set(self.now() + by);
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}
