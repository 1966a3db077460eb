//! The message appender: every new message goes through one task per node that
//! commits whatever has queued up in one transaction (group commit), then acknowledges
//! and fans out. A message is acknowledged only after its transaction committed; a
//! resent `client_id` returns the stored `seq` instead of storing the message twice.
//! The queue itself is `state::Appender`; this module is its other end.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use sqlx::AnyConnection;

use super::service::{StatusPublish, owner_name, status_events, urgent_notice};
use crate::cluster::wire::Item;
use crate::domain::time::DAY_MS;
use crate::domain::{
    AppendRequest, Appended, Author, Conversation, ConversationId, Message, QueueItem, Role, Status,
    Transition, transition_for_message,
};
use crate::error::{AppError, AppResult};
use crate::hub::{ConversationEvent, QueueEvent, QueueEventKind};
use crate::state::{AppState, AppendJob, AppendQueue};
use crate::store::{Backend, blocks, conversations, events, messages};

/// Most messages committed in one transaction.
const MAX_BATCH: usize = 2048;

/// Starts taking messages off the queue. On SQLite it runs on a thread of its own:
/// between two statements it must take the database's answer at once, not wait its turn
/// behind every socket task of the server's runtime (measured in docs/PERFORMANCE.md).
/// It stops when every `Appender` handle is dropped.
pub fn start(state: AppState, queue: AppendQueue) -> anyhow::Result<()> {
    match state.store.backend {
        Backend::Sqlite => {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            std::thread::Builder::new()
                .name("helpline-appender".into())
                .spawn(move || runtime.block_on(run(state, queue)))?;
        }
        // A PostgreSQL connection belongs to the runtime that opened it; the appender
        // shares the server's.
        Backend::Postgres => {
            tokio::spawn(run(state, queue));
        }
    }
    Ok(())
}

async fn run(state: AppState, mut queue: AppendQueue) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit_batch(&state, &mut batch).await;
    }
}

/// What one request did, to publish after the commit.
struct Applied {
    appended: Appended,
    messages: Vec<Arc<Message>>,
    /// The conversation's status event and the queues' events, if anything changed.
    status: Option<(ConversationEvent, Vec<QueueEvent>)>,
}

/// What the batch has written but not yet stored: everything is written together at the
/// end, so a resend within the same batch is found here rather than in the table.
#[derive(Default)]
struct Pending {
    /// The batch's conversations as they were read (locked).
    loaded: HashMap<ConversationId, Conversation>,
    /// The batch's conversations, as the batch has changed them so far.
    conversations: HashMap<ConversationId, Conversation>,
    /// Ids of conversations to write back.
    changed: BTreeSet<ConversationId>,
    messages: Vec<Arc<Message>>,
    /// Audit events: conversation, actor, action, detail.
    events: Vec<(ConversationId, Role, &'static str, serde_json::Value)>,
    /// `(conversation, client key)` → `seq`, stored or written by this batch.
    client_keys: HashMap<(ConversationId, String), i64>,
    /// Token hashes of the batch's conversations whose requester is blocked now.
    blocked: HashSet<String>,
}

async fn commit_batch(state: &AppState, batch: &mut Vec<AppendJob>) {
    // Lock rows in one order (stable: a conversation's messages keep theirs), so that
    // batches of several nodes on PostgreSQL cannot deadlock each other.
    batch.sort_by(|a, b| a.request.conversation_id.cmp(&b.request.conversation_id));
    let mut results: Vec<AppResult<Applied>> = Vec::with_capacity(batch.len());
    let committed: sqlx::Result<()> = async {
        let mut tx = state.store.write.begin().await?;
        let mut pending = load(state, &mut tx, batch).await?;
        for job in batch.iter() {
            results.push(apply(state, &mut tx, &job.request, &mut pending).await?);
        }
        write_back(state, &mut tx, &pending).await?;
        // With several nodes, the others hear of the messages and what they changed when
        // (and only if) this transaction commits: a node dying right after its commit
        // loses no event, and one notification carries the whole batch.
        crate::cluster::notify(state, &mut tx, told_elsewhere(&pending.messages, &results)).await?;
        tx.commit().await
    }
    .await;
    state.metrics.append_batch(batch.len());
    match committed {
        Ok(()) => {
            for (job, result) in batch.drain(..).zip(results) {
                let answer = result.map(|applied| {
                    publish(state, &job.request, &applied);
                    applied.appended
                });
                let _ = job.reply.send(answer);
            }
        }
        Err(error) => {
            tracing::error!(%error, size = batch.len(), "committing a batch of messages failed");
            for job in batch.drain(..) {
                let _ = job.reply.send(Err(AppError::Internal(anyhow::anyhow!("storing failed"))));
            }
        }
    }
}

/// One read of every conversation of the batch (locked, in id order) and of every
/// client key it carries.
async fn load(state: &AppState, conn: &mut AnyConnection, batch: &[AppendJob]) -> sqlx::Result<Pending> {
    let mut ids: Vec<&ConversationId> = batch.iter().map(|j| &j.request.conversation_id).collect();
    ids.dedup();
    let keys: Vec<(&ConversationId, &str)> = batch
        .iter()
        .filter_map(|j| Some((&j.request.conversation_id, j.request.client_key.as_deref()?)))
        .collect();
    let loaded = conversations::lock_many(conn, state.store.backend, &ids).await?;
    // A blocked requester may not write: checked here, in the batch's transaction, so
    // that a block made a moment ago on another node holds (one read for the batch, and
    // none while no block is in force on a single node).
    let now = state.now_ms();
    let requesters: Vec<&str> = batch
        .iter()
        .filter(|j| j.request.author.role() == Role::Requester)
        .filter_map(|j| loaded.get(&j.request.conversation_id))
        .map(|c| c.token_hash.as_str())
        .collect();
    let blocked = match state.block_horizon.any_in_force(now) {
        true => blocks::blocked_among(conn, &requesters, now).await?,
        false => HashSet::new(),
    };
    Ok(Pending {
        conversations: loaded.clone(),
        client_keys: messages::stored_client_keys(conn, &keys).await?,
        loaded,
        blocked,
        ..Pending::default()
    })
}

/// Writes the batch's changes: most messages only pass the turn (and advance
/// `last_seq`), so those rows are written with the two columns alone, which leaves the
/// conversation indexes that do not hold them untouched.
async fn write_back(state: &AppState, conn: &mut AnyConnection, pending: &Pending) -> sqlx::Result<()> {
    let (turns, changed): (Vec<&Conversation>, Vec<&Conversation>) = pending
        .changed
        .iter()
        .filter_map(|id| pending.conversations.get(id))
        .partition(|c| pending.loaded.get(&c.id).is_some_and(|before| only_the_turn_moved(before, c)));
    let now = state.now_ms();
    conversations::save_turns(conn, &turns, now).await?;
    conversations::save_states(conn, &changed, now).await?;
    messages::insert_messages(conn, &pending.messages).await?;
    for (id, role, action, detail) in &pending.events {
        events::insert_event(conn, id, now, *role, None, action, detail).await?;
    }
    Ok(())
}

/// Whether `after` differs from `before` in nothing but its status and `last_seq`.
fn only_the_turn_moved(before: &Conversation, after: &Conversation) -> bool {
    before.outcome == after.outcome
        && before.urgent == after.urgent
        && before.owner_id == after.owner_id
        && before.last_owner_id == after.last_owner_id
        && before.redirected_team == after.redirected_team
        && before.waiting_since == after.waiting_since
        && before.first_reply_at == after.first_reply_at
        && before.closed_at == after.closed_at
        && before.queue == after.queue
}

/// What the other nodes hear of the batch: its messages, status and queue events.
fn told_elsewhere<'a>(
    messages: &'a [Arc<Message>],
    results: &'a [AppResult<Applied>],
) -> impl Iterator<Item = Item> + 'a {
    let changes = results.iter().filter_map(|r| r.as_ref().ok()).filter_map(|applied| {
        let (event, queue_events) = applied.status.as_ref()?;
        let id = &applied.messages.first()?.conversation_id;
        Some(Item::of_event(id, event).into_iter().chain(queue_events.iter().map(Item::queue)))
    });
    messages.iter().map(|m| Item::message(m)).chain(changes.flatten())
}

/// To this node's sockets (the other nodes were told in the transaction).
fn publish(state: &AppState, request: &AppendRequest, applied: &Applied) {
    for (i, message) in applied.messages.iter().enumerate() {
        state.metrics.message_stored(message.author_role);
        // The request's own message comes first; the system messages it caused reach
        // every socket, the sender's too.
        let origin = if i == 0 { request.origin } else { None };
        let event =
            ConversationEvent::Message { message: Arc::clone(message), received: request.received, origin };
        state.hub.publish_here(&request.conversation_id, event);
    }
    if let Some((event, queue_events)) = &applied.status {
        state.hub.publish_here(&request.conversation_id, event.clone());
        for queue_event in queue_events {
            state.hub.publish_queue_here(Arc::new(queue_event.clone()));
        }
    }
}

/// Applies one request inside the batch transaction. The outer error aborts the batch
/// (a database failure); the inner one rejects only this request.
async fn apply(
    state: &AppState,
    conn: &mut AnyConnection,
    request: &AppendRequest,
    pending: &mut Pending,
) -> sqlx::Result<AppResult<Applied>> {
    let mut conversation = match the_conversation(request, pending) {
        Ok(c) => c,
        Err(rejection) => return Ok(Err(rejection)),
    };
    if request.author.role() == Role::Requester && pending.blocked.contains(&conversation.token_hash) {
        return Ok(Err(AppError::Blocked));
    }
    let key = request.client_key.clone().filter(|k| !k.is_empty());
    if let Some(key) = &key
        && let Some(seq) = pending.client_keys.get(&(conversation.id.clone(), key.clone())).copied()
    {
        let appended = Appended { seq, duplicate: true };
        return Ok(Ok(Applied { appended, messages: Vec::new(), status: None }));
    }
    let now = state.now_ms();
    let transition = match decide(state, &conversation, request, now) {
        Ok(t) => t,
        Err(rejection) => return Ok(Err(rejection)),
    };
    let before = StatusPublish::snapshot(&conversation);
    let mut effects = Effects::default();
    take_transition(state, &mut conversation, transition, now, &mut effects);
    let mut added = vec![Arc::new(new_message(&mut conversation, request, now))];
    if request.possible_harm && request.author.role() == Role::Requester && !conversation.urgent {
        conversation.urgent = true;
        effects.queue_event.get_or_insert(QueueEventKind::Updated);
        effects.system_texts.push(urgent_notice(state, &conversation));
        effects.events.push((Role::System, "flagged_urgent", serde_json::json!({})));
    }
    for text in effects.system_texts {
        conversation.last_seq += 1;
        added.push(Arc::new(Message::system(&conversation.id, conversation.last_seq, text, now)));
    }
    for (role, action, detail) in effects.events {
        pending.events.push((conversation.id.clone(), role, action, detail));
    }
    pending.changed.insert(conversation.id.clone());
    pending.conversations.insert(conversation.id.clone(), conversation.clone());
    if let Some(key) = key {
        pending.client_keys.insert((conversation.id.clone(), key), added[0].seq);
    }
    pending.messages.extend(added.iter().cloned());
    let status = status_to_publish(state, conn, &before, &conversation, effects.queue_event)
        .await?
        .map(|status| status_events(&conversation, &status));
    let appended = Appended { seq: added[0].seq, duplicate: false };
    Ok(Ok(Applied { appended, messages: added, status }))
}

/// The request's conversation as the batch has it, if the author may write there.
fn the_conversation(request: &AppendRequest, pending: &Pending) -> AppResult<Conversation> {
    let member = |c: &Conversation| {
        request.author_queues.as_ref().is_none_or(|q| q.contains(&c.queue))
            && !c.conflicts.hides(&request.author_names)
    };
    pending.conversations.get(&request.conversation_id).filter(|c| member(c)).cloned().ok_or(
        match request.author_queues {
            Some(_) => AppError::NotFound("No such conversation in your queues."),
            None => AppError::NotFound("No such conversation."),
        },
    )
}

/// Whether the author may post now, and what that does to the status.
fn decide(state: &AppState, c: &Conversation, request: &AppendRequest, now: i64) -> AppResult<Transition> {
    let reopen_days = i64::from(state.config.reopen_days);
    let reopen_allowed = c.closed_at.is_some_and(|t| now - t <= reopen_days * DAY_MS);
    let last_helper_available =
        c.last_owner_id.as_ref().is_some_and(|h| state.presence.is_available_for(h, &c.queue));
    Ok(transition_for_message(c, &request.author, request.internal, reopen_allowed, last_helper_available)?)
}

/// What a message does besides itself: system messages, audit events, a queue event.
#[derive(Default)]
struct Effects {
    system_texts: Vec<String>,
    events: Vec<(Role, &'static str, serde_json::Value)>,
    queue_event: Option<QueueEventKind>,
}

fn take_transition(
    state: &AppState,
    c: &mut Conversation,
    transition: Transition,
    now: i64,
    effects: &mut Effects,
) {
    match transition {
        Transition::Stay => {}
        Transition::To(status) => c.status = status,
        Transition::Reopen { to_last_helper } => {
            c.closed_at = None;
            c.outcome = None;
            c.redirected_team = None;
            if to_last_helper {
                c.owner_id.clone_from(&c.last_owner_id);
                c.status = Status::Active;
            } else {
                c.owner_id = None;
                c.status = Status::Waiting;
                c.waiting_since = now;
            }
            effects.queue_event = Some(QueueEventKind::Reopened);
            effects.system_texts.push(state.i18n.format(&c.lang, "helpline-system-reopened", &[]));
            effects.events.push((
                Role::Requester,
                "reopened",
                serde_json::json!({ "to_last_helper": to_last_helper }),
            ));
        }
    }
}

/// The request's message, with the conversation's next `seq`.
fn new_message(c: &mut Conversation, request: &AppendRequest, now: i64) -> Message {
    let (author_id, author_name) = match &request.author {
        Author::Helper { id, shown_name } => (Some(id.clone()), Some(shown_name.clone())),
        Author::Requester | Author::System => (None, None),
    };
    if request.author.role() == Role::Helper && !request.internal {
        c.first_reply_at.get_or_insert(now);
    }
    c.last_seq += 1;
    Message {
        conversation_id: c.id.clone(),
        seq: c.last_seq,
        author_role: request.author.role(),
        author_id,
        author_name,
        internal: request.internal,
        text: request.text.clone(),
        masked_text: request.masked_text.clone(),
        client_key: request.client_key.clone(),
        created_at: now,
    }
}

/// What the conversation's sockets and the dashboards are told, if anything.
async fn status_to_publish(
    state: &AppState,
    conn: &mut AnyConnection,
    before: &StatusPublish,
    after: &Conversation,
    queue_event: Option<QueueEventKind>,
) -> sqlx::Result<Option<StatusPublish>> {
    let mut status = before.changed(after);
    if let Some(kind) = queue_event {
        status.get_or_insert_with(|| StatusPublish::snapshot(after)).queue_event = Some(kind);
    } else if let Some(status) = &mut status
        && status.matters_to_queue(before)
    {
        // Turn-taking (active ⇄ awaiting_requester) is news for the conversation's own
        // sockets only; telling every dashboard of each message would multiply the load.
        status.queue_event = Some(QueueEventKind::Updated);
    }
    if let Some(status) = &mut status {
        status.owner_name = owner_name(state, conn, after).await?;
        status.item = Some(QueueItem::of(after, status.owner_name.clone()));
    }
    Ok(status)
}
