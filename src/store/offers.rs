//! SQL for auto-offers: one open offer per conversation (a partial unique index), and
//! how each ended.

use std::collections::HashSet;

use super::Store;
use crate::domain::{ConversationId, HelperId};

/// Ends expired offers (`expired`), and offers of conversations no longer waiting:
/// `accepted` when their helper took it, else `taken`.
pub async fn close_finished(store: &Store, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE offers SET outcome = 'expired' WHERE outcome IS NULL AND expires_at <= $1")
        .bind(now)
        .execute(&store.write)
        .await?;
    sqlx::query(
        "UPDATE offers SET outcome = CASE WHEN EXISTS (SELECT 1 FROM conversations c \
             WHERE c.id = offers.conversation_id AND c.owner_id = offers.helper_id) THEN 'accepted' ELSE 'taken' END \
         WHERE outcome IS NULL AND EXISTS (SELECT 1 FROM conversations c \
             WHERE c.id = offers.conversation_id AND c.status <> 'waiting')",
    )
    .execute(&store.write)
    .await?;
    Ok(())
}

/// Every open offer: `(conversation, helper)`.
pub async fn open(store: &Store) -> sqlx::Result<Vec<(ConversationId, HelperId)>> {
    sqlx::query_as("SELECT conversation_id, helper_id FROM offers WHERE outcome IS NULL")
        .fetch_all(&store.read)
        .await
}

/// The helpers a conversation was offered to, ever.
pub async fn offered_to(store: &Store, conversation: &ConversationId) -> sqlx::Result<HashSet<HelperId>> {
    Ok(sqlx::query_scalar("SELECT helper_id FROM offers WHERE conversation_id = $1")
        .bind(conversation)
        .fetch_all(&store.read)
        .await?
        .into_iter()
        .collect())
}

/// Stores an offer; `false` if the conversation has an open one already (another node).
pub async fn insert(
    store: &Store,
    conversation: &ConversationId,
    helper: &HelperId,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<bool> {
    let stored = sqlx::query(
        "INSERT INTO offers (conversation_id, helper_id, offered_at, expires_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(conversation)
    .bind(helper)
    .bind(now)
    .bind(expires_at)
    .execute(&store.write)
    .await?;
    Ok(stored.rows_affected() > 0)
}

/// Ends the open offer of `conversation` to `helper` with `outcome`; whether there was one.
pub async fn end(
    store: &Store,
    conversation: &ConversationId,
    helper: &HelperId,
    outcome: &str,
) -> sqlx::Result<bool> {
    let ended = sqlx::query(
        "UPDATE offers SET outcome = $3 WHERE conversation_id = $1 AND helper_id = $2 AND outcome IS NULL",
    )
    .bind(conversation)
    .bind(helper)
    .bind(outcome)
    .execute(&store.write)
    .await?;
    Ok(ended.rows_affected() > 0)
}

/// The conversation offered to `helper` now, if any.
pub async fn open_for(store: &Store, helper: &HelperId) -> sqlx::Result<Option<ConversationId>> {
    sqlx::query_scalar("SELECT conversation_id FROM offers WHERE helper_id = $1 AND outcome IS NULL")
        .bind(helper)
        .fetch_optional(&store.read)
        .await
}
