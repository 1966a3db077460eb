//! Returning conversations whose owner went away: a claimed conversation whose owner has
//! had no live socket for `routing.owner_offline_seconds` goes back to its queue, with a
//! system message to the requester and a `released` audit event naming the reason — so
//! nobody is left waiting on a helper who closed their laptop.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::model::{Role, Status};
use super::service::Change;
use crate::app::AppState;
use crate::error::AppResult;
use crate::live::hub::QueueEventKind;
use crate::store::now_ms;

/// Checks every quarter of the threshold (between 1 and 30 seconds) until shutdown.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let threshold = state.config.routing.owner_offline_seconds;
    if threshold == 0 {
        return;
    }
    let every = Duration::from_secs((threshold / 4).clamp(1, 30));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        match return_abandoned(&state, i64::try_from(threshold).unwrap_or(i64::MAX) * 1000).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(returned = n, "conversations returned to the queue: owner offline"),
            Err(error) => {
                tracing::warn!(%error, "returning conversations of offline owners failed; will retry")
            }
        }
    }
}

/// Returns to the queue every open conversation whose owner has been offline for longer
/// than `offline_ms`. Returns how many.
pub async fn return_abandoned(state: &AppState, offline_ms: i64) -> AppResult<usize> {
    let owned: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, owner_id FROM conversations \
         WHERE owner_id IS NOT NULL AND status IN ('active', 'awaiting_requester')",
    )
    .fetch_all(&state.store.read)
    .await?;
    let now = now_ms();
    let mut returned = 0;
    for (id, owner) in owned {
        let Some(since) = state.presence.offline_since(&owner) else { continue };
        if now - since < offline_ms {
            continue;
        }
        if return_one(state, &id, &owner, None, "owner offline").await? {
            returned += 1;
        }
    }
    Ok(returned)
}

/// Returns the open conversations `owner` has (in `queue`, or in all their queues) to
/// their queues, as when they are taken out of a queue or removed: the requester is told,
/// the dashboards hear it, the audit trail names `actor` (a coordinator; the system when
/// `None`) and `reason`. Returns how many.
pub async fn return_owned(
    state: &AppState,
    owner: &str,
    queue: Option<&str>,
    actor: Option<&str>,
    reason: &str,
) -> AppResult<usize> {
    let owned: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM conversations WHERE owner_id = $1 AND ($2 = '' OR queue = $2) \
         AND status IN ('active', 'awaiting_requester')",
    )
    .bind(owner)
    .bind(queue.unwrap_or(""))
    .fetch_all(&state.store.read)
    .await?;
    let mut returned = 0;
    for id in owned {
        if return_one(state, &id, owner, actor, reason).await? {
            returned += 1;
        }
    }
    Ok(returned)
}

/// One conversation back to its queue, if `owner` still has it; false if it changed.
async fn return_one(
    state: &AppState,
    id: &str,
    owner: &str,
    actor: Option<&str>,
    reason: &str,
) -> AppResult<bool> {
    let role = if actor.is_some() { Role::Helper } else { Role::System };
    let result = state
        .change_conversation(id, role, actor, |c, _now| {
            // Checked again under the lock: the owner may have changed meanwhile.
            if c.owner_id.as_deref() != Some(owner) || c.status == Status::Closed {
                return Err(crate::error::AppError::conflict("changed", "The conversation changed."));
            }
            let text = state.i18n.format(&c.lang, "helpline-system-owner-offline", &[]);
            c.owner_id = None;
            c.status = Status::Waiting;
            Ok(Change {
                system_messages: vec![text],
                action: "released",
                detail: serde_json::json!({ "reason": reason }),
                queue_event: QueueEventKind::Released,
            })
        })
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(crate::error::AppError::Conflict { .. }) => Ok(false),
        Err(other) => Err(other),
    }
}
