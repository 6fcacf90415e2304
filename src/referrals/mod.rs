//! Anonymous self-referrals: the young person's side.
pub mod guard;
pub mod idempotency;
pub mod model;
pub mod routes;
pub mod rules;
pub mod service;
pub mod staffing;
pub mod triage;

use std::net::IpAddr;
use std::time::Duration;

use guard::Limiter;

/// Wrong second-factor codes one account may have per 15 minutes, from any client.
pub const CODE_FAILURES_PER_ACCOUNT: u32 = 5;

/// The throttles, held in memory only.
pub struct Guards {
    pub receipt_failures: Limiter<IpAddr>,
    pub receipt_failures_window: Duration,
    pub referrals_per_client: Limiter<IpAddr>,
    pub referrals_global: Limiter<()>,
    pub login_failures: Limiter<IpAddr>,
    /// Wrong second-factor codes per youth-worker account (whoever sends them).
    pub code_failures_per_account: Limiter<uuid::Uuid>,
    /// Wrong second-factor codes per client.
    pub code_failures_per_client: Limiter<IpAddr>,
    pub code_failures_window: Duration,
    pub reports_per_client: Limiter<IpAddr>,
    pub reports_global: Limiter<()>,
}

impl Guards {
    pub fn new(settings: &crate::Settings) -> Self {
        let window = Duration::from_secs(15 * 60);
        Self {
            receipt_failures: Limiter::new(settings.receipt_failures_allowed, window),
            receipt_failures_window: window,
            referrals_per_client: Limiter::new(
                settings.referrals_per_client_per_hour,
                Duration::from_secs(3600),
            ),
            referrals_global: Limiter::new(
                settings.referrals_global_per_minute,
                Duration::from_secs(60),
            ),
            login_failures: Limiter::new(settings.login_failures_allowed, window),
            code_failures_per_account: Limiter::new(CODE_FAILURES_PER_ACCOUNT, window),
            code_failures_per_client: Limiter::new(settings.login_failures_allowed, window),
            code_failures_window: window,
            reports_per_client: Limiter::new(
                settings.reports_per_client_per_hour,
                Duration::from_secs(3600),
            ),
            reports_global: Limiter::new(
                settings.reports_global_per_minute,
                Duration::from_secs(60),
            ),
        }
    }

    pub fn prune(&self) {
        self.receipt_failures.prune();
        self.referrals_per_client.prune();
        self.referrals_global.prune();
        self.login_failures.prune();
        self.code_failures_per_account.prune();
        self.code_failures_per_client.prune();
        self.reports_per_client.prune();
        self.reports_global.prune();
    }
}
