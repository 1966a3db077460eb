//! Retention: closed conversations are purged after `retention_days`; aggregates stay.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::TestApp;
use serde_json::json;

on_both_backends!(closed_conversations_are_purged_after_retention_and_counted);

const DAY: Duration = Duration::from_secs(86_400);

async fn close(app: &TestApp, id: &str) {
    let path = format!("/v1/helper/conversations/{id}/close");
    assert_eq!(app.helper_post("alice", &path, json!({"outcome": "resolved"})).await.status(), 200);
}

async fn closed_conversations_are_purged_after_retention_and_counted(app: TestApp) {
    let (old, old_token, _) = app.start("old and closed").await;
    let (recent, recent_token, _) = app.start("recently closed").await;
    let (open, open_token, _) = app.start("still open").await;
    // Retention is 90 days: one closed 91 days ago, one 89 days ago.
    close(&app, &old).await;
    app.advance(2 * DAY);
    close(&app, &recent).await;
    app.advance(89 * DAY);
    assert_eq!(app.purge().await, 1);
    assert_eq!(app.requester_get(&old, &old_token, 0).await.status(), 404);
    let messages =
        app.stored_count("SELECT COUNT(*) FROM messages WHERE conversation_id = $1", &[&old]).await;
    assert_eq!(messages, 0, "messages go with the conversation");
    let events = app.stored_count("SELECT COUNT(*) FROM events WHERE conversation_id = $1", &[&old]).await;
    assert_eq!(events, 0, "and its audit events");
    assert_eq!(app.requester_get(&recent, &recent_token, 0).await.status(), 200);
    assert_eq!(app.requester_get(&open, &open_token, 0).await.status(), 200);
    let stats: Vec<(String, i64)> =
        app.stored("SELECT outcome, conversations FROM daily_stats WHERE site = 'wiki'", &[]).await;
    assert_eq!(stats, [("resolved".to_string(), 1)]);
    // Running again purges nothing more; two days on, the other one goes.
    assert_eq!(app.purge().await, 0);
    app.advance(2 * DAY);
    assert_eq!(app.purge().await, 1);
    assert_eq!(app.requester_get(&recent, &recent_token, 0).await.status(), 404);
}
