//! Signpost: the backend behind an app that helps young Londoners find safe, positive
//! things to do and ask for help without giving their name.
//!
//! Where a request goes:
//! - `/v1/services`, `/v1/categories`, `/v1/programmes`, `/v1/boroughs`,
//!   `/v1/organisations` → [`directory`]
//! - `/v1/places/{query}` → [`geo`]
//! - `/v1/help` → [`help`]; `/v1/articles…`, `/v1/safe-places`, `/v1/privacy` → [`content`]
//! - `/v1/sync` → [`sync`]
//! - `/hsds/…` (Open Referral UK 3.0) → [`hsds`]
//! - `/v1/referrals`, `/v1/referrals/needs`, `/v1/referrals/self…` → [`referrals`]
//! - `/v1/auth/…`, `/v1/inbox…` → [`workers`]
//! - `/v1/admin/webhooks…`, `/v1/admin/notifications…` → [`notify`]
//! - `/v1/services/{id}/reports`, `/v1/admin/reports…` (wrong listings) → [`reports`]
//! - `/healthz`, `/readyz`, `/metrics`, `/v1/about`, `/openapi.json`, `/docs` → [`ops`]
//! - `/console…` (the youth workers' web console) → [`console`]
pub mod clock;
pub mod console;
pub mod content;
pub mod crypto;
pub mod db;
pub mod directory;
pub mod entities;
pub mod error;
pub mod extract;
pub mod geo;
pub mod help;
pub mod hsds;
pub mod http_cache;
pub mod json;
pub mod notify;
pub mod ops;
pub mod paging;
pub mod referrals;
pub mod reports;
pub mod settings;
pub mod state;
pub mod sync;
pub mod synthetic;
pub mod workers;

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use arc_swap::ArcSwap;
use axum::{Router, extract::DefaultBodyLimit, middleware};
use tokio::{net::TcpListener, task::JoinHandle};
use tower_http::{compression::CompressionLayer, cors::CorsLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub use clock::Clock;
pub use settings::Settings;
pub use state::AppState;

use crate::http_cache::PublicCache;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Signpost API",
        version = "1",
        description = "Directory of safe, positive activities and support for young Londoners (10–25)."
    ),
    tags(
        (name = "directory", description = "Public directory of services"),
        (name = "content", description = "Help lines and content"),
        (name = "referrals", description = "Anonymous self-referrals (the young person's side)"),
        (name = "workers", description = "Youth workers: sign-in and the inbox"),
        (name = "notifications", description = "Webhook endpoints and the notification outbox"),
        (name = "hsds", description = "The directory in the Open Referral UK (HSDS 3.0) shape"),
        (name = "operations", description = "Health and documentation"),
    )
)]
struct ApiDoc;

/// Largest request body accepted anywhere (bigger ones get 413).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let public_cache = PublicCache {
        max_age: state.settings.public_max_age,
    };
    // Public reads: any origin, ETag and Cache-Control.
    let public = OpenApiRouter::new()
        .merge(directory::routes::router())
        .merge(geo::routes::router())
        .merge(help::router())
        .merge(content::routes::router())
        .merge(sync::router())
        .merge(hsds::publish::router())
        .merge(referrals::routes::public_router())
        .layer(middleware::from_fn_with_state(
            public_cache,
            http_cache::public_cache,
        ))
        .layer(CorsLayer::permissive())
        // Outside the ETag layer: the tag names the content, whatever the encoding.
        .layer(CompressionLayer::new().gzip(true).br(true));
    // Everything about a referral: never cached anywhere.
    let private = OpenApiRouter::new()
        .merge(referrals::routes::private_router())
        .merge(workers::routes::router())
        .merge(notify::admin::router())
        .merge(reports::routes::router())
        .layer(middleware::from_fn(http_cache::no_store));
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(public)
        .merge(private)
        .merge(ops::router())
        .split_for_parts();
    Router::new()
        .merge(api)
        .merge(ops::metrics_router())
        .merge(console::router(state.clone()))
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .fallback(|| async { error::ApiError::NotFound("there is nothing at this address".into()) })
        // Enforced where a body is read, so the 413 is a problem+json like every error.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(ops::logging::log_requests))
        .with_state(state)
}

/// Connects, migrates, loads `content/` and the directory snapshot.
pub async fn prepare(settings: Settings, clock: Clock) -> anyhow::Result<AppState> {
    let gazetteer = geo::Gazetteer::load_cached(&settings.content_dir).with_context(|| {
        format!(
            "loading reference data from {}",
            settings.content_dir.display()
        )
    })?;
    let db = db::connect(&settings).await?;
    db::migrate(&db).await?;
    if settings.sync_content_on_start {
        let report = content::sync(&db, &gazetteer, &settings.content_dir, clock.now()).await?;
        log_sync(&report);
        // Parsing and comparing every file is the biggest allocation of start-up.
        ops::memory::release_free_memory();
    }
    let snapshot = directory::snapshot::load(&db, &gazetteer).await?;
    // Every referral answer carries the help lines and needs a route: without them the
    // service does not start.
    let (catalogue, content_errors) =
        content::catalogue::load(&settings.content_dir, &gazetteer, None);
    for e in &content_errors {
        tracing::warn!(error = %e, "content file not loaded");
    }
    // A referral answer without help lines is never acceptable.
    if catalogue.help.is_empty() {
        anyhow::bail!(
            "content/help.toml has no usable help lines: the service will not start without them"
        );
    }
    let organisations: std::collections::HashSet<String> = snapshot
        .organisations
        .iter()
        .map(|o| o.slug.clone())
        .collect();
    let rules = referrals::rules::ReferralRules::load(&settings.content_dir, &organisations, |b| {
        gazetteer.borough(b).map(|x| x.id)
    })
    .context("content/referrals")?;
    let (keys, source) = crypto::Keys::load(settings.data_key.as_deref(), &settings.data_dir)?;
    if let crypto::KeySource::File { path, created } = &source {
        tracing::warn!(
            path = %path.display(),
            created,
            "using a key file for data at rest; set SIGNPOST_DATA_KEY in production"
        );
    }
    let guards = referrals::Guards::new(&settings);
    let mut snapshot = snapshot;
    let offline = sync::Offline::new(&snapshot, &catalogue, &rules, &gazetteer, &settings);
    if let Some(revision) = sync::record(&db, &offline).await? {
        snapshot.revision = revision;
    }
    Ok(AppState {
        db,
        settings: Arc::new(settings),
        gazetteer,
        directory: Arc::new(ArcSwap::from_pointee(snapshot)),
        clock,
        keys: Arc::new(keys),
        catalogue: Arc::new(ArcSwap::from_pointee(catalogue)),
        referral_rules: Arc::new(rules),
        guards: Arc::new(guards),
        metrics: Arc::new(notify::Metrics::default()),
        outbox_wake: Arc::new(tokio::sync::Notify::new()),
        sync_epoch: Arc::new(std::sync::OnceLock::new()),
    })
}

pub fn log_sync(report: &content::SyncReport) {
    for e in &report.errors {
        tracing::warn!(error = %e, "content file not loaded");
    }
    let c = report.services;
    tracing::info!(
        created = c.created,
        updated = c.updated,
        unchanged = c.unchanged,
        retired = c.retired,
        errors = report.errors.len(),
        revision = report.revision,
        "content synced"
    );
}

/// A running server: its address, its state, and the task serving it.
pub struct Server {
    pub addr: SocketAddr,
    pub state: AppState,
    pub handle: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until the server has shut down gracefully.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        (&mut self.handle).await??;
        Ok(())
    }

    pub fn abort(&self) {
        self.handle.abort();
        for task in &self.background {
            task.abort();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.abort();
    }
}

/// Binds and serves until `shutdown` resolves.
pub async fn start(
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Server> {
    let listener = TcpListener::bind(state.settings.listen)
        .await
        .with_context(|| format!("binding {}", state.settings.listen))?;
    let addr = listener.local_addr()?;
    let app = router(state.clone());
    let handle = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    });
    let mut background = vec![
        tokio::spawn(reload_loop(state.clone())),
        tokio::spawn(scheduler_loop(state.clone())),
    ];
    if state.settings.outbox_worker {
        background.push(tokio::spawn(notify::delivery::run(state.clone())));
    }
    Ok(Server {
        addr,
        state,
        handle,
        background,
    })
}

/// Picks up directory changes made by another instance or by `signpost content sync`.
async fn reload_loop(state: AppState) {
    let mut tick = tokio::time::interval(state.settings.reload_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The snapshot was just loaded: the first check is one interval from now.
    tick.tick().await;
    loop {
        tick.tick().await;
        state.guards.prune();
        let current = state.directory.load().revision;
        match directory::store::current_revision(&state.db).await {
            Ok(rev) if rev != current => {
                reload_catalogue(&state);
                // Reload, and record for offline sync what changed (an import, say).
                if let Err(err) = record_changes(&state).await {
                    tracing::warn!(error = %err, "directory reload failed; serving the previous copy");
                }
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "cannot read the directory revision"),
        }
    }
}

/// Reloads articles, help lines, safe places and the privacy page from the files; a broken
/// file keeps its last good version.
pub fn reload_catalogue(state: &AppState) -> Vec<content::ContentError> {
    let previous = state.catalogue.load_full();
    let (catalogue, errors) = content::catalogue::load(
        &state.settings.content_dir,
        &state.gazetteer,
        Some(&previous),
    );
    for e in &errors {
        tracing::warn!(error = %e, "content file not loaded; keeping its last good version");
    }
    state.catalogue.store(Arc::new(catalogue));
    errors
}

/// Loads everything in `content/` (as `signpost content sync` does), records what changed
/// for offline sync, and swaps in the new copies.
pub async fn sync_content(state: &AppState) -> anyhow::Result<content::SyncReport> {
    let mut report = content::sync(
        &state.db,
        &state.gazetteer,
        &state.settings.content_dir,
        state.clock.now(),
    )
    .await?;
    report.errors.extend(reload_catalogue(state));
    state.reload_directory().await?;
    if let Some(revision) = sync::record_current(state).await? {
        report.revision = revision;
        state.reload_directory().await?;
    }
    Ok(report)
}

/// After a change to the directory from outside `content/` (an import): reload the
/// snapshot and record what changed for offline sync.
pub async fn record_changes(state: &AppState) -> anyhow::Result<()> {
    state.reload_directory().await?;
    if sync::record_current(state).await?.is_some() {
        state.reload_directory().await?;
    }
    Ok(())
}

/// Escalates unclaimed referrals and purges what is past retention, on a schedule.
async fn scheduler_loop(state: AppState) {
    let mut tick = tokio::time::interval(state.settings.scheduler_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The duty-team alarm is logged when it starts (including at start-up) and when it
    // clears, not on every pass.
    let mut last_alarm: Option<Option<String>> = None;
    loop {
        tick.tick().await;
        if let Ok(duty) = referrals::staffing::duty_team_status(&state).await {
            let alarm = duty.alarm();
            if last_alarm.as_ref() != Some(&alarm) {
                match &alarm {
                    Some(a) => tracing::error!(
                        alarm = %a,
                        "nobody is on duty: add a youth worker with `signpost workers add`"
                    ),
                    None if last_alarm.is_some() => {
                        tracing::info!("the duty team has an active youth worker again")
                    }
                    None => {}
                }
                last_alarm = Some(alarm);
            }
        }
        match notify::escalation::run_once(&state).await {
            Ok(done) if done.escalated + done.reminded > 0 => {
                tracing::info!(
                    escalated = done.escalated,
                    reminded = done.reminded,
                    "escalation"
                );
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "escalation pass failed"),
        }
        match notify::retention::purge(&state).await {
            Ok(done) if done.referrals > 0 => {
                tracing::info!(referrals = done.referrals, "retention purge")
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "retention purge failed"),
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
