//! SQL for the move to the talk page: verified names, the requester's OAuth sign-ins
//! under way, and the proposed move with its answer.

use sqlx::Row;

use super::Store;
use crate::domain::{ConversationId, HelperId};

pub async fn verified_name(store: &Store, conversation: &ConversationId) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT name FROM verified_names WHERE conversation_id = $1")
        .bind(conversation)
        .fetch_optional(&store.read)
        .await
}

pub async fn set_verified_name(
    store: &Store,
    conversation: &ConversationId,
    name: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO verified_names (conversation_id, name, verified_at) VALUES ($1, $2, $3) \
         ON CONFLICT (conversation_id) DO UPDATE SET name = $2, verified_at = $3",
    )
    .bind(conversation)
    .bind(name)
    .bind(now)
    .execute(&store.write)
    .await?;
    Ok(())
}

pub async fn insert_pending(
    store: &Store,
    state_hash: &str,
    conversation: &ConversationId,
    verifier: &str,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO requester_oauth_pending (state_hash, conversation_id, verifier, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(state_hash)
    .bind(conversation)
    .bind(verifier)
    .bind(expires_at)
    .execute(&store.write)
    .await?;
    Ok(())
}

/// Uses up a sign-in under way: its conversation and verifier, if not expired.
pub async fn take_pending(
    store: &Store,
    state_hash: &str,
    now: i64,
) -> sqlx::Result<Option<(ConversationId, String)>> {
    let mut tx = store.write.begin().await?;
    let row = sqlx::query(
        "SELECT conversation_id, verifier, expires_at FROM requester_oauth_pending WHERE state_hash = $1",
    )
    .bind(state_hash)
    .fetch_optional(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM requester_oauth_pending WHERE state_hash = $1 OR expires_at <= $2")
        .bind(state_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let Some(row) = row else { return Ok(None) };
    if row.try_get::<i64, _>("expires_at")? <= now {
        return Ok(None);
    }
    Ok(Some((row.try_get("conversation_id")?, row.try_get("verifier")?)))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Move {
    pub helper: Option<HelperId>,
    pub page: String,
    pub section_title: String,
    pub wikitext: String,
    /// `proposed`, `declined`, `posted` or `failed`.
    pub status: String,
    pub url: Option<String>,
    pub error: Option<String>,
}

pub async fn find_move(store: &Store, conversation: &ConversationId) -> sqlx::Result<Option<Move>> {
    let row = sqlx::query(
        "SELECT helper_id, page, section_title, wikitext, status, url, error FROM talk_page_moves \
         WHERE conversation_id = $1",
    )
    .bind(conversation)
    .fetch_optional(&store.read)
    .await?;
    row.map(|r| {
        Ok(Move {
            helper: r.try_get("helper_id")?,
            page: r.try_get("page")?,
            section_title: r.try_get("section_title")?,
            wikitext: r.try_get("wikitext")?,
            status: r.try_get("status")?,
            url: r.try_get("url")?,
            error: r.try_get("error")?,
        })
    })
    .transpose()
}

/// A new proposal, in place of one declined or failed before; `false` when one is
/// waiting for the requester's answer or was posted already.
pub async fn propose(
    store: &Store,
    conversation: &ConversationId,
    proposal: &Move,
    now: i64,
) -> sqlx::Result<bool> {
    let mut tx = store.write.begin().await?;
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM talk_page_moves WHERE conversation_id = $1")
            .bind(conversation)
            .fetch_optional(&mut *tx)
            .await?;
    if matches!(status.as_deref(), Some("proposed" | "posted")) {
        return Ok(false);
    }
    sqlx::query("DELETE FROM talk_page_moves WHERE conversation_id = $1")
        .bind(conversation)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO talk_page_moves (conversation_id, helper_id, page, section_title, wikitext, status, proposed_at) \
         VALUES ($1, $2, $3, $4, $5, 'proposed', $6)",
    )
    .bind(conversation)
    .bind(&proposal.helper)
    .bind(&proposal.page)
    .bind(&proposal.section_title)
    .bind(&proposal.wikitext)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Moves a proposal on from `from` to `to`; `false` when it was not in `from` (answered
/// meanwhile, so an answer counts once).
pub async fn answer(
    store: &Store,
    conversation: &ConversationId,
    from: &str,
    to: &str,
    url: Option<&str>,
    error: Option<&str>,
    now: i64,
) -> sqlx::Result<bool> {
    let changed = sqlx::query(
        "UPDATE talk_page_moves SET status = $3, url = $4, error = $5, answered_at = $6 \
         WHERE conversation_id = $1 AND status = $2",
    )
    .bind(conversation)
    .bind(from)
    .bind(to)
    .bind(url)
    .bind(error)
    .bind(now)
    .execute(&store.write)
    .await?
    .rows_affected();
    Ok(changed > 0)
}
