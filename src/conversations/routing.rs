//! Returning conversations whose owner went away: a claimed conversation whose owner has
//! had no live socket for `routing.owner_offline_seconds` goes back to its queue, with a
//! system message to the requester and a `released` audit event naming the reason — so
//! nobody is left waiting on a helper who closed their laptop. The same path returns
//! the conversations of a helper who is removed or taken out of a queue.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::service::{Actor, Change, change_conversation};
use crate::domain::{ConversationId, HelperId, QueueId, Status};
use crate::error::{AppError, AppResult};
use crate::hub::QueueEventKind;
use crate::state::AppState;
use crate::store::{self, conversations};

/// Checks every quarter of the threshold (between 1 and 30 seconds) until shutdown.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let threshold = state.config.routing.owner_offline_seconds;
    if threshold == 0 {
        return;
    }
    let period = Duration::from_secs((threshold / 4).clamp(1, 30));
    let offline_ms = i64::try_from(threshold).unwrap_or(i64::MAX / 1000) * 1000;
    let state = &state;
    crate::clock::every(period, &shutdown, || async move {
        if !state.leadership.leads() {
            return;
        }
        match return_abandoned(state, offline_ms).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(returned = n, "conversations returned to the queue: owner offline"),
            Err(error) => {
                tracing::warn!(%error, "returning conversations of offline owners failed; will retry")
            }
        }
    })
    .await;
}

/// Returns to the queue every open conversation whose owner has been offline for longer
/// than `offline_ms`. Returns how many.
pub async fn return_abandoned(state: &AppState, offline_ms: i64) -> AppResult<usize> {
    let owned = {
        let mut conn = state.store.read.acquire().await?;
        conversations::all_owned_open(&mut conn).await?
    };
    let now = state.now_ms();
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
    owner: &HelperId,
    queue: Option<&QueueId>,
    actor: Option<&HelperId>,
    reason: &str,
) -> AppResult<usize> {
    let owned = {
        let mut conn = state.store.read.acquire().await?;
        conversations::owned_open(&mut conn, owner, queue).await?
    };
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
    id: &ConversationId,
    owner: &HelperId,
    actor: Option<&HelperId>,
    reason: &str,
) -> AppResult<bool> {
    let actor = actor.map_or(Actor::SYSTEM, Actor::helper);
    let result = change_conversation(state, id, actor, |c, _now| {
        // Checked again under the lock: the owner may have changed meanwhile.
        if !c.is_owned_by(owner) || c.status == Status::Closed {
            return Err(AppError::conflict("changed", "The conversation changed."));
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
        Err(AppError::Conflict { .. }) => Ok(false),
        Err(other) => Err(other),
    }
}

/// Removes a helper (by name): their open conversations go back to their queues by the
/// conversations' own path first, so each requester is told. How many went back.
pub async fn remove_helper(state: &AppState, name: &str) -> AppResult<usize> {
    let helper = crate::helpers::find(&state.store, name).await?;
    let returned = return_owned(state, &helper.id, None, None, "helper removed").await?;
    store::helpers::remove(&state.store, name, state.now_ms()).await?;
    Ok(returned)
}

/// Takes a helper out of a queue (a coordinator `by` does it): their open conversations
/// of that queue go back to it first.
pub async fn take_out_of_queue(
    state: &AppState,
    helper: &HelperId,
    queue: &QueueId,
    by: &HelperId,
) -> AppResult<()> {
    return_owned(state, helper, Some(queue), Some(by), "helper left the queue").await?;
    store::helpers::leave_queue(&state.store, helper, queue, by, state.now_ms()).await?;
    Ok(())
}
