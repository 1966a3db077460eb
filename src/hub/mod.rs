//! In-process fan-out of committed events to open sockets: one broadcast channel per
//! conversation with listeners, and one for queue events. Events are published only
//! after their transaction committed; sockets dedupe and fill gaps by `seq` from the
//! store, so a lagging or late subscriber never loses or repeats a message.
//!
//! Beside the hub, what is live and nowhere stored: which helpers are online
//! (`presence`) and who is looking at which conversation (`viewers`).
//!
//! With several nodes, what is published here also goes to the `relay`, which the
//! cluster sends to the other nodes; what they send is published here with the `_here`
//! functions (never relayed again). When events from other nodes may have been missed,
//! `resync` tells every socket of this node to read its state from the store again.

mod events;
pub mod leadership;
pub mod positions;
pub mod presence;
pub mod relay;
pub mod viewers;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, watch};

pub use events::{ConversationEvent, QueueEvent, QueueEventKind, StatusChange};
pub use leadership::Leadership;
pub use positions::Positions;
pub use presence::Presence;
pub use relay::{Relay, Relayed};
pub use viewers::Viewers;

use crate::domain::{ConversationId, HelperId, QueueItem, SocketId};

/// A running server process among several on one database (random at its start).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct NodeId(pub u64);

pub struct Hub {
    conversations: Mutex<HashMap<ConversationId, broadcast::Sender<ConversationEvent>>>,
    queues: broadcast::Sender<Arc<QueueEvent>>,
    /// Helpers whose queues changed (suspended, restored): their sockets read them again.
    memberships: broadcast::Sender<HelperId>,
    sockets: AtomicU64,
    /// The waiting line of each queue, as last read (see `positions`).
    pub positions: Positions,
    relay: Relay,
    /// Bumped when events from other nodes may have been missed.
    resyncs: watch::Sender<u64>,
}

/// Small: a socket that falls behind reads the gap from the store instead.
const CONVERSATION_CAPACITY: usize = 16;
const QUEUE_CAPACITY: usize = 1024;

impl Default for Hub {
    fn default() -> Self {
        Self::new(Relay::default())
    }
}

impl Hub {
    pub fn new(relay: Relay) -> Self {
        Self {
            conversations: Mutex::new(HashMap::new()),
            queues: broadcast::channel(QUEUE_CAPACITY).0,
            memberships: broadcast::channel(QUEUE_CAPACITY).0,
            sockets: AtomicU64::new(0),
            positions: Positions::default(),
            relay,
            resyncs: watch::channel(0).0,
        }
    }

    /// A number for a new live socket, unique on this node.
    pub fn socket_id(&self) -> SocketId {
        SocketId(self.sockets.fetch_add(1, Ordering::Relaxed) + 1)
    }

    pub fn subscribe(self: &Arc<Self>, conversation_id: &ConversationId) -> Subscription {
        let mut map = self.conversations.lock().unwrap_or_else(|e| e.into_inner());
        let sender =
            map.entry(conversation_id.clone()).or_insert_with(|| broadcast::channel(CONVERSATION_CAPACITY).0);
        Subscription {
            receiver: sender.subscribe(),
            conversation_id: conversation_id.clone(),
            hub: Arc::clone(self),
        }
    }

    /// Sends to the conversation's listeners, if any, here and on the other nodes.
    pub fn publish(&self, conversation_id: &ConversationId, event: ConversationEvent) {
        if self.relay.is_on() && event.goes_to_other_nodes() {
            self.relay.send(Relayed::Conversation(conversation_id.clone(), event.clone()));
        }
        self.publish_here(conversation_id, event);
    }

    /// Sends to the conversation's listeners on this node only: for what the other
    /// nodes were told already (committed messages, told in their transaction) or what
    /// came from them.
    pub fn publish_here(&self, conversation_id: &ConversationId, event: ConversationEvent) {
        let map = self.conversations.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = map.get(conversation_id) {
            let _ = sender.send(event);
        }
    }

    pub fn subscribe_queues(&self) -> broadcast::Receiver<Arc<QueueEvent>> {
        self.queues.subscribe()
    }

    pub fn publish_queue(&self, kind: QueueEventKind, item: QueueItem) {
        self.publish_queue_event(QueueEvent { kind, item, offered_to: None });
    }

    pub fn publish_offer(&self, item: QueueItem, helper: &HelperId) {
        let event = QueueEvent { kind: QueueEventKind::Offered, item, offered_to: Some(helper.clone()) };
        self.publish_queue_event(event);
    }

    fn publish_queue_event(&self, event: QueueEvent) {
        let event = Arc::new(event);
        self.relay.send(Relayed::Queue(Arc::clone(&event)));
        self.publish_queue_here(event);
    }

    /// A queue event to this node's listeners only (one that came from another node).
    pub fn publish_queue_here(&self, event: Arc<QueueEvent>) {
        self.positions.changed(&event.item.queue);
        let _ = self.queues.send(event);
    }

    pub fn subscribe_memberships(&self) -> broadcast::Receiver<HelperId> {
        self.memberships.subscribe()
    }

    /// Tells the helper's live sockets that their queues changed.
    pub fn publish_membership(&self, helper: &HelperId) {
        self.relay.send(Relayed::Membership(helper.clone()));
        self.publish_membership_here(helper);
    }

    pub fn publish_membership_here(&self, helper: &HelperId) {
        let _ = self.memberships.send(helper.clone());
    }

    /// What the other nodes should hear of this node's changes.
    pub fn relay(&self) -> &Relay {
        &self.relay
    }

    /// Changes to wait on: each means events from other nodes may have been missed, and
    /// a socket reads what it shows from the store again.
    pub fn subscribe_resyncs(&self) -> watch::Receiver<u64> {
        self.resyncs.subscribe()
    }

    pub fn resync(&self) {
        self.resyncs.send_modify(|n| *n += 1);
        self.positions.changed_everywhere();
    }

    /// Whether a socket of this node listens to the conversation.
    pub fn has_listeners(&self, conversation_id: &ConversationId) -> bool {
        self.conversations.lock().unwrap_or_else(|e| e.into_inner()).contains_key(conversation_id)
    }

    /// Number of conversations with at least one listener.
    pub fn watched_conversations(&self) -> usize {
        self.conversations.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn unsubscribed(&self, conversation_id: &ConversationId) {
        let mut map = self.conversations.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(conversation_id).is_some_and(|s| s.receiver_count() == 0) {
            map.remove(conversation_id);
        }
    }
}

/// A listener on one conversation; dropping it removes the channel when it was the last.
pub struct Subscription {
    pub receiver: broadcast::Receiver<ConversationEvent>,
    conversation_id: ConversationId,
    hub: Arc<Hub>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // The receiver is dropped after this body; count it as gone already.
        let receiver = std::mem::replace(&mut self.receiver, broadcast::channel(1).1);
        drop(receiver);
        self.hub.unsubscribed(&self.conversation_id);
    }
}
