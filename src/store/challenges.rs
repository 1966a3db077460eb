//! SQL for spent proofs of work: each solution opens one request, on any node.

use sqlx::AnyConnection;

/// Marks a solved challenge as used; `false` when it was used before.
pub async fn spend(conn: &mut AnyConnection, challenge: &str, expires_at: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO spent_challenges (challenge, expires_at) VALUES ($1, $2) ON CONFLICT (challenge) DO NOTHING",
    )
    .bind(challenge)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets challenges past their expiry (they are refused as expired anyway).
pub async fn forget_expired(conn: &mut AnyConnection, now_secs: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM spent_challenges WHERE expires_at < $1")
        .bind(now_secs)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
