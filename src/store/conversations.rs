//! SQL for conversations. Shared by both backends (parameters are `$N`, which SQLite
//! accepts too); where they differ, the backend is passed in.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Backend, placeholders};
use crate::domain::time::rfc3339;
use crate::domain::{
    Channel, Conflicts, Conversation, ConversationId, HelperId, Outcome, QueueId, QueueItem, Role, Status,
};

const CONVERSATION_COLUMNS: &str = "id, token_hash, site, queue, lang, topic, channel, username, \
    username_temporary, status, outcome, urgent, owner_id, last_owner_id, redirected_team, preview, \
    last_seq, requester_read_seq, helper_read_seq, created_at, waiting_since, first_reply_at, closed_at, conflicts";

fn conversation_from_row(row: &AnyRow) -> sqlx::Result<Conversation> {
    let status: String = row.try_get("status")?;
    let channel: String = row.try_get("channel")?;
    let outcome: Option<String> = row.try_get("outcome")?;
    Ok(Conversation {
        id: row.try_get("id")?,
        token_hash: row.try_get("token_hash")?,
        site: row.try_get("site")?,
        queue: row.try_get("queue")?,
        lang: row.try_get("lang")?,
        topic: row.try_get("topic")?,
        channel: Channel::parse(&channel).unwrap_or(Channel::Chat),
        username: row.try_get("username")?,
        username_temporary: row.try_get::<i64, _>("username_temporary")? != 0,
        status: Status::parse(&status)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown status {status}").into()))?,
        outcome: outcome.as_deref().and_then(Outcome::parse),
        urgent: row.try_get::<i64, _>("urgent")? != 0,
        owner_id: row.try_get("owner_id")?,
        last_owner_id: row.try_get("last_owner_id")?,
        redirected_team: row.try_get("redirected_team")?,
        preview: row.try_get("preview")?,
        last_seq: row.try_get("last_seq")?,
        requester_read_seq: row.try_get("requester_read_seq")?,
        helper_read_seq: row.try_get("helper_read_seq")?,
        created_at: row.try_get("created_at")?,
        waiting_since: row.try_get("waiting_since")?,
        first_reply_at: row.try_get("first_reply_at")?,
        closed_at: row.try_get("closed_at")?,
        conflicts: Conflicts::parse(&row.try_get::<String, _>("conflicts")?),
    })
}

pub async fn find(conn: &mut AnyConnection, id: &ConversationId) -> sqlx::Result<Option<Conversation>> {
    select_one(conn, id, "").await
}

async fn select_one(
    conn: &mut AnyConnection,
    id: &ConversationId,
    lock: &str,
) -> sqlx::Result<Option<Conversation>> {
    let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1{lock}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(conversation_from_row).transpose()
}

/// Loads the conversation inside a write transaction, locking its row on PostgreSQL so
/// that concurrent writers on other nodes take turns (SQLite has one writer anyway).
pub async fn lock(
    conn: &mut AnyConnection,
    backend: Backend,
    id: &ConversationId,
) -> sqlx::Result<Option<Conversation>> {
    select_one(conn, id, row_lock(backend)).await
}

/// What locks the selected rows until the transaction ends: `FOR UPDATE` on PostgreSQL;
/// nothing on SQLite, which has one writer.
fn row_lock(backend: Backend) -> &'static str {
    if backend == Backend::Postgres { " FOR UPDATE" } else { "" }
}

/// Every conversation of `ids`, locked as `lock` does, by id.
pub async fn lock_many(
    conn: &mut AnyConnection,
    backend: Backend,
    ids: &[&ConversationId],
) -> sqlx::Result<HashMap<ConversationId, Conversation>> {
    let mut found = HashMap::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(found);
    }
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id IN ({}) ORDER BY id{}",
        placeholders(conn, 1, ids.len()),
        row_lock(backend)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(id.as_str());
    }
    for row in query.fetch_all(conn).await? {
        let conversation = conversation_from_row(&row)?;
        found.insert(conversation.id.clone(), conversation);
    }
    Ok(found)
}

/// `save_state` for many conversations in one statement per chunk
/// (`UPDATE … FROM (VALUES …)`, which both backends understand).
pub async fn save_states(
    conn: &mut AnyConnection,
    conversations: &[&Conversation],
    now: i64,
) -> sqlx::Result<()> {
    const ROWS: usize = 200;
    const COLUMNS: usize = 12;
    for chunk in conversations.chunks(ROWS) {
        let rows: Vec<String> =
            (0..chunk.len()).map(|r| format!("({})", placeholders(conn, r * COLUMNS + 2, COLUMNS))).collect();
        let sql = format!(
            "UPDATE conversations SET status = v.column2, outcome = v.column3, urgent = v.column4, \
             owner_id = v.column5, last_owner_id = v.column6, redirected_team = v.column7, last_seq = v.column8, \
             waiting_since = v.column9, first_reply_at = v.column10, closed_at = v.column11, queue = v.column12, \
             updated_at = {} FROM (VALUES {}) AS v WHERE conversations.id = v.column1",
            placeholders(conn, 1, 1),
            rows.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
        for c in chunk {
            query = query
                .bind(c.id.as_str())
                .bind(c.status.as_str())
                .bind(c.outcome.map(Outcome::as_str))
                .bind(i64::from(c.urgent))
                .bind(c.owner_id.as_ref().map(HelperId::as_str))
                .bind(c.last_owner_id.as_ref().map(HelperId::as_str))
                .bind(c.redirected_team.as_deref())
                .bind(c.last_seq)
                .bind(c.waiting_since)
                .bind(c.first_reply_at)
                .bind(c.closed_at)
                .bind(c.queue.as_str());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// `save_states` for conversations whose status and `last_seq` alone changed.
pub async fn save_turns(
    conn: &mut AnyConnection,
    conversations: &[&Conversation],
    now: i64,
) -> sqlx::Result<()> {
    const ROWS: usize = 500;
    for chunk in conversations.chunks(ROWS) {
        let rows: Vec<String> =
            (0..chunk.len()).map(|r| format!("({})", placeholders(conn, r * 3 + 2, 3))).collect();
        let sql = format!(
            "UPDATE conversations SET status = v.column2, last_seq = v.column3, updated_at = {} \
             FROM (VALUES {}) AS v WHERE conversations.id = v.column1",
            placeholders(conn, 1, 1),
            rows.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
        for c in chunk {
            query = query.bind(c.id.as_str()).bind(c.status.as_str()).bind(c.last_seq);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn insert(
    conn: &mut AnyConnection,
    c: &Conversation,
    email_sealed: Option<&str>,
    network_hash: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO conversations (id, token_hash, site, queue, lang, topic, channel, username, \
         username_temporary, email_sealed, status, outcome, urgent, owner_id, last_owner_id, \
         redirected_team, preview, network_hash, last_seq, created_at, waiting_since, updated_at, conflicts) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $12, NULL, NULL, NULL, $13, $14, $15, $16, $17, $16, $18)",
    )
    .bind(&c.id)
    .bind(&c.token_hash)
    .bind(&c.site)
    .bind(&c.queue)
    .bind(&c.lang)
    .bind(&c.topic)
    .bind(c.channel.as_str())
    .bind(&c.username)
    .bind(i64::from(c.username_temporary))
    .bind(email_sealed)
    .bind(c.status.as_str())
    .bind(i64::from(c.urgent))
    .bind(&c.preview)
    .bind(network_hash)
    .bind(c.last_seq)
    .bind(c.created_at)
    .bind(c.waiting_since)
    .bind(c.conflicts.to_stored())
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes the conversation's conflicts of interest (inside the transaction that locked
/// it; `save_state` leaves them alone, so the appender's batches never undo them).
pub async fn save_conflicts(conn: &mut AnyConnection, c: &Conversation) -> sqlx::Result<()> {
    sqlx::query("UPDATE conversations SET conflicts = $2 WHERE id = $1")
        .bind(&c.id)
        .bind(c.conflicts.to_stored())
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes back every field that operations change.
pub async fn save_state(conn: &mut AnyConnection, c: &Conversation, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE conversations SET status = $2, outcome = $3, urgent = $4, owner_id = $5, \
         last_owner_id = $6, redirected_team = $7, last_seq = $8, waiting_since = $9, \
         first_reply_at = $10, closed_at = $11, queue = $12, updated_at = $13, channel = $14 WHERE id = $1",
    )
    .bind(&c.id)
    .bind(c.status.as_str())
    .bind(c.outcome.map(Outcome::as_str))
    .bind(i64::from(c.urgent))
    .bind(&c.owner_id)
    .bind(&c.last_owner_id)
    .bind(&c.redirected_team)
    .bind(c.last_seq)
    .bind(c.waiting_since)
    .bind(c.first_reply_at)
    .bind(c.closed_at)
    .bind(&c.queue)
    .bind(now)
    .bind(c.channel.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// The waiting conversations of a queue in the order they are served: urgent first,
/// then oldest first (ties by id).
pub async fn waiting_in_order(
    conn: &mut AnyConnection,
    queue: &QueueId,
) -> sqlx::Result<Vec<ConversationId>> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM conversations WHERE queue = $1 AND status = 'waiting' AND closed_at IS NULL \
         ORDER BY urgent DESC, waiting_since, id",
    )
    .bind(queue.as_str())
    .fetch_all(conn)
    .await?;
    Ok(ids.into_iter().map(ConversationId::from).collect())
}

/// Which conversations a listing shows: of these queues, open (or of one status),
/// optionally of one language, site or owner; waiting first, urgent first, oldest first.
pub struct QueueFilter<'a> {
    pub queues: &'a [QueueId],
    pub lang: Option<&'a str>,
    pub status: Option<Status>,
    pub site: Option<&'a str>,
    /// Only conversations this helper owns.
    pub owner_id: Option<&'a HelperId>,
    pub limit: i64,
}

impl<'a> QueueFilter<'a> {
    /// Every open conversation of `queues`, at most `limit`.
    pub fn open_in(queues: &'a [QueueId], limit: i64) -> Self {
        Self { queues, lang: None, status: None, site: None, owner_id: None, limit }
    }
}

pub async fn queue_listing(
    conn: &mut AnyConnection,
    filter: &QueueFilter<'_>,
) -> sqlx::Result<Vec<QueueItem>> {
    if filter.queues.is_empty() {
        return Ok(Vec::new());
    }
    // Only the predicates a filter needs, so that the indexes of open conversations by
    // queue and by owner serve every listing; values are always bound, never spliced.
    let mut values: Vec<String> = Vec::new();
    let mut next = |value: &str| {
        values.push(value.to_string());
        format!("${}", values.len())
    };
    let queues: Vec<String> = filter.queues.iter().map(|q| next(q.as_str())).collect();
    let mut sql = format!(
        "SELECT c.id, c.site, c.queue, c.lang, c.topic, c.status, c.urgent, c.waiting_since, \
         c.owner_id, h.name AS owner, c.preview, c.conflicts FROM conversations c LEFT JOIN helpers h ON h.id = c.owner_id \
         WHERE c.queue IN ({})",
        queues.join(", ")
    );
    match filter.status {
        Some(Status::Closed) => sql.push_str(" AND c.status = 'closed'"),
        // `closed_at IS NULL` is what the index of open conversations holds.
        Some(status) => {
            sql.push_str(&format!(" AND c.closed_at IS NULL AND c.status = {}", next(status.as_str())))
        }
        None => sql
            .push_str(" AND c.closed_at IS NULL AND c.status IN ('waiting', 'active', 'awaiting_requester')"),
    }
    if let Some(lang) = filter.lang {
        sql.push_str(&format!(" AND c.lang = {}", next(lang)));
    }
    if let Some(site) = filter.site {
        sql.push_str(&format!(" AND c.site = {}", next(site)));
    }
    if let Some(owner) = filter.owner_id {
        sql.push_str(&format!(" AND c.owner_id = {}", next(owner.as_str())));
    }
    sql.push_str(&format!(
        " ORDER BY CASE WHEN c.status = 'waiting' THEN 0 ELSE 1 END, c.urgent DESC, c.waiting_since, c.id LIMIT {}",
        filter.limit.max(0)
    ));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for value in values {
        query = query.bind(value);
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter()
        .map(|row| {
            let status: String = row.try_get("status")?;
            Ok(QueueItem {
                id: row.try_get("id")?,
                site: row.try_get("site")?,
                queue: row.try_get("queue")?,
                lang: row.try_get("lang")?,
                topic: row.try_get("topic")?,
                status: Status::parse(&status).unwrap_or(Status::Waiting),
                urgent: row.try_get::<i64, _>("urgent")? != 0,
                waiting_since: rfc3339(row.try_get("waiting_since")?),
                waiting_since_ms: row.try_get("waiting_since")?,
                owner: row.try_get("owner")?,
                preview: row.try_get("preview")?,
                owner_id: row.try_get("owner_id")?,
                conflicts: Conflicts::parse(&row.try_get::<String, _>("conflicts")?),
            })
        })
        .collect()
}

/// Minutes from request to first helper reply, over conversations of these queues
/// created since `since` (most recent first, bounded).
pub async fn recent_first_reply_waits(
    conn: &mut AnyConnection,
    queue: &QueueId,
    since: i64,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT first_reply_at - created_at FROM conversations \
         WHERE queue = $1 AND created_at >= $2 AND first_reply_at IS NOT NULL \
         ORDER BY created_at DESC LIMIT 5000",
    )
    .bind(queue)
    .bind(since)
    .fetch_all(conn)
    .await
}

pub async fn count_waiting(conn: &mut AnyConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM conversations WHERE status = 'waiting' AND closed_at IS NULL")
        .fetch_one(conn)
        .await
}

/// Raises the read mark; returns whether it moved (never backwards, never past `last_seq`).
pub async fn set_read(
    conn: &mut AnyConnection,
    id: &ConversationId,
    role: Role,
    seq: i64,
) -> sqlx::Result<bool> {
    let column = if role == Role::Requester { "requester_read_seq" } else { "helper_read_seq" };
    let sql =
        format!("UPDATE conversations SET {column} = $2 WHERE id = $1 AND {column} < $2 AND last_seq >= $2");
    let result = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(seq).execute(conn).await?;
    Ok(result.rows_affected() > 0)
}

/// The open conversations `owner` has, in `queue` or in all queues.
pub async fn owned_open(
    conn: &mut AnyConnection,
    owner: &HelperId,
    queue: Option<&QueueId>,
) -> sqlx::Result<Vec<ConversationId>> {
    sqlx::query_scalar(
        "SELECT id FROM conversations WHERE owner_id = $1 AND ($2 = '' OR queue = $2) \
         AND status IN ('active', 'awaiting_requester')",
    )
    .bind(owner)
    .bind(queue.map_or("", QueueId::as_str))
    .fetch_all(conn)
    .await
}

/// Every open conversation that has an owner, with the owner.
pub async fn all_owned_open(conn: &mut AnyConnection) -> sqlx::Result<Vec<(ConversationId, HelperId)>> {
    sqlx::query_as(
        "SELECT id, owner_id FROM conversations \
         WHERE owner_id IS NOT NULL AND status IN ('active', 'awaiting_requester')",
    )
    .fetch_all(conn)
    .await
}

/// How many conversations the helper owns that are still open.
pub async fn open_count(conn: &mut AnyConnection, owner: &HelperId) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM conversations WHERE owner_id = $1 AND status IN ('active', 'awaiting_requester')",
    )
    .bind(owner)
    .fetch_one(conn)
    .await
}

/// The day-keyed hash of the network the conversation was started from, if kept.
pub async fn network_hash(conn: &mut AnyConnection, id: &ConversationId) -> sqlx::Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT network_hash FROM conversations WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .flatten())
}

/// Conversations that would wait a long time for nothing: the waiting ones of `queue`
/// with no open offer, urgent first, then oldest (at most 100): `(id, lang, conflicts)`.
pub async fn waiting_without_offer(
    conn: &mut AnyConnection,
    queue: &QueueId,
) -> sqlx::Result<Vec<(ConversationId, String, Conflicts)>> {
    let rows: Vec<(ConversationId, String, String)> = sqlx::query_as(
        "SELECT c.id, c.lang, c.conflicts FROM conversations c WHERE c.queue = $1 AND c.status = 'waiting' \
         AND c.closed_at IS NULL AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.conversation_id = c.id AND o.outcome IS NULL) \
         ORDER BY c.urgent DESC, c.waiting_since LIMIT 100",
    )
    .bind(queue)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(id, lang, conflicts)| (id, lang, Conflicts::parse(&conflicts))).collect())
}
