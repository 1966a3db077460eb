//! SQL for helper accounts: who they are, their queues and roles, their API tokens and
//! the sealed address their sign-in links may be mailed to.

use sqlx::{AnyConnection, Row};

use super::Store;
use crate::domain::{ConversationId, Helper, HelperId, Membership, QueueId, QueueRole, Role, Suspension};

/// Stores a new helper; `false` when the name is taken.
pub async fn insert(
    store: &Store,
    id: &HelperId,
    name: &str,
    queues: &[QueueId],
    languages: &[String],
    now: i64,
) -> sqlx::Result<bool> {
    let mut tx = store.write.begin().await?;
    let exists: Option<String> = sqlx::query_scalar("SELECT id FROM helpers WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_some() {
        return Ok(false);
    }
    sqlx::query("INSERT INTO helpers (id, name, languages, away, created_at) VALUES ($1, $2, $3, 0, $4)")
        .bind(id)
        .bind(name)
        .bind(languages.join(","))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    for queue in queues {
        sqlx::query("INSERT INTO helper_queues (helper_id, queue, role) VALUES ($1, $2, 'helper')")
            .bind(id)
            .bind(queue)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Adds a helper to a queue (as `helper`); nothing changes if they are in it already.
pub async fn join_queue(store: &Store, helper: &HelperId, queue: &QueueId) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO helper_queues (helper_id, queue, role) VALUES ($1, $2, 'helper') \
         ON CONFLICT (helper_id, queue) DO NOTHING",
    )
    .bind(helper)
    .bind(queue)
    .execute(&store.write)
    .await?;
    Ok(())
}

/// Takes a helper out of a queue. Conversations of that queue they still owned (the
/// conversations' own path returned them a moment before; one may have been claimed
/// since) go back to it in the same transaction.
pub async fn leave_queue(
    store: &Store,
    helper: &HelperId,
    queue: &QueueId,
    by: &HelperId,
    now: i64,
) -> sqlx::Result<()> {
    let mut tx = store.write.begin().await?;
    let detail = serde_json::json!({ "reason": "helper left the queue" });
    release_owned(&mut tx, helper, Some(queue), Some(by), &detail, now).await?;
    sqlx::query("DELETE FROM helper_queues WHERE helper_id = $1 AND queue = $2")
        .bind(helper)
        .bind(queue)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Sets a helper's role in a queue; `false` when they are not a member.
pub async fn set_role(
    store: &Store,
    helper: &HelperId,
    queue: &QueueId,
    role: QueueRole,
) -> sqlx::Result<bool> {
    let changed = sqlx::query("UPDATE helper_queues SET role = $3 WHERE helper_id = $1 AND queue = $2")
        .bind(helper)
        .bind(queue)
        .bind(role.as_str())
        .execute(&store.write)
        .await?;
    Ok(changed.rows_affected() > 0)
}

/// Puts the open conversations a helper owns (in `queue`, or in all) back in their
/// queues: status `waiting`, no owner, and a `released` audit event by `actor` or by
/// the system.
async fn release_owned(
    conn: &mut AnyConnection,
    helper: &HelperId,
    queue: Option<&QueueId>,
    actor: Option<&HelperId>,
    detail: &serde_json::Value,
    now: i64,
) -> sqlx::Result<()> {
    let owned = super::conversations::owned_open(conn, helper, queue).await?;
    for conversation in &owned {
        release_one(conn, conversation, actor, detail, now).await?;
    }
    Ok(())
}

async fn release_one(
    conn: &mut AnyConnection,
    conversation: &ConversationId,
    actor: Option<&HelperId>,
    detail: &serde_json::Value,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE conversations SET owner_id = NULL, status = 'waiting', updated_at = $2 WHERE id = $1",
    )
    .bind(conversation)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let role = if actor.is_some() { Role::Helper } else { Role::System };
    super::events::insert_event(conn, conversation, now, role, actor, "released", detail).await
}

/// Removes a helper (by name); `false` when there is none. Conversations they still
/// owned go back to their queues in the same transaction.
pub async fn remove(store: &Store, name: &str, now: i64) -> sqlx::Result<bool> {
    let mut tx = store.write.begin().await?;
    let Some(id) = sqlx::query_scalar::<_, HelperId>("SELECT id FROM helpers WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(false);
    };
    let detail = serde_json::json!({ "reason": "helper removed", "helper": name });
    release_owned(&mut tx, &id, None, None, &detail, now).await?;
    sqlx::query("DELETE FROM helpers WHERE id = $1").bind(&id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn insert_token(store: &Store, token_hash: &str, helper: &HelperId, now: i64) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO helper_tokens (token_hash, helper_id, created_at) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(helper)
        .bind(now)
        .execute(&store.write)
        .await?;
    Ok(())
}

/// Every helper, by name.
pub async fn list(store: &Store) -> sqlx::Result<Vec<Helper>> {
    let mut conn = store.read.acquire().await?;
    let ids: Vec<HelperId> =
        sqlx::query_scalar("SELECT id FROM helpers ORDER BY name").fetch_all(&mut *conn).await?;
    let mut helpers = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(h) = load(&mut conn, By::Id, id.as_str()).await? {
            helpers.push(h);
        }
    }
    Ok(helpers)
}

pub async fn find_by_name(store: &Store, name: &str) -> sqlx::Result<Option<Helper>> {
    let mut conn = store.read.acquire().await?;
    load(&mut conn, By::Name, name).await
}

pub async fn find_by_id(conn: &mut AnyConnection, id: &HelperId) -> sqlx::Result<Option<Helper>> {
    load(conn, By::Id, id.as_str()).await
}

/// The helper of an API token's hash.
pub async fn find_by_token_hash(store: &Store, token_hash: &str) -> sqlx::Result<Option<Helper>> {
    let mut conn = store.read.acquire().await?;
    let id: Option<HelperId> =
        sqlx::query_scalar("SELECT helper_id FROM helper_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&mut *conn)
            .await?;
    match id {
        Some(id) => find_by_id(&mut conn, &id).await,
        None => Ok(None),
    }
}

/// The helper holding an address (by its keyed lookup hash), other than `except`.
pub async fn email_holder(store: &Store, lookup: &str) -> sqlx::Result<Option<HelperId>> {
    sqlx::query_scalar("SELECT id FROM helpers WHERE email_lookup = $1")
        .bind(lookup)
        .fetch_optional(&store.read)
        .await
}

/// Stores (or, with `None`s, clears) a helper's sealed address and its lookup hash.
pub async fn set_email(
    store: &Store,
    helper: &HelperId,
    sealed: Option<&str>,
    lookup: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE helpers SET email_sealed = $2, email_lookup = $3 WHERE id = $1")
        .bind(helper)
        .bind(sealed)
        .bind(lookup)
        .execute(&store.write)
        .await?;
    Ok(())
}

/// The helper with this lookup hash, and their sealed address.
pub async fn find_by_email_lookup(store: &Store, lookup: &str) -> sqlx::Result<Option<(Helper, String)>> {
    let mut conn = store.read.acquire().await?;
    let row: Option<(HelperId, Option<String>)> =
        sqlx::query_as("SELECT id, email_sealed FROM helpers WHERE email_lookup = $1")
            .bind(lookup)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((id, Some(sealed))) = row else { return Ok(None) };
    Ok(find_by_id(&mut conn, &id).await?.map(|helper| (helper, sealed)))
}

pub async fn set_away(store: &Store, id: &HelperId, away: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE helpers SET away = $2 WHERE id = $1")
        .bind(id)
        .bind(i64::from(away))
        .execute(&store.write)
        .await?;
    Ok(())
}

pub async fn set_capacity(store: &Store, id: &HelperId, capacity: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE helpers SET capacity = $2 WHERE id = $1")
        .bind(id)
        .bind(i32::try_from(capacity).unwrap_or(5))
        .execute(&store.write)
        .await?;
    Ok(())
}

/// Shows the helper to requesters by their team alias, or by their name again. The
/// alias number is given once and kept.
pub async fn set_shown_as_alias(store: &Store, id: &HelperId, use_alias: bool) -> sqlx::Result<()> {
    let mut tx = store.write.begin().await?;
    let number: Option<i64> = sqlx::query_scalar("SELECT alias_number FROM helpers WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
    if use_alias && number.is_none() {
        // The write pool serialises writers on SQLite; on PostgreSQL the unique index
        // turns a race into an error and a retry by the helper.
        let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(alias_number), 0) + 1 FROM helpers")
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query("UPDATE helpers SET alias_number = $2 WHERE id = $1")
            .bind(id)
            .bind(next)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("UPDATE helpers SET use_alias = $2 WHERE id = $1")
        .bind(id)
        .bind(i64::from(use_alias))
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Locks the helper's row for the rest of the transaction (a no-op update), so that
/// two requests about the same helper take turns.
pub async fn lock(conn: &mut AnyConnection, id: &HelperId) -> sqlx::Result<()> {
    sqlx::query("UPDATE helpers SET id = id WHERE id = $1").bind(id).execute(conn).await?;
    Ok(())
}

enum By {
    Id,
    Name,
}

async fn load(conn: &mut AnyConnection, by: By, value: &str) -> sqlx::Result<Option<Helper>> {
    let column = match by {
        By::Id => "id",
        By::Name => "name",
    };
    let sql = format!(
        "SELECT id, name, languages, away, alias_number, use_alias, capacity FROM helpers WHERE {column} = $1"
    );
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(value).fetch_optional(&mut *conn).await?
    else {
        return Ok(None);
    };
    let id: HelperId = row.try_get("id")?;
    let languages: String = row.try_get("languages")?;
    let rows =
        sqlx::query("SELECT queue, role, suspended FROM helper_queues WHERE helper_id = $1 ORDER BY queue")
            .bind(&id)
            .fetch_all(&mut *conn)
            .await?;
    let (mut queues, mut suspended) = (Vec::new(), Vec::new());
    for r in &rows {
        let queue: QueueId = r.try_get("queue")?;
        match r.try_get::<Option<String>, _>("suspended")? {
            Some(reason) => suspended.push(Suspension { queue, reason }),
            None => {
                let role: String = r.try_get("role")?;
                queues.push(Membership { queue, role: QueueRole::parse(&role).unwrap_or(QueueRole::Helper) });
            }
        }
    }
    Ok(Some(Helper {
        id,
        name: row.try_get("name")?,
        languages: languages.split(',').filter(|l| !l.is_empty()).map(str::to_string).collect(),
        away: row.try_get::<i64, _>("away")? != 0,
        queues,
        alias: match (row.try_get::<i64, _>("use_alias")?, row.try_get::<Option<i64>, _>("alias_number")?) {
            (1, Some(n)) => Some(format!("#{n}")),
            _ => None,
        },
        capacity: i64::from(row.try_get::<i32, _>("capacity")?),
        suspended,
    }))
}
