//! One typed view of the environment. Every knob is `SIGNPOST_*` (plus `DATABASE_URL`),
//! each with a default that runs on one machine. Secrets never appear in `Debug`.
use std::{net::SocketAddr, path::PathBuf, time::Duration};

#[derive(Clone)]
pub struct Settings {
    /// Where the HTTP server listens (`SIGNPOST_LISTEN`).
    pub listen: SocketAddr,
    /// `DATABASE_URL`: SQLite by default, PostgreSQL for real deployments.
    pub database_url: String,
    /// `SIGNPOST_CONTENT_DIR`: the shipped directory content and reference data.
    pub content_dir: PathBuf,
    /// `SIGNPOST_DATA_DIR`: where the embedded defaults keep their files.
    pub data_dir: PathBuf,
    /// `SIGNPOST_DB_MAX_CONNECTIONS`.
    pub db_max_connections: u32,
    /// `SIGNPOST_RELOAD_SECS`: how often an instance checks whether another instance
    /// changed the directory (several instances on one PostgreSQL).
    pub reload_interval: Duration,
    /// `SIGNPOST_PUBLIC_MAX_AGE`: `Cache-Control: max-age` for public GETs, in seconds.
    pub public_max_age: u32,
    /// `SIGNPOST_SYNC_CONTENT_ON_START` (default true).
    pub sync_content_on_start: bool,
    /// `SIGNPOST_DATA_KEY`: the master key for data at rest (64 hex characters). Without it,
    /// a key file is created under the data directory. Never logged.
    pub data_key: Option<String>,
    /// `SIGNPOST_RECEIPT_FAILURES`: wrong receipts a client may try per 15 minutes.
    pub receipt_failures_allowed: u32,
    /// `SIGNPOST_RECEIPT_SLOWDOWN_AFTER`: failures after which each wrong receipt is
    /// answered more slowly.
    pub receipt_slowdown_after: u32,
    /// `SIGNPOST_LOGIN_FAILURES`: failed worker logins a client may try per 15 minutes.
    pub login_failures_allowed: u32,
    /// `SIGNPOST_REFERRALS_PER_CLIENT_HOUR`: new referrals one client may make per hour.
    pub referrals_per_client_per_hour: u32,
    /// `SIGNPOST_REFERRALS_PER_MINUTE`: ceiling on new referrals per minute, all clients.
    pub referrals_global_per_minute: u32,
    /// `SIGNPOST_REPORTS_PER_CLIENT_HOUR`: reports of wrong listings one client may send
    /// per hour.
    pub reports_per_client_per_hour: u32,
    /// `SIGNPOST_REPORTS_PER_MINUTE`: ceiling on reports of wrong listings, all clients.
    pub reports_global_per_minute: u32,
    /// `SIGNPOST_MESSAGES_PER_DAY`: messages a young person may send on one referral a day.
    pub messages_per_day: u32,
    /// `SIGNPOST_SESSION_HOURS`: how long a youth worker's login lasts.
    pub session_hours: u32,
    /// `SIGNPOST_OUTBOX_WORKER`: deliver notifications inside `serve` (default true).
    pub outbox_worker: bool,
    /// `SIGNPOST_OUTBOX_POLL_MS`: how often the deliverer looks for due notifications.
    pub outbox_poll: Duration,
    /// `SIGNPOST_OUTBOX_RETRY_HOURS`: how long a notification is retried before it is dead.
    pub outbox_retry_hours: u32,
    /// `SIGNPOST_WEBHOOK_TIMEOUT_SECS`: time allowed for one delivery.
    pub webhook_timeout: Duration,
    /// `SIGNPOST_ESCALATE_URGENT_MINUTES`: an urgent referral not claimed in this time is
    /// escalated.
    pub escalate_urgent_after: chrono::Duration,
    /// `SIGNPOST_REMIND_ROUTINE_WORKING_DAYS`: a routine referral not claimed in this many
    /// working days (Mon–Fri, Europe/London) gets a reminder.
    pub remind_routine_working_days: u32,
    /// `SIGNPOST_RETENTION_DAYS`: closed and withdrawn referrals are erased this long after.
    pub retention_days: u32,
    /// `SIGNPOST_SCHEDULER_SECS`: how often escalation and retention run inside `serve`.
    pub scheduler_interval: Duration,
    /// `SIGNPOST_REQUIRE_2FA`: who must sign in with a second factor (`all`, `leads` or
    /// `none`).
    pub require_2fa: RequireSecondFactor,
    /// `SIGNPOST_PUBLIC_URL`: where people reach this service (`https://…` in production):
    /// the console's cookies are `__Host-` and `Secure` when it is https, and a form must
    /// come from its origin. Unset: the request's own `Host`.
    pub public_url: Option<String>,
    /// `SIGNPOST_CONSOLE_IDLE_MINUTES`: a console sign-in ends after this long unused.
    pub console_idle_minutes: u32,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("database", &redact_url(&self.database_url))
            .field("content_dir", &self.content_dir)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

/// A database URL without its password, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("setting {name}: {message}")]
pub struct SettingsError {
    pub name: &'static str,
    pub message: String,
}

/// Who must sign in with a second factor (`SIGNPOST_REQUIRE_2FA`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequireSecondFactor {
    /// Every youth worker (the default).
    All,
    /// Coordinators and admins only.
    Leads,
    /// Nobody: a password alone signs in.
    None,
}

impl std::str::FromStr for RequireSecondFactor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "all" => Ok(Self::All),
            "leads" => Ok(Self::Leads),
            "none" => Ok(Self::None),
            _ => Err("must be all, leads or none".into()),
        }
    }
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can supply their own environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let data_dir =
            PathBuf::from(lookup("SIGNPOST_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url = lookup("DATABASE_URL").unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("signpost.db").display()
            )
        });
        Ok(Self {
            listen: parse(&lookup, "SIGNPOST_LISTEN", "127.0.0.1:8080")?,
            database_url,
            content_dir: PathBuf::from(
                lookup("SIGNPOST_CONTENT_DIR").unwrap_or_else(|| "./content".into()),
            ),
            data_dir,
            db_max_connections: parse(&lookup, "SIGNPOST_DB_MAX_CONNECTIONS", "16")?,
            reload_interval: Duration::from_secs(parse(&lookup, "SIGNPOST_RELOAD_SECS", "5")?),
            public_max_age: parse(&lookup, "SIGNPOST_PUBLIC_MAX_AGE", "300")?,
            sync_content_on_start: parse(&lookup, "SIGNPOST_SYNC_CONTENT_ON_START", "true")?,
            data_key: lookup("SIGNPOST_DATA_KEY").filter(|k| !k.trim().is_empty()),
            receipt_failures_allowed: parse(&lookup, "SIGNPOST_RECEIPT_FAILURES", "10")?,
            receipt_slowdown_after: parse(&lookup, "SIGNPOST_RECEIPT_SLOWDOWN_AFTER", "3")?,
            login_failures_allowed: parse(&lookup, "SIGNPOST_LOGIN_FAILURES", "10")?,
            referrals_per_client_per_hour: parse(
                &lookup,
                "SIGNPOST_REFERRALS_PER_CLIENT_HOUR",
                "10",
            )?,
            referrals_global_per_minute: parse(&lookup, "SIGNPOST_REFERRALS_PER_MINUTE", "600")?,
            reports_per_client_per_hour: parse(&lookup, "SIGNPOST_REPORTS_PER_CLIENT_HOUR", "5")?,
            reports_global_per_minute: parse(&lookup, "SIGNPOST_REPORTS_PER_MINUTE", "120")?,
            messages_per_day: parse(&lookup, "SIGNPOST_MESSAGES_PER_DAY", "30")?,
            session_hours: parse(&lookup, "SIGNPOST_SESSION_HOURS", "12")?,
            outbox_worker: parse(&lookup, "SIGNPOST_OUTBOX_WORKER", "true")?,
            outbox_poll: Duration::from_millis(parse(&lookup, "SIGNPOST_OUTBOX_POLL_MS", "1000")?),
            outbox_retry_hours: parse(&lookup, "SIGNPOST_OUTBOX_RETRY_HOURS", "24")?,
            webhook_timeout: Duration::from_secs(parse(
                &lookup,
                "SIGNPOST_WEBHOOK_TIMEOUT_SECS",
                "10",
            )?),
            escalate_urgent_after: chrono::Duration::minutes(parse(
                &lookup,
                "SIGNPOST_ESCALATE_URGENT_MINUTES",
                "15",
            )?),
            remind_routine_working_days: parse(
                &lookup,
                "SIGNPOST_REMIND_ROUTINE_WORKING_DAYS",
                "2",
            )?,
            retention_days: parse(&lookup, "SIGNPOST_RETENTION_DAYS", "90")?,
            scheduler_interval: Duration::from_secs(parse(
                &lookup,
                "SIGNPOST_SCHEDULER_SECS",
                "30",
            )?),
            require_2fa: parse(&lookup, "SIGNPOST_REQUIRE_2FA", "all")?,
            public_url: lookup("SIGNPOST_PUBLIC_URL")
                .map(|u| u.trim().trim_end_matches('/').to_string())
                .filter(|u| !u.is_empty()),
            console_idle_minutes: parse(&lookup, "SIGNPOST_CONSOLE_IDLE_MINUTES", "30")?,
        })
    }
}

fn parse<T: std::str::FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: &str,
) -> Result<T, SettingsError>
where
    T::Err: std::fmt::Display,
{
    let raw = lookup(name).unwrap_or_else(|| default.to_string());
    raw.trim().parse().map_err(|e: T::Err| SettingsError {
        name,
        message: format!("cannot parse {raw:?}: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_on_one_machine() {
        let s = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database_url, "sqlite://./data/signpost.db?mode=rwc");
        assert_eq!(s.content_dir, PathBuf::from("./content"));
    }

    #[test]
    fn require_2fa_defaults_to_all_and_rejects_unknown_values() {
        let s = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(s.require_2fa, RequireSecondFactor::All);
        for (raw, want) in [
            ("leads", RequireSecondFactor::Leads),
            (" NONE ", RequireSecondFactor::None),
            ("all", RequireSecondFactor::All),
        ] {
            let s = Settings::from_lookup(|n| (n == "SIGNPOST_REQUIRE_2FA").then(|| raw.into()))
                .unwrap();
            assert_eq!(s.require_2fa, want);
        }
        let err = Settings::from_lookup(|n| (n == "SIGNPOST_REQUIRE_2FA").then(|| "some".into()))
            .unwrap_err();
        assert_eq!(err.name, "SIGNPOST_REQUIRE_2FA");
    }

    #[test]
    fn bad_value_names_the_variable() {
        let err =
            Settings::from_lookup(|n| (n == "SIGNPOST_LISTEN").then(|| "nope".into())).unwrap_err();
        assert_eq!(err.name, "SIGNPOST_LISTEN");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@host/db"),
            "postgres://u:***@host/db"
        );
        let s = Settings::from_lookup(|n| {
            (n == "DATABASE_URL").then(|| "postgres://u:secret@h/db".into())
        })
        .unwrap();
        assert!(!format!("{s:?}").contains("secret"));
        let s =
            Settings::from_lookup(|n| (n == "SIGNPOST_DATA_KEY").then(|| "ab".repeat(32))).unwrap();
        assert!(!format!("{s:?}").contains("abab"));
    }
}
