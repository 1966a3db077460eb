//! In-process fan-out of committed events to open sockets: one broadcast channel per
//! conversation with listeners, and one for queue events. Events are published only
//! after their transaction committed; sockets dedupe and fill gaps by `seq` from the
//! store, so a lagging or late subscriber never loses or repeats a message.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::broadcast;

use crate::conversations::model::{Message, Outcome, Role, Status};
use crate::conversations::queries::QueueItem;

/// An event of one conversation.
#[derive(Clone, Debug)]
pub enum ConversationEvent {
    /// A committed message (including internal notes, which requester sockets skip).
    Message {
        message: Arc<Message>,
        received: Instant,
    },
    /// Boxed behind an `Arc`: it keeps the event, and so every channel slot, small.
    Status(Arc<StatusChange>),
    Typing {
        role: Role,
        name: Option<String>,
    },
    Read {
        role: Role,
        seq: i64,
    },
    /// The helpers now following the conversation (for helper sockets only).
    Viewers(Arc<Vec<String>>),
}

#[derive(Clone, Debug)]
pub struct StatusChange {
    pub status: Status,
    pub outcome: Option<Outcome>,
    pub urgent: bool,
    /// The owner's shown name (their wiki name; a team alias once helpers can choose one).
    pub owner_name: Option<String>,
    pub queue: String,
    pub redirected_team: Option<String>,
}

/// An event of a queue, for helpers' dashboards.
#[derive(Clone, Debug)]
pub struct QueueEvent {
    pub kind: QueueEventKind,
    pub item: QueueItem,
    /// For `Offered`: the one helper (id) it is offered to; only their sockets hear it.
    pub offered_to: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueEventKind {
    New,
    Claimed,
    Released,
    Transferred,
    /// The conversation moved out of this queue.
    Left,
    Updated,
    Closed,
    Reopened,
    /// Offered to one helper (auto-offer); sent to that helper only.
    Offered,
}

pub struct Hub {
    conversations: Mutex<HashMap<String, broadcast::Sender<ConversationEvent>>>,
    queues: broadcast::Sender<Arc<QueueEvent>>,
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
        Self { conversations: Mutex::new(HashMap::new()), queues: broadcast::channel(QUEUE_CAPACITY).0 }
    }

    pub fn subscribe(self: &Arc<Self>, conversation_id: &str) -> Subscription {
        let mut map = self.conversations.lock().unwrap_or_else(|e| e.into_inner());
        let sender = map
            .entry(conversation_id.to_string())
            .or_insert_with(|| broadcast::channel(CONVERSATION_CAPACITY).0);
        Subscription {
            receiver: sender.subscribe(),
            conversation_id: conversation_id.to_string(),
            hub: Arc::clone(self),
        }
    }

    /// Sends to the conversation's listeners, if any.
    pub fn publish(&self, conversation_id: &str, event: ConversationEvent) {
        let map = self.conversations.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = map.get(conversation_id) {
            let _ = sender.send(event);
        }
    }

    pub fn subscribe_queues(&self) -> broadcast::Receiver<Arc<QueueEvent>> {
        self.queues.subscribe()
    }

    pub fn publish_queue(&self, kind: QueueEventKind, item: QueueItem) {
        let _ = self.queues.send(Arc::new(QueueEvent { kind, item, offered_to: None }));
    }

    pub fn publish_offer(&self, item: QueueItem, helper_id: &str) {
        let event =
            QueueEvent { kind: QueueEventKind::Offered, item, offered_to: Some(helper_id.to_string()) };
        let _ = self.queues.send(Arc::new(event));
    }

    /// Number of conversations with at least one listener.
    pub fn watched_conversations(&self) -> usize {
        self.conversations.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn unsubscribed(&self, conversation_id: &str) {
        let mut map = self.conversations.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(conversation_id).is_some_and(|s| s.receiver_count() == 0) {
            map.remove(conversation_id);
        }
    }
}

/// A listener on one conversation; dropping it removes the channel when it was the last.
pub struct Subscription {
    pub receiver: broadcast::Receiver<ConversationEvent>,
    conversation_id: String,
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
