//! SQL of retention: closed conversations are deleted `retention_days` after closing,
//! with their messages, audit events and thanks. Before that, each is counted into
//! `daily_stats` (day, site, queue, language, outcome), so aggregates outlive the data.

use super::Store;
use crate::domain::ConversationId;
use crate::domain::time::day_of;

/// Conversations purged per transaction, so a large backlog never holds the writer long.
const CHUNK: i64 = 500;

/// What `purge_closed_before` would delete now: conversations and their messages.
pub async fn count_closed_before(store: &Store, cutoff: i64) -> sqlx::Result<(i64, i64)> {
    let conversations: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM conversations WHERE closed_at IS NOT NULL AND closed_at < $1",
    )
    .bind(cutoff)
    .fetch_one(&store.read)
    .await?;
    let messages: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         WHERE c.closed_at IS NOT NULL AND c.closed_at < $1",
    )
    .bind(cutoff)
    .fetch_one(&store.read)
    .await?;
    Ok((conversations, messages))
}

/// Purges what closed before `cutoff`; returns how many conversations were deleted.
pub async fn purge_closed_before(store: &Store, cutoff: i64) -> sqlx::Result<u64> {
    let mut purged = 0;
    loop {
        let mut tx = store.write.begin().await?;
        let rows: Vec<(ConversationId, i64)> = sqlx::query_as(
            "SELECT id, created_at FROM conversations WHERE closed_at IS NOT NULL AND closed_at < $1 \
             ORDER BY closed_at LIMIT $2",
        )
        .bind(cutoff)
        .bind(CHUNK)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(purged);
        }
        for (id, created_at) in &rows {
            // Count it, then delete it (messages and events go with it by cascade;
            // deleted explicitly too, for SQLite connections without foreign keys).
            sqlx::query(
                "INSERT INTO daily_stats (day, site, queue, lang, outcome, conversations) \
                 SELECT $2, site, queue, lang, COALESCE(outcome, 'none'), 1 FROM conversations WHERE id = $1 \
                 ON CONFLICT (day, site, queue, lang, outcome) \
                 DO UPDATE SET conversations = daily_stats.conversations + 1",
            )
            .bind(id)
            .bind(day_of(*created_at))
            .execute(&mut *tx)
            .await?;
            for table in [
                "messages",
                "events",
                "thanks",
                "trouble_accounts",
                "verified_names",
                "requester_oauth_pending",
                "talk_page_moves",
                "transcripts",
            ] {
                let sql = format!("DELETE FROM {table} WHERE conversation_id = $1");
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).execute(&mut *tx).await?;
            }
            sqlx::query("DELETE FROM conversations WHERE id = $1").bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        purged += rows.len() as u64;
    }
}
