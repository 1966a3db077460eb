//! SQL for the mail outbox, which is the conversation row itself: `mail_seen_seq`
//! (messages the mailer has looked at), `mailed_seq` (messages that went out in a mail),
//! `mail_attempts`, `mail_retry_at`, `mail_failed_at`.

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::Store;
use crate::domain::{ConversationId, Role};

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

/// Whether the conversation has an address on file (never the address), and, on the
/// e-mail channel, how its mail stands — in one read.
pub async fn mail_state(
    conn: &mut AnyConnection,
    id: &ConversationId,
) -> sqlx::Result<(bool, Option<MailState>)> {
    let row = sqlx::query(
        "SELECT channel, mail_seen_seq, last_seq, mail_failed_at, \
         CASE WHEN email_sealed IS NULL THEN 0 ELSE 1 END AS has_email FROM conversations WHERE id = $1",
    )
    .bind(id)
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

/// Conversations on the e-mail channel with messages the mailer has not seen, due now.
pub async fn due(store: &Store, now: i64, limit: i64) -> sqlx::Result<Vec<ConversationId>> {
    sqlx::query_scalar(
        "SELECT id FROM conversations WHERE channel = 'email' AND mail_seen_seq < last_seq \
         AND mail_retry_at <= $1 ORDER BY mail_retry_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&store.read)
    .await
}

/// How far the mail of a conversation got.
pub struct Progress {
    pub email_sealed: Option<String>,
    /// Answers go to this verified wiki account, through the wiki's e-mail.
    pub wiki_mail_to: Option<String>,
    pub seen: i64,
    pub mailed: i64,
    pub attempts: i64,
}

pub async fn progress(conn: &mut AnyConnection, id: &ConversationId) -> sqlx::Result<Progress> {
    let row = sqlx::query(
        "SELECT email_sealed, wiki_mail_to, mail_seen_seq, mailed_seq, mail_attempts FROM conversations WHERE id = $1",
    )
    .bind(id)
    .fetch_one(conn)
    .await?;
    Ok(Progress {
        email_sealed: row.try_get("email_sealed")?,
        wiki_mail_to: row.try_get("wiki_mail_to")?,
        seen: row.try_get("mail_seen_seq")?,
        mailed: row.try_get("mailed_seq")?,
        attempts: i64::from(row.try_get::<i32, _>("mail_attempts")?),
    })
}

/// From now on answers go to the wiki account `name` through the wiki's e-mail; what the
/// requester has seen in the chat up to `seq` is not mailed again.
pub async fn send_through_wiki(store: &Store, id: &ConversationId, name: &str, seq: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE conversations SET wiki_mail_to = $2, mailed_seq = $3, mail_seen_seq = $3, mail_attempts = 0, \
         mail_retry_at = 0, mail_failed_at = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(name)
    .bind(seq)
    .execute(&store.write)
    .await?;
    Ok(())
}

/// Looked at up to `seq`, nothing worth a mail.
pub async fn mark_seen(store: &Store, id: &ConversationId, seq: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE conversations SET mail_seen_seq = $1 WHERE id = $2 AND mail_seen_seq < $1")
        .bind(seq)
        .bind(id)
        .execute(&store.write)
        .await?;
    Ok(())
}

/// Mailed up to `seq`.
pub async fn mark_sent(store: &Store, id: &ConversationId, seq: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE conversations SET mailed_seq = $1, mail_seen_seq = $1, mail_attempts = 0, \
         mail_retry_at = 0, mail_failed_at = NULL WHERE id = $2",
    )
    .bind(seq)
    .bind(id)
    .execute(&store.write)
    .await?;
    Ok(())
}

/// Not sent this time; try again at `retry_at`.
pub async fn retry_later(
    store: &Store,
    id: &ConversationId,
    attempts: i64,
    retry_at: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE conversations SET mail_attempts = $1, mail_retry_at = $2 WHERE id = $3")
        .bind(i32::try_from(attempts).unwrap_or(i32::MAX))
        .bind(retry_at)
        .bind(id)
        .execute(&store.write)
        .await?;
    Ok(())
}

/// Given up on the messages up to `seq`: marked failed, and audited with the SMTP code
/// only. `mailed_seq` stays, so the next mail that does go out repeats them.
pub async fn give_up(store: &Store, id: &ConversationId, seq: i64, code: &str, now: i64) -> sqlx::Result<()> {
    let mut tx = store.write.begin().await?;
    sqlx::query(
        "UPDATE conversations SET mail_seen_seq = $1, mail_attempts = 0, mail_retry_at = 0, \
         mail_failed_at = $2 WHERE id = $3",
    )
    .bind(seq)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let detail = serde_json::json!({ "code": code });
    super::events::insert_event(&mut tx, id, now, Role::System, None, "mail_failed", &detail).await?;
    tx.commit().await
}
