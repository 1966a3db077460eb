//! What this node tells the other nodes of a cluster: the events published here that
//! listeners elsewhere need, and changes of presence and of who is looking. `cluster`
//! takes them off the channel and sends them through PostgreSQL; on one node (SQLite)
//! the relay is off and nothing is queued.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use super::{ConversationEvent, QueueEvent};
use crate::domain::{ConversationId, HelperId};

/// One thing to tell the other nodes. Presence and viewers name what changed; the
/// sender reads their state on this node when it sends, so the latest state goes out.
#[derive(Debug)]
pub enum Relayed {
    Conversation(ConversationId, ConversationEvent),
    Queue(Arc<QueueEvent>),
    Membership(HelperId),
    Presence(HelperId),
    Viewers(ConversationId),
}

/// Events waiting to be sent at most; past it they are dropped and counted (the other
/// nodes' sockets fill message gaps from the store, and presence is sent again whole
/// every few seconds).
const CAPACITY: usize = 64 * 1024;

#[derive(Clone, Default)]
pub struct Relay {
    sender: Option<mpsc::Sender<Relayed>>,
    dropped: Arc<AtomicU64>,
}

impl Relay {
    /// A relay that queues for a sender, and the sender's end.
    pub fn channel() -> (Self, mpsc::Receiver<Relayed>) {
        let (sender, receiver) = mpsc::channel(CAPACITY);
        (Self { sender: Some(sender), dropped: Arc::default() }, receiver)
    }

    /// Whether other nodes may be listening (a relay with a sender).
    pub fn is_on(&self) -> bool {
        self.sender.is_some()
    }

    pub fn send(&self, relayed: Relayed) {
        if let Some(sender) = &self.sender
            && sender.try_send(relayed).is_err()
        {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Events dropped because the sender fell behind (or stopped).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
