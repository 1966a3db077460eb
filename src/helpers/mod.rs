//! Helper accounts: who they are, which queues they belong to, their API tokens, and
//! whether they are online.

pub mod auth;
pub mod presence;
pub mod routes;

use sqlx::{AnyConnection, Row};

use crate::secrets;
use crate::store::{Store, now_ms};

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Helper {
    pub id: String,
    pub name: String,
    pub languages: Vec<String>,
    pub away: bool,
    pub queues: Vec<Membership>,
    /// The team alias (`#12`) requesters see instead of the name, when the helper chose it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Open conversations this helper takes at once.
    pub capacity: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Membership {
    pub queue: String,
    /// `helper` or `coordinator`.
    pub role: String,
}

impl Helper {
    pub fn queue_ids(&self) -> Vec<String> {
        self.queues.iter().map(|m| m.queue.clone()).collect()
    }
    pub fn is_member(&self, queue: &str) -> bool {
        self.queues.iter().any(|m| m.queue == queue)
    }
    /// Queues this helper coordinates.
    pub fn coordinated_queues(&self) -> Vec<String> {
        self.queues.iter().filter(|m| m.role == "coordinator").map(|m| m.queue.clone()).collect()
    }
    /// The name requesters see: the team alias if the helper chose one, else their name.
    pub fn shown_name(&self) -> String {
        self.alias.clone().unwrap_or_else(|| self.name.clone())
    }
    /// Whether this helper takes requests in `lang` (no languages listed: any).
    pub fn speaks(&self, lang: &str) -> bool {
        let base = |code: &str| code.split('-').next().unwrap_or(code).to_ascii_lowercase();
        self.languages.is_empty() || self.languages.iter().any(|l| base(l) == base(lang))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HelperError {
    #[error("a helper named {0} already exists")]
    Exists(String),
    #[error("no helper named {0}")]
    Unknown(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub fn validate_name(name: &str) -> Result<&str, HelperError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 85 {
        return Err(HelperError::Invalid("a helper name has 1 to 85 characters".into()));
    }
    if name.chars().any(|c| c.is_control() || matches!(c, '#' | '<' | '>' | '[' | ']' | '|' | '{' | '}')) {
        return Err(HelperError::Invalid(
            "a helper name cannot contain control characters or any of # < > [ ] | { }".into(),
        ));
    }
    Ok(name)
}

pub async fn add(
    store: &Store,
    name: &str,
    queues: &[String],
    languages: &[String],
) -> Result<Helper, HelperError> {
    let name = validate_name(name)?;
    let mut tx = store.write.begin().await?;
    let exists: Option<String> = sqlx::query_scalar("SELECT id FROM helpers WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_some() {
        return Err(HelperError::Exists(name.to_string()));
    }
    let id = secrets::new_id();
    sqlx::query("INSERT INTO helpers (id, name, languages, away, created_at) VALUES ($1, $2, $3, 0, $4)")
        .bind(&id)
        .bind(name)
        .bind(languages.join(","))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    for queue in queues {
        sqlx::query("INSERT INTO helper_queues (helper_id, queue, role) VALUES ($1, $2, 'helper')")
            .bind(&id)
            .bind(queue)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    find_by_name(store, name).await?.ok_or_else(|| HelperError::Unknown(name.to_string()))
}

/// Adds a helper to a queue (as `helper`); nothing changes if they are in it already.
pub async fn join_queue(store: &Store, helper_id: &str, queue: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO helper_queues (helper_id, queue, role) VALUES ($1, $2, 'helper') \
         ON CONFLICT (helper_id, queue) DO NOTHING",
    )
    .bind(helper_id)
    .bind(queue)
    .execute(&store.write)
    .await?;
    Ok(())
}

/// Takes a helper out of a queue. Conversations of that queue they still owned go back
/// to it (status `waiting`, with an audit event), as when a helper is removed.
pub async fn leave_queue(store: &Store, helper_id: &str, queue: &str, by: &str) -> sqlx::Result<()> {
    let mut tx = store.write.begin().await?;
    let detail = serde_json::json!({ "reason": "helper left the queue" });
    return_owned(&mut tx, helper_id, Some(queue), Some(by), &detail).await?;
    sqlx::query("DELETE FROM helper_queues WHERE helper_id = $1 AND queue = $2")
        .bind(helper_id)
        .bind(queue)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Makes a helper `coordinator` or plain `helper` of a queue they belong to.
pub async fn set_role(store: &Store, name: &str, queue: &str, role: &str) -> Result<(), HelperError> {
    if !matches!(role, "helper" | "coordinator") {
        return Err(HelperError::Invalid("a role is helper or coordinator".into()));
    }
    let helper = find_by_name(store, name).await?.ok_or_else(|| HelperError::Unknown(name.to_string()))?;
    let changed = sqlx::query("UPDATE helper_queues SET role = $3 WHERE helper_id = $1 AND queue = $2")
        .bind(&helper.id)
        .bind(queue)
        .bind(role)
        .execute(&store.write)
        .await?;
    if changed.rows_affected() == 0 {
        return Err(HelperError::Invalid(format!("{name} is not a member of queue {queue}")));
    }
    Ok(())
}

/// Puts the open conversations a helper owns (in `queue`, or in all) back in their
/// queues: status `waiting`, no owner, and a `released` audit event by `actor` (a helper
/// id) or by the system.
async fn return_owned(
    conn: &mut AnyConnection,
    helper_id: &str,
    queue: Option<&str>,
    actor: Option<&str>,
    detail: &serde_json::Value,
) -> sqlx::Result<()> {
    let owned: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM conversations WHERE owner_id = $1 AND ($2 = '' OR queue = $2) \
         AND status IN ('active', 'awaiting_requester')",
    )
    .bind(helper_id)
    .bind(queue.unwrap_or(""))
    .fetch_all(&mut *conn)
    .await?;
    let now = now_ms();
    for conversation in &owned {
        sqlx::query(
            "UPDATE conversations SET owner_id = NULL, status = 'waiting', updated_at = $2 WHERE id = $1",
        )
        .bind(conversation)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO events (conversation_id, at, actor_role, actor_id, action, detail) \
             VALUES ($1, $2, $3, $4, 'released', $5)",
        )
        .bind(conversation)
        .bind(now)
        .bind(if actor.is_some() { "helper" } else { "system" })
        .bind(actor)
        .bind(detail.to_string())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Removes a helper. Conversations they owned and had not closed go back to their
/// queues (status `waiting`, with an audit event), so no requester is left with nobody.
pub async fn remove(store: &Store, name: &str) -> Result<(), HelperError> {
    let mut tx = store.write.begin().await?;
    let id: String = sqlx::query_scalar("SELECT id FROM helpers WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| HelperError::Unknown(name.to_string()))?;
    let detail = serde_json::json!({ "reason": "helper removed", "helper": name });
    return_owned(&mut tx, &id, None, None, &detail).await?;
    sqlx::query("DELETE FROM helpers WHERE id = $1").bind(&id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Creates a new API token; only its hash is kept.
pub async fn new_api_token(store: &Store, name: &str) -> Result<String, HelperError> {
    let helper = find_by_name(store, name).await?.ok_or_else(|| HelperError::Unknown(name.to_string()))?;
    let token = secrets::new_token();
    sqlx::query("INSERT INTO helper_tokens (token_hash, helper_id, created_at) VALUES ($1, $2, $3)")
        .bind(&token.hash)
        .bind(&helper.id)
        .bind(now_ms())
        .execute(&store.write)
        .await?;
    Ok(format!("hlp_{}", token.token))
}

pub async fn list(store: &Store) -> Result<Vec<Helper>, HelperError> {
    let mut conn = store.read.acquire().await?;
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM helpers ORDER BY name").fetch_all(&mut *conn).await?;
    let mut helpers = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(h) = load(&mut conn, "id", &id).await? {
            helpers.push(h);
        }
    }
    Ok(helpers)
}

pub async fn find_by_name(store: &Store, name: &str) -> Result<Option<Helper>, HelperError> {
    let mut conn = store.read.acquire().await?;
    Ok(load(&mut conn, "name", name).await?)
}

pub async fn find_by_id(conn: &mut AnyConnection, id: &str) -> sqlx::Result<Option<Helper>> {
    load(conn, "id", id).await
}

pub async fn find_by_token(store: &Store, token: &str) -> sqlx::Result<Option<Helper>> {
    let Some(raw) = token.strip_prefix("hlp_") else { return Ok(None) };
    let hash = secrets::hash_token(raw);
    let mut conn = store.read.acquire().await?;
    let id: Option<String> = sqlx::query_scalar("SELECT helper_id FROM helper_tokens WHERE token_hash = $1")
        .bind(hash)
        .fetch_optional(&mut *conn)
        .await?;
    match id {
        Some(id) => load(&mut conn, "id", &id).await,
        None => Ok(None),
    }
}

/// Sets (or, with `None`, clears) the address a helper's sign-in links may be mailed to.
/// Stored sealed, found by its keyed hash; one helper per address.
pub async fn set_email(
    store: &Store,
    secrets: &secrets::Secrets,
    helper_id: &str,
    address: Option<&str>,
) -> Result<(), HelperError> {
    let address = address
        .map(|a| crate::conversations::text::email(a).map_err(|e| HelperError::Invalid(e.public_message())))
        .transpose()?;
    let lookup = address.as_deref().map(|a| secrets.email_lookup(a));
    if let Some(lookup) = &lookup {
        let holder: Option<String> = sqlx::query_scalar("SELECT id FROM helpers WHERE email_lookup = $1")
            .bind(lookup)
            .fetch_optional(&store.read)
            .await?;
        if holder.is_some_and(|id| id != helper_id) {
            return Err(HelperError::Invalid("another helper has this e-mail address".into()));
        }
    }
    sqlx::query("UPDATE helpers SET email_sealed = $2, email_lookup = $3 WHERE id = $1")
        .bind(helper_id)
        .bind(address.as_deref().map(|a| secrets.seal(a)))
        .bind(lookup)
        .execute(&store.write)
        .await?;
    Ok(())
}

/// The helper with this address (any capitalisation), and the address as stored.
pub async fn find_by_email(
    store: &Store,
    secrets: &secrets::Secrets,
    address: &str,
) -> sqlx::Result<Option<(Helper, String)>> {
    let mut conn = store.read.acquire().await?;
    let row: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT id, email_sealed FROM helpers WHERE email_lookup = $1")
            .bind(secrets.email_lookup(address))
            .fetch_optional(&mut *conn)
            .await?;
    let Some((id, Some(sealed))) = row else { return Ok(None) };
    let Some(address) = secrets.open(&sealed) else { return Ok(None) };
    Ok(load(&mut conn, "id", &id).await?.map(|helper| (helper, address)))
}

pub async fn set_away(store: &Store, id: &str, away: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE helpers SET away = $2 WHERE id = $1")
        .bind(id)
        .bind(i64::from(away))
        .execute(&store.write)
        .await?;
    Ok(())
}

/// The most open conversations a helper may choose to take at once.
pub const MAX_CAPACITY: i64 = 20;

pub async fn set_capacity(store: &Store, id: &str, capacity: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE helpers SET capacity = $2 WHERE id = $1")
        .bind(id)
        .bind(i32::try_from(capacity.clamp(1, MAX_CAPACITY)).unwrap_or(5))
        .execute(&store.write)
        .await?;
    Ok(())
}

/// How many conversations the helper owns that are still open.
pub async fn open_count(store: &Store, id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM conversations WHERE owner_id = $1 AND status IN ('active', 'awaiting_requester')",
    )
    .bind(id)
    .fetch_one(&store.read)
    .await
}

/// Shows the helper to requesters by their team alias, or by their name again. The
/// alias number is given once and kept.
pub async fn set_shown_as_alias(store: &Store, id: &str, use_alias: bool) -> sqlx::Result<()> {
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

async fn load(conn: &mut AnyConnection, by: &str, value: &str) -> sqlx::Result<Option<Helper>> {
    let column = if by == "id" { "id" } else { "name" };
    let sql = format!(
        "SELECT id, name, languages, away, alias_number, use_alias, capacity FROM helpers WHERE {column} = $1"
    );
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(value).fetch_optional(&mut *conn).await?
    else {
        return Ok(None);
    };
    let id: String = row.try_get("id")?;
    let languages: String = row.try_get("languages")?;
    let queues = sqlx::query("SELECT queue, role FROM helper_queues WHERE helper_id = $1 ORDER BY queue")
        .bind(&id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok(Membership { queue: r.try_get("queue")?, role: r.try_get("role")? }))
        .collect::<sqlx::Result<Vec<_>>>()?;
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
    }))
}
