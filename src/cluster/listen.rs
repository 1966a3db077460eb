//! Hears the other nodes and publishes what they said to this node's sockets. When the
//! listening connection is lost — or nothing, not even this node's own heartbeat, came
//! for `SILENCE` — it listens again on a new connection, then has every socket of this
//! node read its state from the store (`Hub::resync`): what was said while nobody
//! listened is in the tables.

use std::sync::Arc;
use std::time::Duration;

use super::wire::{self, Item};
use super::{HEARTBEAT, REMEMBERED};
use crate::hub::{ConversationEvent, NodeId};
use crate::state::AppState;
use crate::store::cluster::Notifications;

/// Three heartbeats missed: the connection is taken for lost.
const SILENCE: Duration = Duration::from_secs(3 * HEARTBEAT.as_secs());
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

pub(super) async fn run(state: AppState, channel: String) {
    let mut pause = Duration::from_millis(100);
    let mut first = true;
    while !state.shutdown.is_cancelled() {
        match Notifications::listen(&state.store.url, &channel).await {
            Ok(mut notifications) => {
                pause = Duration::from_millis(100);
                if !first {
                    tracing::info!("listening to the other nodes again; sockets catch up from the store");
                    state.metrics.cluster_resync();
                }
                first = false;
                // Anything said before this point is in the store: read it again.
                state.hub.resync();
                hear(&state, &mut notifications).await;
            }
            Err(error) => {
                tracing::warn!(%error, pause_ms = pause.as_millis(), "cannot listen to the other nodes; trying again")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = state.shutdown.cancelled() => return,
        }
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

/// Until the connection is lost (or falls silent), or shutdown.
async fn hear(state: &AppState, notifications: &mut Notifications) {
    loop {
        let next = tokio::select! {
            next = tokio::time::timeout(SILENCE, notifications.next()) => next,
            () = state.shutdown.cancelled() => return,
        };
        match next {
            Ok(Ok(Some(payload))) => apply(state, &payload).await,
            Ok(Ok(None)) => {
                tracing::warn!("the connection listening to the other nodes was lost");
                return;
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "listening to the other nodes failed");
                return;
            }
            Err(_) => {
                tracing::warn!("nothing heard from any node, not even this one; listening again");
                return;
            }
        }
    }
}

async fn apply(state: &AppState, payload: &str) {
    // This node's own notifications come back too: skipped before they are read.
    if wire::from_node(payload) == Some(state.node) {
        return;
    }
    let envelope = match wire::parse(payload) {
        Ok(e) => e,
        Err(error) => {
            tracing::warn!(%error, "a notification this node cannot read was skipped");
            return;
        }
    };
    if envelope.n == state.node {
        return;
    }
    for item in envelope.i {
        apply_item(state, envelope.n, item).await;
    }
}

async fn apply_item(state: &AppState, node: NodeId, item: Item) {
    let hub = &state.hub;
    match item {
        Item::Alive => {}
        Item::Message { c, m } => {
            let event = m.into_event(c.clone());
            hub.publish_here(&c, event);
        }
        Item::Stored { c, seq } => {
            if hub.has_listeners(&c)
                && let Err(error) = publish_stored(state, &c, seq).await
            {
                // The sockets fill the gap at the next message, or on reconnecting.
                tracing::warn!(%error, "reading a long message for this node's sockets failed");
            }
        }
        Item::Status { c, s } => hub.publish_here(&c, s.into_event()),
        Item::Typing { c, role, name } => hub.publish_here(&c, ConversationEvent::Typing { role, name }),
        Item::Read { c, role, seq } => hub.publish_here(&c, ConversationEvent::Read { role, seq }),
        Item::Conflicts { c, stored } => hub.publish_here(
            &c,
            ConversationEvent::Conflicts(Arc::new(crate::domain::Conflicts::parse(&stored))),
        ),
        Item::Queue { kind, item, to } => hub.publish_queue_here(Arc::new(item.into_event(kind, to))),
        Item::Membership { h } => hub.publish_membership_here(&h),
        Item::Online { helper } => state.presence.remote_online(node, helper.into_helper(), REMEMBERED),
        Item::Offline { h } => state.presence.remote_offline(node, &h),
        Item::Viewers { c, names } => state.viewers.remote(hub, node, &c, names, REMEMBERED),
    }
}

async fn publish_stored(state: &AppState, c: &crate::domain::ConversationId, seq: i64) -> sqlx::Result<()> {
    let mut conn = state.store.read.acquire().await?;
    for message in crate::store::messages::messages_after(&mut conn, c, seq - 1, 1).await? {
        let event = ConversationEvent::Message {
            message: Arc::new(message),
            received: std::time::Instant::now(),
            origin: None,
        };
        state.hub.publish_here(c, event);
    }
    Ok(())
}
