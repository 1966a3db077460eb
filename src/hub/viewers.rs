//! Who is looking at a conversation: helpers whose live socket follows it (the console's
//! conversation page opens one), on this node or on another. Told to the other helpers
//! following it, so two helpers do not answer the same person at cross purposes; never
//! to the requester. Other nodes say whom they have looking (`remote`) and repeat it
//! every few seconds; what is not repeated in time expires (`sweep`).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{ConversationEvent, Hub, NodeId, Relay, Relayed};
use crate::domain::ConversationId;

/// What another node said it has looking at a conversation, and until when it holds.
type Said = (Vec<String>, Instant);

#[derive(Default)]
pub struct Viewers {
    /// conversation id → helper name → number of this node's sockets following it.
    by_conversation: Mutex<HashMap<ConversationId, HashMap<String, usize>>>,
    /// conversation id → node → the names that node has looking, until when.
    remote: Mutex<HashMap<ConversationId, HashMap<NodeId, Said>>>,
    relay: Relay,
}

impl Viewers {
    pub fn new(relay: Relay) -> Self {
        Self { relay, ..Self::default() }
    }

    pub fn opened(&self, hub: &Hub, conversation: &ConversationId, helper: &str) {
        {
            let mut map = self.by_conversation.lock().unwrap_or_else(|e| e.into_inner());
            let viewers = map.entry(conversation.clone()).or_default();
            *viewers.entry(helper.to_string()).or_default() += 1;
        }
        self.changed_here(hub, conversation);
    }

    pub fn closed(&self, hub: &Hub, conversation: &ConversationId, helper: &str) {
        {
            let mut map = self.by_conversation.lock().unwrap_or_else(|e| e.into_inner());
            let Some(viewers) = map.get_mut(conversation) else { return };
            if let Some(count) = viewers.get_mut(helper) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    viewers.remove(helper);
                }
            }
            if viewers.is_empty() {
                map.remove(conversation);
            }
        }
        self.changed_here(hub, conversation);
    }

    fn changed_here(&self, hub: &Hub, conversation: &ConversationId) {
        self.relay.send(Relayed::Viewers(conversation.clone()));
        self.publish(hub, conversation);
    }

    fn publish(&self, hub: &Hub, conversation: &ConversationId) {
        hub.publish_here(conversation, ConversationEvent::Viewers(Arc::new(self.of(conversation))));
    }

    /// The names this node has looking at the conversation.
    pub fn here(&self, conversation: &ConversationId) -> Vec<String> {
        let map = self.by_conversation.lock().unwrap_or_else(|e| e.into_inner());
        let mut names: Vec<String> =
            map.get(conversation).map(|v| v.keys().cloned().collect()).unwrap_or_default();
        names.sort();
        names
    }

    /// Every conversation someone on this node is looking at, with the names.
    pub fn all_here(&self) -> Vec<(ConversationId, Vec<String>)> {
        let map = self.by_conversation.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .map(|(id, viewers)| {
                let mut names: Vec<String> = viewers.keys().cloned().collect();
                names.sort();
                (id.clone(), names)
            })
            .collect()
    }

    /// What another node has looking at the conversation now (maybe nobody); tells this
    /// node's helpers following it when that changes what they see.
    pub fn remote(
        &self,
        hub: &Hub,
        node: NodeId,
        conversation: &ConversationId,
        names: Vec<String>,
        ttl: Duration,
    ) {
        let before = self.of(conversation);
        {
            let mut remote = self.remote.lock().unwrap_or_else(|e| e.into_inner());
            let nodes = remote.entry(conversation.clone()).or_default();
            if names.is_empty() {
                nodes.remove(&node);
            } else {
                nodes.insert(node, (names, Instant::now() + ttl));
            }
            if nodes.is_empty() {
                remote.remove(conversation);
            }
        }
        if self.of(conversation) != before {
            self.publish(hub, conversation);
        }
    }

    /// Forgets what other nodes did not repeat in time, telling the helpers concerned.
    pub fn sweep(&self, hub: &Hub) {
        let now = Instant::now();
        let mut changed = Vec::new();
        {
            let mut remote = self.remote.lock().unwrap_or_else(|e| e.into_inner());
            remote.retain(|id, nodes| {
                let before = nodes.len();
                nodes.retain(|_, (_, expires)| *expires > now);
                if nodes.len() != before {
                    changed.push(id.clone());
                }
                !nodes.is_empty()
            });
        }
        for id in changed {
            self.publish(hub, &id);
        }
    }

    /// Everyone looking, on every node, by name.
    pub fn of(&self, conversation: &ConversationId) -> Vec<String> {
        let mut names: BTreeSet<String> = self.here(conversation).into_iter().collect();
        let remote = self.remote.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if let Some(nodes) = remote.get(conversation) {
            for (list, expires) in nodes.values() {
                if *expires > now {
                    names.extend(list.iter().cloned());
                }
            }
        }
        names.into_iter().collect()
    }
}
