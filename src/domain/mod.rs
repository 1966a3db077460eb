//! The words of DESIGN.md as types, with their rules and nothing else: no I/O, no HTTP,
//! no SQL. Every other module builds on these; `DomainError` is the error of a rule,
//! which the HTTP edge turns into a 400 or 409 and the command line into a message.

pub mod conflicts;
pub mod conversation;
pub mod helper;
pub mod ids;
pub mod text;
pub mod time;

pub use conflicts::{Conflicts, name_key};
pub use conversation::{
    AppendRequest, Appended, Author, Channel, Conversation, HelperMessage, Message, Outcome, QueueItem,
    RequesterMessage, Role, SocketId, Status, Transition, transition_for_message,
};
pub use helper::{Helper, MailAlerts, Membership, PresenceStatus, QueueRole, Suspension};
pub use ids::{ConversationId, HelperId, QueueId, SiteId};
pub use text::{ClientId, Email, Language, MessageText, Username};

/// What kind of rule was broken: the input is wrong, or it conflicts with the state of
/// things (a closed conversation, another owner).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    Invalid,
    Conflict,
}

/// A broken rule, with a stable code (`text_too_long`) and an English explanation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DomainError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
}

impl DomainError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Invalid, code, message: message.into() }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Conflict, code, message: message.into() }
    }
}
