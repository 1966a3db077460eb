//! What several nodes on one PostgreSQL say to each other through it: notifications on
//! one channel (`NOTIFY`, `LISTEN`), and one session-level advisory lock whose holder
//! runs the background jobs. Both are named after the database schema, so that
//! deployments (and test runs) sharing a database do not hear each other.

use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnection, PgListener};
use sqlx::{AnyConnection, Connection};

use super::Store;

/// The channel and the lock of one schema.
#[derive(Clone, Debug)]
pub struct Names {
    pub channel: String,
    pub lock_key: i64,
}

/// The names for the schema the store's connections use.
pub async fn names(store: &Store) -> sqlx::Result<Names> {
    let schema: String = sqlx::query_scalar("SELECT current_schema()::text").fetch_one(&store.read).await?;
    let safe: String = schema
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .take(40)
        .collect();
    let digest = Sha256::digest(format!("helpline leader {schema}").as_bytes());
    let mut key = [0u8; 8];
    key.copy_from_slice(&digest[..8]);
    Ok(Names { channel: format!("helpline_{safe}"), lock_key: i64::from_be_bytes(key) })
}

/// Sends each payload on the channel. Inside a transaction, they are delivered when it
/// commits, and never if it does not.
pub async fn notify(conn: &mut AnyConnection, channel: &str, payloads: &[String]) -> sqlx::Result<()> {
    for payload in payloads {
        sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Notifications of the channel, on a connection of their own.
pub struct Notifications(PgListener);

impl Notifications {
    pub async fn listen(url: &str, channel: &str) -> sqlx::Result<Self> {
        let mut listener = PgListener::connect(url).await?;
        listener.listen(channel).await?;
        Ok(Self(listener))
    }

    /// The next payload; `None` when the connection was lost (what was sent meanwhile
    /// is lost with it: listen again, then read what was missed from the tables).
    pub async fn next(&mut self) -> sqlx::Result<Option<String>> {
        Ok(self.0.try_recv().await?.map(|n| n.payload().to_string()))
    }
}

/// The advisory lock, held by its own connection for as long as it lives: PostgreSQL
/// frees it when that session ends, however it ends.
pub struct LeaderLock(PgConnection);

impl LeaderLock {
    /// The lock if no other session holds it.
    pub async fn try_take(url: &str, key: i64) -> sqlx::Result<Option<Self>> {
        let mut conn = PgConnection::connect(url).await?;
        let taken: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(key).fetch_one(&mut conn).await?;
        Ok(taken.then_some(Self(conn)))
    }

    /// Whether the session (and so the lock) is still there.
    pub async fn check(&mut self) -> sqlx::Result<()> {
        self.0.ping().await
    }
}
