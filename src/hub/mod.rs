//! In-process fan-out of committed events to open sockets: one broadcast channel per
//! conversation with listeners, and one for queue events. Events are published only
//! after their transaction committed; sockets dedupe and fill gaps by `seq` from the
//! store, so a lagging or late subscriber never loses or repeats a message.
//!
//! Beside the hub, what is live on this node and nowhere stored: which helpers are
//! online (`presence`) and who is looking at which conversation (`viewers`).

mod events;
pub mod positions;
pub mod presence;
pub mod viewers;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

pub use events::{ConversationEvent, QueueEvent, QueueEventKind, StatusChange};
pub use positions::Positions;
pub use presence::Presence;
pub use viewers::Viewers;

use crate::domain::{ConversationId, HelperId, QueueItem, SocketId};

pub struct Hub {
    conversations: Mutex<HashMap<ConversationId, broadcast::Sender<ConversationEvent>>>,
    queues: broadcast::Sender<Arc<QueueEvent>>,
    /// Helpers whose queues changed (suspended, restored): their sockets read them again.
    memberships: broadcast::Sender<HelperId>,
    sockets: AtomicU64,
    /// The waiting line of each queue, as last read (see `positions`).
    pub positions: Positions,
}

/// Small: a socket that falls behind reads the gap from the store instead.
const CONVERSATION_CAPACITY: usize = 16;
const QUEUE_CAPACITY: usize = 1024;

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Self {
        Self {
            conversations: Mutex::new(HashMap::new()),
            queues: broadcast::channel(QUEUE_CAPACITY).0,
            memberships: broadcast::channel(QUEUE_CAPACITY).0,
            sockets: AtomicU64::new(0),
            positions: Positions::default(),
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

    /// Sends to the conversation's listeners, if any.
    pub fn publish(&self, conversation_id: &ConversationId, event: ConversationEvent) {
        let map = self.conversations.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = map.get(conversation_id) {
            let _ = sender.send(event);
        }
    }

    pub fn subscribe_queues(&self) -> broadcast::Receiver<Arc<QueueEvent>> {
        self.queues.subscribe()
    }

    pub fn publish_queue(&self, kind: QueueEventKind, item: QueueItem) {
        self.positions.changed(&item.queue);
        let _ = self.queues.send(Arc::new(QueueEvent { kind, item, offered_to: None }));
    }

    pub fn publish_offer(&self, item: QueueItem, helper: &HelperId) {
        self.positions.changed(&item.queue);
        let event = QueueEvent { kind: QueueEventKind::Offered, item, offered_to: Some(helper.clone()) };
        let _ = self.queues.send(Arc::new(event));
    }

    pub fn subscribe_memberships(&self) -> broadcast::Receiver<HelperId> {
        self.memberships.subscribe()
    }

    /// Tells the helper's live sockets that their queues changed.
    pub fn publish_membership(&self, helper: &HelperId) {
        let _ = self.memberships.send(helper.clone());
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
