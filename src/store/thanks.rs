//! SQL for thanks: one per conversation, to the helper who had it.

use sqlx::Row;

use super::{Store, numbered};
use crate::domain::{ConversationId, HelperId, QueueId};

/// A thank-you as stored (its text already masked).
pub struct StoredThanks {
    pub rating: Option<i64>,
    pub text: Option<String>,
    pub at: i64,
}

/// Stores thanks for the conversation's (last) helper; `false` if some were left already.
pub async fn insert(
    store: &Store,
    conversation: &ConversationId,
    rating: Option<i64>,
    text: Option<&str>,
    now: i64,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO thanks (conversation_id, helper_id, queue, rating, text, created_at) \
         SELECT $1, COALESCE(owner_id, last_owner_id), queue, $2, $3, $4 FROM conversations WHERE id = $1 \
         ON CONFLICT (conversation_id) DO NOTHING",
    )
    .bind(conversation)
    .bind(rating)
    .bind(text)
    .bind(now)
    .execute(&store.write)
    .await?;
    Ok(inserted.rows_affected() > 0)
}

/// The latest thanks a helper received.
pub async fn received(store: &Store, helper: &HelperId, limit: i64) -> sqlx::Result<Vec<StoredThanks>> {
    let rows = sqlx::query(
        "SELECT rating, text, created_at FROM thanks WHERE helper_id = $1 ORDER BY created_at DESC LIMIT $2",
    )
    .bind(helper)
    .bind(limit)
    .fetch_all(&store.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredThanks {
                rating: r.try_get("rating")?,
                text: r.try_get("text")?,
                at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// Thanks in `queues` since `since`: how many, how many rated, the sum of ratings.
pub async fn totals(store: &Store, queues: &[QueueId], since: i64) -> sqlx::Result<(i64, i64, Option<i64>)> {
    if queues.is_empty() {
        return Ok((0, 0, None));
    }
    let sql = format!(
        "SELECT COUNT(*) AS n, COUNT(rating) AS rated, SUM(rating) AS total FROM thanks \
         WHERE created_at >= $1 AND queue IN ({})",
        numbered(2, queues.len())
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(since);
    for q in queues {
        query = query.bind(q.as_str());
    }
    let row = query.fetch_one(&store.read).await?;
    Ok((row.try_get("n")?, row.try_get("rated")?, row.try_get("total")?))
}
