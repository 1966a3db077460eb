//! The message appender: every new message goes through one task per node that
//! commits whatever has queued up in one transaction (group commit), then acknowledges
//! and fans out. A message is acknowledged only after its transaction committed; a
//! resent `client_id` returns the stored `seq` instead of storing the message twice.

use std::sync::Arc;
use std::time::Instant;

use sqlx::AnyConnection;
use tokio::sync::{mpsc, oneshot};

use super::model::{Author, Conversation, Message, Role, Status, Transition, transition_for_message};
use super::queries;
use super::service::{Services, StatusPublish, queue_item};
use crate::error::{AppError, AppResult};
use crate::live::hub::{ConversationEvent, QueueEventKind};
use crate::store::{Backend, now_ms};

/// Most messages committed in one transaction.
const MAX_BATCH: usize = 2048;
const DAY_MS: i64 = 86_400_000;

pub struct AppendRequest {
    pub conversation_id: String,
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
    pub author_queues: Option<Vec<String>>,
    pub received: Instant,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    pub seq: i64,
    /// The client id was already stored; nothing new was written.
    pub duplicate: bool,
}

struct Job {
    request: AppendRequest,
    reply: oneshot::Sender<AppResult<Appended>>,
}

#[derive(Clone)]
pub struct Appender {
    sender: mpsc::Sender<Job>,
}

/// What one request did, to publish after the commit.
struct Applied {
    appended: Appended,
    conversation: Option<Conversation>,
    messages: Vec<Arc<Message>>,
    status: Option<StatusPublish>,
}

impl Appender {
    /// Starts the appender. On SQLite it runs on a thread of its own: between two
    /// statements it must take the database's answer at once, not wait its turn behind
    /// every socket task of the server's runtime (measured in docs/PERFORMANCE.md). It
    /// stops when the last `Appender` handle is dropped.
    pub fn start(services: Arc<Services>) -> anyhow::Result<Self> {
        let (sender, receiver) = mpsc::channel(16 * MAX_BATCH);
        match services.store.backend {
            Backend::Sqlite => {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                std::thread::Builder::new()
                    .name("helpline-appender".into())
                    .spawn(move || runtime.block_on(run(services, receiver)))?;
            }
            // A PostgreSQL connection belongs to the runtime that opened it; the
            // appender shares the server's.
            Backend::Postgres => {
                tokio::spawn(run(services, receiver));
            }
        }
        Ok(Self { sender })
    }

    /// Stores the message; returns once it is committed.
    pub async fn append(&self, request: AppendRequest) -> AppResult<Appended> {
        self.submit(request).await?.await
    }

    /// Queues the message and returns once it is queued; the future it gives resolves
    /// once the message is committed. Messages one caller queues one after another are
    /// committed in that order, so a socket can have several in flight without
    /// reordering them.
    pub async fn submit(
        &self,
        request: AppendRequest,
    ) -> AppResult<impl Future<Output = AppResult<Appended>> + Send + 'static> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Job { request, reply })
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the message appender has stopped")))?;
        Ok(async move {
            answer
                .await
                .map_err(|_| AppError::Internal(anyhow::anyhow!("the message appender dropped a message")))?
        })
    }
}

async fn run(services: Arc<Services>, mut receiver: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit_batch(&services, &mut batch).await;
    }
}

async fn commit_batch(services: &Services, batch: &mut Vec<Job>) {
    // Lock rows in one order (stable: a conversation's messages keep theirs), so that
    // batches of several nodes on PostgreSQL cannot deadlock each other.
    batch.sort_by(|a, b| a.request.conversation_id.cmp(&b.request.conversation_id));
    let mut results: Vec<AppResult<Applied>> = Vec::with_capacity(batch.len());
    let committed: sqlx::Result<()> = async {
        let mut tx = services.store.write.begin().await?;
        // One read of every conversation of the batch and of every client key it
        // carries; then the batch is applied in memory and written back at once.
        let mut ids: Vec<&str> = batch.iter().map(|j| j.request.conversation_id.as_str()).collect();
        ids.dedup();
        let keys: Vec<(&str, &str)> = batch
            .iter()
            .filter_map(|j| Some((j.request.conversation_id.as_str(), j.request.client_key.as_deref()?)))
            .collect();
        let loaded = queries::lock_many(&mut tx, services.store.backend, &ids).await?;
        let mut pending = Pending {
            conversations: loaded.clone(),
            client_keys: queries::stored_client_keys(&mut tx, &keys).await?,
            ..Pending::default()
        };
        for job in batch.iter() {
            results.push(apply(services, &mut tx, &job.request, &mut pending).await?);
        }
        // Most messages only pass the turn (and advance `last_seq`): those rows are
        // written with the two columns alone, which leaves the conversation indexes
        // that do not hold them untouched.
        let (turns, changed): (Vec<&Conversation>, Vec<&Conversation>) = pending
            .changed
            .iter()
            .filter_map(|id| pending.conversations.get(id))
            .partition(|c| loaded.get(&c.id).is_some_and(|before| only_the_turn_moved(before, c)));
        let now = now_ms();
        queries::save_turns(&mut tx, &turns, now).await?;
        queries::save_states(&mut tx, &changed, now).await?;
        queries::insert_messages(&mut tx, &pending.messages).await?;
        tx.commit().await
    }
    .await;
    services.metrics.append_batch(batch.len());
    match committed {
        Ok(()) => {
            for (job, result) in batch.drain(..).zip(results) {
                let answer = result.map(|applied| {
                    publish(services, &job.request, &applied);
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

fn publish(services: &Services, request: &AppendRequest, applied: &Applied) {
    for message in &applied.messages {
        services.metrics.message_stored(message.author_role);
        services.hub.publish(
            &request.conversation_id,
            ConversationEvent::Message { message: Arc::clone(message), received: request.received },
        );
    }
    if let (Some(status), Some(conversation)) = (&applied.status, &applied.conversation) {
        services.publish_status(conversation, status);
    }
}

/// What the batch has written but not yet inserted: messages are inserted together at
/// the end, so a resend within the same batch is found here rather than in the table.
#[derive(Default)]
struct Pending {
    /// The batch's conversations, as the batch has changed them so far.
    conversations: std::collections::HashMap<String, Conversation>,
    /// Ids of conversations to write back.
    changed: std::collections::BTreeSet<String>,
    messages: Vec<Arc<Message>>,
    /// `(conversation, client key)` → `seq`, stored or written by this batch.
    client_keys: std::collections::HashMap<(String, String), i64>,
}

/// Applies one request inside the batch transaction. The outer error aborts the batch
/// (a database failure); the inner one rejects only this request.
async fn apply(
    services: &Services,
    conn: &mut AnyConnection,
    request: &AppendRequest,
    pending: &mut Pending,
) -> sqlx::Result<AppResult<Applied>> {
    let key = request.client_key.as_deref().unwrap_or("");
    let member = |c: &Conversation| request.author_queues.as_ref().is_none_or(|q| q.contains(&c.queue));
    let Some(mut conversation) =
        pending.conversations.get(&request.conversation_id).filter(|c| member(c)).cloned()
    else {
        return Ok(Err(match request.author_queues {
            Some(_) => AppError::NotFound("No such conversation in your queues."),
            None => AppError::NotFound("No such conversation."),
        }));
    };
    let pending_key = (conversation.id.clone(), key.to_string());
    let duplicate = pending.client_keys.get(&pending_key).copied();
    if let Some(seq) = duplicate.filter(|_| !key.is_empty()) {
        return Ok(Ok(Applied {
            appended: Appended { seq, duplicate: true },
            conversation: None,
            messages: Vec::new(),
            status: None,
        }));
    }
    let now = now_ms();
    let reopen_days = i64::from(services.config.reopen_days);
    let reopen_allowed = conversation.closed_at.is_some_and(|t| now - t <= reopen_days * DAY_MS);
    let last_helper_available = conversation
        .last_owner_id
        .as_deref()
        .is_some_and(|h| services.presence.is_available_for(h, &conversation.queue));
    let transition = match transition_for_message(
        &conversation,
        &request.author,
        request.internal,
        reopen_allowed,
        last_helper_available,
    ) {
        Ok(t) => t,
        Err(rejection) => return Ok(Err(rejection)),
    };
    let before = StatusPublish::snapshot(&conversation);
    let mut queue_event = None;
    let mut system_texts = Vec::new();
    match transition {
        Transition::Stay => {}
        Transition::To(status) => conversation.status = status,
        Transition::Reopen { to_last_helper } => {
            conversation.closed_at = None;
            conversation.outcome = None;
            conversation.redirected_team = None;
            if to_last_helper {
                conversation.owner_id.clone_from(&conversation.last_owner_id);
                conversation.status = Status::Active;
            } else {
                conversation.owner_id = None;
                conversation.status = Status::Waiting;
                conversation.waiting_since = now;
            }
            queue_event = Some(QueueEventKind::Reopened);
            system_texts.push(services.i18n.format(&conversation.lang, "helpline-system-reopened", &[]));
            queries::insert_event(
                conn,
                &conversation.id,
                now,
                Role::Requester,
                None,
                "reopened",
                &serde_json::json!({ "to_last_helper": to_last_helper }),
            )
            .await?;
        }
    }
    let (author_id, author_name) = match &request.author {
        Author::Helper { id, shown_name } => (Some(id.clone()), Some(shown_name.clone())),
        Author::Requester | Author::System => (None, None),
    };
    if request.author.role() == Role::Helper && !request.internal {
        conversation.first_reply_at.get_or_insert(now);
    }
    conversation.last_seq += 1;
    let mut messages = vec![Arc::new(Message {
        conversation_id: conversation.id.clone(),
        seq: conversation.last_seq,
        author_role: request.author.role(),
        author_id,
        author_name,
        internal: request.internal,
        text: request.text.clone(),
        masked_text: request.masked_text.clone(),
        client_key: request.client_key.clone(),
        created_at: now,
    })];
    if request.possible_harm && request.author.role() == Role::Requester && !conversation.urgent {
        conversation.urgent = true;
        queue_event.get_or_insert(QueueEventKind::Updated);
        system_texts.push(services.urgent_notice(&conversation));
        queries::insert_event(
            conn,
            &conversation.id,
            now,
            Role::System,
            None,
            "flagged_urgent",
            &serde_json::json!({}),
        )
        .await?;
    }
    for text in system_texts {
        conversation.last_seq += 1;
        messages.push(Arc::new(Message::system(&conversation.id, conversation.last_seq, text, now)));
    }
    pending.changed.insert(conversation.id.clone());
    pending.conversations.insert(conversation.id.clone(), conversation.clone());
    if !key.is_empty() {
        pending.client_keys.insert(pending_key, messages[0].seq);
    }
    pending.messages.extend(messages.iter().cloned());
    let mut status = before.changed(&conversation);
    if let Some(kind) = queue_event {
        let status = status.get_or_insert_with(|| StatusPublish::snapshot(&conversation));
        status.queue_event = Some(kind);
    } else if let Some(status) = &mut status
        && status.matters_to_queue(&before)
    {
        // Turn-taking (active ⇄ awaiting_requester) is news for the conversation's own
        // sockets only; telling every dashboard of each message would multiply the load.
        status.queue_event = Some(QueueEventKind::Updated);
    }
    if let Some(status) = &mut status {
        status.owner_name = services.owner_name(conn, &conversation).await?;
        status.item = Some(queue_item(&conversation, status.owner_name.clone()));
    }
    Ok(Ok(Applied {
        appended: Appended { seq: messages[0].seq, duplicate: false },
        conversation: Some(conversation),
        messages,
        status,
    }))
}
