//! The step every operation on a conversation goes through: change it under its row
//! lock, add system messages and an audit event, commit, then publish what changed to
//! the hub — and what each side is told about it.

use std::sync::Arc;

use sqlx::AnyConnection;

use crate::domain::{
    Conversation, ConversationId, HelperId, Message, Outcome, QueueId, QueueItem, Role, Status,
};
use crate::error::{AppError, AppResult};
use crate::hub::{ConversationEvent, QueueEvent, QueueEventKind, StatusChange};
use crate::state::AppState;
use crate::store::{self, conversations, events, messages};

/// The visible state of a conversation before and after a change, to tell sockets and
/// dashboards only when something they show changed.
#[derive(Clone, Debug)]
pub struct StatusPublish {
    status: Status,
    outcome: Option<Outcome>,
    urgent: bool,
    owner_id: Option<HelperId>,
    queue: QueueId,
    pub owner_name: Option<String>,
    pub queue_event: Option<QueueEventKind>,
    pub item: Option<QueueItem>,
}

impl StatusPublish {
    pub fn snapshot(c: &Conversation) -> Self {
        Self {
            status: c.status,
            outcome: c.outcome,
            urgent: c.urgent,
            owner_id: c.owner_id.clone(),
            queue: c.queue.clone(),
            owner_name: None,
            queue_event: None,
            item: None,
        }
    }

    /// Whether the change shows on a queue listing: waiting or not, closed or not,
    /// owner, urgency, queue (not whose turn it is within a conversation).
    pub fn matters_to_queue(&self, before: &StatusPublish) -> bool {
        let phase = |s: Status| match s {
            Status::Active | Status::AwaitingRequester => Status::Active,
            other => other,
        };
        phase(self.status) != phase(before.status)
            || self.outcome != before.outcome
            || self.urgent != before.urgent
            || self.owner_id != before.owner_id
            || self.queue != before.queue
    }

    /// `Some(after)` when anything visible changed.
    pub fn changed(&self, after: &Conversation) -> Option<Self> {
        let now = Self::snapshot(after);
        let same = now.status == self.status
            && now.outcome == self.outcome
            && now.urgent == self.urgent
            && now.owner_id == self.owner_id
            && now.queue == self.queue;
        (!same).then_some(now)
    }
}

/// What an operation did, besides changing the conversation's fields.
pub struct Change {
    /// System messages to add, in the conversation's language.
    pub system_messages: Vec<String>,
    /// Audit action and details.
    pub action: &'static str,
    pub detail: serde_json::Value,
    pub queue_event: QueueEventKind,
}

/// The system message a requester sees at once on a possible threat of harm.
pub fn urgent_notice(state: &AppState, c: &Conversation) -> String {
    let contact = state.config.site(&c.site).map_or("", |s| s.emergency_contact.as_str());
    state.i18n.format(&c.lang, "helpline-system-urgent", &[contact])
}

/// The shown name of the owner, if any.
pub async fn owner_name(
    state: &AppState,
    conn: &mut AnyConnection,
    c: &Conversation,
) -> sqlx::Result<Option<String>> {
    let Some(owner) = &c.owner_id else { return Ok(None) };
    if let Some(name) = state.presence.shown_name(owner) {
        return Ok(Some(name));
    }
    Ok(store::helpers::find_by_id(conn, owner).await?.map(|h| h.shown_name()))
}

/// Tells the conversation's sockets its new status, and the dashboards what it means
/// for the queue (and the queue it left, after a move) — here and on the other nodes.
pub fn publish_status(state: &AppState, c: &Conversation, status: &StatusPublish) {
    let (event, queue_events) = status_events(c, status);
    state.hub.publish(&c.id, event);
    for queue_event in queue_events {
        state.hub.publish_queue(queue_event.kind, queue_event.item);
    }
}

/// What `publish_status` publishes: the conversation's event and the queues' events.
pub fn status_events(c: &Conversation, status: &StatusPublish) -> (ConversationEvent, Vec<QueueEvent>) {
    let event = ConversationEvent::Status(Arc::new(StatusChange {
        status: c.status,
        outcome: c.outcome,
        urgent: c.urgent,
        owner_name: status.owner_name.clone(),
        queue: c.queue.clone(),
        redirected_team: c.redirected_team.clone(),
        turn_only: status.queue_event.is_none(),
    }));
    let mut queue_events = Vec::new();
    if let (Some(kind), Some(item)) = (status.queue_event, &status.item) {
        queue_events.push(QueueEvent { kind, item: item.clone(), offered_to: None });
        if status.queue != c.queue {
            let mut gone = item.clone();
            gone.queue.clone_from(&status.queue);
            queue_events.push(QueueEvent { kind: QueueEventKind::Left, item: gone, offered_to: None });
        }
    }
    (event, queue_events)
}

/// Who does an operation, for the audit trail.
#[derive(Clone, Copy)]
pub struct Actor<'a> {
    pub role: Role,
    pub helper: Option<&'a HelperId>,
}

impl<'a> Actor<'a> {
    pub const REQUESTER: Actor<'static> = Actor { role: Role::Requester, helper: None };
    pub const SYSTEM: Actor<'static> = Actor { role: Role::System, helper: None };

    pub fn helper(id: &'a HelperId) -> Self {
        Self { role: Role::Helper, helper: Some(id) }
    }
}

/// Runs `change` on the locked conversation inside a write transaction, stores its
/// system messages and audit event, commits, then publishes.
pub async fn change_conversation<F>(
    state: &AppState,
    id: &ConversationId,
    actor: Actor<'_>,
    change: F,
) -> AppResult<Conversation>
where
    F: FnOnce(&mut Conversation, i64) -> AppResult<Change>,
{
    let mut tx = state.store.write.begin().await?;
    let mut conversation = conversations::lock(&mut tx, state.store.backend, id)
        .await?
        .ok_or(AppError::NotFound("No such conversation."))?;
    let before = StatusPublish::snapshot(&conversation);
    let conflicts_before = conversation.conflicts.clone();
    let now = state.now_ms();
    let change = change(&mut conversation, now)?;
    let mut added = Vec::new();
    for text in change.system_messages {
        conversation.last_seq += 1;
        added.push(Arc::new(Message::system(&conversation.id, conversation.last_seq, text, now)));
    }
    conversations::save_state(&mut tx, &conversation, now).await?;
    let conflicts_changed = conversation.conflicts != conflicts_before;
    if conflicts_changed {
        conversations::save_conflicts(&mut tx, &conversation).await?;
    }
    messages::insert_messages(&mut tx, &added).await?;
    events::insert_event(
        &mut tx,
        &conversation.id,
        now,
        actor.role,
        actor.helper,
        change.action,
        &change.detail,
    )
    .await?;
    let mut status = before.changed(&conversation).unwrap_or_else(|| StatusPublish::snapshot(&conversation));
    status.queue = before.queue.clone();
    status.owner_name = owner_name(state, &mut tx, &conversation).await?;
    status.item = Some(QueueItem::of(&conversation, status.owner_name.clone()));
    status.queue_event = Some(change.queue_event);
    tx.commit().await?;
    let received = std::time::Instant::now();
    for message in added {
        state.metrics.message_stored(Role::System);
        state.hub.publish(&conversation.id, ConversationEvent::Message { message, received, origin: None });
    }
    if conflicts_changed {
        let conflicts = Arc::new(conversation.conflicts.clone());
        state.hub.publish(&conversation.id, ConversationEvent::Conflicts(conflicts));
    }
    publish_status(state, &conversation, &status);
    Ok(conversation)
}

/// Raises a side's read mark (never backwards, never past the last message) and tells
/// the other side. Read marks are a courtesy: a failure is logged, not shown.
pub async fn mark_read(state: &AppState, id: &ConversationId, role: Role, seq: i64) {
    let moved = async {
        let mut conn = state.store.write.acquire().await?;
        conversations::set_read(&mut conn, id, role, seq).await
    }
    .await;
    match moved {
        Ok(true) => state.hub.publish(id, ConversationEvent::Read { role, seq }),
        Ok(false) => {}
        Err(error) => tracing::warn!(%error, "storing a read mark failed"),
    }
}

/// Every stored message after `last`, in order.
pub async fn messages_after(state: &AppState, id: &ConversationId, last: i64) -> sqlx::Result<Vec<Message>> {
    let mut conn = state.store.read.acquire().await?;
    messages::all_after(&mut conn, id, last).await
}

/// The conversation as stored now, if it exists.
pub async fn find(state: &AppState, id: &ConversationId) -> sqlx::Result<Option<Conversation>> {
    let mut conn = state.store.read.acquire().await?;
    conversations::find(&mut conn, id).await
}

/// How many wait before this one, plus one (`None` unless it is waiting).
pub async fn queue_position(state: &AppState, c: &Conversation) -> sqlx::Result<Option<i64>> {
    if c.status != Status::Waiting {
        return Ok(None);
    }
    let line = state
        .hub
        .positions
        .line(&c.queue, async || {
            let mut conn = state.store.read.acquire().await?;
            conversations::waiting_in_order(&mut conn, &c.queue).await
        })
        .await?;
    // Not in the line as read (it began waiting after): last, for now; the queue's
    // next event brings the right figure.
    Ok(Some(line.position(&c.id).unwrap_or_else(|| line.len() + 1)))
}

/// How many conversations wait for a helper now, in every queue (for `/metrics`).
pub async fn waiting_now(state: &AppState) -> sqlx::Result<i64> {
    let mut conn = state.store.read.acquire().await?;
    conversations::count_waiting(&mut conn).await
}
