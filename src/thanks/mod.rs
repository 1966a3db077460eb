//! Thanks: when a conversation has closed, the requester may leave a thank-you and a
//! 1–5 rating with a comment, once. Never required, never shown to other requesters. The
//! helper who had the conversation sees theirs; coordinators see only the aggregate.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{Conversation, HelperId, QueueId, Status};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::thanks;

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
    if !thanks::insert(&state.store, &c.id, input.rating, stored.as_deref(), state.now_ms()).await? {
        return Err(AppError::conflict("already_thanked", "Thanks were already left for this conversation."));
    }
    Ok(())
}

/// The latest thanks a helper received.
pub async fn received(state: &AppState, helper: &HelperId, limit: i64) -> sqlx::Result<Vec<Received>> {
    Ok(thanks::received(&state.store, helper, limit)
        .await?
        .into_iter()
        .map(|t| Received { rating: t.rating, text: t.text, at: t.at })
        .collect())
}

/// Ratings in `queues` since `since` (Unix ms): how many thanks, how many rated, the mean.
pub async fn aggregate(
    state: &AppState,
    queues: &[QueueId],
    since: i64,
) -> sqlx::Result<(i64, i64, Option<f64>)> {
    let (n, rated, total) = thanks::totals(&state.store, queues, since).await?;
    let mean = total.filter(|_| rated > 0).map(|t| t as f64 / rated as f64);
    Ok((n, rated, mean))
}
