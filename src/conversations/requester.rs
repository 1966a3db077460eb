//! What a requester can do: start a conversation, read it, write, and end it.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::appender::{AppendRequest, Appended};
use super::model::{
    Author, Channel, Conversation, Message, Outcome, RequesterMessage, Role, Status, requester_client_key,
};
use super::queries;
use super::service::Change;
use super::text;
use crate::app::AppState;
use crate::config::OtherTeam;
use crate::error::{AppError, AppResult};
use crate::live::hub::QueueEventKind;
use crate::secrets;
use crate::store::now_ms;

#[derive(Deserialize, ToSchema)]
pub struct NewConversation {
    /// The site id, e.g. `enwiki`.
    pub site: String,
    /// The requester's language; defaults to the site's.
    #[serde(default)]
    pub lang: Option<String>,
    /// One of the site's topic ids; defaults to `other`.
    #[serde(default)]
    pub topic: Option<String>,
    /// What is happening, in the requester's words (at most 1000 characters).
    pub text: String,
    #[serde(default)]
    pub channel: Option<Channel>,
    /// The wiki user name, as claimed by the widget (not verified).
    #[serde(default)]
    pub username: Option<String>,
    /// The claimed name is a temporary account.
    #[serde(default)]
    pub username_temporary: bool,
    /// An address for this matter only; sealed at rest and never shown to helpers.
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedConversation {
    pub id: String,
    /// The requester's bearer token. Shown once; only its hash is stored.
    pub token: String,
    #[serde(flatten)]
    pub view: RequesterView,
}

/// The conversation as the requester sees it.
#[derive(Serialize, ToSchema)]
pub struct RequesterView {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    pub urgent: bool,
    pub channel: Channel,
    /// Position in the queue while waiting (1 = next).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_position: Option<i64>,
    /// The shown name of the helper who owns the conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helper_name: Option<String>,
    /// Where the matter was redirected, with the team's contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirected_to: Option<OtherTeam>,
    /// The highest `seq` so far; resume with `after` = this value.
    pub last_seq: i64,
    /// The highest `seq` the helper has read.
    pub read_seq: i64,
    pub messages: Vec<RequesterMessage>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewMessage {
    /// The client's id for this message; a resend with the same id is stored once.
    pub client_id: String,
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct PostedMessage {
    pub seq: i64,
    /// True when this `client_id` had already been stored.
    pub duplicate: bool,
}

const PAGE: i64 = 500;

pub async fn create(
    state: &AppState,
    input: NewConversation,
    network_hash: &str,
) -> AppResult<CreatedConversation> {
    let site = state
        .config
        .site(&input.site)
        .ok_or_else(|| AppError::bad_request("unknown_site", format!("There is no site {:?}.", input.site)))?
        .clone();
    let text = text::message_text(&input.text, state.config.limits.first_message_chars)?;
    let lang = match &input.lang {
        Some(lang) => text::language(lang)?,
        None => site.language.clone(),
    };
    let topic = input.topic.unwrap_or_else(|| "other".into());
    if topic != "other" && !site.topics.iter().any(|t| t.id == topic) {
        return Err(AppError::bad_request(
            "unknown_topic",
            format!("Site {} has no topic {topic:?}.", site.id),
        ));
    }
    let channel = input.channel.unwrap_or(Channel::Chat);
    if !state.channels().contains(&channel) {
        return Err(AppError::bad_request(
            "channel_unavailable",
            format!("Answers by {} are not available on this server; use chat.", channel.as_str()),
        ));
    }
    let email = input.email.as_deref().filter(|e| !e.trim().is_empty()).map(text::email).transpose()?;
    if channel == Channel::Email && email.is_none() {
        return Err(AppError::bad_request(
            "email_required",
            "Give an e-mail address to be answered by e-mail.",
        ));
    }
    let username =
        input.username.as_deref().filter(|u| !u.trim().is_empty()).map(text::username).transpose()?;

    crate::blocks::check(state, network_hash).await?;
    // Counted only once the request is valid: a typo does not use up the hour's budget.
    state.limits.new_conversation(network_hash)?;
    let screening = state.screener.screen(&text);
    let token = secrets::new_token();
    let now = now_ms();
    let preview_source = screening.masked.as_deref().unwrap_or(&text);
    let mut conversation = Conversation {
        id: secrets::new_id(),
        token_hash: token.hash,
        site: site.id.clone(),
        queue: site.queue.clone(),
        lang,
        topic,
        channel,
        username,
        username_temporary: input.username_temporary,
        status: Status::Waiting,
        outcome: None,
        urgent: screening.possible_harm,
        owner_id: None,
        last_owner_id: None,
        redirected_team: None,
        preview: preview_source.chars().take(200).collect(),
        last_seq: 0,
        requester_read_seq: 0,
        helper_read_seq: 0,
        created_at: now,
        waiting_since: now,
        first_reply_at: None,
        closed_at: None,
    };
    let mut messages = Vec::new();
    conversation.last_seq += 1;
    messages.push(Message {
        conversation_id: conversation.id.clone(),
        seq: conversation.last_seq,
        author_role: Role::Requester,
        author_id: None,
        author_name: None,
        internal: false,
        text,
        masked_text: screening.masked,
        client_key: None,
        created_at: now,
    });
    if conversation.urgent {
        conversation.last_seq += 1;
        messages.push(Message::system(
            &conversation.id,
            conversation.last_seq,
            state.urgent_notice(&conversation),
            now,
        ));
    }
    if channel == Channel::Email {
        let text = state.i18n.format(&conversation.lang, "helpline-system-email", &[]);
        conversation.last_seq += 1;
        messages.push(Message::system(&conversation.id, conversation.last_seq, text, now));
    }
    let sealed = email.as_deref().map(|e| state.secrets.seal(e));

    let mut tx = state.store.write.begin().await?;
    queries::insert(&mut tx, &conversation, sealed.as_deref(), Some(network_hash)).await?;
    queries::insert_messages(&mut tx, &messages).await?;
    let detail = serde_json::json!({ "channel": channel.as_str(), "urgent": conversation.urgent });
    queries::insert_event(&mut tx, &conversation.id, now, Role::Requester, None, "created", &detail).await?;
    if conversation.urgent {
        queries::insert_event(
            &mut tx,
            &conversation.id,
            now,
            Role::System,
            None,
            "flagged_urgent",
            &serde_json::json!({}),
        )
        .await?;
    }
    tx.commit().await?;

    for message in &messages {
        state.metrics.message_stored(message.author_role);
    }
    state.metrics.conversation_created();
    state.hub.publish_queue(QueueEventKind::New, super::service::queue_item(&conversation, None));
    let view = view(state, &conversation, 0).await?;
    Ok(CreatedConversation { id: conversation.id, token: token.token, view })
}

/// The conversation if `token` is its requester's; the same answer for an unknown id
/// and a wrong token, so ids cannot be probed.
pub async fn authorize(state: &AppState, id: &str, token: &str) -> AppResult<Conversation> {
    let mut conn = state.store.read.acquire().await?;
    let conversation = queries::find(&mut conn, id).await?;
    match conversation {
        Some(c) if secrets::constant_time_eq(&c.token_hash, &secrets::hash_token(token)) => Ok(c),
        _ => Err(AppError::NotFound("No conversation with this id for this token.")),
    }
}

pub async fn view(state: &AppState, c: &Conversation, after: i64) -> AppResult<RequesterView> {
    let mut conn = state.store.read.acquire().await?;
    let mut messages = Vec::new();
    let mut cursor = after;
    loop {
        let page = queries::messages_after(&mut conn, &c.id, cursor, PAGE).await?;
        let Some(last) = page.last() else { break };
        cursor = last.seq;
        let full = page.len() as i64 == PAGE;
        messages.extend(page.iter().filter_map(Message::for_requester));
        if !full {
            break;
        }
    }
    let queue_position = match c.status {
        Status::Waiting => Some(queries::queue_position(&mut conn, c).await?),
        _ => None,
    };
    let helper_name = state.owner_name(&mut conn, c).await?;
    let redirected_to = match &c.redirected_team {
        Some(team) => crate::sites::catalog::other_team(&state.store, &state.config, &c.site, team).await?,
        None => None,
    };
    Ok(RequesterView {
        status: c.status,
        outcome: c.outcome,
        urgent: c.urgent,
        channel: c.channel,
        queue_position,
        helper_name,
        redirected_to,
        last_seq: c.last_seq.max(cursor),
        read_seq: c.helper_read_seq,
        messages,
    })
}

/// Screens and stores a requester's message; returns once committed.
pub async fn post(
    state: &AppState,
    c: &Conversation,
    client_id: &str,
    raw_text: &str,
) -> AppResult<Appended> {
    let client_id = text::client_id(client_id)?;
    let text = text::message_text(raw_text, state.config.limits.message_chars)?;
    crate::blocks::check(state, &c.token_hash).await?;
    let screening = state.screener.screen(&text);
    state
        .appender
        .append(AppendRequest {
            conversation_id: c.id.clone(),
            author: Author::Requester,
            internal: false,
            text,
            masked_text: screening.masked,
            client_key: Some(requester_client_key(client_id)),
            possible_harm: screening.possible_harm,
            author_queues: None,
            received: Instant::now(),
        })
        .await
}

pub async fn close(state: &AppState, c: &Conversation) -> AppResult<Conversation> {
    let closed_text = state.i18n.format(&c.lang, "helpline-system-closed-by-requester", &[]);
    state
        .change_conversation(&c.id, Role::Requester, None, move |c, now| {
            if c.status == Status::Closed {
                return Err(AppError::conflict("closed", "This conversation is already closed."));
            }
            c.close(Outcome::Withdrawn, now);
            Ok(Change {
                system_messages: vec![closed_text],
                action: "closed",
                detail: serde_json::json!({ "outcome": "withdrawn" }),
                queue_event: QueueEventKind::Closed,
            })
        })
        .await
}
