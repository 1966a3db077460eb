//! SQL for messages: inserted many at once, read in `seq` order, found by client key.

use std::borrow::Borrow;
use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::placeholders;
use crate::domain::{ConversationId, HelperId, Message, Role};

pub(super) const MESSAGE_COLUMNS: &str = "conversation_id, seq, author_role, author_id, author_name, internal, \
    text, masked_text, client_key, created_at";

fn message_from_row(row: &AnyRow) -> sqlx::Result<Message> {
    let role: String = row.try_get("author_role")?;
    Ok(Message {
        conversation_id: row.try_get("conversation_id")?,
        seq: row.try_get("seq")?,
        author_role: Role::parse(&role).unwrap_or(Role::System),
        author_id: row.try_get("author_id")?,
        author_name: row.try_get("author_name")?,
        internal: row.try_get::<i64, _>("internal")? != 0,
        text: row.try_get("text")?,
        masked_text: row.try_get("masked_text")?,
        client_key: row.try_get("client_key")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The stored `seq` of each of these `(conversation, client key)` pairs that is stored.
/// Looked up pair by pair (a join with the pairs), one index probe each: asking for
/// `conversation IN (…) AND client_key IN (…)` would probe every combination.
pub async fn stored_client_keys(
    conn: &mut AnyConnection,
    pairs: &[(&ConversationId, &str)],
) -> sqlx::Result<HashMap<(ConversationId, String), i64>> {
    let mut found = HashMap::new();
    if pairs.is_empty() {
        return Ok(found);
    }
    let rows: Vec<String> =
        (0..pairs.len()).map(|i| format!("({})", placeholders(conn, 2 * i + 1, 2))).collect();
    let sql = format!(
        "SELECT m.conversation_id, m.client_key, m.seq FROM (VALUES {}) AS k \
         JOIN messages m ON m.conversation_id = k.column1 AND m.client_key = k.column2",
        rows.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (id, key) in pairs {
        query = query.bind(id.as_str()).bind(*key);
    }
    for row in query.fetch_all(conn).await? {
        found.insert((row.try_get("conversation_id")?, row.try_get("client_key")?), row.try_get("seq")?);
    }
    Ok(found)
}

/// Inserts many messages with multi-row statements (bounded well under both backends'
/// parameter limits).
pub async fn insert_messages<M: Borrow<Message> + Sync>(
    conn: &mut AnyConnection,
    messages: &[M],
) -> sqlx::Result<()> {
    // Placeholders are written by hand: the `Any` query builder writes `?` for every
    // backend, which PostgreSQL does not take.
    const ROWS: usize = 100;
    const COLUMNS: usize = 10;
    for chunk in messages.chunks(ROWS) {
        let mut sql = String::from(
            "INSERT INTO messages (conversation_id, seq, author_role, author_id, author_name, internal, \
             text, masked_text, client_key, created_at) VALUES ",
        );
        for row in 0..chunk.len() {
            if row > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            sql.push_str(&placeholders(conn, row * COLUMNS + 1, COLUMNS));
            sql.push(')');
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for m in chunk {
            let m: &Message = m.borrow();
            query = query
                .bind(m.conversation_id.as_str())
                .bind(m.seq)
                .bind(m.author_role.as_str())
                .bind(m.author_id.as_ref().map(HelperId::as_str))
                .bind(m.author_name.clone())
                .bind(i64::from(m.internal))
                .bind(m.text.clone())
                .bind(m.masked_text.clone())
                .bind(m.client_key.clone())
                .bind(m.created_at);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Messages after `after`, in order; at most `limit`.
pub async fn messages_after(
    conn: &mut AnyConnection,
    conversation_id: &ConversationId,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<Message>> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND seq > $2 \
         ORDER BY seq LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(conversation_id)
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(message_from_row).collect()
}

/// Every stored message after `last`, in order (conversations are short; pages of 500
/// keep each query bounded).
pub async fn all_after(
    conn: &mut AnyConnection,
    conversation_id: &ConversationId,
    last: i64,
) -> sqlx::Result<Vec<Message>> {
    const PAGE: i64 = 500;
    let mut out = Vec::new();
    let mut cursor = last;
    loop {
        let page = messages_after(conn, conversation_id, cursor, PAGE).await?;
        let full = page.len() as i64 == PAGE;
        if let Some(m) = page.last() {
            cursor = m.seq;
        }
        out.extend(page);
        if !full {
            return Ok(out);
        }
    }
}
