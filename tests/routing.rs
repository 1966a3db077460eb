//! Fair routing: a conversation whose owner went offline goes back to the queue, and the
//! requester is told; an owner who stays online keeps theirs.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestApp, eventually};
use futures_util::SinkExt;
use serde_json::Value;

on_both_backends!(spawn = spawn;a_conversation_returns_to_the_queue_when_its_owner_goes_offline);

async fn spawn(backend: common::Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |config| config.routing.owner_offline_seconds = 1).await
}

async fn a_conversation_returns_to_the_queue_when_its_owner_goes_offline(app: TestApp) {
    let (left, left_token, _) = app.start("the helper will leave").await;
    let (kept, kept_token, _) = app.start("the helper stays").await;
    let mut alice = app.helper_socket("alice").await;
    let mut bob = app.helper_socket("bob").await;
    assert_eq!(app.claim("alice", &left).await.status(), 200);
    assert_eq!(app.claim("bob", &kept).await.status(), 200);
    alice.close(None).await.unwrap();
    drop(alice);

    let view = eventually("the conversation goes back to the queue", || async {
        let view = app.requester_view(&left, &left_token).await;
        (view["status"] == "waiting").then_some(view)
    })
    .await;
    assert!(view["helper_name"].is_null());
    let last = view["messages"].as_array().unwrap().last().unwrap();
    assert_eq!(last["author_role"], "system");
    assert!(last["text"].as_str().unwrap().contains("had to leave"), "{last}");
    let events: Value = app.helper_json("bob", &format!("/v1/helper/conversations/{left}/events")).await;
    let released = events["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(released["action"], "released");
    assert_eq!(released["detail"]["reason"], "owner offline");

    // Bob never left: his conversation is still his.
    let kept_view = app.requester_view(&kept, &kept_token).await;
    assert_eq!(kept_view["helper_name"], "bob");
    assert_ne!(kept_view["status"], "waiting");
    bob.send(tokio_tungstenite::tungstenite::Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    assert_eq!(common::next_of_type(&mut bob, "pong").await["type"], "pong");
}
