//! Retention: closed conversations are deleted `retention_days` after closing, with
//! their messages and audit events. Before that, each is counted into `daily_stats`
//! (day, site, queue, language, outcome), so aggregate statistics outlive the data.

use crate::store::{Store, now_ms};

const DAY_MS: i64 = 86_400_000;
/// Conversations purged per transaction, so a large backlog never holds the writer long.
const CHUNK: i64 = 500;

/// Purges what is past retention; returns how many conversations were deleted.
pub async fn purge_expired(store: &Store, retention_days: u32) -> sqlx::Result<u64> {
    let cutoff = now_ms() - i64::from(retention_days) * DAY_MS;
    let mut purged = 0;
    loop {
        let mut tx = store.write.begin().await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM conversations WHERE closed_at IS NOT NULL AND closed_at < $1 ORDER BY closed_at LIMIT $2",
        )
        .bind(cutoff)
        .bind(CHUNK)
        .fetch_all(&mut *tx)
        .await?;
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(purged);
        }
        for id in &ids {
            // Count it, then delete it (messages and events go with it by cascade;
            // deleted explicitly too, for SQLite connections without foreign keys).
            sqlx::query(
                "INSERT INTO daily_stats (day, site, queue, lang, outcome, conversations) \
                 SELECT $2, site, queue, lang, COALESCE(outcome, 'none'), 1 FROM conversations WHERE id = $1 \
                 ON CONFLICT (day, site, queue, lang, outcome) \
                 DO UPDATE SET conversations = daily_stats.conversations + 1",
            )
            .bind(id)
            .bind(day_of(id, &mut tx).await?)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM messages WHERE conversation_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM events WHERE conversation_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM thanks WHERE conversation_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM conversations WHERE id = $1").bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        purged += ids.len() as u64;
    }
}

/// The UTC day the conversation was created, as `YYYY-MM-DD`.
async fn day_of(id: &str, conn: &mut sqlx::AnyConnection) -> sqlx::Result<String> {
    let created: i64 = sqlx::query_scalar("SELECT created_at FROM conversations WHERE id = $1")
        .bind(id)
        .fetch_one(conn)
        .await?;
    let date = time::OffsetDateTime::from_unix_timestamp(created.div_euclid(1000))
        .map(|t| t.date())
        .unwrap_or(time::Date::MIN);
    Ok(format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day()))
}
