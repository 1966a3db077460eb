//! Retention: closed conversations are purged after `retention_days`; aggregates stay.
#![allow(clippy::unwrap_used)]

mod common;

use common::TestApp;
use serde_json::json;

on_both_backends!(closed_conversations_are_purged_after_retention_and_counted);

async fn closed_conversations_are_purged_after_retention_and_counted(app: TestApp) {
    let store = &app.server.as_ref().unwrap().state.store;
    let (old, old_token, _) = app.start("old and closed").await;
    let (recent, recent_token, _) = app.start("recently closed").await;
    let (open, open_token, _) = app.start("still open").await;
    for id in [&old, &recent] {
        let closed = app
            .helper_post(
                "alice",
                &format!("/v1/helper/conversations/{id}/close"),
                json!({"outcome": "resolved"}),
            )
            .await;
        assert_eq!(closed.status(), 200);
    }
    let day = 86_400_000_i64;
    for (id, days) in [(&old, 91), (&recent, 89)] {
        sqlx::query("UPDATE conversations SET closed_at = closed_at - $2 WHERE id = $1")
            .bind(id)
            .bind(days * day)
            .execute(&store.write)
            .await
            .unwrap();
    }
    let purged = helpline::conversations::retention::purge_expired(store, 90).await.unwrap();
    assert_eq!(purged, 1);
    assert_eq!(app.requester_get(&old, &old_token, 0).await.status(), 404);
    let remaining: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE conversation_id = $1")
        .bind(&old)
        .fetch_one(&store.read)
        .await
        .unwrap();
    assert_eq!(remaining, 0, "messages go with the conversation");
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE conversation_id = $1")
        .bind(&old)
        .fetch_one(&store.read)
        .await
        .unwrap();
    assert_eq!(events, 0, "and its audit events");
    assert_eq!(app.requester_get(&recent, &recent_token, 0).await.status(), 200);
    assert_eq!(app.requester_get(&open, &open_token, 0).await.status(), 200);
    let (outcome, count): (String, i64) =
        sqlx::query_as("SELECT outcome, conversations FROM daily_stats WHERE site = 'wiki'")
            .fetch_one(&store.read)
            .await
            .unwrap();
    assert_eq!((outcome.as_str(), count), ("resolved", 1));
    // Running again purges nothing more.
    assert_eq!(helpline::conversations::retention::purge_expired(store, 90).await.unwrap(), 0);
}
