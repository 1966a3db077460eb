//! SQL for eligibility: the members of a queue with their suspension, suspending and
//! restoring one, and applications to join a queue with their decisions.

use sqlx::Row;

use super::Store;
use crate::domain::{HelperId, QueueId};

/// A member of a queue as the eligibility check sees them.
#[derive(Clone, Debug)]
pub struct Member {
    pub helper: HelperId,
    pub name: String,
    /// Why they are suspended from the queue, if they are.
    pub suspended: Option<String>,
}

pub async fn members(store: &Store, queue: &QueueId) -> sqlx::Result<Vec<Member>> {
    let rows = sqlx::query(
        "SELECT h.id, h.name, q.suspended FROM helper_queues q JOIN helpers h ON h.id = q.helper_id \
         WHERE q.queue = $1 ORDER BY h.name",
    )
    .bind(queue)
    .fetch_all(&store.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Member {
                helper: r.try_get("id")?,
                name: r.try_get("name")?,
                suspended: r.try_get("suspended")?,
            })
        })
        .collect()
}

/// Sets (or, with `None`, lifts) a member's suspension from a queue. `true` when it
/// changed; the time of the check is kept either way.
pub async fn set_suspended(
    store: &Store,
    helper: &HelperId,
    queue: &QueueId,
    reason: Option<&str>,
    now: i64,
) -> sqlx::Result<bool> {
    let changed = sqlx::query(
        "UPDATE helper_queues SET suspended = $3, checked_at = $4 \
         WHERE helper_id = $1 AND queue = $2 AND suspended IS DISTINCT FROM $3",
    )
    .bind(helper)
    .bind(queue)
    .bind(reason)
    .bind(now)
    .execute(&store.write)
    .await?
    .rows_affected();
    if changed == 0 {
        sqlx::query("UPDATE helper_queues SET checked_at = $3 WHERE helper_id = $1 AND queue = $2")
            .bind(helper)
            .bind(queue)
            .bind(now)
            .execute(&store.write)
            .await?;
    }
    Ok(changed > 0)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    pub id: String,
    pub queue: QueueId,
    pub name: String,
    pub statement: String,
    /// `pending`, `approved` or `declined`.
    pub status: String,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

const APPLICATION_COLUMNS: &str = "a.id, a.queue, a.name, a.statement, a.status, h.name AS decided_by, a.reason, \
     a.created_at, a.decided_at";

fn application(r: &sqlx::any::AnyRow) -> sqlx::Result<Application> {
    Ok(Application {
        id: r.try_get("id")?,
        queue: r.try_get("queue")?,
        name: r.try_get("name")?,
        statement: r.try_get("statement")?,
        status: r.try_get("status")?,
        decided_by: r.try_get("decided_by")?,
        reason: r.try_get("reason")?,
        created_at: r.try_get("created_at")?,
        decided_at: r.try_get("decided_at")?,
    })
}

/// Files an application; `false` when this account already has one pending for the queue.
pub async fn apply(
    store: &Store,
    id: &str,
    queue: &QueueId,
    name: &str,
    statement: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let mut tx = store.write.begin().await?;
    let pending: Option<String> = sqlx::query_scalar(
        "SELECT id FROM queue_applications WHERE queue = $1 AND name = $2 AND status = 'pending'",
    )
    .bind(queue)
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?;
    if pending.is_some() {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO queue_applications (id, queue, name, statement, status, created_at) \
         VALUES ($1, $2, $3, $4, 'pending', $5)",
    )
    .bind(id)
    .bind(queue)
    .bind(name)
    .bind(statement)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// A queue's applications, pending first, then the latest decisions.
pub async fn of_queue(store: &Store, queue: &QueueId) -> sqlx::Result<Vec<Application>> {
    let sql = format!(
        "SELECT {APPLICATION_COLUMNS} FROM queue_applications a LEFT JOIN helpers h ON h.id = a.decided_by \
         WHERE a.queue = $1 ORDER BY CASE a.status WHEN 'pending' THEN 0 ELSE 1 END, a.created_at DESC LIMIT 200"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(queue).fetch_all(&store.read).await?;
    rows.iter().map(application).collect()
}

pub async fn find(store: &Store, id: &str) -> sqlx::Result<Option<Application>> {
    let sql = format!(
        "SELECT {APPLICATION_COLUMNS} FROM queue_applications a LEFT JOIN helpers h ON h.id = a.decided_by \
         WHERE a.id = $1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&store.read).await?;
    row.as_ref().map(application).transpose()
}

/// Decides a pending application; `false` when it was not pending (decided already).
pub async fn decide(
    store: &Store,
    id: &str,
    approved: bool,
    by: &HelperId,
    reason: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let status = if approved { "approved" } else { "declined" };
    let changed = sqlx::query(
        "UPDATE queue_applications SET status = $2, decided_by = $3, reason = $4, decided_at = $5 \
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(status)
    .bind(by)
    .bind(reason)
    .bind(now)
    .execute(&store.write)
    .await?
    .rows_affected();
    Ok(changed > 0)
}

/// Whether the account's latest decided application to the queue was approved.
pub async fn approved(store: &Store, queue: &QueueId, name: &str) -> sqlx::Result<bool> {
    let latest: Option<String> = sqlx::query_scalar(
        "SELECT status FROM queue_applications WHERE queue = $1 AND name = $2 AND status <> 'pending' \
         ORDER BY decided_at DESC LIMIT 1",
    )
    .bind(queue)
    .bind(name)
    .fetch_optional(&store.read)
    .await?;
    Ok(latest.as_deref() == Some("approved"))
}

/// A wiki account that proved its name through OAuth and may apply until `expires_at`.
pub async fn new_applicant(store: &Store, token_hash: &str, name: &str, expires_at: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM applicants WHERE expires_at < $1")
        .bind(expires_at - 2 * 3_600_000)
        .execute(&store.write)
        .await?;
    sqlx::query("INSERT INTO applicants (token_hash, name, expires_at) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(name)
        .bind(expires_at)
        .execute(&store.write)
        .await?;
    Ok(())
}

/// The name behind an applicant's token, while it lasts.
pub async fn applicant(store: &Store, token_hash: &str, now: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT name FROM applicants WHERE token_hash = $1 AND expires_at > $2")
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&store.read)
        .await
}
