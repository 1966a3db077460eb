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

use sqlx::Row;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::model::Status;
use super::queries::{self, QueueItem};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::helpers::{self, Helper};
use crate::live::hub::QueueEventKind;
use crate::store::now_ms;

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
        if let Err(error) = round(&state).await {
            tracing::warn!(%error, "offering waiting conversations failed; will retry");
        }
    }
}

/// Ends offers that are over, then offers what waits to whoever should have it.
/// Returns how many offers were made.
pub async fn round(state: &AppState) -> AppResult<usize> {
    let now = now_ms();
    close_finished(state, now).await?;
    let open: Vec<(String, String)> =
        sqlx::query_as("SELECT conversation_id, helper_id FROM offers WHERE outcome IS NULL")
            .fetch_all(&state.store.read)
            .await?;
    let mut busy = HashSet::new();
    for (conversation, helper) in open {
        if state.presence.is_available(&helper) {
            busy.insert(helper);
        } else {
            // Went away or offline: the next helper's turn now, not at expiry.
            end(state, &conversation, &helper, "expired").await?;
        }
    }
    let mut made = 0;
    for queue in &state.config.queues {
        let online = state.presence.available_in(&queue.id);
        if online.iter().all(|h| busy.contains(&h.id)) {
            continue;
        }
        let waiting = waiting_without_offer(state, &queue.id).await?;
        if waiting.is_empty() {
            continue;
        }
        // Fresh from the store: capacity, languages and membership may have changed
        // since their socket opened.
        let mut candidates = Vec::new();
        let mut load = HashMap::new();
        let mut conn = state.store.read.acquire().await?;
        for h in online.iter().filter(|h| !busy.contains(&h.id)) {
            if let Some(fresh) =
                helpers::find_by_id(&mut conn, &h.id).await?.filter(|f| f.is_member(&queue.id))
            {
                candidates.push(fresh);
            }
        }
        drop(conn);
        for h in &candidates {
            load.insert(h.id.clone(), helpers::open_count(&state.store, &h.id).await?);
        }
        for (conversation, lang) in waiting {
            let tried: HashSet<String> =
                sqlx::query_scalar("SELECT helper_id FROM offers WHERE conversation_id = $1")
                    .bind(&conversation)
                    .fetch_all(&state.store.read)
                    .await?
                    .into_iter()
                    .collect();
            let Some(helper) = pick(&candidates, &load, &busy, &tried, &lang) else { continue };
            if offer(state, &conversation, helper, now).await? {
                busy.insert(helper.id.clone());
                made += 1;
            }
        }
    }
    Ok(made)
}

/// The least-loaded candidate under capacity who speaks `lang` and has neither an open
/// offer nor had this one before; on a tie, the name decides (stable, testable).
fn pick<'h>(
    candidates: &'h [Helper],
    load: &HashMap<String, i64>,
    busy: &HashSet<String>,
    tried: &HashSet<String>,
    lang: &str,
) -> Option<&'h Helper> {
    candidates
        .iter()
        .filter(|h| h.speaks(lang) && !busy.contains(&h.id) && !tried.contains(&h.id))
        .filter(|h| load.get(&h.id).copied().unwrap_or(0) < h.capacity)
        .min_by(|a, b| (load.get(&a.id), &a.name).cmp(&(load.get(&b.id), &b.name)))
}

/// Expired offers end `expired`; offers of conversations no longer waiting end
/// `accepted` when their helper took it, else `taken`.
async fn close_finished(state: &AppState, now: i64) -> AppResult<()> {
    sqlx::query("UPDATE offers SET outcome = 'expired' WHERE outcome IS NULL AND expires_at <= $1")
        .bind(now)
        .execute(&state.store.write)
        .await?;
    sqlx::query(
        "UPDATE offers SET outcome = CASE WHEN EXISTS (SELECT 1 FROM conversations c \
             WHERE c.id = offers.conversation_id AND c.owner_id = offers.helper_id) THEN 'accepted' ELSE 'taken' END \
         WHERE outcome IS NULL AND EXISTS (SELECT 1 FROM conversations c \
             WHERE c.id = offers.conversation_id AND c.status <> 'waiting')",
    )
    .execute(&state.store.write)
    .await?;
    Ok(())
}

async fn waiting_without_offer(state: &AppState, queue: &str) -> AppResult<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT c.id, c.lang FROM conversations c WHERE c.queue = $1 AND c.status = 'waiting' \
         AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.conversation_id = c.id AND o.outcome IS NULL) \
         ORDER BY c.urgent DESC, c.waiting_since LIMIT 100",
    )
    .bind(queue)
    .fetch_all(&state.store.read)
    .await?;
    Ok(rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("lang")?))).collect::<sqlx::Result<_>>()?)
}

/// Stores the offer and tells the helper; false if another server offered it first.
async fn offer(state: &AppState, conversation: &str, helper: &Helper, now: i64) -> AppResult<bool> {
    let seconds = i64::try_from(state.config.routing.offer_seconds).unwrap_or(i64::MAX / 2000);
    let stored = sqlx::query(
        "INSERT INTO offers (conversation_id, helper_id, offered_at, expires_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(conversation)
    .bind(&helper.id)
    .bind(now)
    .bind(now.saturating_add(seconds.saturating_mul(1000)))
    .execute(&state.store.write)
    .await?;
    if stored.rows_affected() == 0 {
        return Ok(false);
    }
    if let Some(item) = waiting_item(state, conversation).await? {
        state.hub.publish_offer(item, &helper.id);
    }
    Ok(true)
}

async fn end(state: &AppState, conversation: &str, helper_id: &str, outcome: &str) -> AppResult<bool> {
    let ended = sqlx::query(
        "UPDATE offers SET outcome = $3 WHERE conversation_id = $1 AND helper_id = $2 AND outcome IS NULL",
    )
    .bind(conversation)
    .bind(helper_id)
    .bind(outcome)
    .execute(&state.store.write)
    .await?;
    Ok(ended.rows_affected() > 0)
}

/// "Not now": the offer ends and goes to the next helper at the next round.
pub async fn decline(state: &AppState, helper: &Helper, conversation: &str) -> AppResult<()> {
    if end(state, conversation, &helper.id, "declined").await? {
        Ok(())
    } else {
        Err(AppError::NotFound("This offer is no longer open."))
    }
}

/// The conversation offered to `helper` now, if it still waits.
pub async fn open_for(state: &AppState, helper: &Helper) -> AppResult<Option<QueueItem>> {
    let conversation: Option<String> =
        sqlx::query_scalar("SELECT conversation_id FROM offers WHERE helper_id = $1 AND outcome IS NULL")
            .bind(&helper.id)
            .fetch_optional(&state.store.read)
            .await?;
    match conversation {
        Some(id) => waiting_item(state, &id).await,
        None => Ok(None),
    }
}

async fn waiting_item(state: &AppState, id: &str) -> AppResult<Option<QueueItem>> {
    let mut conn = state.store.read.acquire().await?;
    Ok(queries::find(&mut conn, id)
        .await?
        .filter(|c| c.status == Status::Waiting)
        .map(|c| super::service::queue_item(&c, None)))
}
