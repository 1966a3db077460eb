//! Blocking a requester for a chosen duration, by their token (their conversation: no
//! more messages, no reopening) and by their network's day-keyed hash (no new
//! conversation from that network). Network hashes rotate daily and no stable address is
//! kept, so the network part of a block ends with the day the conversation was started;
//! the token part lasts the whole duration. A blocked requester is told plainly that they
//! cannot write right now, not why.

use std::sync::atomic::{AtomicI64, Ordering};

use crate::app::AppState;
use crate::conversations::model::{Conversation, Role};
use crate::conversations::queries;
use crate::error::{AppError, AppResult};
use crate::helpers::Helper;
use crate::secrets::{self, day_number};
use crate::store::{Store, now_ms};

const DAY_MS: i64 = 86_400_000;
/// The durations a helper may choose, in hours: an hour, a day, a week, thirty days.
pub const DURATIONS_HOURS: [i64; 4] = [1, 24, 168, 720];

/// The latest end of any block, kept in memory so that the message path does not ask
/// the database while no block is in force (the usual case).
#[derive(Default)]
pub struct BlockHorizon(AtomicI64);

impl BlockHorizon {
    pub async fn load(store: &Store) -> sqlx::Result<Self> {
        let latest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(expires_at) FROM blocks WHERE lifted_at IS NULL")
                .fetch_one(&store.read)
                .await?;
        Ok(Self(AtomicI64::new(latest.unwrap_or(0))))
    }

    fn extend(&self, until: i64) {
        self.0.fetch_max(until, Ordering::Relaxed);
    }

    fn any_in_force(&self) -> bool {
        self.0.load(Ordering::Relaxed) > now_ms()
    }
}

/// Whether a token hash or network hash is blocked now.
pub async fn is_blocked(store: &Store, value_hash: &str) -> sqlx::Result<bool> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT id FROM blocks WHERE value_hash = $1 AND expires_at > $2 AND lifted_at IS NULL LIMIT 1",
    )
    .bind(value_hash)
    .bind(now_ms())
    .fetch_optional(&store.read)
    .await?;
    Ok(found.is_some())
}

/// Refuses with `403 blocked` when the value is blocked.
pub async fn check(state: &AppState, value_hash: &str) -> AppResult<()> {
    if !state.block_horizon.any_in_force() {
        return Ok(());
    }
    if is_blocked(&state.store, value_hash).await? { Err(AppError::Blocked) } else { Ok(()) }
}

/// Blocks the requester of `c` for `hours` (one of `DURATIONS_HOURS`).
pub async fn block(state: &AppState, helper: &Helper, c: &Conversation, hours: i64) -> AppResult<()> {
    if !DURATIONS_HOURS.contains(&hours) {
        return Err(AppError::bad_request("invalid_duration", "Choose one of the offered durations."));
    }
    let now = now_ms();
    let until = now + hours * 3_600_000;
    let mut tx = state.store.write.begin().await?;
    let network: Option<String> = sqlx::query_scalar("SELECT network_hash FROM conversations WHERE id = $1")
        .bind(&c.id)
        .fetch_one(&mut *tx)
        .await?;
    let mut rows = vec![("token", c.token_hash.clone(), until)];
    if let Some(network) = network {
        // The hash was keyed by the day the conversation started; it means nothing after.
        let day_ends = (day_number(c.created_at) + 1) * DAY_MS;
        if day_ends > now {
            rows.push(("network", network, until.min(day_ends)));
        }
    }
    for (kind, value, expires) in &rows {
        sqlx::query(
            "INSERT INTO blocks (id, kind, value_hash, conversation_id, queue, helper_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(secrets::new_id())
        .bind(*kind)
        .bind(value)
        .bind(&c.id)
        .bind(&c.queue)
        .bind(&helper.id)
        .bind(now)
        .bind(*expires)
        .execute(&mut *tx)
        .await?;
    }
    let detail = serde_json::json!({ "hours": hours, "network": rows.len() > 1 });
    queries::insert_event(&mut tx, &c.id, now, Role::Helper, Some(&helper.id), "blocked", &detail).await?;
    tx.commit().await?;
    state.block_horizon.extend(until);
    Ok(())
}

/// When the block on this conversation's requester ends, if one is in force.
pub async fn blocked_until(store: &Store, c: &Conversation) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT MAX(expires_at) FROM blocks WHERE value_hash = $1 AND expires_at > $2 AND lifted_at IS NULL",
    )
    .bind(&c.token_hash)
    .bind(now_ms())
    .fetch_one(&store.read)
    .await
}

/// Lifts every block set from this conversation, early.
pub async fn lift(state: &AppState, helper: &Helper, c: &Conversation) -> AppResult<()> {
    let now = now_ms();
    let mut tx = state.store.write.begin().await?;
    sqlx::query("UPDATE blocks SET lifted_at = $1 WHERE conversation_id = $2 AND lifted_at IS NULL")
        .bind(now)
        .bind(&c.id)
        .execute(&mut *tx)
        .await?;
    queries::insert_event(
        &mut tx,
        &c.id,
        now,
        Role::Helper,
        Some(&helper.id),
        "unblocked",
        &serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
