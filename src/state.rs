//! What every handler can reach.
use std::sync::Arc;

use arc_swap::ArcSwap;
use sea_orm::DatabaseConnection;

use crate::clock::Clock;
use crate::content::catalogue::Catalogue;
use crate::crypto::Keys;
use crate::directory::Directory;
use crate::geo::Gazetteer;
use crate::notify::Metrics;
use crate::referrals::{Guards, rules::ReferralRules};
use crate::settings::Settings;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub gazetteer: Arc<Gazetteer>,
    /// The current directory snapshot; swapped whole on reload, never mutated.
    pub directory: Arc<ArcSwap<Directory>>,
    pub clock: Clock,
    /// Keys for data at rest and receipt hashes.
    pub keys: Arc<Keys>,
    /// Articles, help lines, safe places and the privacy page; swapped whole on reload.
    pub catalogue: Arc<ArcSwap<Catalogue>>,
    pub referral_rules: Arc<ReferralRules>,
    pub guards: Arc<Guards>,
    pub metrics: Arc<Metrics>,
    /// Wakes the notification deliverer when a change has queued something.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// This database's sync epoch, read once (it never changes).
    pub sync_epoch: Arc<std::sync::OnceLock<String>>,
}

impl AppState {
    /// Rebuilds the snapshot from the database and swaps it in.
    pub async fn reload_directory(&self) -> anyhow::Result<i64> {
        let dir = crate::directory::snapshot::load(&self.db, &self.gazetteer).await?;
        let revision = dir.revision;
        // The previous snapshot is freed here unless a request still holds it.
        drop(self.directory.swap(Arc::new(dir)));
        crate::ops::memory::release_free_memory();
        Ok(revision)
    }
}
