//! What a helper can do with a conversation of one of their queues.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::service::{self, Actor, Change, change_conversation};
use crate::domain::Helper;
use crate::domain::conversation::helper_client_key;
use crate::domain::time::rfc3339;
use crate::domain::{
    AppendRequest, Appended, Author, Channel, ClientId, Conversation, ConversationId, HelperMessage,
    MessageText, Outcome, QueueId, QueueItem, Role, SiteId, SocketId, Status,
};
use crate::error::{AppError, AppResult};
use crate::hub::QueueEventKind;
use crate::state::AppState;
use crate::store::conversations::QueueFilter;
use crate::store::events::AuditEvent;
use crate::store::outbox::MailState;
use crate::store::{self, conversations};

/// The conversation as a helper sees it.
#[derive(Serialize, ToSchema)]
pub struct HelperView {
    pub id: ConversationId,
    pub site: SiteId,
    pub queue: QueueId,
    pub lang: String,
    pub topic: String,
    pub channel: Channel,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    pub urgent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The wiki user name the requester claimed (unverified).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub username_temporary: bool,
    /// Whether the requester gave an e-mail address (never shown).
    pub has_email: bool,
    /// On the e-mail channel: whether the answers went out, wait to, or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail: Option<MailState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirected_team: Option<String>,
    pub created_at: String,
    pub waiting_since: String,
    pub last_seq: i64,
    /// The highest `seq` the requester has read.
    pub read_seq: i64,
    pub messages: Vec<HelperMessage>,
}

#[derive(Deserialize, ToSchema)]
pub struct HelperMessageInput {
    pub client_id: String,
    pub text: String,
    /// An internal note: seen by helpers only, never by the requester.
    #[serde(default)]
    pub internal: bool,
}

#[derive(Deserialize, ToSchema)]
pub struct TransferInput {
    /// Hand over to this helper (by name), who must belong to the conversation's queue.
    #[serde(default)]
    pub to_helper: Option<String>,
    /// Or move the conversation to this queue, unowned.
    #[serde(default)]
    pub to_queue: Option<QueueId>,
}

#[derive(Deserialize, ToSchema)]
pub struct RedirectInput {
    /// The id of one of the site's other teams.
    pub team: String,
}

#[derive(Deserialize, ToSchema)]
pub struct CloseInput {
    /// `resolved`, `no_response` or `moved_to_talk_page`.
    pub outcome: Outcome,
}

/// The conversation, if it belongs to one of the helper's queues and no conflict of
/// interest keeps them away; otherwise 404, the same as for an id that does not exist.
pub async fn authorize(state: &AppState, helper: &Helper, id: &ConversationId) -> AppResult<Conversation> {
    match service::find(state, id).await? {
        Some(c) if helper.is_member(&c.queue) && !helper.is_kept_away(&c.conflicts) => Ok(c),
        _ => Err(AppError::NotFound("No such conversation in your queues.")),
    }
}

pub async fn view(state: &AppState, helper: &Helper, c: &Conversation, after: i64) -> AppResult<HelperView> {
    let stored = service::messages_after(state, &c.id, after).await?;
    let cursor = stored.last().map_or(after, |m| m.seq);
    let mut conn = state.store.read.acquire().await?;
    let owner = match &c.owner_id {
        Some(id) => store::helpers::find_by_id(&mut conn, id).await?.map(|h| h.name),
        None => None,
    };
    let (has_email, mail) = store::outbox::mail_state(&mut conn, &c.id).await?;
    Ok(HelperView {
        id: c.id.clone(),
        site: c.site.clone(),
        queue: c.queue.clone(),
        lang: c.lang.clone(),
        topic: c.topic.clone(),
        channel: c.channel,
        status: c.status,
        outcome: c.outcome,
        urgent: c.urgent,
        owner,
        username: c.username.clone(),
        username_temporary: c.username_temporary,
        has_email,
        mail,
        redirected_team: c.redirected_team.clone(),
        created_at: rfc3339(c.created_at),
        waiting_since: rfc3339(c.waiting_since),
        last_seq: c.last_seq.max(cursor),
        read_seq: c.requester_read_seq,
        messages: stored.iter().map(|m| m.for_helper(&helper.id)).collect(),
    })
}

pub async fn events(state: &AppState, c: &Conversation) -> AppResult<Vec<AuditEvent>> {
    let mut conn = state.store.read.acquire().await?;
    Ok(store::events::events(&mut conn, &c.id).await?)
}

/// A listing of the helper's queues (the filter's queues must be theirs), without what
/// a conflict of interest keeps from them.
pub async fn listing(
    state: &AppState,
    helper: &Helper,
    filter: &QueueFilter<'_>,
) -> AppResult<Vec<QueueItem>> {
    let mut conn = state.store.read.acquire().await?;
    let mut items = conversations::queue_listing(&mut conn, filter).await?;
    items.retain(|item| item.visible_to(helper));
    Ok(items)
}

/// The helper read up to `seq` of a conversation they follow.
pub async fn read(state: &AppState, id: &ConversationId, seq: i64) {
    service::mark_read(state, id, Role::Helper, seq).await;
}

pub async fn post(
    state: &AppState,
    helper: &Helper,
    c: &Conversation,
    input: &HelperMessageInput,
) -> AppResult<Appended> {
    submit_post(state, helper, &c.id, input, None).await?.await
}

/// [`post`] in two steps: checks the input and queues the message, then (the future it
/// gives) waits for the commit. A socket queues a helper's messages in the order they
/// came and waits for their commits together. The appender checks that the
/// conversation is in one of the helper's queues, so no read is needed before.
pub async fn submit_post(
    state: &AppState,
    helper: &Helper,
    conversation_id: &ConversationId,
    input: &HelperMessageInput,
    origin: Option<SocketId>,
) -> AppResult<impl Future<Output = AppResult<Appended>> + Send + 'static> {
    let client_id = ClientId::parse(&input.client_id)?;
    let text = MessageText::parse(&input.text, state.config.limits.message_chars)?;
    state
        .appender
        .submit(AppendRequest {
            conversation_id: conversation_id.clone(),
            author: Author::Helper { id: helper.id.clone(), shown_name: helper.shown_name() },
            internal: input.internal,
            text: text.into_string(),
            masked_text: None,
            client_key: Some(helper_client_key(&helper.id, &client_id)),
            possible_harm: false,
            author_queues: Some(helper.queue_ids()),
            author_names: helper.alias.iter().chain(std::iter::once(&helper.name)).cloned().collect(),
            received: Instant::now(),
            origin,
        })
        .await
}

fn owner_conflict(owner_name: Option<String>) -> AppError {
    match owner_name {
        Some(name) => {
            AppError::conflict("already_claimed", format!("{name} has already claimed this conversation."))
        }
        None => {
            AppError::conflict("already_claimed", "Another helper has already claimed this conversation.")
        }
    }
}

/// Makes `helper` the one owner. A second helper gets `409 already_claimed` naming the owner.
pub async fn claim(state: &AppState, helper: &Helper, c: &Conversation) -> AppResult<Conversation> {
    if c.is_owned_by(&helper.id) {
        return Ok(c.clone());
    }
    let joined = state.i18n.format(&c.lang, "helpline-system-joined", &[&helper.shown_name()]);
    let result = change_conversation(state, &c.id, Actor::helper(&helper.id), |c, _now| {
        if c.status == Status::Closed {
            return Err(AppError::conflict("closed", "This conversation is closed."));
        }
        match &c.owner_id {
            Some(owner) if owner == &helper.id => {
                return Err(AppError::conflict("already_yours", "You already own this conversation."));
            }
            Some(owner) => return Err(AppError::conflict("already_claimed", owner.to_string())),
            None => {}
        }
        c.owner_id = Some(helper.id.clone());
        c.last_owner_id = Some(helper.id.clone());
        if c.status == Status::Waiting {
            c.status = Status::Active;
        }
        Ok(Change {
            system_messages: vec![joined],
            action: "claimed",
            detail: serde_json::json!({}),
            queue_event: QueueEventKind::Claimed,
        })
    })
    .await;
    match result {
        Err(AppError::Conflict { code: "already_claimed", message: owner_id }) => {
            let name = crate::helpers::by_id(&state.store, &owner_id.into()).await?.map(|h| h.name);
            Err(owner_conflict(name))
        }
        Err(AppError::Conflict { code: "already_yours", .. }) => authorize(state, helper, &c.id).await,
        other => other,
    }
}

fn require_owner(c: &Conversation, helper: &Helper) -> AppResult<()> {
    if c.status == Status::Closed {
        return Err(AppError::conflict("closed", "This conversation is closed."));
    }
    match &c.owner_id {
        Some(owner) if owner == &helper.id => Ok(()),
        Some(_) => Err(AppError::conflict("not_owner", "Another helper owns this conversation.")),
        None => Err(AppError::conflict("not_claimed", "Claim this conversation first.")),
    }
}

/// The owner gives the conversation back to its queue; it keeps its place.
pub async fn release(state: &AppState, helper: &Helper, c: &Conversation) -> AppResult<Conversation> {
    let text = state.i18n.format(&c.lang, "helpline-system-released", &[]);
    change_conversation(state, &c.id, Actor::helper(&helper.id), |c, _now| {
        require_owner(c, helper)?;
        c.owner_id = None;
        c.status = Status::Waiting;
        Ok(Change {
            system_messages: vec![text],
            action: "released",
            detail: serde_json::json!({}),
            queue_event: QueueEventKind::Released,
        })
    })
    .await
}

/// Hands over to another helper of the same queue, or moves to another queue.
pub async fn transfer(
    state: &AppState,
    helper: &Helper,
    c: &Conversation,
    input: &TransferInput,
) -> AppResult<Conversation> {
    match (&input.to_helper, &input.to_queue) {
        (Some(name), None) => {
            let target = store::helpers::find_by_name(&state.store, name).await?.ok_or_else(|| {
                AppError::bad_request("unknown_helper", format!("There is no helper {name:?}."))
            })?;
            if !target.is_member(&c.queue) {
                return Err(AppError::bad_request(
                    "not_a_member",
                    format!("{} is not a member of queue {}.", target.name, c.queue),
                ));
            }
            if target.is_kept_away(&c.conflicts) {
                return Err(AppError::bad_request(
                    "conflict_of_interest",
                    format!("{} may not take this conversation: a conflict of interest.", target.name),
                ));
            }
            let text = state.i18n.format(&c.lang, "helpline-system-transferred", &[&target.shown_name()]);
            change_conversation(state, &c.id, Actor::helper(&helper.id), |c, _now| {
                require_owner(c, helper)?;
                c.owner_id = Some(target.id.clone());
                c.last_owner_id = Some(target.id.clone());
                c.status = Status::Active;
                Ok(Change {
                    system_messages: vec![text],
                    action: "transferred",
                    detail: serde_json::json!({ "to_helper": target.name }),
                    queue_event: QueueEventKind::Transferred,
                })
            })
            .await
        }
        (None, Some(queue)) => {
            if state.config.queue(queue).is_none() {
                return Err(AppError::bad_request("unknown_queue", format!("There is no queue {queue:?}.")));
            }
            let text = state.i18n.format(&c.lang, "helpline-system-transferred-queue", &[]);
            change_conversation(state, &c.id, Actor::helper(&helper.id), |c, _now| {
                require_owner(c, helper)?;
                let from = std::mem::replace(&mut c.queue, queue.clone());
                c.owner_id = None;
                c.status = Status::Waiting;
                Ok(Change {
                    system_messages: vec![text],
                    action: "transferred",
                    detail: serde_json::json!({ "from_queue": from, "to_queue": queue }),
                    queue_event: QueueEventKind::Transferred,
                })
            })
            .await
        }
        _ => Err(AppError::bad_request("invalid_transfer", "Give exactly one of to_helper or to_queue.")),
    }
}

/// Only the owner may act, or anyone of the queue while nobody owns it (triage).
fn require_owner_or_unowned(c: &Conversation, helper: &Helper) -> AppResult<()> {
    if c.status == Status::Closed {
        return Err(AppError::conflict("closed", "This conversation is already closed."));
    }
    match &c.owner_id {
        Some(owner) if owner != &helper.id => {
            Err(AppError::conflict("not_owner", "Another helper owns this conversation."))
        }
        _ => Ok(()),
    }
}

/// Sends the matter to one of the site's other teams; the requester gets its details.
pub async fn redirect(
    state: &AppState,
    helper: &Helper,
    c: &Conversation,
    input: &RedirectInput,
) -> AppResult<Conversation> {
    let team = crate::sites::catalog::other_team(state, &c.site, &input.team).await?.ok_or_else(|| {
        AppError::bad_request("unknown_team", format!("Site {} has no team {:?}.", c.site, input.team))
    })?;
    let contact = team.link.clone().or_else(|| team.email.clone()).unwrap_or_default();
    let text =
        state.i18n.format(&c.lang, "helpline-system-redirected", &[&team.label, &team.description, &contact]);
    change_conversation(state, &c.id, Actor::helper(&helper.id), |c, now| {
        require_owner_or_unowned(c, helper)?;
        c.close(Outcome::Redirected, now);
        c.redirected_team = Some(team.id.clone());
        Ok(Change {
            system_messages: vec![text],
            action: "redirected",
            detail: serde_json::json!({ "team": team.id }),
            queue_event: QueueEventKind::Closed,
        })
    })
    .await
}

pub async fn close(
    state: &AppState,
    helper: &Helper,
    c: &Conversation,
    input: &CloseInput,
) -> AppResult<Conversation> {
    match input.outcome {
        Outcome::Resolved | Outcome::NoResponse | Outcome::MovedToTalkPage => {}
        Outcome::Redirected => {
            return Err(AppError::bad_request("use_redirect", "Use …/redirect with a team to redirect."));
        }
        Outcome::Withdrawn => {
            return Err(AppError::bad_request("invalid_outcome", "Only the requester withdraws a request."));
        }
    }
    let text = state.i18n.format(&c.lang, "helpline-system-closed", &[]);
    let outcome = input.outcome;
    change_conversation(state, &c.id, Actor::helper(&helper.id), |c, now| {
        require_owner_or_unowned(c, helper)?;
        c.close(outcome, now);
        Ok(Change {
            system_messages: vec![text],
            action: "closed",
            detail: serde_json::json!({ "outcome": outcome.as_str() }),
            queue_event: QueueEventKind::Closed,
        })
    })
    .await
}

/// Fair routing from the helper's side: claims the request that has waited longest in
/// the helper's queues and languages (urgent ones first). If another helper takes it
/// first, the next one is tried. The conversation taken.
pub async fn take_next(state: &AppState, helper: &Helper) -> AppResult<ConversationId> {
    if crate::helpers::open_count(&state.store, &helper.id).await? >= helper.capacity {
        return Err(AppError::conflict(
            "at_capacity",
            format!("You already have {} open conversations, your chosen capacity.", helper.capacity),
        ));
    }
    for _ in 0..5 {
        let Some(id) = next_for(state, helper).await? else {
            return Err(AppError::NotFound("Nobody is waiting in your queues and languages."));
        };
        let c = authorize(state, helper, &id).await?;
        match claim(state, helper, &c).await {
            Ok(_) => return Ok(id),
            Err(AppError::Conflict { .. }) => {}
            Err(other) => return Err(other),
        }
    }
    Err(AppError::conflict("busy", "Other helpers took the waiting requests first. Try again."))
}

/// The first waiting conversation (urgent first, then oldest) this helper can take.
async fn next_for(state: &AppState, helper: &Helper) -> AppResult<Option<ConversationId>> {
    let queues = helper.queue_ids();
    let filter = QueueFilter { status: Some(Status::Waiting), ..QueueFilter::open_in(&queues, 500) };
    let waiting = listing(state, helper, &filter).await?;
    Ok(waiting.into_iter().find(|c| helper.speaks(&c.lang)).map(|c| c.id))
}
