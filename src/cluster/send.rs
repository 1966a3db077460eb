//! Tells the other nodes what happened here: the relay's events as they come (a few
//! hundred at most per round, packed into as few notifications as fit), and every
//! `HEARTBEAT` that this node is alive, with its online helpers and who is looking at
//! what (which the others forget when it stops repeating them).

use std::time::Instant;

use tokio::sync::mpsc;

use super::wire::{self, Item};
use super::{HEARTBEAT, REMEMBERED};
use crate::hub::Relayed;
use crate::state::AppState;
use crate::store;

const ROUND: usize = 512;

pub(super) async fn run(state: AppState, channel: String, mut relayed: mpsc::Receiver<Relayed>) {
    let mut batch = Vec::with_capacity(ROUND);
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    let mut last_failure: Option<Instant> = None;
    loop {
        let received = tokio::select! {
            n = relayed.recv_many(&mut batch, ROUND) => Some(n),
            _ = heartbeat.tick() => None,
            () = state.shutdown.cancelled() => return,
        };
        let items = match received {
            Some(0) => return,
            Some(_) => batch.drain(..).filter_map(|r| item(&state, r)).collect::<Vec<_>>(),
            None => {
                state.presence.sweep();
                state.viewers.sweep(&state.hub);
                alive(&state)
            }
        };
        let payloads = wire::payloads(state.node, items);
        if let Err(error) = send(&state, &channel, &payloads).await {
            // Once a while: with the database down, every round fails.
            if last_failure.is_none_or(|t| t.elapsed() >= REMEMBERED) {
                tracing::warn!(%error, "telling the other nodes failed; they catch up from the store");
                last_failure = Some(Instant::now());
            }
        }
    }
}

async fn send(state: &AppState, channel: &str, payloads: &[String]) -> sqlx::Result<()> {
    if payloads.is_empty() {
        return Ok(());
    }
    let mut conn = state.store.write.acquire().await?;
    store::cluster::notify(&mut conn, channel, payloads).await
}

fn item(state: &AppState, relayed: Relayed) -> Option<Item> {
    Some(match relayed {
        Relayed::Conversation(c, event) => return Item::of_event(&c, &event),
        Relayed::Queue(event) => Item::queue(&event),
        Relayed::Membership(h) => Item::Membership { h },
        // The state now, not as it was when queued: the latest word wins.
        Relayed::Presence(h) => match state.presence.here(&h) {
            Some(helper) => Item::online(&helper),
            None => Item::Offline { h },
        },
        Relayed::Viewers(c) => Item::Viewers { names: state.viewers.here(&c), c },
    })
}

/// This node's heartbeat: alive, its helpers online, its viewers.
fn alive(state: &AppState) -> Vec<Item> {
    let mut items = vec![Item::Alive];
    items.extend(state.presence.all_here().iter().map(Item::online));
    items.extend(state.viewers.all_here().into_iter().map(|(c, names)| Item::Viewers { c, names }));
    items
}
