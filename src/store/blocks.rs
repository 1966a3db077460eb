//! SQL for blocks on requesters (by token hash, and by day-keyed network hash), and the
//! in-memory horizon that keeps the message path from asking while none is in force.

use std::sync::atomic::{AtomicI64, Ordering};

use std::collections::HashSet;

use sqlx::{AnyConnection, Row};

use super::{Backend, Store, numbered, placeholders};
use crate::domain::{ConversationId, HelperId, QueueId, Role};

/// The latest end of any block, kept in memory so that the message path does not ask
/// the database while no block is in force (the usual case). With several nodes
/// (PostgreSQL) a block made on another node would not move this one's horizon, so
/// there the database is always asked: a block holds on every node at once.
#[derive(Default)]
pub struct BlockHorizon {
    latest: AtomicI64,
    shared: bool,
}

impl BlockHorizon {
    pub async fn load(store: &Store) -> sqlx::Result<Self> {
        let latest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(expires_at) FROM blocks WHERE lifted_at IS NULL")
                .fetch_one(&store.read)
                .await?;
        Ok(Self { latest: AtomicI64::new(latest.unwrap_or(0)), shared: store.backend == Backend::Postgres })
    }

    pub fn extend(&self, until: i64) {
        self.latest.fetch_max(until, Ordering::Relaxed);
    }

    pub fn any_in_force(&self, now: i64) -> bool {
        self.shared || self.latest.load(Ordering::Relaxed) > now
    }
}

/// One block row to store.
pub struct NewBlock<'a> {
    pub id: String,
    /// `token` or `network`.
    pub kind: &'static str,
    pub value_hash: &'a str,
    pub expires_at: i64,
}

/// Of these token or network hashes, those blocked now — read inside the caller's
/// transaction, so a block committed before it (on any node) is seen.
pub async fn blocked_among(
    conn: &mut AnyConnection,
    hashes: &[&str],
    now: i64,
) -> sqlx::Result<HashSet<String>> {
    if hashes.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!(
        "SELECT value_hash FROM blocks WHERE expires_at > {} AND lifted_at IS NULL AND value_hash IN ({})",
        placeholders(conn, 1, 1),
        placeholders(conn, 2, hashes.len())
    );
    let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(now);
    for hash in hashes {
        query = query.bind(*hash);
    }
    Ok(query.fetch_all(conn).await?.into_iter().collect())
}

/// Whether a token hash or network hash is blocked now.
pub async fn is_blocked(store: &Store, value_hash: &str, now: i64) -> sqlx::Result<bool> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT id FROM blocks WHERE value_hash = $1 AND expires_at > $2 AND lifted_at IS NULL LIMIT 1",
    )
    .bind(value_hash)
    .bind(now)
    .fetch_optional(&store.read)
    .await?;
    Ok(found.is_some())
}

/// Stores the blocks set from a conversation, with their audit event.
pub async fn insert(
    store: &Store,
    conversation: &ConversationId,
    queue: &QueueId,
    by: &HelperId,
    blocks: &[NewBlock<'_>],
    detail: &serde_json::Value,
    now: i64,
) -> sqlx::Result<()> {
    let mut tx = store.write.begin().await?;
    for block in blocks {
        sqlx::query(
            "INSERT INTO blocks (id, kind, value_hash, conversation_id, queue, helper_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&block.id)
        .bind(block.kind)
        .bind(block.value_hash)
        .bind(conversation)
        .bind(queue)
        .bind(by)
        .bind(now)
        .bind(block.expires_at)
        .execute(&mut *tx)
        .await?;
    }
    super::events::insert_event(&mut tx, conversation, now, Role::Helper, Some(by), "blocked", detail)
        .await?;
    tx.commit().await
}

/// When the block on a requester's token ends, if one is in force.
pub async fn blocked_until(store: &Store, token_hash: &str, now: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT MAX(expires_at) FROM blocks WHERE value_hash = $1 AND expires_at > $2 AND lifted_at IS NULL",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_one(&store.read)
    .await
}

/// Lifts every block set from a conversation, with the audit event.
pub async fn lift_for_conversation(
    store: &Store,
    conversation: &ConversationId,
    by: &HelperId,
    now: i64,
) -> sqlx::Result<()> {
    let mut tx = store.write.begin().await?;
    sqlx::query("UPDATE blocks SET lifted_at = $1 WHERE conversation_id = $2 AND lifted_at IS NULL")
        .bind(now)
        .bind(conversation)
        .execute(&mut *tx)
        .await?;
    let detail = serde_json::json!({});
    super::events::insert_event(&mut tx, conversation, now, Role::Helper, Some(by), "unblocked", &detail)
        .await?;
    tx.commit().await
}

/// A block in force, as coordinators see it.
pub struct ActiveBlock {
    pub id: String,
    pub kind: String,
    pub conversation: Option<ConversationId>,
    pub queue: QueueId,
    pub until: i64,
    /// The name of the helper who set it.
    pub by: Option<String>,
}

/// The blocks in force in these queues, ending soonest first.
pub async fn in_force(store: &Store, queues: &[QueueId], now: i64) -> sqlx::Result<Vec<ActiveBlock>> {
    if queues.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT b.id, b.kind, b.conversation_id, b.queue, b.expires_at, h.name AS by_name FROM blocks b \
         LEFT JOIN helpers h ON h.id = b.helper_id \
         WHERE b.expires_at > $1 AND b.lifted_at IS NULL AND b.queue IN ({}) ORDER BY b.expires_at",
        numbered(2, queues.len())
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
    for q in queues {
        query = query.bind(q.as_str());
    }
    query
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(|r| {
            Ok(ActiveBlock {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                conversation: r.try_get("conversation_id")?,
                queue: r.try_get("queue")?,
                until: r.try_get("expires_at")?,
                by: r.try_get("by_name")?,
            })
        })
        .collect()
}

/// Lifts one block, if it is in force in one of these queues; whether it was.
pub async fn lift_in_queues(store: &Store, id: &str, queues: &[QueueId], now: i64) -> sqlx::Result<bool> {
    if queues.is_empty() {
        return Ok(false);
    }
    let sql = format!(
        "UPDATE blocks SET lifted_at = $1 WHERE id = $2 AND lifted_at IS NULL AND queue IN ({})",
        numbered(3, queues.len())
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now).bind(id);
    for q in queues {
        query = query.bind(q.as_str());
    }
    Ok(query.execute(&store.write).await?.rows_affected() > 0)
}
