//! The lean wire (`"wire":2` in the hello): the common path of a message costs the
//! sender one `ack` and the receiver one `message` — no echo to the socket that sent it,
//! no `status` for a turn change, no `read` of one's own side — while every other tab
//! still sees the message, every other status change still arrives, and v1 sockets on
//! the same conversation get exactly the frames they always did.
//!
//! Absence is shown with a barrier: events of one conversation reach a socket in the
//! order they were published, so the frames a socket gets before a later message of the
//! same conversation are all it got for what happened before it.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestApp, Ws, next_json, next_matching, next_of_type, send};
use serde_json::{Value, json};

on_both_backends!(
    a_lean_requester_gets_an_ack_and_no_echo_while_other_tabs_see_the_message,
    a_lean_helper_gets_an_ack_and_no_echo_and_only_the_requesters_read_marks,
    status_changes_that_are_not_turns_reach_lean_sockets,
    a_lean_socket_resumes_with_its_own_messages_from_the_store,
);

/// Every frame up to and including the first for which `last` holds.
async fn frames_until(ws: &mut Ws, last: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut frames = Vec::new();
    loop {
        let frame = next_json(ws).await;
        let done = last(&frame);
        frames.push(frame);
        if done {
            return frames;
        }
    }
}

fn is_text(text: &'static str) -> impl Fn(&Value) -> bool {
    move |f: &Value| f["type"] == "message" && f["text"] == text
}

fn kinds(frames: &[Value]) -> Vec<&str> {
    frames.iter().map(|f| f["type"].as_str().unwrap_or("?")).collect()
}

/// A requester socket that asked for `wire`, past its first status frame.
async fn requester(app: &TestApp, id: &str, token: &str, wire: Option<u8>) -> (Ws, Value) {
    let url = app.ws_url(&format!("/v1/conversations/{id}/live"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut hello = json!({ "type": "hello", "token": token, "after": 0 });
    if let Some(wire) = wire {
        hello["wire"] = json!(wire);
    }
    send(&mut ws, hello).await;
    let status = next_of_type(&mut ws, "status").await;
    (ws, status)
}

/// A helper socket (signed in at the upgrade) that then asked for the lean wire.
async fn lean_helper(app: &TestApp, helper: &str, conversation: &str) -> Ws {
    let mut ws = app.helper_socket(helper).await;
    send(&mut ws, json!({ "type": "hello", "wire": 2 })).await;
    let ready = next_of_type(&mut ws, "ready").await;
    assert_eq!((ready["helper"].as_str(), ready["wire"].as_i64()), (Some(helper), Some(2)));
    send(&mut ws, json!({ "type": "open", "conversation": conversation, "after": 0 })).await;
    next_of_type(&mut ws, "status").await;
    ws
}

async fn v1_helper(app: &TestApp, helper: &str, conversation: &str) -> Ws {
    let mut ws = app.helper_socket(helper).await;
    send(&mut ws, json!({ "type": "open", "conversation": conversation, "after": 0 })).await;
    next_of_type(&mut ws, "status").await;
    ws
}

async fn a_lean_requester_gets_an_ack_and_no_echo_while_other_tabs_see_the_message(app: TestApp) {
    let (id, token, _) = app.start("Someone keeps reverting me with insults").await;
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    let (mut sender, status) = requester(&app, &id, &token, Some(2)).await;
    assert_eq!((status["status"].as_str(), status["wire"].as_i64()), (Some("active"), Some(2)));
    // A client that knows a later wire gets the one the server has, and sees which.
    let (mut other_tab, status) = requester(&app, &id, &token, Some(9)).await;
    assert_eq!(status["wire"].as_i64(), Some(2));
    let (mut v1_tab, status) = requester(&app, &id, &token, None).await;
    assert!(status.get("wire").is_none(), "a v1 client sees v1 frames: {status}");

    // The helper answers: lean tabs get the message, not the turn change it implies.
    assert_eq!(app.helper_says("alice", &id, "h-1", "I am here. What happened?", false).await.status(), 201);
    for tab in [&mut sender, &mut other_tab] {
        let frames = frames_until(tab, is_text("I am here. What happened?")).await;
        assert_eq!(kinds(&frames), ["message"], "{frames:?}");
    }
    let frames = frames_until(&mut v1_tab, is_text("I am here. What happened?")).await;
    assert_eq!(kinds(&frames), ["message"]);
    let turn = next_json(&mut v1_tab).await;
    assert_eq!(
        (turn["type"].as_str(), turn["status"].as_str()),
        (Some("status"), Some("awaiting_requester"))
    );

    // The requester writes: one ack, no `duplicate` unless it is one, no echo.
    send(&mut sender, json!({ "type": "message", "client_id": "r-1", "text": "They call me names" })).await;
    let ack = next_json(&mut sender).await;
    assert_eq!(ack["type"], "ack");
    let seq = ack["seq"].as_i64().unwrap();
    assert_eq!(ack.as_object().unwrap().len(), 3, "type, client_id, seq: {ack}");
    assert_eq!(app.helper_says("alice", &id, "h-2", "Which page?", false).await.status(), 201);
    let frames = frames_until(&mut sender, is_text("Which page?")).await;
    assert_eq!(kinds(&frames), ["message"], "nothing for its own message but the ack: {frames:?}");

    // The other lean tab sees the message (it did not send it), still without the turn.
    let frames = frames_until(&mut other_tab, is_text("Which page?")).await;
    assert_eq!(kinds(&frames), ["message", "message"], "{frames:?}");
    assert_eq!(
        (frames[0]["seq"].as_i64(), frames[0]["text"].as_str()),
        (Some(seq), Some("They call me names"))
    );

    // The v1 tab: the message and every turn change, as ever.
    let frames = frames_until(&mut v1_tab, is_text("Which page?")).await;
    assert_eq!(kinds(&frames), ["message", "status", "message"], "{frames:?}");
    assert_eq!(frames[1]["status"], "active");

    // A resend is acked as the duplicate it is.
    send(&mut sender, json!({ "type": "message", "client_id": "r-1", "text": "They call me names" })).await;
    let ack = next_of_type(&mut sender, "ack").await;
    assert_eq!((ack["seq"].as_i64(), ack["duplicate"].as_bool()), (Some(seq), Some(true)));
}

async fn a_lean_helper_gets_an_ack_and_no_echo_and_only_the_requesters_read_marks(app: TestApp) {
    let (id, token, _) = app.start("I need help with a harassing editor").await;
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    let mut alice = lean_helper(&app, "alice", &id).await;
    let mut alice_v1 = v1_helper(&app, "alice", &id).await;
    let (mut person, _) = requester(&app, &id, &token, Some(2)).await;

    send(
        &mut alice,
        json!({ "type": "message", "conversation": id, "client_id": "a-1", "text": "I'm with you" }),
    )
    .await;
    let ack = next_of_type(&mut alice, "ack").await;
    assert!(ack.get("duplicate").is_none(), "{ack}");
    let seq = ack["seq"].as_i64().unwrap();
    let said = frames_until(&mut person, is_text("I'm with you")).await;
    assert_eq!(kinds(&said), ["message"]);

    // The requester reads it; the helper reads their side; the requester writes on.
    send(&mut person, json!({ "type": "read", "seq": seq })).await;
    let frames = frames_until(&mut alice, |f| f["type"] == "read").await;
    assert_eq!(kinds(&frames), ["read"], "no echo, no turn before it: {frames:?}");
    assert_eq!((frames[0]["role"].as_str(), frames[0]["seq"].as_i64()), (Some("requester"), Some(seq)));
    send(&mut alice, json!({ "type": "read", "conversation": id, "seq": 1 })).await;
    let own_read = next_matching(&mut alice_v1, |f| f["type"] == "read" && f["role"] == "helper").await;
    assert_eq!(own_read["seq"], 1, "the helpers' read mark was stored and published");
    let body = json!({ "client_id": "r-1", "text": "Thank you" });
    assert_eq!(app.requester_post(&id, &token, body).await.status(), 201);

    // The lean helper socket: the read of the requester (above), then the message; no
    // echo, no turn, no helper read mark.
    let frames = frames_until(&mut alice, is_text("Thank you")).await;
    assert_eq!(kinds(&frames), ["message"], "{frames:?}");
    // The v1 socket of the same helper: everything, as ever.
    let frames = frames_until(&mut alice_v1, is_text("Thank you")).await;
    assert_eq!(kinds(&frames), ["message"], "{frames:?}");
    let turn = next_json(&mut alice_v1).await;
    assert_eq!((turn["type"].as_str(), turn["status"].as_str()), (Some("status"), Some("active")));
}

async fn status_changes_that_are_not_turns_reach_lean_sockets(app: TestApp) {
    let (id, token, _) = app.start("Please help").await;
    let (mut person, status) = requester(&app, &id, &token, Some(2)).await;
    assert_eq!(status["status"], "waiting");
    let mut bob = lean_helper(&app, "bob", &id).await;

    assert_eq!(app.claim("alice", &id).await.status(), 200);
    let joined = next_of_type(&mut person, "status").await;
    assert_eq!((joined["status"].as_str(), joined["helper_name"].as_str()), (Some("active"), Some("alice")));
    let claimed = next_of_type(&mut bob, "status").await;
    assert_eq!((claimed["status"].as_str(), claimed["owner"].as_str()), (Some("active"), Some("alice")));

    let release =
        app.helper_post("alice", &format!("/v1/helper/conversations/{id}/release"), json!({})).await;
    assert_eq!(release.status(), 200);
    assert_eq!(next_of_type(&mut person, "status").await["status"], "waiting");
    assert_eq!(next_of_type(&mut bob, "status").await["status"], "waiting");
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    assert_eq!(next_of_type(&mut person, "status").await["status"], "active");
    assert_eq!(next_of_type(&mut bob, "status").await["status"], "active");

    let close = json!({ "outcome": "resolved" });
    assert_eq!(
        app.helper_post("alice", &format!("/v1/helper/conversations/{id}/close"), close).await.status(),
        200
    );
    assert_eq!(next_of_type(&mut person, "status").await["status"], "closed");
    assert_eq!(next_of_type(&mut bob, "status").await["status"], "closed");

    // Writing again reopens it: not a turn, so lean sockets hear it.
    send(&mut person, json!({ "type": "message", "client_id": "r-1", "text": "It started again" })).await;
    let reopened = next_of_type(&mut person, "status").await;
    assert_ne!(reopened["status"], "closed", "{reopened}");
    assert_ne!(next_of_type(&mut bob, "status").await["status"], "closed");
}

async fn a_lean_socket_resumes_with_its_own_messages_from_the_store(app: TestApp) {
    let (id, token, _) = app.start("first words").await;
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    let (mut person, _) = requester(&app, &id, &token, Some(2)).await;
    send(&mut person, json!({ "type": "message", "client_id": "r-1", "text": "second words" })).await;
    let seq = next_of_type(&mut person, "ack").await["seq"].as_i64().unwrap();
    drop(person);

    // After a reload the widget has nothing but what the store gives: its own too.
    let url = app.ws_url(&format!("/v1/conversations/{id}/live"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    send(&mut ws, json!({ "type": "hello", "token": token, "after": 0, "wire": 2 })).await;
    let frames = frames_until(&mut ws, |f| f["type"] == "status").await;
    let texts: Vec<&str> =
        frames.iter().filter(|f| f["type"] == "message").map(|f| f["text"].as_str().unwrap()).collect();
    assert!(texts.contains(&"first words") && texts.contains(&"second words"), "{texts:?}");
    assert_eq!(frames.last().unwrap()["last_seq"].as_i64(), Some(seq));
}
