//! Thanks: when a conversation has closed, the requester may leave a thank-you and a
//! 1–5 rating with a comment, once. Never required, never shown to other requesters. The
//! helper who had the conversation sees theirs; coordinators see only the aggregate.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::conversations::model::{Conversation, Status};
use crate::error::{AppError, AppResult};
use crate::store::{Store, now_ms};

/// The longest thank-you, in characters.
pub const MAX_CHARS: usize = 500;

#[derive(Deserialize, ToSchema)]
pub struct NewThanks {
    /// 1 (not helpful) to 5 (very helpful); optional.
    #[serde(default)]
    pub rating: Option<i64>,
    /// A few words for the helper; optional, at most 500 characters.
    #[serde(default)]
    pub text: Option<String>,
}

/// A thank-you as its helper sees it.
#[derive(Clone, Debug, Serialize)]
pub struct Received {
    pub rating: Option<i64>,
    /// Personal data masked.
    pub text: Option<String>,
    pub at: i64,
}

/// Stores the requester's thanks for a closed conversation.
pub async fn leave(state: &AppState, c: &Conversation, input: NewThanks) -> AppResult<()> {
    if c.status != Status::Closed {
        return Err(AppError::conflict("not_closed", "Thanks can be left once the conversation has ended."));
    }
    if let Some(rating) = input.rating
        && !(1..=5).contains(&rating)
    {
        return Err(AppError::bad_request("invalid_rating", "A rating is a whole number from 1 to 5."));
    }
    let text = input.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if let Some(text) = text
        && text.chars().count() > MAX_CHARS
    {
        return Err(AppError::bad_request(
            "text_too_long",
            format!("A thank-you has at most {MAX_CHARS} characters."),
        ));
    }
    if input.rating.is_none() && text.is_none() {
        return Err(AppError::bad_request("empty_thanks", "Give a rating, a few words, or both."));
    }
    // Helpers see only the masked text: a thank-you may still contain an address.
    let stored = text.map(|t| state.screener.screen(t).masked.unwrap_or_else(|| t.to_string()));
    let inserted = sqlx::query(
        "INSERT INTO thanks (conversation_id, helper_id, queue, rating, text, created_at) \
         SELECT $1, COALESCE(owner_id, last_owner_id), queue, $2, $3, $4 FROM conversations WHERE id = $1 \
         ON CONFLICT (conversation_id) DO NOTHING",
    )
    .bind(&c.id)
    .bind(input.rating)
    .bind(stored)
    .bind(now_ms())
    .execute(&state.store.write)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(AppError::conflict("already_thanked", "Thanks were already left for this conversation."));
    }
    Ok(())
}

/// The latest thanks a helper received.
pub async fn received(store: &Store, helper_id: &str, limit: i64) -> sqlx::Result<Vec<Received>> {
    let rows = sqlx::query(
        "SELECT rating, text, created_at FROM thanks WHERE helper_id = $1 ORDER BY created_at DESC LIMIT $2",
    )
    .bind(helper_id)
    .bind(limit)
    .fetch_all(&store.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Received {
                rating: r.try_get("rating")?,
                text: r.try_get("text")?,
                at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// Ratings in `queues` since `since` (Unix ms): how many thanks, how many rated, the mean.
pub async fn aggregate(
    store: &Store,
    queues: &[String],
    since: i64,
) -> sqlx::Result<(i64, i64, Option<f64>)> {
    if queues.is_empty() {
        return Ok((0, 0, None));
    }
    let list = (0..queues.len()).map(|i| format!("${}", i + 2)).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT COUNT(*) AS n, COUNT(rating) AS rated, SUM(rating) AS total FROM thanks \
         WHERE created_at >= $1 AND queue IN ({list})"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(since);
    for q in queues {
        query = query.bind(q);
    }
    let row = query.fetch_one(&store.read).await?;
    let n: i64 = row.try_get("n")?;
    let rated: i64 = row.try_get("rated")?;
    let total: Option<i64> = row.try_get("total")?;
    let mean = total.filter(|_| rated > 0).map(|t| t as f64 / rated as f64);
    Ok((n, rated, mean))
}
