//! "Answer me through the wiki's e-mail": a requester whose wiki account is confirmed
//! ("Confirm it's you") and accepts e-mail from other users may have the answers sent
//! by the wiki itself — the site's bot uses the wiki's `emailuser`, so the address stays
//! with the wiki and Helpline never learns it. Never for a name that is only claimed.
//! From then on the conversation is on the e-mail channel and the outbox sends there;
//! what the requester already read in the chat is not mailed again.

use super::service::{Actor, Change, change_conversation};
use crate::domain::{Channel, Conversation, Status};
use crate::error::{AppError, AppResult};
use crate::hub::QueueEventKind;
use crate::state::AppState;
use crate::store;

pub async fn choose(state: &AppState, c: &Conversation) -> AppResult<Conversation> {
    if state.mailer.is_none() {
        return Err(AppError::conflict("mail_unavailable", "This server sends no e-mail."));
    }
    if c.status == Status::Closed {
        return Err(AppError::conflict("closed", "This conversation is closed."));
    }
    let site = state.config.site(&c.site).ok_or(AppError::NotFound("No such site."))?;
    let (Some(api_url), Some(_)) = (site.api_url.as_deref(), &site.bot) else {
        return Err(AppError::conflict("wiki_mail_unavailable", "This wiki's e-mail is not available here."));
    };
    let name = match store::talk_page::verified_name(&state.store, &c.id).await? {
        Some(name) if name.starts_with('~') => {
            return Err(AppError::conflict("temporary_account", "A temporary account has no e-mail."));
        }
        Some(name) => name,
        None => {
            return Err(AppError::conflict(
                "unverified",
                "Confirm it's you first: only a confirmed account gets mail through the wiki.",
            ));
        }
    };
    // Asked now, not from the cache: the preference may have just changed.
    let account =
        state.wiki.accounts(api_url, &[&name]).await.map_err(|e| {
            AppError::conflict("wiki_unreachable", format!("The wiki could not be asked: {e}"))
        })?;
    if !account.first().and_then(|a| a.facts.as_ref()).is_some_and(|f| f.emailable) {
        return Err(AppError::conflict(
            "not_emailable",
            "Your wiki account does not take e-mail from other users (no confirmed address, or it is turned off \
             in your preferences).",
        ));
    }
    // The address first, the channel second: the outbox never sees an e-mail conversation
    // without somewhere to send. What the chat showed so far is not mailed again.
    store::outbox::send_through_wiki(&state.store, &c.id, &name, c.last_seq).await?;
    let text = state.i18n.format(&c.lang, "helpline-system-wiki-mail", &[&site.name]);
    change_conversation(state, &c.id, Actor::REQUESTER, |c, _| {
        if c.status == Status::Closed {
            return Err(AppError::conflict("closed", "This conversation is closed."));
        }
        c.channel = Channel::Email;
        Ok(Change {
            system_messages: vec![text],
            action: "wiki_mail_chosen",
            detail: serde_json::json!({}),
            queue_event: QueueEventKind::Updated,
        })
    })
    .await
}
