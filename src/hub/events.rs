//! What the hub carries: events of one conversation, and events of the queues.

use std::sync::Arc;
use std::time::Instant;

use crate::domain::{Conflicts, HelperId, Message, Outcome, QueueId, QueueItem, Role, SocketId, Status};

/// An event of one conversation.
#[derive(Clone, Debug)]
pub enum ConversationEvent {
    /// A committed message (including internal notes, which requester sockets skip).
    Message {
        message: Arc<Message>,
        received: Instant,
        /// The socket that sent it (skips its echo on the lean wire).
        origin: Option<SocketId>,
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
    /// Its conflicts of interest changed: a helper socket following it checks whether
    /// its helper is now kept away, and stops if so.
    Conflicts(Arc<Conflicts>),
}

impl ConversationEvent {
    /// Whether listeners on other nodes need it: "who is looking" is worked out on each
    /// node from what every node says it has (`Viewers`), not relayed as an event.
    pub fn goes_to_other_nodes(&self) -> bool {
        !matches!(self, Self::Viewers(_))
    }
}

#[derive(Clone, Debug)]
pub struct StatusChange {
    pub status: Status,
    pub outcome: Option<Outcome>,
    pub urgent: bool,
    /// The owner's shown name (their wiki name; a team alias once helpers can choose one).
    pub owner_name: Option<String>,
    pub queue: QueueId,
    pub redirected_team: Option<String>,
    /// Only whose turn it is changed (active ⇄ awaiting_requester), by a message the
    /// other side receives anyway: lean sockets are not told (they derive the turn).
    pub turn_only: bool,
}

/// An event of a queue, for helpers' dashboards.
#[derive(Clone, Debug)]
pub struct QueueEvent {
    pub kind: QueueEventKind,
    pub item: QueueItem,
    /// For `Offered`: the one helper it is offered to; only their sockets hear it.
    pub offered_to: Option<HelperId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
