//! SQL for helpers' sign-in: one-time links, console sessions and pending OAuth
//! sign-ins. Only hashes of link tokens, session ids and OAuth states are stored.

use sqlx::AnyConnection;

use super::Store;
use crate::domain::HelperId;

/// A stored sign-in link, as found by its hash.
pub struct StoredLink {
    pub helper: HelperId,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub async fn insert_link(
    store: &Store,
    token_hash: &str,
    helper: &HelperId,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO magic_links (token_hash, helper_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(helper)
    .bind(now)
    .bind(expires_at)
    .execute(&store.write)
    .await?;
    Ok(())
}

/// Stores a link unless `most` links were made for the helper since `since`; whether it
/// was stored. The helper's row is locked first, inside the transaction, so two requests
/// at once cannot both see room for one more link.
pub async fn insert_link_within(
    store: &Store,
    token_hash: &str,
    helper: &HelperId,
    now: i64,
    expires_at: i64,
    since: i64,
    most: i64,
) -> sqlx::Result<bool> {
    let mut tx = store.write.begin().await?;
    super::helpers::lock(&mut tx, helper).await?;
    let made = sqlx::query(
        "INSERT INTO magic_links (token_hash, helper_id, created_at, expires_at) \
         SELECT $1, $2, $3, $4 WHERE \
         (SELECT COUNT(*) FROM magic_links WHERE helper_id = $2 AND created_at > $5) < $6",
    )
    .bind(token_hash)
    .bind(helper)
    .bind(now)
    .bind(expires_at)
    .bind(since)
    .bind(most)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(made == 1)
}

pub async fn find_link(store: &Store, token_hash: &str) -> sqlx::Result<Option<StoredLink>> {
    let row: Option<(HelperId, i64, Option<i64>)> =
        sqlx::query_as("SELECT helper_id, expires_at, used_at FROM magic_links WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&store.read)
            .await?;
    Ok(row.map(|(helper, expires_at, used_at)| StoredLink { helper, expires_at, used_at }))
}

/// Uses a link up and opens a session with it, in one transaction: of two simultaneous
/// uses only one updates the row. The helper whose session it opened, or `None` when the
/// link was unknown, used or expired.
pub async fn redeem_link(
    store: &Store,
    token_hash: &str,
    session: &NewSession<'_>,
) -> sqlx::Result<Option<HelperId>> {
    let mut tx = store.write.begin().await?;
    let used = sqlx::query(
        "UPDATE magic_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(session.now)
    .bind(token_hash)
    .execute(&mut *tx)
    .await?;
    if used.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(None);
    }
    let helper: HelperId = sqlx::query_scalar("SELECT helper_id FROM magic_links WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_one(&mut *tx)
        .await?;
    insert_session(&mut tx, &helper, session).await?;
    tx.commit().await?;
    Ok(Some(helper))
}

/// A session to store: the hash of its id, its CSRF token, and when it ends.
pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub csrf: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

pub async fn start_session(store: &Store, helper: &HelperId, session: &NewSession<'_>) -> sqlx::Result<()> {
    let mut conn = store.write.acquire().await?;
    insert_session(&mut conn, helper, session).await
}

async fn insert_session(
    conn: &mut AnyConnection,
    helper: &HelperId,
    session: &NewSession<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO console_sessions (id_hash, helper_id, csrf_token, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(session.id_hash)
    .bind(helper)
    .bind(session.csrf)
    .bind(session.now)
    .bind(session.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A stored session: whose, its CSRF token, when it ends.
pub async fn find_session(store: &Store, id_hash: &str) -> sqlx::Result<Option<(HelperId, String, i64)>> {
    sqlx::query_as("SELECT helper_id, csrf_token, expires_at FROM console_sessions WHERE id_hash = $1")
        .bind(id_hash)
        .fetch_optional(&store.read)
        .await
}

/// Ends a session, and forgets every expired one.
pub async fn end_session(store: &Store, id_hash: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1 OR expires_at <= $2")
        .bind(id_hash)
        .bind(now)
        .execute(&store.write)
        .await?;
    Ok(())
}

/// Remembers an OAuth sign-in on its way: the hash of its `state` and the PKCE verifier.
pub async fn insert_oauth_pending(
    store: &Store,
    state_hash: &str,
    verifier: &str,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO oauth_pending (state_hash, verifier, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(state_hash)
    .bind(verifier)
    .bind(now)
    .bind(expires_at)
    .execute(&store.write)
    .await?;
    Ok(())
}

/// Uses up a pending sign-in (and forgets expired ones); its verifier if it existed and
/// had not expired.
pub async fn take_oauth_pending(store: &Store, state_hash: &str, now: i64) -> sqlx::Result<Option<String>> {
    let mut tx = store.write.begin().await?;
    let row: Option<(String, i64)> =
        sqlx::query_as("SELECT verifier, expires_at FROM oauth_pending WHERE state_hash = $1")
            .bind(state_hash)
            .fetch_optional(&mut *tx)
            .await?;
    sqlx::query("DELETE FROM oauth_pending WHERE state_hash = $1 OR expires_at <= $2")
        .bind(state_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(row.filter(|(_, expires)| *expires > now).map(|(verifier, _)| verifier))
}
