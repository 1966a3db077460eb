//! When the person leaves: a chat request nobody has answered yet, whose requester gave
//! an address and closed the chat (or lost the connection) for longer than `GONE_AFTER`,
//! becomes an e-mail conversation. The outbox then confirms it by mail and sends the
//! first answer there; the widget said so while they waited. The moment of leaving is
//! kept in the store, so this holds across restarts and nodes.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::service::{Actor, Change, change_conversation};
use crate::domain::{Channel, ConversationId, Status};
use crate::error::AppError;
use crate::hub::QueueEventKind;
use crate::state::AppState;
use crate::store::departures;

/// Long enough for a reload, a tunnel or a phone switching networks.
pub const GONE_AFTER: Duration = Duration::from_secs(120);
const ROUND: i64 = 100;

/// The requester's socket closed. Without mail there is nothing to turn to: no write.
pub async fn socket_closed(state: &AppState, id: &ConversationId) {
    if state.mailer.is_none() {
        return;
    }
    if let Err(error) = departures::left(&state.store, id, state.now_ms()).await {
        tracing::warn!(%error, conversation = %id, "noting that the requester left failed");
    }
}

/// The requester is on a socket again.
pub async fn socket_opened(state: &AppState, id: &ConversationId) {
    if state.mailer.is_none() {
        return;
    }
    if let Err(error) = departures::back(&state.store, id).await {
        tracing::warn!(%error, conversation = %id, "noting that the requester is back failed");
    }
}

/// Every 30 s, when mail is configured.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    if state.mailer.is_none() {
        return;
    }
    let state = &state;
    crate::clock::every(Duration::from_secs(30), &shutdown, || async move {
        if !state.leadership.leads() {
            return;
        }
        if let Err(error) = round(state).await {
            tracing::warn!(%error, "turning left chats into e-mail failed; will retry");
        }
    })
    .await;
}

/// Turns the chats left long enough into e-mail conversations; how many.
pub async fn round(state: &AppState) -> anyhow::Result<usize> {
    let before = state.now_ms() - i64::try_from(GONE_AFTER.as_millis()).unwrap_or(i64::MAX);
    let mut turned = 0;
    for id in departures::gone_since(&state.store, before, ROUND).await? {
        let changed = change_conversation(state, &id, Actor::SYSTEM, |c, _| {
            // Checked again under the lock: a helper may have taken it meanwhile.
            if c.channel != Channel::Chat || c.status != Status::Waiting || c.first_reply_at.is_some() {
                return Err(AppError::Conflict { code: "answered", message: String::new() });
            }
            c.channel = Channel::Email;
            Ok(Change {
                system_messages: vec![state.i18n.format(&c.lang, "helpline-system-left-email", &[])],
                action: "requester_left_for_email",
                detail: serde_json::json!({}),
                queue_event: QueueEventKind::Updated,
            })
        })
        .await;
        match changed {
            Ok(_) => turned += 1,
            Err(AppError::Conflict { .. }) => {}
            Err(error) => return Err(anyhow::anyhow!("{error}")),
        }
    }
    Ok(turned)
}
