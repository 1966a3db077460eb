//! One node at a time runs the background jobs: the one whose session holds the
//! cluster's advisory lock. A node that dies loses its session, and so the lock; another
//! takes it within `TRY_EVERY`.

use std::time::Duration;

use crate::state::AppState;
use crate::store::cluster::LeaderLock;

const TRY_EVERY: Duration = Duration::from_secs(2);

pub(super) async fn run(state: AppState, key: i64) {
    let mut held: Option<LeaderLock> = None;
    let mut tick = tokio::time::interval(TRY_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = state.shutdown.cancelled() => break,
        }
        held = match held.take() {
            Some(mut lock) => match lock.check().await {
                Ok(()) => Some(lock),
                Err(error) => {
                    tracing::warn!(%error, "lost the connection holding the cluster's lock; no longer running the background jobs");
                    None
                }
            },
            None => match LeaderLock::try_take(&state.store.url, key).await {
                Ok(Some(lock)) => {
                    tracing::info!(node = state.node.0, "this node now runs the background jobs");
                    Some(lock)
                }
                Ok(None) => None,
                Err(error) => {
                    tracing::debug!(%error, "could not try the cluster's lock");
                    None
                }
            },
        };
        state.leadership.set(held.is_some());
    }
    state.leadership.set(false);
}
