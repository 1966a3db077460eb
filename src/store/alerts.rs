//! SQL for helpers' mail alerts (`migrations/*/0018_alerts.sql`): who asked for which,
//! the requests that have waited too long and were not alerted about yet, and what a
//! daily digest counts.

use sqlx::Row;

use super::Store;
use crate::domain::{ConversationId, HelperId, MailAlerts, QueueId};

/// A helper to mail: never more than the sealed address and their languages.
pub struct Recipient {
    pub id: HelperId,
    pub name: String,
    pub email_sealed: String,
    /// The helper's languages, first the one they read best (may be empty).
    pub languages: String,
}

/// The helper's choice, and whether they have an address to mail it to.
pub async fn choice(store: &Store, helper: &HelperId) -> sqlx::Result<(MailAlerts, bool)> {
    let row = sqlx::query(
        "SELECT mail_alerts, CASE WHEN email_sealed IS NULL THEN 0 ELSE 1 END AS has_email          FROM helpers WHERE id = $1",
    )
    .bind(helper)
    .fetch_optional(&store.read)
    .await?;
    let Some(row) = row else { return Ok((MailAlerts::Off, false)) };
    let text: String = row.try_get("mail_alerts")?;
    let has_email: i64 = row.try_get("has_email")?;
    Ok((MailAlerts::parse(&text).unwrap_or(MailAlerts::Off), has_email != 0))
}

pub async fn set_choice(store: &Store, helper: &HelperId, choice: MailAlerts) -> sqlx::Result<()> {
    sqlx::query("UPDATE helpers SET mail_alerts = $2 WHERE id = $1")
        .bind(helper)
        .bind(choice.as_str())
        .execute(&store.write)
        .await?;
    Ok(())
}

/// Members of the queue, not suspended from it, who chose `choice` and have an address.
pub async fn recipients(store: &Store, queue: &QueueId, choice: MailAlerts) -> sqlx::Result<Vec<Recipient>> {
    let rows = sqlx::query(
        "SELECT h.id, h.name, h.email_sealed, h.languages FROM helpers h \
         JOIN helper_queues q ON q.helper_id = h.id \
         WHERE q.queue = $1 AND q.suspended IS NULL AND h.mail_alerts = $2 AND h.email_sealed IS NOT NULL \
         ORDER BY h.name",
    )
    .bind(queue)
    .bind(choice.as_str())
    .fetch_all(&store.read)
    .await?;
    rows.iter().map(recipient).collect()
}

fn recipient(row: &sqlx::any::AnyRow) -> sqlx::Result<Recipient> {
    Ok(Recipient {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        email_sealed: row.try_get("email_sealed")?,
        languages: row.try_get("languages")?,
    })
}

/// Waiting requests of the queue, nobody's yet, waiting since before `before`, not
/// alerted about.
pub async fn overdue(store: &Store, queue: &QueueId, before: i64) -> sqlx::Result<Vec<ConversationId>> {
    sqlx::query_scalar(
        "SELECT id FROM conversations WHERE queue = $1 AND status = 'waiting' AND closed_at IS NULL \
         AND owner_id IS NULL AND alerted_at IS NULL AND waiting_since <= $2 ORDER BY waiting_since",
    )
    .bind(queue)
    .bind(before)
    .fetch_all(&store.read)
    .await
}

pub async fn mark_alerted(store: &Store, ids: &[ConversationId], now: i64) -> sqlx::Result<()> {
    for id in ids {
        sqlx::query("UPDATE conversations SET alerted_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&store.write)
            .await?;
    }
    Ok(())
}

/// Helpers who chose the digest and have not had today's (`day`: days since 1970, UTC).
pub async fn digest_due(store: &Store, day: i64) -> sqlx::Result<Vec<Recipient>> {
    let rows = sqlx::query(
        "SELECT id, name, email_sealed, languages FROM helpers \
         WHERE mail_alerts = 'digest' AND email_sealed IS NOT NULL AND digest_day < $1 ORDER BY name",
    )
    .bind(day)
    .fetch_all(&store.read)
    .await?;
    rows.iter().map(recipient).collect()
}

pub async fn mark_digest(store: &Store, helper: &HelperId, day: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE helpers SET digest_day = $2 WHERE id = $1")
        .bind(helper)
        .bind(day)
        .execute(&store.write)
        .await?;
    Ok(())
}

/// What a digest says of one queue: waiting now, and opened and closed since `since`.
pub struct QueueDay {
    pub waiting: i64,
    pub opened: i64,
    pub closed: i64,
}

pub async fn queue_day(store: &Store, queue: &QueueId, since: i64) -> sqlx::Result<QueueDay> {
    let row = sqlx::query(
        "SELECT \
           COALESCE(SUM(CASE WHEN status = 'waiting' THEN 1 ELSE 0 END), 0) AS waiting, \
           COALESCE(SUM(CASE WHEN created_at >= $2 THEN 1 ELSE 0 END), 0) AS opened, \
           COALESCE(SUM(CASE WHEN closed_at >= $2 THEN 1 ELSE 0 END), 0) AS closed \
         FROM conversations WHERE queue = $1 AND (status = 'waiting' OR created_at >= $2 OR closed_at >= $2)",
    )
    .bind(queue)
    .bind(since)
    .fetch_one(&store.read)
    .await?;
    Ok(QueueDay {
        waiting: row.try_get("waiting")?,
        opened: row.try_get("opened")?,
        closed: row.try_get("closed")?,
    })
}
