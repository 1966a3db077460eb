//! SQL of the coordinators' statistics: aggregates only, computed by the database.

use sqlx::{AnyConnection, Row};

use super::numbered;
use crate::domain::QueueId;
use crate::domain::time::DAY_MS;

/// Conversations started per queue, language, day (days since the epoch) and outcome
/// (empty while open).
pub struct Started {
    pub queue: String,
    pub lang: String,
    pub day: i64,
    pub outcome: String,
    pub count: i64,
}

/// Reply times in buckets: per queue and language, the bucket's upper bound in seconds.
pub struct ReplyBucket {
    pub queue: String,
    pub lang: String,
    pub upper: i64,
    pub count: i64,
}

/// Purged conversations, counted per day (`YYYY-MM-DD`) before they went.
pub struct Purged {
    pub day: String,
    pub queue: String,
    pub lang: String,
    pub outcome: String,
    pub count: i64,
}

/// The upper bound, in seconds, of the bucket a reply time falls in: 5 s wide below ten
/// minutes, a minute wide below two hours, ten minutes beyond. Percentiles are read from
/// these buckets, so they are exact to the bucket: "within 45 s" means 40 to 45 s.
const BUCKET_SQL: &str = "CASE WHEN d < 600 THEN (d / 5) * 5 + 5 WHEN d < 7200 THEN (d / 60) * 60 + 60 \
                          ELSE (d / 600) * 600 + 600 END";

fn bind_queues<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    queues: &'q [QueueId],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for q in queues {
        query = query.bind(q.as_str());
    }
    query
}

pub async fn started_since(
    conn: &mut AnyConnection,
    queues: &[QueueId],
    since: i64,
) -> sqlx::Result<Vec<Started>> {
    let sql = format!(
        "SELECT queue, lang, created_at / {DAY_MS} AS day, COALESCE(outcome, '') AS outcome, COUNT(*) AS n \
         FROM conversations WHERE created_at >= $1 AND queue IN ({}) GROUP BY queue, lang, day, outcome",
        numbered(2, queues.len())
    );
    let query = bind_queues(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(since), queues);
    query
        .fetch_all(conn)
        .await?
        .iter()
        .map(|row| {
            Ok(Started {
                queue: row.try_get("queue")?,
                lang: row.try_get("lang")?,
                day: row.try_get("day")?,
                outcome: row.try_get("outcome")?,
                count: row.try_get("n")?,
            })
        })
        .collect()
}

pub async fn reply_buckets_since(
    conn: &mut AnyConnection,
    queues: &[QueueId],
    since: i64,
) -> sqlx::Result<Vec<ReplyBucket>> {
    let sql = format!(
        "SELECT queue, lang, {BUCKET_SQL} AS upper, COUNT(*) AS n FROM \
         (SELECT queue, lang, (first_reply_at - created_at) / 1000 AS d FROM conversations \
          WHERE created_at >= $1 AND first_reply_at IS NOT NULL AND queue IN ({})) AS replies \
         GROUP BY queue, lang, upper",
        numbered(2, queues.len())
    );
    let query = bind_queues(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(since), queues);
    query
        .fetch_all(conn)
        .await?
        .iter()
        .map(|row| {
            Ok(ReplyBucket {
                queue: row.try_get("queue")?,
                lang: row.try_get("lang")?,
                upper: row.try_get("upper")?,
                count: row.try_get("n")?,
            })
        })
        .collect()
}

pub async fn purged_since(
    conn: &mut AnyConnection,
    queues: &[QueueId],
    since_day: &str,
) -> sqlx::Result<Vec<Purged>> {
    let sql = format!(
        "SELECT day, queue, lang, outcome, conversations FROM daily_stats WHERE day >= $1 AND queue IN ({})",
        numbered(2, queues.len())
    );
    let query = bind_queues(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(since_day), queues);
    query
        .fetch_all(conn)
        .await?
        .iter()
        .map(|row| {
            Ok(Purged {
                day: row.try_get("day")?,
                queue: row.try_get("queue")?,
                lang: row.try_get("lang")?,
                outcome: row.try_get("outcome")?,
                count: row.try_get("conversations")?,
            })
        })
        .collect()
}

/// Waiting now, per queue and language.
pub async fn waiting_now(
    conn: &mut AnyConnection,
    queues: &[QueueId],
) -> sqlx::Result<Vec<(String, String, i64)>> {
    let sql = format!(
        "SELECT queue, lang, COUNT(*) AS waiting FROM conversations WHERE status = 'waiting' AND closed_at IS NULL \
         AND queue IN ({}) \
         GROUP BY queue, lang",
        numbered(1, queues.len())
    );
    let query = bind_queues(sqlx::query(sqlx::AssertSqlSafe(sql)), queues);
    query
        .fetch_all(conn)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("queue")?, row.try_get("lang")?, row.try_get("waiting")?)))
        .collect()
}
