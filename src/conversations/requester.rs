//! What a requester can do: start a conversation, read it, write, and end it.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::service::{self, Actor, Change, change_conversation, urgent_notice};
use crate::config::{OtherTeam, SiteConfig};
use crate::domain::conversation::requester_client_key;
use crate::domain::{
    AppendRequest, Appended, Author, Channel, ClientId, Conflicts, Conversation, ConversationId, Email,
    Language, Message, MessageText, Outcome, QueueItem, RequesterMessage, Role, SocketId, Status, Username,
};
use crate::error::{AppError, AppResult};
use crate::hub::QueueEventKind;
use crate::screening::Screening;
use crate::secrets;
use crate::state::AppState;
use crate::store::{conversations, events, messages, trouble};

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
    /// The wiki account the requester has trouble with: it, and helpers who edited with
    /// it where it touched them, never see the conversation.
    #[serde(default)]
    pub trouble_with: Option<String>,
    /// A solved proof of work (ALTCHA's payload: base64 of its JSON), needed while the
    /// server asks for one (`proof_of_work` in the site's settings; challenges from
    /// `GET /v1/challenge`).
    #[serde(default)]
    pub proof_of_work: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedConversation {
    pub id: ConversationId,
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
    /// A chat with an address on file: should the requester leave before anyone
    /// answers, the answer comes by e-mail (the widget says so while they wait).
    pub email_if_you_leave: bool,
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

/// A request that passed every rule, ready to store.
struct Request<'a> {
    site: &'a SiteConfig,
    text: MessageText,
    lang: String,
    topic: String,
    channel: Channel,
    email: Option<Email>,
    username: Option<Username>,
    username_temporary: bool,
    trouble_with: Option<Username>,
}

/// Checks every field of a new request against the site's rules.
fn validate<'a>(state: &'a AppState, input: NewConversation) -> AppResult<Request<'a>> {
    let site = state.config.site(&input.site).ok_or_else(|| {
        AppError::bad_request("unknown_site", format!("There is no site {:?}.", input.site))
    })?;
    let text = MessageText::parse(&input.text, state.config.limits.first_message_chars)?;
    let lang = match &input.lang {
        Some(lang) => Language::parse(lang)?.into_string(),
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
    let email = input.email.as_deref().filter(|e| !e.trim().is_empty()).map(Email::parse).transpose()?;
    if channel == Channel::Email && email.is_none() {
        return Err(AppError::bad_request(
            "email_required",
            "Give an e-mail address to be answered by e-mail.",
        ));
    }
    let username =
        input.username.as_deref().filter(|u| !u.trim().is_empty()).map(Username::parse).transpose()?;
    let trouble_with =
        input.trouble_with.as_deref().filter(|u| !u.trim().is_empty()).map(Username::parse).transpose()?;
    Ok(Request {
        site,
        text,
        lang,
        topic,
        channel,
        email,
        username,
        username_temporary: input.username_temporary,
        trouble_with,
    })
}

/// Starts a conversation: checks, screens, stores it with its first messages and audit
/// events in one transaction, then tells the queue.
/// `by_web`: the request came through the API (widget), where a proof of work may be
/// asked for; requests by e-mail never are.
pub async fn create(
    state: &AppState,
    input: NewConversation,
    network_hash: &str,
    by_web: bool,
) -> AppResult<CreatedConversation> {
    let proof = input.proof_of_work.clone();
    let request = validate(state, input)?;
    crate::blocks::check(state, network_hash).await?;
    // After every other check, so that a solution is not spent on a request refused
    // for a typo.
    if by_web {
        super::proof_of_work::demand(state, proof.as_deref()).await?;
    }
    // Counted only once the request is valid: a typo does not use up the hour's budget.
    state.limits.new_conversation(network_hash)?;
    let screening = state.screener.screen(request.text.as_str());
    let token = secrets::new_token();
    let now = state.now_ms();
    let mut conversation = new_conversation(&request, &screening, token.hash, now);
    let first = first_messages(state, &mut conversation, request.text, screening.masked, now);
    let sealed = request.email.as_ref().map(|e| state.secrets.seal(e.as_str()));

    let mut tx = state.store.write.begin().await?;
    conversations::insert(&mut tx, &conversation, sealed.as_deref(), Some(network_hash)).await?;
    if let Some(account) = &request.trouble_with {
        trouble::name(&mut tx, &conversation.id, account.as_str(), "requester", now).await?;
    }
    messages::insert_messages(&mut tx, &first).await?;
    let detail =
        serde_json::json!({ "channel": conversation.channel.as_str(), "urgent": conversation.urgent });
    events::insert_event(&mut tx, &conversation.id, now, Role::Requester, None, "created", &detail).await?;
    if conversation.urgent {
        let detail = serde_json::json!({});
        events::insert_event(&mut tx, &conversation.id, now, Role::System, None, "flagged_urgent", &detail)
            .await?;
    }
    tx.commit().await?;

    for message in &first {
        state.metrics.message_stored(message.author_role);
    }
    state.metrics.conversation_created();
    state.hub.publish_queue(QueueEventKind::New, QueueItem::of(&conversation, None));
    if request.trouble_with.is_some() {
        super::conflicts::spawn_check(state, conversation.id.clone());
    }
    let view = view(state, &conversation, 0).await?;
    Ok(CreatedConversation { id: conversation.id, token: token.token, view })
}

fn new_conversation(
    request: &Request<'_>,
    screening: &Screening,
    token_hash: String,
    now: i64,
) -> Conversation {
    let preview_source = screening.masked.as_deref().unwrap_or(request.text.as_str());
    Conversation {
        id: ConversationId::new(secrets::new_id()),
        token_hash,
        site: request.site.id.clone(),
        queue: request.site.queue.clone(),
        lang: request.lang.clone(),
        topic: request.topic.clone(),
        channel: request.channel,
        username: request.username.clone().map(Username::into_string),
        username_temporary: request.username_temporary,
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
        conflicts: conflicts_of(request),
    }
}

/// The named account is kept away from the start, and the request held back until
/// the wiki says who edited with it.
fn conflicts_of(request: &Request<'_>) -> Conflicts {
    let mut conflicts = Conflicts::default();
    if let Some(account) = &request.trouble_with {
        conflicts.add(account.as_str());
        conflicts.set_pending(true);
    }
    conflicts
}

/// The request itself, then what the requester is told at once: the emergency contact
/// on a possible threat of harm, and that answers will come by e-mail.
fn first_messages(
    state: &AppState,
    c: &mut Conversation,
    text: MessageText,
    masked: Option<String>,
    now: i64,
) -> Vec<Message> {
    c.last_seq = 1;
    let mut first = vec![Message {
        conversation_id: c.id.clone(),
        seq: 1,
        author_role: Role::Requester,
        author_id: None,
        author_name: None,
        internal: false,
        text: text.into_string(),
        masked_text: masked,
        client_key: None,
        created_at: now,
    }];
    let mut notices = Vec::new();
    if c.urgent {
        notices.push(urgent_notice(state, c));
    }
    if c.channel == Channel::Email {
        notices.push(state.i18n.format(&c.lang, "helpline-system-email", &[]));
    }
    for notice in notices {
        c.last_seq += 1;
        first.push(Message::system(&c.id, c.last_seq, notice, now));
    }
    first
}

/// The conversation if `token` is its requester's; the same answer for an unknown id
/// and a wrong token, so ids cannot be probed.
pub async fn authorize(state: &AppState, id: &ConversationId, token: &str) -> AppResult<Conversation> {
    match service::find(state, id).await? {
        Some(c) if secrets::constant_time_eq(&c.token_hash, &secrets::hash_token(token)) => Ok(c),
        _ => Err(AppError::NotFound("No conversation with this id for this token.")),
    }
}

pub async fn view(state: &AppState, c: &Conversation, after: i64) -> AppResult<RequesterView> {
    // Nothing is stored after the conversation's own last `seq` as read (a socket asks
    // with exactly that, on every resume): no need to ask the store.
    let stored =
        if after >= c.last_seq { Vec::new() } else { service::messages_after(state, &c.id, after).await? };
    let cursor = stored.last().map_or(after, |m| m.seq);
    let messages = stored.iter().filter_map(Message::for_requester).collect();
    let queue_position = service::queue_position(state, c).await?;
    let (helper_name, has_email) = {
        let mut conn = state.store.read.acquire().await?;
        let name = service::owner_name(state, &mut conn, c).await?;
        // Whether an address is on file matters only where the server sends mail.
        let has_email = match state.mailer {
            Some(_) => crate::store::outbox::mail_state(&mut conn, &c.id).await?.0,
            None => false,
        };
        (name, has_email)
    };
    Ok(RequesterView {
        status: c.status,
        outcome: c.outcome,
        urgent: c.urgent,
        channel: c.channel,
        queue_position,
        helper_name,
        redirected_to: redirected_to(state, c, c.redirected_team.as_deref()).await?,
        last_seq: c.last_seq.max(cursor),
        read_seq: c.helper_read_seq,
        email_if_you_leave: has_email && c.channel == Channel::Chat && state.mailer.is_some(),
        messages,
    })
}

/// The team a conversation was redirected to, as the requester is shown it.
pub async fn redirected_to(
    state: &AppState,
    c: &Conversation,
    team: Option<&str>,
) -> AppResult<Option<OtherTeam>> {
    match team {
        Some(team) => crate::sites::catalog::other_team(state, &c.site, team).await,
        None => Ok(None),
    }
}

/// Screens and stores a requester's message; returns once committed.
pub async fn post(
    state: &AppState,
    c: &Conversation,
    client_id: &str,
    raw_text: &str,
    origin: Option<SocketId>,
) -> AppResult<Appended> {
    let client_id = ClientId::parse(client_id)?;
    let text = MessageText::parse(raw_text, state.config.limits.message_chars)?;
    // A block is checked by the appender, in the transaction that would store it.
    let screening = state.screener.screen(text.as_str());
    state
        .appender
        .append(AppendRequest {
            conversation_id: c.id.clone(),
            author: Author::Requester,
            internal: false,
            text: text.into_string(),
            masked_text: screening.masked,
            client_key: Some(requester_client_key(&client_id)),
            possible_harm: screening.possible_harm,
            author_queues: None,
            author_names: Vec::new(),
            received: Instant::now(),
            origin,
        })
        .await
}

pub async fn close(state: &AppState, c: &Conversation) -> AppResult<Conversation> {
    let closed_text = state.i18n.format(&c.lang, "helpline-system-closed-by-requester", &[]);
    change_conversation(state, &c.id, Actor::REQUESTER, move |c, now| {
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

/// The requester read up to `seq`.
pub async fn read(state: &AppState, c: &Conversation, seq: i64) {
    service::mark_read(state, &c.id, Role::Requester, seq).await;
}
