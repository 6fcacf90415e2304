//! Connecting to the database (SQLite embedded, PostgreSQL for real deployments) and
//! running migrations.
use std::{path::Path, str::FromStr, time::Duration};

use anyhow::Context;
use migration::MigratorTrait;
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DbBackend,
    sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
};

use crate::settings::{Settings, redact_url};

pub async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    connect_url(&settings.database_url, settings.db_max_connections).await
}

pub async fn connect_url(url: &str, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_string());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        if let Some(parent) = sqlite_path(url).and_then(|p| p.parent().map(Path::to_path_buf))
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(&parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        // WAL with synchronous=FULL: every commit is on disk before it is acknowledged.
        options.map_sqlx_sqlite_opts(|opts: SqliteConnectOptions| {
            opts.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // Reads from memory-mapped pages instead of a read() system call per page
                // (256 MiB of address space, not memory), and a larger page cache per
                // connection: the console's inbox reads a few thousand index entries a page.
                .pragma("mmap_size", "268435456")
                .pragma("cache_size", "-16384")
                .pragma("temp_store", "memory")
        });
    }
    Database::connect(options)
        .await
        .with_context(|| format!("connecting to {}", redact_url(url)))
}

fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let opts = SqliteConnectOptions::from_str(url).ok()?;
    let name = opts.get_filename();
    (name.as_os_str() != ":memory:").then(|| name.to_path_buf())
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    migration::Migrator::up(db, None)
        .await
        .context("running migrations")
}

pub fn is_postgres(db: &DatabaseConnection) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}
