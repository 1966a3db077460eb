//! Retention: closed conversations are deleted `retention_days` after closing, with
//! their messages and audit events; before that, each is counted into `daily_stats`, so
//! aggregate statistics outlive the data (`store::retention`). Hourly, and by
//! `helpline purge`.

use crate::domain::time::DAY_MS;
use crate::state::AppState;

fn cutoff(state: &AppState) -> i64 {
    state.now_ms() - i64::from(state.config.retention_days) * DAY_MS
}

/// Purges what is past retention; returns how many conversations were deleted.
pub async fn purge_expired(state: &AppState) -> sqlx::Result<u64> {
    crate::store::retention::purge_closed_before(&state.store, cutoff(state)).await
}

/// What `purge_expired` would delete now, deleting nothing: (conversations, messages).
pub async fn past_retention(state: &AppState) -> sqlx::Result<(i64, i64)> {
    crate::store::retention::count_closed_before(&state.store, cutoff(state)).await
}
