//! Answers by e-mail. The conversation row is its own outbox (see
//! `migrations/*/0002_mail.sql` and `store::outbox`): the mailer looks at conversations
//! on the e-mail channel with messages it has not seen, sends one mail with what is new,
//! then records how far it got. Nothing is queued in memory, so a crash or a relay that
//! is down loses no answer: the next round picks it up. The price is at-least-once
//! delivery: a crash between the relay's "250 OK" and the update sends that mail again.

use std::time::Duration;

use lettre::message::Mailbox;
use tokio_util::sync::CancellationToken;

use crate::domain::{ConversationId, Role, Status};
use crate::mail::{Letter, Mailer, SendError, worth_sending};
use crate::state::AppState;
use crate::store::{conversations, messages, outbox};

/// Conversations looked at per round; the rest wait for the next round.
const ROUND: i64 = 50;
/// Messages put in one mail at most; more go in the next one.
const PAGE: i64 = 500;

/// Runs until shutdown, one round every `poll_ms`, when mail is configured.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let Some(mailer) = &state.mailer else { return };
    let state = &state;
    crate::clock::every(Duration::from_millis(mailer.config.poll_ms), &shutdown, || async move {
        if !state.leadership.leads() {
            return;
        }
        if let Err(error) = round(state, mailer).await {
            tracing::warn!(%error, "mail round failed; will retry");
        }
        if let Err(error) = super::transcripts::round(state, mailer).await {
            tracing::warn!(%error, "transcript round failed; will retry");
        }
    })
    .await;
}

/// One pass over the conversations that are due. Returns how many mails went out.
pub async fn round(state: &AppState, mailer: &Mailer) -> anyhow::Result<usize> {
    let mut sent = 0;
    for id in outbox::due(&state.store, state.now_ms(), ROUND).await? {
        if dispatch(state, mailer, &id).await? {
            sent += 1;
        }
    }
    Ok(sent)
}

async fn dispatch(state: &AppState, mailer: &Mailer, id: &ConversationId) -> anyhow::Result<bool> {
    let mut conn = state.store.read.acquire().await?;
    let Some(conversation) = conversations::find(&mut conn, id).await? else { return Ok(false) };
    let progress = outbox::progress(&mut conn, id).await?;
    let messages = messages::messages_after(&mut conn, id, progress.mailed, PAGE).await?;
    drop(conn);
    let seen_to = messages.last().map_or(conversation.last_seq, |m| m.seq);

    // A verified wiki account comes first: then the address stays with the wiki.
    let destination = match progress.wiki_mail_to.clone() {
        Some(name) => Some(Destination::Wiki(name)),
        None => progress
            .email_sealed
            .as_deref()
            .and_then(|sealed| state.secrets.open(sealed))
            .and_then(|plain| plain.parse::<lettre::Address>().ok())
            .map(Destination::Smtp),
    };
    let Some(destination) = destination else {
        // Nothing to send to (or a key that no longer opens it): do not look again.
        tracing::warn!(conversation = %id, "e-mail conversation without a usable address");
        give_up(state, id, seen_to, "no_address").await?;
        return Ok(false);
    };
    let first = progress.mailed == 0;
    let closed = conversation.status == Status::Closed
        && messages.iter().any(|m| m.seq > progress.seen && m.author_role == Role::System);
    if !worth_sending(first, &messages, closed) {
        outbox::mark_seen(&state.store, id, seen_to).await?;
        return Ok(false);
    }

    let site = state.config.site(&conversation.site);
    let site_name = site.map_or(conversation.site.as_str(), |s| &s.name);
    let through_wiki = matches!(destination, Destination::Wiki(_));
    let letter = Letter {
        conversation: &conversation,
        site_name,
        messages: &messages,
        first,
        retention_days: state.config.retention_days,
        // Replies to a wiki mail go to the bot's own address, not to a reply address.
        reply_to: (mailer.config.replies && !through_wiki)
            .then(|| {
                crate::mail::reply_address::reply_address(&state.secrets, mailer.domain(), &conversation.id)
            })
            .flatten(),
        transcript: None,
        through_wiki,
    };
    let result = match destination {
        Destination::Smtp(address) => {
            let built = letter.build(
                &state.i18n,
                &mailer.from,
                Mailbox::new(None, address),
                mailer.domain(),
                seen_to,
            );
            match built {
                Ok(mail) => mailer.send(mail).await,
                Err(_) => Err(SendError { permanent: true, code: "unbuildable".into() }),
            }
        }
        Destination::Wiki(name) => match site {
            Some(site) => send_through_wiki(state, site, &name, &letter).await,
            None => Err(SendError { permanent: true, code: "no_site".into() }),
        },
    };
    match result {
        Ok(()) => {
            outbox::mark_sent(&state.store, id, seen_to).await?;
            state.metrics.mail_sent();
            Ok(true)
        }
        Err(error) if !error.permanent && progress.attempts + 1 < i64::from(mailer.config.max_attempts) => {
            let attempts = progress.attempts + 1;
            let wait = mailer.config.retry_wait_ms(attempts);
            tracing::info!(conversation = %id, code = %error.code, attempts, "mail not sent; will retry");
            state.metrics.mail_retried();
            outbox::retry_later(&state.store, id, attempts, state.now_ms() + wait).await?;
            Ok(false)
        }
        Err(error) => {
            tracing::warn!(conversation = %id, code = %error.code, "mail given up");
            give_up(state, id, seen_to, &error.code).await?;
            Ok(false)
        }
    }
}

enum Destination {
    Smtp(lettre::Address),
    /// The verified wiki account, mailed by the site's bot through the wiki's `emailuser`.
    Wiki(String),
}

/// The text part of the letter, through the wiki: the wiki adds its own footer and sends
/// from its address; a refusal (the user turned e-mail off since) is for good.
async fn send_through_wiki(
    state: &AppState,
    site: &crate::config::SiteConfig,
    name: &str,
    letter: &Letter<'_>,
) -> Result<(), SendError> {
    use crate::wiki::WikiError;
    let failed = |error: WikiError| {
        let permanent = matches!(error, WikiError::Refused { .. } | WikiError::NotConfigured(_));
        let code = match &error {
            WikiError::Refused { code, .. } => format!("wiki:{code}"),
            WikiError::Login(_) => "wiki_login".into(),
            WikiError::NotConfigured(_) => "wiki_not_configured".into(),
            _ => "wiki_unreachable".into(),
        };
        SendError { permanent, code }
    };
    let bot = state.wiki.bot(site).map_err(failed)?;
    let subject = letter.subject(&state.i18n);
    bot.email_user(name, &subject, &letter.body(&state.i18n)).await.map_err(failed)
}

/// Stops trying the messages up to `seen_to`: the helper sees the mail failed, the
/// audit trail has the SMTP code only (a relay's text can repeat the address).
async fn give_up(state: &AppState, id: &ConversationId, seen_to: i64, code: &str) -> anyhow::Result<()> {
    outbox::give_up(&state.store, id, seen_to, code, state.now_ms()).await?;
    state.metrics.mail_failed();
    Ok(())
}
