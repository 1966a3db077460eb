//! What one node's notification says: JSON, `{"n": node, "i": [items]}`, each under
//! PostgreSQL's 8,000-byte limit for a payload. Its own types, so that changing what
//! the API shows never changes what the nodes say to each other (and back).

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::domain::{
    Conflicts, ConversationId, Helper, HelperId, Membership, Message, Outcome, QueueId, QueueItem, QueueRole,
    Role, SiteId, Status, Suspension,
};
use crate::hub::{ConversationEvent, NodeId, QueueEvent, QueueEventKind, StatusChange};

/// Under PostgreSQL's limit of 8,000 bytes, with room for the envelope.
const PAYLOAD_LIMIT: usize = 7_900;

#[derive(Serialize, Deserialize)]
pub struct Envelope {
    pub n: NodeId,
    pub i: Vec<Item>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Item {
    /// Sent every few seconds: the node is alive (and hears its own notifications).
    Alive,
    Message {
        c: ConversationId,
        m: WireMessage,
    },
    /// A message too long for a notification: read it from the store.
    Stored {
        c: ConversationId,
        seq: i64,
    },
    Status {
        c: ConversationId,
        s: WireStatus,
    },
    Typing {
        c: ConversationId,
        role: Role,
        name: Option<String>,
    },
    Read {
        c: ConversationId,
        role: Role,
        seq: i64,
    },
    Conflicts {
        c: ConversationId,
        stored: String,
    },
    Queue {
        kind: QueueEventKind,
        item: WireQueueItem,
        to: Option<HelperId>,
    },
    Membership {
        h: HelperId,
    },
    Online {
        helper: WireHelper,
    },
    Offline {
        h: HelperId,
    },
    Viewers {
        c: ConversationId,
        names: Vec<String>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
pub struct WireMessage {
    seq: i64,
    role: Role,
    author_id: Option<HelperId>,
    author_name: Option<String>,
    internal: bool,
    text: String,
    masked: Option<String>,
    key: Option<String>,
    at: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct WireStatus {
    status: Status,
    outcome: Option<Outcome>,
    urgent: bool,
    owner_name: Option<String>,
    queue: QueueId,
    redirected_team: Option<String>,
    turn_only: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct WireQueueItem {
    id: ConversationId,
    site: SiteId,
    queue: QueueId,
    lang: String,
    topic: String,
    status: Status,
    urgent: bool,
    waiting_since: String,
    waiting_since_ms: i64,
    owner: Option<String>,
    owner_id: Option<HelperId>,
    preview: String,
    conflicts: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct WireHelper {
    id: HelperId,
    name: String,
    languages: Vec<String>,
    away: bool,
    queues: Vec<(QueueId, QueueRole)>,
    alias: Option<String>,
    capacity: i64,
    suspended: Vec<(QueueId, String)>,
}

impl Item {
    /// The item for a conversation event, if other nodes need it.
    pub fn of_event(c: &ConversationId, event: &ConversationEvent) -> Option<Self> {
        let c = c.clone();
        Some(match event {
            ConversationEvent::Message { message, .. } => Self::message(message),
            ConversationEvent::Status(s) => Self::Status {
                c,
                s: WireStatus {
                    status: s.status,
                    outcome: s.outcome,
                    urgent: s.urgent,
                    owner_name: s.owner_name.clone(),
                    queue: s.queue.clone(),
                    redirected_team: s.redirected_team.clone(),
                    turn_only: s.turn_only,
                },
            },
            ConversationEvent::Typing { role, name } => Self::Typing { c, role: *role, name: name.clone() },
            ConversationEvent::Read { role, seq } => Self::Read { c, role: *role, seq: *seq },
            ConversationEvent::Conflicts(conflicts) => Self::Conflicts { c, stored: conflicts.to_stored() },
            ConversationEvent::Viewers(_) => return None,
        })
    }

    pub fn message(m: &Message) -> Self {
        Self::Message {
            c: m.conversation_id.clone(),
            m: WireMessage {
                seq: m.seq,
                role: m.author_role,
                author_id: m.author_id.clone(),
                author_name: m.author_name.clone(),
                internal: m.internal,
                text: m.text.clone(),
                masked: m.masked_text.clone(),
                key: m.client_key.clone(),
                at: m.created_at,
            },
        }
    }

    pub fn queue(event: &QueueEvent) -> Self {
        let i = &event.item;
        Self::Queue {
            kind: event.kind,
            item: WireQueueItem {
                id: i.id.clone(),
                site: i.site.clone(),
                queue: i.queue.clone(),
                lang: i.lang.clone(),
                topic: i.topic.clone(),
                status: i.status,
                urgent: i.urgent,
                waiting_since: i.waiting_since.clone(),
                waiting_since_ms: i.waiting_since_ms,
                owner: i.owner.clone(),
                owner_id: i.owner_id.clone(),
                preview: i.preview.clone(),
                conflicts: i.conflicts.to_stored(),
            },
            to: event.offered_to.clone(),
        }
    }

    pub fn online(h: &Helper) -> Self {
        Self::Online {
            helper: WireHelper {
                id: h.id.clone(),
                name: h.name.clone(),
                languages: h.languages.clone(),
                away: h.away,
                queues: h.queues.iter().map(|m| (m.queue.clone(), m.role)).collect(),
                alias: h.alias.clone(),
                capacity: h.capacity,
                suspended: h.suspended.iter().map(|s| (s.queue.clone(), s.reason.clone())).collect(),
            },
        }
    }
}

impl WireMessage {
    pub fn into_event(self, c: ConversationId) -> ConversationEvent {
        let message = Message {
            conversation_id: c,
            seq: self.seq,
            author_role: self.role,
            author_id: self.author_id,
            author_name: self.author_name,
            internal: self.internal,
            text: self.text,
            masked_text: self.masked,
            client_key: self.key,
            created_at: self.at,
        };
        // Sockets here never sent it: no origin to skip.
        ConversationEvent::Message { message: Arc::new(message), received: Instant::now(), origin: None }
    }
}

impl WireStatus {
    pub fn into_event(self) -> ConversationEvent {
        ConversationEvent::Status(Arc::new(StatusChange {
            status: self.status,
            outcome: self.outcome,
            urgent: self.urgent,
            owner_name: self.owner_name,
            queue: self.queue,
            redirected_team: self.redirected_team,
            turn_only: self.turn_only,
        }))
    }
}

impl WireQueueItem {
    pub fn into_event(self, kind: QueueEventKind, offered_to: Option<HelperId>) -> QueueEvent {
        let item = QueueItem {
            id: self.id,
            site: self.site,
            queue: self.queue,
            lang: self.lang,
            topic: self.topic,
            status: self.status,
            urgent: self.urgent,
            waiting_since: self.waiting_since,
            owner: self.owner,
            preview: self.preview,
            waiting_since_ms: self.waiting_since_ms,
            owner_id: self.owner_id,
            conflicts: Conflicts::parse(&self.conflicts),
        };
        QueueEvent { kind, item, offered_to }
    }
}

impl WireHelper {
    pub fn into_helper(self) -> Helper {
        Helper {
            id: self.id,
            name: self.name,
            languages: self.languages,
            away: self.away,
            queues: self.queues.into_iter().map(|(queue, role)| Membership { queue, role }).collect(),
            alias: self.alias,
            capacity: self.capacity,
            suspended: self
                .suspended
                .into_iter()
                .map(|(queue, reason)| Suspension { queue, reason })
                .collect(),
        }
    }
}

/// The items as payloads of at most `PAYLOAD_LIMIT` bytes each, in order. A message too
/// long for one payload goes as `Stored` (read from the store where it is wanted);
/// any other item that long is left out, and logged.
pub fn payloads(node: NodeId, items: impl IntoIterator<Item = Item>) -> Vec<String> {
    let head = format!("{{\"n\":{},\"i\":[", node.0);
    let tail = "]}";
    let room = PAYLOAD_LIMIT - head.len() - tail.len();
    let mut out = Vec::new();
    let mut current = String::new();
    for item in items {
        let Some(json) = encoded(item, room) else { continue };
        if !current.is_empty() && current.len() + 1 + json.len() > room {
            out.push(format!("{head}{current}{tail}"));
            current.clear();
        }
        if !current.is_empty() {
            current.push(',');
        }
        current.push_str(&json);
    }
    if !current.is_empty() {
        out.push(format!("{head}{current}{tail}"));
    }
    out
}

fn encoded(item: Item, room: usize) -> Option<String> {
    let json = serde_json::to_string(&item).ok()?;
    if json.len() <= room {
        return Some(json);
    }
    match item {
        Item::Message { c, m } => serde_json::to_string(&Item::Stored { c, seq: m.seq }).ok(),
        other => {
            tracing::warn!(bytes = json.len(), item = ?std::mem::discriminant(&other), "an event too long to tell the other nodes was left out");
            None
        }
    }
}

/// The node a payload comes from, read from its start (`{"n":NODE,`) without parsing the
/// rest.
pub fn from_node(payload: &str) -> Option<NodeId> {
    let rest = payload.strip_prefix("{\"n\":")?;
    let end = rest.find(',')?;
    rest[..end].parse().ok().map(NodeId)
}

pub fn parse(payload: &str) -> serde_json::Result<Envelope> {
    serde_json::from_str(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: i64, text: &str) -> Message {
        Message {
            conversation_id: ConversationId::from("c_1"),
            seq,
            author_role: Role::Requester,
            author_id: None,
            author_name: None,
            internal: false,
            text: text.into(),
            masked_text: None,
            client_key: Some("r:abc".into()),
            created_at: 5,
        }
    }

    #[test]
    fn payloads_stay_under_the_limit_and_keep_order() {
        let items = (1..=100).map(|seq| Item::message(&message(seq, &"é".repeat(300))));
        let payloads = payloads(NodeId(7), items);
        assert!(payloads.len() > 1);
        let mut seqs = Vec::new();
        for p in &payloads {
            assert!(p.len() <= PAYLOAD_LIMIT, "{}", p.len());
            let envelope = parse(p).unwrap();
            assert_eq!(envelope.n, NodeId(7));
            assert_eq!(from_node(p), Some(NodeId(7)));
            for item in envelope.i {
                let Item::Message { m, .. } = item else { panic!("not a message") };
                seqs.push(m.seq);
            }
        }
        assert_eq!(seqs, (1..=100).collect::<Vec<_>>());
    }

    #[test]
    fn a_message_too_long_goes_by_its_seq() {
        let long = "😀".repeat(1000) + &"x".repeat(5000);
        let payloads =
            payloads(NodeId(1), [Item::message(&message(3, &long)), Item::message(&message(4, "hi"))]);
        let items: Vec<Item> = payloads.iter().flat_map(|p| parse(p).unwrap().i).collect();
        assert!(matches!(items[0], Item::Stored { seq: 3, .. }), "{items:?}");
        assert!(matches!(&items[1], Item::Message { m, .. } if m.text == "hi"));
    }

    #[test]
    fn a_message_comes_back_as_it_went() {
        let sent = message(9, "line one\nline \"two\" <b>");
        let Item::Message { c, m } =
            parse(&payloads(NodeId(1), [Item::message(&sent)])[0]).unwrap().i.remove(0)
        else {
            panic!("not a message")
        };
        let ConversationEvent::Message { message, origin, .. } = m.into_event(c) else {
            panic!("not a message")
        };
        assert_eq!(origin, None);
        assert_eq!(message.text, sent.text);
        assert_eq!(message.seq, 9);
        assert_eq!(message.client_key, sent.client_key);
        assert_eq!(message.conversation_id, sent.conversation_id);
    }
}
