//! SQL for the audit trail: who did what to a conversation, and when.

use sqlx::{AnyConnection, Row};

use crate::domain::time::rfc3339;
use crate::domain::{ConversationId, HelperId, Role};

pub async fn insert_event(
    conn: &mut AnyConnection,
    conversation_id: &ConversationId,
    at: i64,
    actor_role: Role,
    actor_id: Option<&HelperId>,
    action: &str,
    detail: &serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO events (conversation_id, at, actor_role, actor_id, action, detail) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(conversation_id)
    .bind(at)
    .bind(actor_role.as_str())
    .bind(actor_id)
    .bind(action)
    .bind(detail.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// One entry of the audit trail.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub at: String,
    pub actor_role: String,
    /// The helper's real name (the audit trail keeps it even when an alias was shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    pub action: String,
    pub detail: serde_json::Value,
}

pub async fn events(
    conn: &mut AnyConnection,
    conversation_id: &ConversationId,
) -> sqlx::Result<Vec<AuditEvent>> {
    let rows = sqlx::query(
        "SELECT e.at, e.actor_role, h.name AS actor, e.action, e.detail FROM events e \
         LEFT JOIN helpers h ON h.id = e.actor_id WHERE e.conversation_id = $1 ORDER BY e.id",
    )
    .bind(conversation_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let detail: String = row.try_get("detail")?;
            Ok(AuditEvent {
                at: rfc3339(row.try_get("at")?),
                actor_role: row.try_get("actor_role")?,
                actor: row.try_get("actor")?,
                action: row.try_get("action")?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            })
        })
        .collect()
}
