//! Conversation operations shared by the requester's and the helpers' edges: the
//! state they run on (`Services`), creation, and the generic "change a conversation,
//! add system messages, audit, commit, then publish" step every operation uses.

use std::sync::Arc;

use sqlx::AnyConnection;

use super::model::{Conversation, Message, Outcome, Role, Status};
use super::queries::{self, QueueItem};
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::helpers::presence::Presence;
use crate::i18n::I18n;
use crate::live::hub::{ConversationEvent, Hub, QueueEventKind, StatusChange};
use crate::ops::metrics::Metrics;
use crate::screening::Screener;
use crate::secrets::Secrets;
use crate::store::{Store, now_ms};

/// Everything the capabilities share, built once at start.
pub struct Services {
    pub config: Arc<Config>,
    pub store: Store,
    pub hub: Arc<Hub>,
    pub presence: Presence,
    pub viewers: crate::live::viewers::Viewers,
    pub block_horizon: crate::blocks::BlockHorizon,
    pub reports: crate::stats::ReportCache,
    /// For calls to other servers (the OAuth provider).
    pub http: reqwest::Client,
    pub screener: Screener,
    pub i18n: I18n,
    pub secrets: Secrets,
    pub metrics: Metrics,
    pub waits: crate::sites::WaitCache,
    /// What sites' wikis said about requesters' account names, kept a minute.
    pub wiki_accounts: crate::sites::wiki_context::WikiContextCache,
    /// Outbound mail, when configured: it makes the e-mail channel available.
    pub mailer: Option<Arc<crate::mail::Mailer>>,
}

/// The visible state of a conversation before and after a change, to tell sockets and
/// dashboards only when something they show changed.
#[derive(Clone, Debug)]
pub struct StatusPublish {
    status: Status,
    outcome: Option<Outcome>,
    urgent: bool,
    owner_id: Option<String>,
    queue: String,
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

pub fn queue_item(c: &Conversation, owner: Option<String>) -> QueueItem {
    QueueItem {
        id: c.id.clone(),
        site: c.site.clone(),
        queue: c.queue.clone(),
        lang: c.lang.clone(),
        topic: c.topic.clone(),
        status: c.status,
        urgent: c.urgent,
        waiting_since: super::model::rfc3339(c.waiting_since),
        waiting_since_ms: c.waiting_since,
        owner,
        preview: c.preview.clone(),
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

impl Services {
    /// The channels this server can honour. Answers by e-mail need outbound mail:
    /// without it, offering e-mail would promise an answer that never comes, so only chat
    /// is offered and an e-mail request is refused.
    pub fn channels(&self) -> Vec<super::model::Channel> {
        use super::model::Channel;
        if self.mailer.is_some() { vec![Channel::Chat, Channel::Email] } else { vec![Channel::Chat] }
    }

    pub fn urgent_notice(&self, c: &Conversation) -> String {
        let contact = self.config.site(&c.site).map_or("", |s| s.emergency_contact.as_str());
        self.i18n.format(&c.lang, "helpline-system-urgent", &[contact])
    }

    /// The shown name of the owner, if any.
    pub async fn owner_name(
        &self,
        conn: &mut AnyConnection,
        c: &Conversation,
    ) -> sqlx::Result<Option<String>> {
        let Some(owner) = &c.owner_id else { return Ok(None) };
        if let Some(name) = self.presence.shown_name(owner) {
            return Ok(Some(name));
        }
        Ok(crate::helpers::find_by_id(conn, owner).await?.map(|h| h.shown_name()))
    }

    pub fn publish_status(&self, c: &Conversation, status: &StatusPublish) {
        self.hub.publish(
            &c.id,
            ConversationEvent::Status(Arc::new(StatusChange {
                status: c.status,
                outcome: c.outcome,
                urgent: c.urgent,
                owner_name: status.owner_name.clone(),
                queue: c.queue.clone(),
                redirected_team: c.redirected_team.clone(),
            })),
        );
        if let (Some(kind), Some(item)) = (status.queue_event, &status.item) {
            self.hub.publish_queue(kind, item.clone());
            if status.queue != c.queue {
                // The queue it left learns it is gone.
                let mut gone = item.clone();
                gone.queue.clone_from(&status.queue);
                self.hub.publish_queue(QueueEventKind::Left, gone);
            }
        }
    }

    /// Runs `change` on the locked conversation inside a write transaction, stores its
    /// system messages and audit event, commits, then publishes.
    pub async fn change_conversation<F>(
        &self,
        id: &str,
        actor_role: Role,
        actor_id: Option<&str>,
        change: F,
    ) -> AppResult<Conversation>
    where
        F: FnOnce(&mut Conversation, i64) -> AppResult<Change>,
    {
        let mut tx = self.store.write.begin().await?;
        let mut conversation = queries::lock(&mut tx, self.store.backend, id)
            .await?
            .ok_or(AppError::NotFound("No such conversation."))?;
        let before = StatusPublish::snapshot(&conversation);
        let now = now_ms();
        let change = change(&mut conversation, now)?;
        let mut messages = Vec::new();
        for text in change.system_messages {
            conversation.last_seq += 1;
            messages.push(Arc::new(Message::system(&conversation.id, conversation.last_seq, text, now)));
        }
        queries::save_state(&mut tx, &conversation, now).await?;
        queries::insert_messages(&mut tx, &messages).await?;
        queries::insert_event(
            &mut tx,
            &conversation.id,
            now,
            actor_role,
            actor_id,
            change.action,
            &change.detail,
        )
        .await?;
        let mut status =
            before.changed(&conversation).unwrap_or_else(|| StatusPublish::snapshot(&conversation));
        status.queue = before.queue.clone();
        status.owner_name = self.owner_name(&mut tx, &conversation).await?;
        status.item = Some(queue_item(&conversation, status.owner_name.clone()));
        status.queue_event = Some(change.queue_event);
        tx.commit().await?;
        let received = std::time::Instant::now();
        for message in messages {
            self.metrics.message_stored(Role::System);
            self.hub.publish(&conversation.id, ConversationEvent::Message { message, received });
        }
        self.publish_status(&conversation, &status);
        Ok(conversation)
    }
}
