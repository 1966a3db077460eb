//! SQL for requesters who left a waiting chat (`migrations/*/0019_requester_left.sql`).

use super::Store;
use crate::domain::ConversationId;

/// The requester's socket closed: noted only where it may matter — a waiting chat with
/// no answer yet and an address to answer to.
pub async fn left(store: &Store, id: &ConversationId, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE conversations SET requester_left_at = $2 WHERE id = $1 AND channel = 'chat' \
         AND status = 'waiting' AND first_reply_at IS NULL AND email_sealed IS NOT NULL",
    )
    .bind(id)
    .bind(now)
    .execute(&store.write)
    .await?;
    Ok(())
}

/// The requester is back on a socket.
pub async fn back(store: &Store, id: &ConversationId) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE conversations SET requester_left_at = NULL WHERE id = $1 AND requester_left_at IS NOT NULL",
    )
    .bind(id)
    .execute(&store.write)
    .await?;
    Ok(())
}

/// Waiting chats, still unanswered, whose requester left before `before` and has not
/// come back.
pub async fn gone_since(store: &Store, before: i64, limit: i64) -> sqlx::Result<Vec<ConversationId>> {
    sqlx::query_scalar(
        "SELECT id FROM conversations WHERE requester_left_at IS NOT NULL AND requester_left_at <= $1 \
         AND channel = 'chat' AND status = 'waiting' AND first_reply_at IS NULL AND email_sealed IS NOT NULL \
         ORDER BY requester_left_at LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(&store.read)
    .await
}
