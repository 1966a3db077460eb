//! The mailer loop: finds conversations on the e-mail channel with unseen messages,
//! sends what is worth a mail, and records progress on the conversation row.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use serde::Serialize;
use sqlx::Row;
use tokio_util::sync::CancellationToken;

use super::compose::{Letter, worth_sending};
use super::{Mailer, SendError};
use crate::conversations::model::{Role, Status};
use crate::conversations::queries;
use crate::conversations::service::Services;
use crate::store::now_ms;

/// Conversations looked at per round; the rest wait for the next round.
const ROUND: i64 = 50;
/// Messages put in one mail at most; more go in the next one.
const PAGE: i64 = 500;
const LONGEST_RETRY_MS: i64 = 3_600_000;

/// Where the mail of a conversation stands, for the helper who answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailState {
    /// Everything worth sending has been sent.
    Sent,
    /// Answers are waiting to go out (or to be tried again).
    Pending,
    /// The relay refused the last mail, or it kept failing: the requester may not have it.
    Failed,
}

impl MailState {
    /// Whether the conversation has an address on file (never the address), and, on the
    /// e-mail channel, how its mail stands — in one read.
    pub async fn of(
        conn: &mut sqlx::AnyConnection,
        conversation_id: &str,
    ) -> sqlx::Result<(bool, Option<Self>)> {
        let row = sqlx::query(
            "SELECT channel, mail_seen_seq, last_seq, mail_failed_at, \
             CASE WHEN email_sealed IS NULL THEN 0 ELSE 1 END AS has_email FROM conversations WHERE id = $1",
        )
        .bind(conversation_id)
        .fetch_optional(conn)
        .await?;
        let Some(row) = row else { return Ok((false, None)) };
        let has_email = row.try_get::<i64, _>("has_email")? != 0;
        if row.try_get::<String, _>("channel")? != "email" {
            return Ok((has_email, None));
        }
        let failed: Option<i64> = row.try_get("mail_failed_at")?;
        let seen: i64 = row.try_get("mail_seen_seq")?;
        let last: i64 = row.try_get("last_seq")?;
        let state = if failed.is_some() {
            MailState::Failed
        } else if seen < last {
            MailState::Pending
        } else {
            MailState::Sent
        };
        Ok((has_email, Some(state)))
    }
}

/// Runs until shutdown, one round every `poll_ms`.
pub async fn run(services: Arc<Services>, mailer: Arc<Mailer>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_millis(mailer.config.poll_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        if let Err(error) = round(&services, &mailer).await {
            tracing::warn!(%error, "mail round failed; will retry");
        }
    }
}

/// One pass over the conversations that are due. Returns how many mails went out.
pub async fn round(services: &Services, mailer: &Mailer) -> anyhow::Result<usize> {
    let due: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM conversations WHERE channel = 'email' AND mail_seen_seq < last_seq \
         AND mail_retry_at <= $1 ORDER BY mail_retry_at LIMIT $2",
    )
    .bind(now_ms())
    .bind(ROUND)
    .fetch_all(&services.store.read)
    .await?;
    let mut sent = 0;
    for id in due {
        if dispatch(services, mailer, &id).await? {
            sent += 1;
        }
    }
    Ok(sent)
}

struct Progress {
    email_sealed: Option<String>,
    seen: i64,
    mailed: i64,
    attempts: i64,
}

async fn dispatch(services: &Services, mailer: &Mailer, id: &str) -> anyhow::Result<bool> {
    let mut conn = services.store.read.acquire().await?;
    let Some(conversation) = queries::find(&mut conn, id).await? else { return Ok(false) };
    let row = sqlx::query(
        "SELECT email_sealed, mail_seen_seq, mailed_seq, mail_attempts FROM conversations WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    let progress = Progress {
        email_sealed: row.try_get("email_sealed")?,
        seen: row.try_get("mail_seen_seq")?,
        mailed: row.try_get("mailed_seq")?,
        attempts: i64::from(row.try_get::<i32, _>("mail_attempts")?),
    };
    let messages = queries::messages_after(&mut conn, id, progress.mailed, PAGE).await?;
    drop(conn);
    let seen_to = messages.last().map_or(conversation.last_seq, |m| m.seq);

    let address = progress
        .email_sealed
        .as_deref()
        .and_then(|sealed| services.secrets.open(sealed))
        .and_then(|plain| plain.parse::<lettre::Address>().ok());
    let Some(address) = address else {
        // Nothing to send to (or a key that no longer opens it): do not look again.
        tracing::warn!(conversation = id, "e-mail conversation without a usable address");
        return give_up(services, id, seen_to, "no_address").await.map(|()| false);
    };
    let first = progress.mailed == 0;
    let closed = conversation.status == Status::Closed
        && messages.iter().any(|m| m.seq > progress.seen && m.author_role == Role::System);
    if !worth_sending(first, &messages, closed) {
        sqlx::query("UPDATE conversations SET mail_seen_seq = $1 WHERE id = $2 AND mail_seen_seq < $1")
            .bind(seen_to)
            .bind(id)
            .execute(&services.store.write)
            .await?;
        return Ok(false);
    }

    let site_name = services.config.site(&conversation.site).map_or(conversation.site.as_str(), |s| &s.name);
    let letter = Letter {
        conversation: &conversation,
        site_name,
        messages: &messages,
        first,
        retention_days: services.config.retention_days,
    };
    let built =
        letter.build(&services.i18n, &mailer.from, Mailbox::new(None, address), mailer.domain(), seen_to);
    let result = match built {
        Ok(mail) => mailer.send(mail).await,
        Err(_) => Err(SendError { permanent: true, code: "unbuildable".into() }),
    };
    match result {
        Ok(()) => {
            sqlx::query(
                "UPDATE conversations SET mailed_seq = $1, mail_seen_seq = $1, mail_attempts = 0, \
                 mail_retry_at = 0, mail_failed_at = NULL WHERE id = $2",
            )
            .bind(seen_to)
            .bind(id)
            .execute(&services.store.write)
            .await?;
            services.metrics.mail_sent();
            Ok(true)
        }
        Err(error) if !error.permanent && progress.attempts + 1 < i64::from(mailer.config.max_attempts) => {
            let attempts = progress.attempts + 1;
            let first = i64::try_from(mailer.config.retry_ms).unwrap_or(LONGEST_RETRY_MS);
            let wait = first.saturating_mul(1 << (attempts - 1).min(20)).min(LONGEST_RETRY_MS);
            tracing::info!(conversation = id, code = %error.code, attempts, "mail not sent; will retry");
            services.metrics.mail_retried();
            sqlx::query("UPDATE conversations SET mail_attempts = $1, mail_retry_at = $2 WHERE id = $3")
                .bind(i32::try_from(attempts).unwrap_or(i32::MAX))
                .bind(now_ms() + wait)
                .bind(id)
                .execute(&services.store.write)
                .await?;
            Ok(false)
        }
        Err(error) => {
            tracing::warn!(conversation = id, code = %error.code, "mail given up");
            give_up(services, id, seen_to, &error.code).await.map(|()| false)
        }
    }
}

/// Stops trying the messages up to `seen_to`: marks the mail failed for the helper to see
/// and audits it. `mailed_seq` stays, so the next mail that does go out repeats them.
async fn give_up(services: &Services, id: &str, seen_to: i64, code: &str) -> anyhow::Result<()> {
    let now = now_ms();
    let mut tx = services.store.write.begin().await?;
    sqlx::query(
        "UPDATE conversations SET mail_seen_seq = $1, mail_attempts = 0, mail_retry_at = 0, \
         mail_failed_at = $2 WHERE id = $3",
    )
    .bind(seen_to)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let detail = serde_json::json!({ "code": code });
    queries::insert_event(&mut tx, id, now, Role::System, None, "mail_failed", &detail).await?;
    tx.commit().await?;
    services.metrics.mail_failed();
    Ok(())
}
