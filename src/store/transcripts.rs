//! SQL for transcripts asked for by e-mail (`migrations/*/0017_transcripts.sql`): a row
//! per transcript, due until it went out or was given up; its sealed address cleared then.

use sqlx::Row;

use super::Store;
use crate::domain::ConversationId;

/// One transcript waiting to go out.
pub struct Due {
    pub conversation_id: ConversationId,
    pub number: i64,
    pub email_sealed: Option<String>,
    pub lang: String,
    pub attempts: i64,
}

/// Adds the conversation's next transcript unless it already has `most`; its number.
pub async fn insert(
    store: &Store,
    conversation: &ConversationId,
    email_sealed: &str,
    lang: &str,
    most: i64,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    let number: Option<i64> = sqlx::query_scalar(
        "INSERT INTO transcripts (conversation_id, number, email_sealed, lang, requested_at, retry_at) \
         SELECT $1, COALESCE(MAX(number), 0) + 1, $2, $3, $4, $4 FROM transcripts WHERE conversation_id = $1 \
         HAVING COUNT(*) < $5 \
         ON CONFLICT (conversation_id, number) DO NOTHING RETURNING number",
    )
    .bind(conversation)
    .bind(email_sealed)
    .bind(lang)
    .bind(now)
    .bind(most)
    .fetch_optional(&store.write)
    .await?;
    Ok(number)
}

/// Transcripts due now, oldest first.
pub async fn due(store: &Store, now: i64, limit: i64) -> sqlx::Result<Vec<Due>> {
    let rows = sqlx::query(
        "SELECT conversation_id, number, email_sealed, lang, attempts FROM transcripts \
         WHERE done_at IS NULL AND retry_at <= $1 ORDER BY retry_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&store.read)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Due {
                conversation_id: row.try_get("conversation_id")?,
                number: row.try_get("number")?,
                email_sealed: row.try_get("email_sealed")?,
                lang: row.try_get("lang")?,
                attempts: row.try_get("attempts")?,
            })
        })
        .collect()
}

/// Done: sent (`outcome` = `sent`) or given up (an SMTP code); the address forgotten.
pub async fn finish(
    store: &Store,
    conversation: &ConversationId,
    number: i64,
    outcome: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE transcripts SET done_at = $3, outcome = $4, email_sealed = NULL \
         WHERE conversation_id = $1 AND number = $2",
    )
    .bind(conversation)
    .bind(number)
    .bind(now)
    .bind(outcome)
    .execute(&store.write)
    .await?;
    Ok(())
}

pub async fn retry_later(
    store: &Store,
    conversation: &ConversationId,
    number: i64,
    attempts: i64,
    at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE transcripts SET attempts = $3, retry_at = $4 WHERE conversation_id = $1 AND number = $2",
    )
    .bind(conversation)
    .bind(number)
    .bind(attempts)
    .bind(at)
    .execute(&store.write)
    .await?;
    Ok(())
}
