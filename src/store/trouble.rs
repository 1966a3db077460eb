//! SQL of the account a requester has trouble with, and of its check on the wiki.

use sqlx::AnyConnection;

use super::Store;
use crate::domain::ConversationId;

/// The named account and how its check went.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct TroubleAccount {
    pub account: String,
    /// `requester` or `helper` (on the requester's word).
    pub named_by: String,
    pub named_at: i64,
    pub checked_at: Option<i64>,
    pub check_error: Option<String>,
}

pub async fn find(store: &Store, conversation: &ConversationId) -> sqlx::Result<Option<TroubleAccount>> {
    sqlx::query_as(
        "SELECT account, named_by, named_at, checked_at, check_error FROM trouble_accounts \
         WHERE conversation_id = $1",
    )
    .bind(conversation)
    .fetch_optional(&store.read)
    .await
}

/// Names (or renames) the account; its check starts over.
pub async fn name(
    conn: &mut AnyConnection,
    conversation: &ConversationId,
    account: &str,
    named_by: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO trouble_accounts (conversation_id, account, named_by, named_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (conversation_id) DO UPDATE SET account = $2, named_by = $3, named_at = $4, \
         checked_at = NULL, check_error = NULL",
    )
    .bind(conversation)
    .bind(account)
    .bind(named_by)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The check of `account` ended (with the wiki's error, if it failed). Only for the
/// account still named: a rename meanwhile has its own check.
pub async fn checked(
    conn: &mut AnyConnection,
    conversation: &ConversationId,
    account: &str,
    now: i64,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE trouble_accounts SET checked_at = $3, check_error = $4 WHERE conversation_id = $1 AND account = $2",
    )
    .bind(conversation)
    .bind(account)
    .bind(now)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// Checks that never ended (the server stopped meanwhile), named before `before`.
pub async fn unchecked_before(store: &Store, before: i64) -> sqlx::Result<Vec<ConversationId>> {
    sqlx::query_scalar(
        "SELECT t.conversation_id FROM trouble_accounts t JOIN conversations c ON c.id = t.conversation_id \
         WHERE t.checked_at IS NULL AND t.named_at < $1 AND c.status <> 'closed' LIMIT 100",
    )
    .bind(before)
    .fetch_all(&store.read)
    .await
}
