//! Retention: closed conversations are deleted `retention_days` after closing, with
//! their messages and audit events; before that, each is counted into `daily_stats`, so
//! aggregate statistics outlive the data (`store::retention`). Hourly, and by
//! `helpline purge`.

use crate::domain::time::DAY_MS;
use crate::state::AppState;

/// Purges what is past retention; returns how many conversations were deleted.
pub async fn purge_expired(state: &AppState) -> sqlx::Result<u64> {
    let cutoff = state.now_ms() - i64::from(state.config.retention_days) * DAY_MS;
    crate::store::retention::purge_closed_before(&state.store, cutoff).await
}
