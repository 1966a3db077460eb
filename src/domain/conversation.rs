//! The conversation: its status machine, its messages and how each side sees them.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::DomainError;
use super::conflicts::Conflicts;
use super::ids::{ConversationId, HelperId, QueueId, SiteId};
use super::time::rfc3339;

/// waiting → active → awaiting_requester ⇄ active → closed; a requester's message can
/// reopen a closed conversation within the reopen window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// In the queue, nobody owns it.
    Waiting,
    /// A helper owns it and the requester spoke last (or the helper just joined).
    Active,
    /// The helper answered; the requester's turn.
    AwaitingRequester,
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Resolved,
    Redirected,
    MovedToTalkPage,
    Withdrawn,
    NoResponse,
}

/// Who wrote a message or did an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Requester,
    Helper,
    System,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Chat,
    Email,
}

/// `as_str` and `parse` between an enum and the text it is stored as.
#[macro_export]
macro_rules! text_enum {
    ($ty:ty { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)* _ => None }
            }
        }
    };
}
text_enum!(Status { Waiting => "waiting", Active => "active", AwaitingRequester => "awaiting_requester", Closed => "closed" });
text_enum!(Outcome { Resolved => "resolved", Redirected => "redirected", MovedToTalkPage => "moved_to_talk_page", Withdrawn => "withdrawn", NoResponse => "no_response" });
text_enum!(Role { Requester => "requester", Helper => "helper", System => "system" });
text_enum!(Channel { Chat => "chat", Email => "email" });

impl Status {
    /// Open: someone may still write (waiting, active, awaiting the requester).
    pub fn is_open(self) -> bool {
        self != Self::Closed
    }
}

/// A conversation as stored.
#[derive(Clone, Debug)]
pub struct Conversation {
    pub id: ConversationId,
    pub token_hash: String,
    pub site: SiteId,
    pub queue: QueueId,
    pub lang: String,
    pub topic: String,
    pub channel: Channel,
    pub username: Option<String>,
    pub username_temporary: bool,
    pub status: Status,
    pub outcome: Option<Outcome>,
    pub urgent: bool,
    pub owner_id: Option<HelperId>,
    pub last_owner_id: Option<HelperId>,
    pub redirected_team: Option<String>,
    pub preview: String,
    pub last_seq: i64,
    pub requester_read_seq: i64,
    pub helper_read_seq: i64,
    pub created_at: i64,
    pub waiting_since: i64,
    pub first_reply_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// Helpers kept away from it: conflicts of interest.
    pub conflicts: Conflicts,
}

/// A message as stored. `client_key` scopes the client's id by author, so that two
/// authors' ids never collide.
#[derive(Clone, Debug)]
pub struct Message {
    pub conversation_id: ConversationId,
    pub seq: i64,
    pub author_role: Role,
    pub author_id: Option<HelperId>,
    pub author_name: Option<String>,
    pub internal: bool,
    pub text: String,
    pub masked_text: Option<String>,
    pub client_key: Option<String>,
    pub created_at: i64,
}

/// A message as the requester sees it: never an internal note, always their own words.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RequesterMessage {
    pub seq: i64,
    pub author_role: Role,
    /// The helper's shown name (their wiki name or a team alias).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    pub text: String,
    /// RFC 3339 time of commit.
    pub at: String,
    /// The id the requester's client gave this message, on their own messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// A message as a helper sees it: personal data of the requester masked; internal
/// notes included and marked.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HelperMessage {
    pub seq: i64,
    pub author_role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    pub internal: bool,
    pub text: String,
    /// True when personal data was masked in `text`.
    pub masked: bool,
    pub at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

const REQUESTER_KEY_PREFIX: &str = "r:";

/// The stored key of a requester's client id.
pub fn requester_client_key(client_id: &super::ClientId) -> String {
    format!("{REQUESTER_KEY_PREFIX}{client_id}")
}

/// The stored key of a helper's client id.
pub fn helper_client_key(helper: &HelperId, client_id: &super::ClientId) -> String {
    format!("h:{helper}:{client_id}")
}

impl Message {
    /// `None` for internal notes: they never reach the requester by any path.
    pub fn for_requester(&self) -> Option<RequesterMessage> {
        if self.internal {
            return None;
        }
        Some(RequesterMessage {
            seq: self.seq,
            author_role: self.author_role,
            author_name: self.author_name.clone(),
            text: self.text.clone(),
            at: rfc3339(self.created_at),
            client_id: self
                .client_key
                .as_deref()
                .and_then(|k| k.strip_prefix(REQUESTER_KEY_PREFIX))
                .map(str::to_string),
        })
    }

    pub fn for_helper(&self, helper: &HelperId) -> HelperMessage {
        let own_prefix = format!("h:{helper}:");
        HelperMessage {
            seq: self.seq,
            author_role: self.author_role,
            author_name: self.author_name.clone(),
            internal: self.internal,
            text: self.masked_text.clone().unwrap_or_else(|| self.text.clone()),
            masked: self.masked_text.is_some(),
            at: rfc3339(self.created_at),
            client_id: self
                .client_key
                .as_deref()
                .and_then(|k| k.strip_prefix(own_prefix.as_str()))
                .map(str::to_string),
        }
    }

    pub fn system(conversation_id: &ConversationId, seq: i64, text: String, at: i64) -> Self {
        Self {
            conversation_id: conversation_id.clone(),
            seq,
            author_role: Role::System,
            author_id: None,
            author_name: None,
            internal: false,
            text,
            masked_text: None,
            client_key: None,
            created_at: at,
        }
    }
}

/// A row of a helper's queue listing (and of queue events on their socket).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct QueueItem {
    pub id: ConversationId,
    pub site: SiteId,
    pub queue: QueueId,
    pub lang: String,
    pub topic: String,
    pub status: Status,
    pub urgent: bool,
    /// RFC 3339 time since when the request has been waiting for a helper.
    pub waiting_since: String,
    /// The owning helper's name, if claimed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The start of the request, personal data masked.
    pub preview: String,
    /// `waiting_since` in Unix milliseconds, for pages that show "waiting 5 min".
    #[serde(skip)]
    pub waiting_since_ms: i64,
    #[serde(skip)]
    pub owner_id: Option<HelperId>,
    /// Who must not see it (never sent).
    #[serde(skip)]
    pub conflicts: Conflicts,
}

impl QueueItem {
    pub fn of(c: &Conversation, owner: Option<String>) -> Self {
        Self {
            id: c.id.clone(),
            site: c.site.clone(),
            queue: c.queue.clone(),
            lang: c.lang.clone(),
            topic: c.topic.clone(),
            status: c.status,
            urgent: c.urgent,
            waiting_since: rfc3339(c.waiting_since),
            waiting_since_ms: c.waiting_since,
            owner,
            preview: c.preview.clone(),
            owner_id: c.owner_id.clone(),
            conflicts: c.conflicts.clone(),
        }
    }

    /// Whether `helper` may see this row: not kept away by a conflict of interest, and
    /// not held back while that is being checked (unless it is theirs already).
    pub fn visible_to(&self, helper: &crate::domain::Helper) -> bool {
        !helper.is_kept_away(&self.conflicts)
            && (!self.conflicts.pending() || self.owner_id.as_ref() == Some(&helper.id))
    }
}

/// Who writes a message.
#[derive(Clone, Debug)]
pub enum Author {
    Requester,
    Helper { id: HelperId, shown_name: String },
    System,
}

impl Author {
    pub fn role(&self) -> Role {
        match self {
            Self::Requester => Role::Requester,
            Self::Helper { .. } => Role::Helper,
            Self::System => Role::System,
        }
    }
}

/// A new message on its way to the group commit.
pub struct AppendRequest {
    pub conversation_id: ConversationId,
    pub author: Author,
    pub internal: bool,
    pub text: String,
    /// The text as helpers see it, when personal data was masked.
    pub masked_text: Option<String>,
    /// The author-scoped client id, for idempotent resends.
    pub client_key: Option<String>,
    /// Screening found a possible threat of harm.
    pub possible_harm: bool,
    /// A helper author's queues: the conversation must be in one of them, checked on
    /// the row the batch locks (so a transfer a moment before cannot slip through).
    pub author_queues: Option<Vec<QueueId>>,
    /// A helper author's name and alias: a conversation that keeps them away by a
    /// conflict of interest is not theirs to write in.
    pub author_names: Vec<String>,
    pub received: Instant,
    /// The live socket it came from, if any: on the lean wire that socket gets an `ack`
    /// and no echo of its own message.
    pub origin: Option<SocketId>,
}

/// A live socket of this node (numbered by the hub).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketId(pub u64);

/// What storing a message gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    pub seq: i64,
    /// The client id was already stored; nothing new was written.
    pub duplicate: bool,
}

/// What a new message does to its conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Status unchanged.
    Stay,
    /// Move to this status.
    To(Status),
    /// A closed conversation comes back: to its last helper if they are available,
    /// otherwise to the queue.
    Reopen { to_last_helper: bool },
}

/// Decides whether `author` may post now and what that does to the status.
/// `reopen_allowed` says whether a closed conversation is still inside the reopen window.
pub fn transition_for_message(
    conversation: &Conversation,
    author: &Author,
    internal: bool,
    reopen_allowed: bool,
    last_helper_available: bool,
) -> Result<Transition, DomainError> {
    use Status::*;
    match author {
        Author::Requester => match conversation.status {
            Closed if reopen_allowed => Ok(Transition::Reopen { to_last_helper: last_helper_available }),
            Closed => Err(DomainError::conflict(
                "closed",
                "This conversation is closed. Please start a new request.",
            )),
            AwaitingRequester => Ok(Transition::To(Active)),
            Waiting | Active => Ok(Transition::Stay),
        },
        Author::Helper { .. } if internal => Ok(Transition::Stay),
        Author::Helper { id, .. } => {
            if conversation.status == Closed {
                return Err(DomainError::conflict("closed", "This conversation is closed."));
            }
            match &conversation.owner_id {
                Some(owner) if owner == id => Ok(Transition::To(AwaitingRequester)),
                Some(_) => Err(DomainError::conflict(
                    "not_owner",
                    "Another helper owns this conversation; you can add internal notes.",
                )),
                None => {
                    Err(DomainError::conflict("not_claimed", "Claim this conversation before answering."))
                }
            }
        }
        Author::System => Ok(Transition::Stay),
    }
}

impl Conversation {
    /// Closes with an outcome; the owner is remembered as the last helper, for a reopen.
    pub fn close(&mut self, outcome: Outcome, now: i64) {
        self.status = Status::Closed;
        self.outcome = Some(outcome);
        self.closed_at = Some(now);
        if self.owner_id.is_some() {
            self.last_owner_id = self.owner_id.take();
        }
    }

    /// Whether `helper` owns it now.
    pub fn is_owned_by(&self, helper: &HelperId) -> bool {
        self.owner_id.as_ref() == Some(helper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation(status: Status, owner: Option<&str>) -> Conversation {
        Conversation {
            id: "c".into(),
            token_hash: String::new(),
            site: "s".into(),
            queue: "q".into(),
            lang: "en".into(),
            topic: "other".into(),
            channel: Channel::Chat,
            username: None,
            username_temporary: false,
            status,
            outcome: None,
            urgent: false,
            owner_id: owner.map(HelperId::from),
            last_owner_id: None,
            redirected_team: None,
            preview: String::new(),
            last_seq: 1,
            requester_read_seq: 0,
            helper_read_seq: 0,
            created_at: 0,
            waiting_since: 0,
            first_reply_at: None,
            closed_at: None,
            conflicts: Default::default(),
        }
    }

    fn helper(id: &str) -> Author {
        Author::Helper { id: id.into(), shown_name: id.into() }
    }

    #[test]
    fn requester_turns() {
        let c = conversation(Status::AwaitingRequester, Some("h"));
        assert_eq!(
            transition_for_message(&c, &Author::Requester, false, true, false).ok(),
            Some(Transition::To(Status::Active))
        );
        let closed = conversation(Status::Closed, None);
        assert_eq!(
            transition_for_message(&closed, &Author::Requester, false, true, true).ok(),
            Some(Transition::Reopen { to_last_helper: true })
        );
        let err = transition_for_message(&closed, &Author::Requester, false, false, true);
        assert_eq!(err.err().map(|e| e.code), Some("closed"));
    }

    #[test]
    fn only_the_owner_answers_but_anyone_notes() {
        let c = conversation(Status::Active, Some("alice"));
        assert_eq!(
            transition_for_message(&c, &helper("alice"), false, true, false).ok(),
            Some(Transition::To(Status::AwaitingRequester))
        );
        let err = transition_for_message(&c, &helper("bob"), false, true, false);
        assert_eq!(err.err().map(|e| e.code), Some("not_owner"));
        assert_eq!(
            transition_for_message(&c, &helper("bob"), true, true, false).ok(),
            Some(Transition::Stay)
        );
        let waiting = conversation(Status::Waiting, None);
        let err = transition_for_message(&waiting, &helper("bob"), false, true, false);
        assert_eq!(err.err().map(|e| e.code), Some("not_claimed"));
    }

    #[test]
    fn internal_notes_never_reach_the_requester() {
        let note = Message {
            conversation_id: "c".into(),
            seq: 3,
            author_role: Role::Helper,
            author_id: Some("h".into()),
            author_name: Some("H".into()),
            internal: true,
            text: "secret".into(),
            masked_text: None,
            client_key: None,
            created_at: 0,
        };
        assert!(note.for_requester().is_none());
        assert!(note.for_helper(&"x".into()).internal);
    }
}
