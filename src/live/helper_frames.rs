//! The frames of the helper's live socket (see docs/PROTOCOL.md).

use serde::{Deserialize, Serialize};

use crate::domain::{
    ConversationId, HelperMessage, Outcome, PresenceStatus, QueueId, QueueItem, Role, Status,
};
use crate::hub::QueueEventKind;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// The first frame, or (on a socket signed in at the upgrade) a later one asking
    /// for the lean wire: `{"type":"hello","wire":2}`.
    Hello {
        #[serde(default)]
        wire: Option<u8>,
    },
    /// Follow a conversation: its messages after `after`, then live events.
    Open {
        conversation: ConversationId,
        #[serde(default)]
        after: i64,
    },
    /// Stop following it.
    Close {
        conversation: ConversationId,
    },
    Message {
        conversation: ConversationId,
        client_id: String,
        text: String,
        #[serde(default)]
        internal: bool,
    },
    Typing {
        conversation: ConversationId,
    },
    Read {
        conversation: ConversationId,
        seq: i64,
    },
    Presence {
        status: PresenceStatus,
    },
    Ping,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    Ready {
        helper: &'a str,
        /// The wire agreed on, when the lean one was asked for.
        #[serde(skip_serializing_if = "Option::is_none")]
        wire: Option<u8>,
    },
    Queue {
        event: QueueEventKind,
        conversation: &'a QueueItem,
    },
    /// Queue events were missed; fetch `/v1/helper/queue` again.
    Resync,
    Message {
        conversation: &'a ConversationId,
        #[serde(flatten)]
        message: HelperMessage,
    },
    Status {
        conversation: &'a ConversationId,
        status: Status,
        #[serde(skip_serializing_if = "Option::is_none")]
        outcome: Option<Outcome>,
        urgent: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
        queue: &'a QueueId,
    },
    /// The conversation left your queues.
    Gone {
        conversation: &'a ConversationId,
    },
    Typing {
        conversation: &'a ConversationId,
        role: Role,
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    Read {
        conversation: &'a ConversationId,
        role: Role,
        seq: i64,
    },
    /// The helpers following the conversation now (you included).
    Viewers {
        conversation: &'a ConversationId,
        helpers: &'a [String],
    },
    Ack {
        conversation: &'a ConversationId,
        client_id: &'a str,
        seq: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        duplicate: Option<bool>,
    },
    Error {
        code: &'static str,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        conversation: Option<&'a ConversationId>,
    },
    Pong,
}
