//! Mail that comes in: a reply is threaded to its conversation — by the reply address
//! (an unforgeable tag), else by `In-Reply-To`/`References` when it comes from the
//! conversation's own address — and its new words are the requester's message, stored
//! once however often the mail system delivers it. Automatic answers are never stored
//! nor answered; a bounce marks the address undeliverable for the helper to see; mail
//! with no known thread opens a conversation on `mail.inbound_site` (when set).
//! Attachments are never kept, and the requester is told why.

use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::requester::{self, NewConversation};
use super::service::{self, Actor, Change, change_conversation};
use crate::domain::{Channel, Conversation, ConversationId};
use crate::error::{AppError, AppResult};
use crate::hub::QueueEventKind;
use crate::mail::inbound::{self, Inbound, Kind};
use crate::mail::reply_address;
use crate::state::AppState;
use crate::store;

/// What became of a mail.
#[derive(Debug, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Received {
    /// The requester's new words were stored in the conversation (once).
    Stored { conversation: ConversationId, seq: i64, duplicate: bool },
    /// It opened a new conversation.
    Opened { conversation: ConversationId },
    /// A delivery failure: the conversation's address is marked undeliverable.
    Bounced { conversation: ConversationId },
    /// Not stored, and why (`automatic`, `no_new_words`, `no_thread`, `closed`, …).
    Ignored { reason: &'static str },
}

/// Reads one raw mail and does what it asks. `Err` only for what is not a mail
/// (`400 not_a_mail`: nothing stored) and for a failing store (worth delivering again).
pub async fn receive(state: &AppState, raw: &[u8]) -> AppResult<Received> {
    let mail = inbound::read(raw).map_err(|e| AppError::bad_request("not_a_mail", e.to_string()))?;
    match mail.kind {
        Kind::Automatic => Ok(Received::Ignored { reason: "automatic" }),
        Kind::Bounce => bounced(state, &mail).await,
        Kind::Person => match thread_of(state, &mail).await? {
            Some(c) => reply(state, &c, &mail, raw).await,
            None => open(state, &mail).await,
        },
    }
}

/// The conversation a person's mail answers, if any.
async fn thread_of(state: &AppState, mail: &Inbound) -> AppResult<Option<Conversation>> {
    for address in &mail.recipients {
        if let Some(id) = reply_address::conversation_of(&state.secrets, address) {
            return Ok(service::find(state, &id).await?);
        }
    }
    // A mail program that dropped the reply address: our own message ids, and only
    // from the address the conversation was started with.
    let Some(domain) = state.mailer.as_ref().map(|m| m.domain().to_ascii_lowercase()) else {
        return Ok(None);
    };
    for answered in &mail.answers {
        let Some((local, at)) = answered.rsplit_once('@') else { continue };
        if !at.eq_ignore_ascii_case(&domain) {
            continue;
        }
        let Some((id, _seq)) = local.rsplit_once('.') else { continue };
        let Some(c) = service::find(state, &ConversationId::new(id.to_string())).await? else { continue };
        if from_its_address(state, &c, mail).await? {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

async fn from_its_address(state: &AppState, c: &Conversation, mail: &Inbound) -> AppResult<bool> {
    let mut conn = state.store.read.acquire().await?;
    let progress = store::outbox::progress(&mut conn, &c.id).await?;
    let address = progress.email_sealed.as_deref().and_then(|s| state.secrets.open(s));
    Ok(matches!((address, &mail.from), (Some(a), Some(f)) if a.eq_ignore_ascii_case(f)))
}

async fn reply(state: &AppState, c: &Conversation, mail: &Inbound, raw: &[u8]) -> AppResult<Received> {
    if c.channel != Channel::Email {
        return Ok(Received::Ignored { reason: "not_an_email_conversation" });
    }
    if mail.text.trim().is_empty() {
        if mail.attachments > 0 {
            attachments_dropped(state, c).await?;
        }
        return Ok(Received::Ignored { reason: "no_new_words" });
    }
    // The same mail delivered twice (an MTA retry, IMAP and the pipe both) is stored once.
    let source =
        mail.message_id.as_deref().map_or_else(|| Sha256::digest(raw), |id| Sha256::digest(id.as_bytes()));
    let client_id = format!("mail-{}", &hex::encode(source)[..32]);
    let text: String = mail.text.chars().take(state.config.limits.message_chars).collect();
    // As often as chat messages; over it, the MTA is told to try again later (429 → 75).
    state.limits.message(&c.token_hash)?;
    let appended = match requester::post(state, c, &client_id, &text, None).await {
        Ok(appended) => appended,
        Err(AppError::Conflict { code: "closed", .. }) => return Ok(Received::Ignored { reason: "closed" }),
        Err(other) => return Err(other),
    };
    if mail.attachments > 0 && !appended.duplicate {
        attachments_dropped(state, c).await?;
    }
    Ok(Received::Stored { conversation: c.id.clone(), seq: appended.seq, duplicate: appended.duplicate })
}

/// Says in the conversation (and so in the next mail) that attachments are not kept.
async fn attachments_dropped(state: &AppState, c: &Conversation) -> AppResult<()> {
    let text = state.i18n.format(&c.lang, "helpline-system-attachments-dropped", &[]);
    change_conversation(state, &c.id, Actor::SYSTEM, |_, _| {
        Ok(Change {
            system_messages: vec![text],
            action: "attachments_dropped",
            detail: serde_json::json!({}),
            queue_event: QueueEventKind::Updated,
        })
    })
    .await?;
    Ok(())
}

/// Mail with no thread: a new conversation on the inbound site, answered by mail.
async fn open(state: &AppState, mail: &Inbound) -> AppResult<Received> {
    let (Some(site), Some(from)) =
        (state.config.mail.as_ref().and_then(|m| m.inbound_site.clone()), mail.from.clone())
    else {
        return Ok(Received::Ignored { reason: "no_thread" });
    };
    let mut text = mail.text.trim().to_string();
    if text.is_empty() {
        text = mail.subject.trim().to_string();
    }
    if text.is_empty() {
        return Ok(Received::Ignored { reason: "no_new_words" });
    }
    let text: String = text.chars().take(state.config.limits.first_message_chars).collect();
    let input = NewConversation {
        site: site.to_string(),
        lang: None,
        topic: None,
        text,
        channel: Some(Channel::Email),
        username: None,
        username_temporary: false,
        email: Some(from.clone()),
        trouble_with: None,
        proof_of_work: None,
    };
    // The sender's keyed hash stands for a network: their own rate and blocks.
    let sender = format!("mail:{}", state.secrets.email_lookup(&from));
    let created = requester::create(state, input, &sender, false).await?;
    Ok(Received::Opened { conversation: created.id })
}

/// A delivery failure about one of our mails: its conversation's mail is given up on,
/// and the helper sees it. Only a reply address (tagged) is believed, not a message id.
async fn bounced(state: &AppState, mail: &Inbound) -> AppResult<Received> {
    for named in &mail.answers {
        let Some(id) = reply_address::conversation_of(&state.secrets, named) else { continue };
        let Some(c) = service::find(state, &id).await? else { continue };
        store::outbox::give_up(&state.store, &c.id, c.last_seq, "bounced", state.now_ms()).await?;
        state.metrics.mail_failed();
        return Ok(Received::Bounced { conversation: c.id });
    }
    Ok(Received::Ignored { reason: "bounce_of_unknown_mail" })
}
