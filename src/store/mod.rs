//! The database: one pool for writes and one for reads, on SQLite (embedded, one node)
//! or PostgreSQL (several nodes). Both run the same SQL through sqlx's `Any` driver
//! where the dialects agree; each backend has its own migrations.
//!
//! On SQLite every write goes through a single connection, so writers queue in the
//! process instead of spinning on `SQLITE_BUSY`; readers use their own connections
//! thanks to WAL.
//!
//! Every SQL statement of the server lives in this module, one file per group of tables;
//! the capabilities above call these functions and never write SQL themselves.

pub mod alerts;
pub mod blocks;
pub mod catalog;
pub mod challenges;
pub mod cluster;
pub mod conversations;
pub mod departures;
pub mod eligibility;
pub mod events;
pub mod helpers;
pub mod messages;
pub mod offers;
pub mod outbox;
pub mod retention;
pub mod seed;
pub mod sessions;
pub mod stats;
pub mod talk_page;
pub mod thanks;
pub mod transcripts;
pub mod trouble;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pub backend: Backend,
    /// Connections that may write (one on SQLite).
    pub write: AnyPool,
    /// Connections for reads.
    pub read: AnyPool,
    /// On PostgreSQL: the channel and lock the nodes of this schema share.
    pub cluster: Option<cluster::Names>,
    /// The URL the store was opened with (the cluster's listener opens its own
    /// connection with it).
    pub url: String,
}

/// Log pages after which a SQLite commit checkpoints by itself, after which the log
/// starts from its beginning again (a checkpoint beside a busy writer seldom lets it).
/// `checkpoints` copies pages back in between, off the commit path. Checkpointing from
/// commits more often (4,096 pages, background pass every 250 ms) cost about a quarter
/// of the ping-pong rate in docs/PERFORMANCE.md.
const AUTO_CHECKPOINT_PAGES: u32 = 16_384;

const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Connects and applies pending migrations.
    pub async fn connect(url: &str, sqlite_synchronous: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!("database URL must start with sqlite:// or postgres://");
        };
        let options = AnyConnectOptions::from_str(url).context("parsing the database URL")?;
        let store = match backend {
            Backend::Sqlite => {
                if let Some(path) = sqlite_path(url)
                    && let Some(dir) = std::path::Path::new(&path).parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                }
                let synchronous = sqlite_synchronous.to_ascii_uppercase();
                let pragmas = format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; \
                     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;"
                );
                let write_pragmas = format!("{pragmas} PRAGMA wal_autocheckpoint = {AUTO_CHECKPOINT_PAGES};");
                let write = sqlite_pool(&options, 1, write_pragmas).await?;
                // The first connection switches the file to WAL before readers open it.
                let read = sqlite_pool(&options, 4, pragmas).await?;
                Store { backend, write, read, cluster: None, url: url.to_string() }
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .context("connecting to PostgreSQL")?;
                Store { backend, write: pool.clone(), read: pool, cluster: None, url: url.to_string() }
            }
        };
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&store.write).await.context("applying database migrations")?;
        let mut store = store;
        if backend == Backend::Postgres {
            store.cluster = Some(cluster::names(&store).await.context("naming the cluster's channel")?);
        }
        Ok(store)
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Copies SQLite's write-ahead log back into the database now and then, off the
    /// commit path, without blocking readers or the writer (`PASSIVE`). A page changed
    /// by many commits in between is copied once. Nothing to do on PostgreSQL.
    pub async fn checkpoints(self, shutdown: tokio_util::sync::CancellationToken) {
        if self.backend != Backend::Sqlite {
            return;
        }
        let store = &self;
        crate::clock::every(CHECKPOINT_EVERY, &shutdown, || async move {
            if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&store.read).await {
                tracing::warn!(%error, "checkpointing the SQLite log failed");
            }
        })
        .await;
    }

    /// A consistent copy of the SQLite database at `path` (a new file), taken while the
    /// server runs: `VACUUM INTO` reads one snapshot, so writers go on meanwhile.
    pub async fn backup_into(&self, path: &std::path::Path) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.backend == Backend::Sqlite,
            "helpline backup copies SQLite; for PostgreSQL use pg_dump (docs/OPERATIONS.md)"
        );
        anyhow::ensure!(!path.exists(), "{} exists already; give a new file", path.display());
        let target = path.to_str().context("the backup path is not UTF-8")?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.read)
            .await
            .context("copying the database")?;
        Ok(())
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

async fn sqlite_pool(options: &AnyConnectOptions, max: u32, pragmas: String) -> anyhow::Result<AnyPool> {
    AnyPoolOptions::new()
        .max_connections(max)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |conn, _meta| {
            let pragmas = pragmas.clone();
            Box::pin(async move {
                conn.execute(sqlx::AssertSqlSafe(pragmas)).await?;
                Ok(())
            })
        })
        .connect_with(options.clone())
        .await
        .context("opening the SQLite database")
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

/// `count` parameters numbered from `from`, for statements with many of them: `$N` for
/// PostgreSQL; plain `?` for SQLite, which binds them in order (looking up `$N` names
/// costs SQLite time in the number of parameters for each one).
pub(crate) fn placeholders(conn: &sqlx::AnyConnection, from: usize, count: usize) -> String {
    if conn.backend_name() == "SQLite" {
        return vec!["?"; count].join(", ");
    }
    (from..from + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// `$from, $from+1, …` for a list of `count` values in `IN (…)`.
pub(crate) fn numbered(from: usize, count: usize) -> String {
    (from..from + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}
