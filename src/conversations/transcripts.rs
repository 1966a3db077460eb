//! Transcripts by e-mail: once a conversation has ended, its requester may have it
//! mailed — to an address given for this one mail, or the one their e-mail conversation
//! already has — at most `MOST` times. It holds every message but internal notes. The
//! outbox's rounds send it, so a relay that is down delays it without losing it; once
//! sent (or given up) its address is forgotten.

use lettre::message::Mailbox;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{Conversation, Email, Role, Status};
use crate::error::{AppError, AppResult};
use crate::mail::{Letter, Mailer, SendError};
use crate::state::AppState;
use crate::store::{self, conversations, messages, transcripts};

/// Transcripts per conversation at most: enough for a lost mail, too few to make the
/// server a mail cannon at someone else's address.
pub const MOST: i64 = 3;
const ROUND: i64 = 20;

#[derive(Deserialize, ToSchema, Default)]
pub struct TranscriptRequest {
    /// Where to send it; optional when the conversation was answered by e-mail.
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TranscriptRequested {
    /// 1 for the first transcript of this conversation, and so on up to 3.
    pub number: i64,
}

pub async fn request(
    state: &AppState,
    c: &Conversation,
    input: TranscriptRequest,
) -> AppResult<TranscriptRequested> {
    if state.mailer.is_none() {
        return Err(AppError::Conflict {
            code: "mail_unavailable",
            message: "This server sends no e-mail.".into(),
        });
    }
    if c.status != Status::Closed {
        return Err(AppError::Conflict {
            code: "not_closed",
            message: "A transcript can be sent once the conversation has ended.".into(),
        });
    }
    let given = input.email.as_deref().filter(|e| !e.trim().is_empty()).map(Email::parse).transpose()?;
    let sealed = match given {
        Some(email) => state.secrets.seal(email.as_str()),
        None => {
            let mut conn = state.store.read.acquire().await.map_err(anyhow::Error::from)?;
            let own =
                store::outbox::progress(&mut conn, &c.id).await.map_err(anyhow::Error::from)?.email_sealed;
            own.ok_or_else(|| {
                AppError::bad_request("email_required", "Give an e-mail address to send it to.")
            })?
        }
    };
    let now = state.now_ms();
    let number = transcripts::insert(&state.store, &c.id, &sealed, &c.lang, MOST, now)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(|| AppError::Conflict {
            code: "too_many_transcripts",
            message: format!("This conversation has been sent {MOST} times already."),
        })?;
    let mut conn = state.store.write.acquire().await.map_err(anyhow::Error::from)?;
    let detail = serde_json::json!({ "number": number });
    store::events::insert_event(
        &mut conn,
        &c.id,
        now,
        Role::Requester,
        None,
        "transcript_requested",
        &detail,
    )
    .await
    .map_err(anyhow::Error::from)?;
    Ok(TranscriptRequested { number })
}

/// Sends the transcripts that are due; how many went out.
pub async fn round(state: &AppState, mailer: &Mailer) -> anyhow::Result<usize> {
    let mut sent = 0;
    for due in transcripts::due(&state.store, state.now_ms(), ROUND).await? {
        if dispatch(state, mailer, &due).await? {
            sent += 1;
        }
    }
    Ok(sent)
}

async fn dispatch(state: &AppState, mailer: &Mailer, due: &transcripts::Due) -> anyhow::Result<bool> {
    let (id, number) = (&due.conversation_id, due.number);
    let mut conn = state.store.read.acquire().await?;
    let Some(conversation) = conversations::find(&mut conn, id).await? else {
        return finish(state, due, "gone").await;
    };
    let all = messages::all_after(&mut conn, id, 0).await?;
    drop(conn);
    let address = due
        .email_sealed
        .as_deref()
        .and_then(|sealed| state.secrets.open(sealed))
        .and_then(|plain| plain.parse::<lettre::Address>().ok());
    let Some(address) = address else { return finish(state, due, "no_address").await };
    let site_name = state.config.site(&conversation.site).map_or(conversation.site.as_str(), |s| &s.name);
    let letter = Letter {
        conversation: &conversation,
        site_name,
        messages: &all,
        first: false,
        retention_days: state.config.retention_days,
        reply_to: None,
        transcript: Some(number),
        through_wiki: false,
    };
    let built = letter.build(&state.i18n, &mailer.from, Mailbox::new(None, address), mailer.domain(), number);
    let result = match built {
        Ok(mail) => mailer.send(mail).await,
        Err(_) => Err(SendError { permanent: true, code: "unbuildable".into() }),
    };
    match result {
        Ok(()) => {
            state.metrics.mail_sent();
            finish(state, due, "sent").await?;
            Ok(true)
        }
        Err(error) if !error.permanent && due.attempts + 1 < i64::from(mailer.config.max_attempts) => {
            let attempts = due.attempts + 1;
            state.metrics.mail_retried();
            let at = state.now_ms() + mailer.config.retry_wait_ms(attempts);
            transcripts::retry_later(&state.store, id, number, attempts, at).await?;
            Ok(false)
        }
        Err(error) => {
            tracing::warn!(conversation = %id, code = %error.code, "transcript given up");
            state.metrics.mail_failed();
            finish(state, due, &error.code).await
        }
    }
}

async fn finish(state: &AppState, due: &transcripts::Due, outcome: &str) -> anyhow::Result<bool> {
    transcripts::finish(&state.store, &due.conversation_id, due.number, outcome, state.now_ms()).await?;
    Ok(false)
}
