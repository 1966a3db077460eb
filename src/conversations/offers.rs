//! Auto-offer (`routing.auto_offer`): each waiting conversation is offered to one
//! available helper at a time — online, not away, in its queue and language, under their
//! chosen capacity, and of those the least loaded (fewest open conversations). The
//! helper answers "Take it" (an ordinary claim) or "Not now"; with no answer within
//! `routing.offer_seconds`, or if they go away, it is offered to the next. Nobody is
//! offered the same conversation twice, and an offer never locks anything: any helper
//! may still take the conversation from the queue.
//!
//! The offer rows live in the store (one open offer per conversation, by a partial
//! unique index); the offer reaches the helper as a `queue` frame `offered` on their
//! live socket only.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::domain::{Conflicts, ConversationId, Helper, HelperId, QueueItem, Status};
use crate::error::{AppError, AppResult};
use crate::hub::QueueEventKind;
use crate::state::AppState;
use crate::store::{self, offers};

/// Looks again this often for expired offers and helpers who became free.
const ROUND_EVERY: Duration = Duration::from_secs(1);

/// Offers rounds until shutdown: each second, and at once when a conversation starts
/// waiting (new, released, moved, reopened).
pub async fn run(state: AppState, shutdown: CancellationToken) {
    if !state.config.routing.auto_offer {
        return;
    }
    let mut events = state.hub.subscribe_queues();
    let mut tick = tokio::time::interval(ROUND_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            event = events.recv() => match event {
                Ok(e) if matches!(e.kind, QueueEventKind::New | QueueEventKind::Released
                    | QueueEventKind::Transferred | QueueEventKind::Reopened) => {}
                Ok(_) | Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return,
            },
            () = shutdown.cancelled() => return,
        }
        if !state.leadership.leads() {
            continue;
        }
        if let Err(error) = round(&state).await {
            tracing::warn!(%error, "offering waiting conversations failed; will retry");
        }
    }
}

/// Ends offers that are over, then offers what waits to whoever should have it.
/// Returns how many offers were made.
pub async fn round(state: &AppState) -> AppResult<usize> {
    let now = state.now_ms();
    offers::close_finished(&state.store, now).await?;
    let mut busy = HashSet::new();
    for (conversation, helper) in offers::open(&state.store).await? {
        if state.presence.is_available(&helper) {
            busy.insert(helper);
        } else {
            // Went away or offline: the next helper's turn now, not at expiry.
            offers::end(&state.store, &conversation, &helper, "expired").await?;
        }
    }
    let mut made = 0;
    for queue in &state.config.queues {
        let online = state.presence.available_in(&queue.id);
        if online.iter().all(|h| busy.contains(&h.id)) {
            continue;
        }
        let waiting = {
            let mut conn = state.store.read.acquire().await?;
            store::conversations::waiting_without_offer(&mut conn, &queue.id).await?
        };
        if waiting.is_empty() {
            continue;
        }
        let (candidates, load) = candidates(state, &online, &busy, &queue.id).await?;
        for (conversation, lang, conflicts) in waiting {
            if conflicts.pending() {
                continue;
            }
            let tried = offers::offered_to(&state.store, &conversation).await?;
            let Some(helper) = pick(&candidates, &load, &busy, &tried, &lang, &conflicts) else { continue };
            if offer(state, &conversation, helper, now).await? {
                busy.insert(helper.id.clone());
                made += 1;
            }
        }
    }
    Ok(made)
}

/// The available helpers of a queue without an open offer, fresh from the store
/// (capacity, languages and membership may have changed since their socket opened),
/// and how many conversations each has open.
async fn candidates(
    state: &AppState,
    online: &[Helper],
    busy: &HashSet<HelperId>,
    queue: &crate::domain::QueueId,
) -> AppResult<(Vec<Helper>, HashMap<HelperId, i64>)> {
    let mut candidates = Vec::new();
    let mut load = HashMap::new();
    let mut conn = state.store.read.acquire().await?;
    for h in online.iter().filter(|h| !busy.contains(&h.id)) {
        if let Some(fresh) =
            store::helpers::find_by_id(&mut conn, &h.id).await?.filter(|f| f.is_member(queue))
        {
            load.insert(fresh.id.clone(), store::conversations::open_count(&mut conn, &fresh.id).await?);
            candidates.push(fresh);
        }
    }
    Ok((candidates, load))
}

/// The least-loaded candidate under capacity who speaks `lang`, has neither an open
/// offer nor had this one before, and is not kept away by a conflict of interest; on a
/// tie, the name decides (stable, testable).
fn pick<'h>(
    candidates: &'h [Helper],
    load: &HashMap<HelperId, i64>,
    busy: &HashSet<HelperId>,
    tried: &HashSet<HelperId>,
    lang: &str,
    conflicts: &Conflicts,
) -> Option<&'h Helper> {
    candidates
        .iter()
        .filter(|h| h.speaks(lang) && !busy.contains(&h.id) && !tried.contains(&h.id))
        .filter(|h| !h.is_kept_away(conflicts))
        .filter(|h| load.get(&h.id).copied().unwrap_or(0) < h.capacity)
        .min_by(|a, b| (load.get(&a.id), &a.name).cmp(&(load.get(&b.id), &b.name)))
}

/// Stores the offer and tells the helper; false if another server offered it first.
async fn offer(
    state: &AppState,
    conversation: &ConversationId,
    helper: &Helper,
    now: i64,
) -> AppResult<bool> {
    let seconds = i64::try_from(state.config.routing.offer_seconds).unwrap_or(i64::MAX / 2000);
    let expires = now.saturating_add(seconds.saturating_mul(1000));
    if !offers::insert(&state.store, conversation, &helper.id, now, expires).await? {
        return Ok(false);
    }
    if let Some(item) = waiting_item(state, conversation).await? {
        state.hub.publish_offer(item, &helper.id);
    }
    Ok(true)
}

/// "Not now": the offer ends and goes to the next helper at the next round.
pub async fn decline(state: &AppState, helper: &Helper, conversation: &ConversationId) -> AppResult<()> {
    if offers::end(&state.store, conversation, &helper.id, "declined").await? {
        Ok(())
    } else {
        Err(AppError::NotFound("This offer is no longer open."))
    }
}

/// The conversation offered to `helper` now, if it still waits.
pub async fn open_for(state: &AppState, helper: &Helper) -> AppResult<Option<QueueItem>> {
    match offers::open_for(&state.store, &helper.id).await? {
        Some(id) => waiting_item(state, &id).await,
        None => Ok(None),
    }
}

async fn waiting_item(state: &AppState, id: &ConversationId) -> AppResult<Option<QueueItem>> {
    Ok(super::service::find(state, id)
        .await?
        .filter(|c| c.status == Status::Waiting)
        .map(|c| QueueItem::of(&c, None)))
}
