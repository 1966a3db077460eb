//! Blocking a requester for a chosen duration, by their token (their conversation: no
//! more messages, no reopening) and by their network's day-keyed hash (no new
//! conversation from that network). Network hashes rotate daily and no stable address is
//! kept, so the network part of a block ends with the day the conversation was started;
//! the token part lasts the whole duration. A blocked requester is told plainly that they
//! cannot write right now, not why.

use crate::domain::time::{DAY_MS, HOUR_MS};
use crate::domain::{Conversation, Helper, QueueId};
use crate::error::{AppError, AppResult};
use crate::secrets::{self, day_number};
use crate::state::AppState;
use crate::store::{self, blocks};

/// The durations a helper may choose, in hours: an hour, a day, a week, thirty days.
pub const DURATIONS_HOURS: [i64; 4] = [1, 24, 168, 720];

/// Refuses with `403 blocked` when the token or network hash is blocked now.
pub async fn check(state: &AppState, value_hash: &str) -> AppResult<()> {
    let now = state.now_ms();
    if !state.block_horizon.any_in_force(now) {
        return Ok(());
    }
    if blocks::is_blocked(&state.store, value_hash, now).await? { Err(AppError::Blocked) } else { Ok(()) }
}

/// Blocks the requester of `c` for `hours` (one of `DURATIONS_HOURS`).
pub async fn block(state: &AppState, helper: &Helper, c: &Conversation, hours: i64) -> AppResult<()> {
    if !DURATIONS_HOURS.contains(&hours) {
        return Err(AppError::bad_request("invalid_duration", "Choose one of the offered durations."));
    }
    let now = state.now_ms();
    let until = now + hours * HOUR_MS;
    let network = {
        let mut conn = state.store.read.acquire().await?;
        store::conversations::network_hash(&mut conn, &c.id).await?
    };
    let mut rows = vec![blocks::NewBlock {
        id: secrets::new_id(),
        kind: "token",
        value_hash: &c.token_hash,
        expires_at: until,
    }];
    if let Some(network) = &network {
        // The hash was keyed by the day the conversation started; it means nothing after.
        let day_ends = (day_number(c.created_at) + 1) * DAY_MS;
        if day_ends > now {
            rows.push(blocks::NewBlock {
                id: secrets::new_id(),
                kind: "network",
                value_hash: network,
                expires_at: until.min(day_ends),
            });
        }
    }
    let detail = serde_json::json!({ "hours": hours, "network": rows.len() > 1 });
    blocks::insert(&state.store, &c.id, &c.queue, &helper.id, &rows, &detail, now).await?;
    state.block_horizon.extend(until);
    Ok(())
}

/// When the block on this conversation's requester ends, if one is in force.
pub async fn blocked_until(state: &AppState, c: &Conversation) -> sqlx::Result<Option<i64>> {
    blocks::blocked_until(&state.store, &c.token_hash, state.now_ms()).await
}

/// Lifts every block set from this conversation, early.
pub async fn lift(state: &AppState, helper: &Helper, c: &Conversation) -> AppResult<()> {
    blocks::lift_for_conversation(&state.store, &c.id, &helper.id, state.now_ms()).await?;
    Ok(())
}

/// The blocks in force in the queues a coordinator coordinates.
pub async fn in_force(state: &AppState, queues: &[QueueId]) -> sqlx::Result<Vec<blocks::ActiveBlock>> {
    blocks::in_force(&state.store, queues, state.now_ms()).await
}

/// A coordinator lifts one block of their queues early.
pub async fn lift_one(state: &AppState, id: &str, queues: &[QueueId]) -> AppResult<()> {
    if blocks::lift_in_queues(&state.store, id, queues, state.now_ms()).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("No such block in force in your queues."))
    }
}
