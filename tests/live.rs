//! The live WebSockets: hello and resume, acks after commit, fan-out to helpers,
//! typing and read marks, queue events, presence — and bad frames, which close the
//! socket with a clear code and reason.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ORIGIN, OTHER_ORIGIN, TestApp, Ws, closed_with, next_json, next_matching, next_of_type, send};
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

on_both_backends!(
    helpers_see_who_else_follows_a_conversation,
    requester_and_helper_talk_live,
    resume_after_a_lost_connection_sees_each_message_once_in_order,
    bad_frames_close_the_socket_with_a_reason,
    socket_origin_and_token_are_checked,
    helpers_get_queue_events_of_their_queues_only,
    presence_follows_sockets_and_the_away_switch,
    a_waiting_requester_sees_the_queue_move,
    a_burst_on_a_helper_socket_is_answered_and_stored_in_order,
);

async fn a_waiting_requester_sees_the_queue_move(app: TestApp) {
    let (first, _, _) = app.start("first in line").await;
    let (second, token, _) = app.start("second in line").await;
    let mut requester = app.requester_socket(&second, &token, 0).await;
    let status = next_of_type(&mut requester, "status").await;
    assert_eq!(status["queue_position"], 2);
    // A newer, calm request arrives behind: no update is needed for that.
    app.start("third in line").await;
    assert_eq!(app.claim("alice", &first).await.status(), 200);
    let moved = next_of_type(&mut requester, "status").await;
    assert_eq!((moved["status"].as_str(), moved["queue_position"].as_i64()), (Some("waiting"), Some(1)));
}

async fn requester_and_helper_talk_live(app: TestApp) {
    let (id, token, _) = app.start("Hello, is anyone there?").await;
    let mut requester = app.requester_socket(&id, &token, 0).await;
    let first = next_json(&mut requester).await;
    assert_eq!((first["type"].as_str(), first["seq"].as_i64()), (Some("message"), Some(1)));
    let status = next_of_type(&mut requester, "status").await;
    assert_eq!(status["status"], "waiting");
    assert_eq!(status["queue_position"], 1);

    let mut alice = app.helper_socket("alice").await;
    send(&mut alice, json!({"type": "open", "conversation": id, "after": 0})).await;
    let backlog = next_of_type(&mut alice, "message").await;
    assert_eq!(backlog["text"], "Hello, is anyone there?");
    assert_eq!(next_of_type(&mut alice, "status").await["status"], "waiting");

    // A helper joining is a status change the requester sees, with the helper's name.
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    let joined = next_matching(&mut requester, |f| f["type"] == "status" && f["status"] == "active").await;
    assert_eq!(joined["helper_name"], "alice");

    // Requester → helper: acked with its seq, delivered to the helper once.
    send(
        &mut requester,
        json!({"type": "message", "client_id": "r-1", "text": "My talk page is full of insults"}),
    )
    .await;
    let ack = next_of_type(&mut requester, "ack").await;
    assert_eq!(ack["client_id"], "r-1");
    let seq = ack["seq"].as_i64().unwrap();
    let delivered =
        next_matching(&mut alice, |f| f["type"] == "message" && f["author_role"] == "requester").await;
    assert_eq!(delivered["seq"].as_i64(), Some(seq));
    assert_eq!(delivered["conversation"], id.as_str());

    // Helper → requester over the helper socket, with typing and read marks.
    send(&mut alice, json!({"type": "typing", "conversation": id})).await;
    assert_eq!(next_of_type(&mut requester, "typing").await["role"], "helper");
    send(&mut alice, json!({"type": "read", "conversation": id, "seq": seq})).await;
    assert_eq!(next_of_type(&mut requester, "read").await["seq"].as_i64(), Some(seq));
    send(&mut alice, json!({"type": "message", "conversation": id, "client_id": "a-1", "text": "I see them. Let's look together."})).await;
    let ack = next_of_type(&mut alice, "ack").await;
    assert_eq!(ack["client_id"], "a-1");
    let answer =
        next_matching(&mut requester, |f| f["type"] == "message" && f["author_role"] == "helper").await;
    assert_eq!(answer["author_name"], "alice");
    assert_eq!(answer["seq"], ack["seq"]);
    send(&mut requester, json!({"type": "typing"})).await;
    let typing = next_of_type(&mut alice, "typing").await;
    assert_eq!(typing["role"], "requester");
    send(&mut requester, json!({"type": "read", "seq": answer["seq"]})).await;
    let read = next_matching(&mut alice, |f| f["type"] == "read" && f["role"] == "requester").await;
    assert_eq!(read["seq"], answer["seq"]);

    // A message too long for the limit is refused with an error frame; the socket stays.
    send(&mut requester, json!({"type": "message", "client_id": "r-2", "text": "x".repeat(2001)})).await;
    let error = next_of_type(&mut requester, "error").await;
    assert_eq!((error["code"].as_str(), error["client_id"].as_str()), (Some("text_too_long"), Some("r-2")));
    send(&mut requester, json!({"type": "ping"})).await;
    assert_eq!(next_of_type(&mut requester, "pong").await["type"], "pong");

    // Resending a message with a known client_id is acked as a duplicate.
    send(
        &mut requester,
        json!({"type": "message", "client_id": "r-1", "text": "My talk page is full of insults"}),
    )
    .await;
    let ack = next_of_type(&mut requester, "ack").await;
    assert_eq!((ack["seq"].as_i64(), ack["duplicate"].as_bool()), (Some(seq), Some(true)));
    // The same client_id sent concurrently (so likely in one commit batch) is stored once.
    let body = json!({"client_id": "r-3", "text": "twice"});
    let (a, b) =
        tokio::join!(app.requester_post(&id, &token, body.clone()), app.requester_post(&id, &token, body));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 201], "one stored, one recognised");
    let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
    assert_eq!(a["seq"], b["seq"]);
    let view = app.requester_view(&id, &token).await;
    for client_id in ["r-1", "r-3"] {
        let count =
            view["messages"].as_array().unwrap().iter().filter(|m| m["client_id"] == client_id).count();
        assert_eq!(count, 1, "{client_id}");
    }
}

async fn collect_messages(ws: &mut Ws, until_seq: i64) -> Vec<Value> {
    let mut got = Vec::new();
    loop {
        let frame = next_json(ws).await;
        if frame["type"] == "message" {
            let seq = frame["seq"].as_i64().unwrap();
            got.push(frame);
            if seq >= until_seq {
                return got;
            }
        }
    }
}

async fn resume_after_a_lost_connection_sees_each_message_once_in_order(app: TestApp) {
    let (id, token, _) = app.start("start").await;
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    let mut requester = app.requester_socket(&id, &token, 0).await;
    let status = next_of_type(&mut requester, "status").await;
    let seen = status["last_seq"].as_i64().unwrap();
    drop(requester);
    // While away: three answers and an internal note.
    for n in 1..=3 {
        assert_eq!(
            app.helper_says("alice", &id, &format!("a{n}"), &format!("answer {n}"), false).await.status(),
            201
        );
    }
    assert_eq!(app.helper_says("bob", &id, "note", "internal", true).await.status(), 201);
    assert_eq!(app.helper_says("alice", &id, "a4", "answer 4", false).await.status(), 201);
    let mut requester = app.requester_socket(&id, &token, seen).await;
    let last = app.requester_view(&id, &token).await["messages"].as_array().unwrap().last().unwrap()["seq"]
        .as_i64()
        .unwrap();
    let got = collect_messages(&mut requester, last).await;
    let texts: Vec<&str> = got.iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["answer 1", "answer 2", "answer 3", "answer 4"]);
    let seqs: Vec<i64> = got.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    // Then live again: one more arrives once.
    next_of_type(&mut requester, "status").await;
    assert_eq!(app.helper_says("alice", &id, "a5", "answer 5", false).await.status(), 201);
    let next = next_of_type(&mut requester, "message").await;
    assert_eq!(next["text"], "answer 5");

    // A helper resumes the same way, notes included.
    let mut bob = app.helper_socket("bob").await;
    send(&mut bob, json!({"type": "open", "conversation": id, "after": seen})).await;
    let got = collect_messages(&mut bob, next["seq"].as_i64().unwrap()).await;
    assert_eq!(got.len(), 6);
    assert_eq!(got.iter().filter(|m| m["internal"] == true).count(), 1);
}

async fn raw_socket(app: &TestApp, path: &str, origin: Option<&str>) -> Ws {
    let mut request = app.ws_url(path).into_client_request().unwrap();
    if let Some(origin) = origin {
        request.headers_mut().insert("origin", origin.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn bad_frames_close_the_socket_with_a_reason(app: TestApp) {
    let (id, token, _) = app.start("start").await;
    let path = format!("/v1/conversations/{id}/live");
    let hello = json!({"type": "hello", "token": token, "after": 0});

    // Not a hello first.
    let mut ws = raw_socket(&app, &path, None).await;
    send(&mut ws, json!({"type": "message", "client_id": "x", "text": "hi"})).await;
    let (code, reason) = closed_with(&mut ws).await;
    assert_eq!(code, 4400, "{reason}");
    assert!(reason.contains("hello"), "{reason}");

    // Not JSON, an unknown type, a binary frame — after a good hello.
    for bad in [
        WsMessage::Text("{oops".into()),
        WsMessage::Text(r#"{"type":"shout"}"#.into()),
        WsMessage::Binary(vec![1, 2, 3].into()),
    ] {
        let mut ws = raw_socket(&app, &path, None).await;
        send(&mut ws, hello.clone()).await;
        next_of_type(&mut ws, "status").await;
        ws.send(bad.clone()).await.unwrap();
        let (code, reason) = closed_with(&mut ws).await;
        assert_eq!(code, 4400, "{bad:?}: {reason}");
    }

    // A frame over the size limit.
    let mut ws = raw_socket(&app, &path, None).await;
    send(&mut ws, hello.clone()).await;
    next_of_type(&mut ws, "status").await;
    let huge = json!({"type": "message", "client_id": "big", "text": "x".repeat(40_000)});
    send(&mut ws, huge).await;
    let (code, _) = closed_with(&mut ws).await;
    assert_eq!(code, 1009);

    // The helper socket refuses unknown frames too, and nothing was stored by any of it.
    let mut alice = app.helper_socket("alice").await;
    send(&mut alice, json!({"type": "dance"})).await;
    assert_eq!(closed_with(&mut alice).await.0, 4400);
    let view = app.requester_view(&id, &token).await;
    assert_eq!(view["last_seq"], 1);
}

async fn socket_origin_and_token_are_checked(app: TestApp) {
    let (id, token, _) = app.start("start").await;
    let path = format!("/v1/conversations/{id}/live");
    // A wrong token, or another conversation's id.
    let (other_id, _, _) = app.start("other").await;
    for (path, token) in
        [(path.clone(), "x".repeat(43)), (format!("/v1/conversations/{other_id}/live"), token.clone())]
    {
        let mut ws = raw_socket(&app, &path, Some(ORIGIN)).await;
        send(&mut ws, json!({"type": "hello", "token": token})).await;
        assert_eq!(closed_with(&mut ws).await.0, 4401);
    }
    // An origin that no site allows is refused before the upgrade.
    let mut request = app.ws_url(&path).into_client_request().unwrap();
    request.headers_mut().insert("origin", "https://evil.example".parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {:?}", other.map(|r| r.1.status())),
    }
    // Another site's origin: refused after the hello, when the site is known.
    let mut ws = raw_socket(&app, &path, Some(OTHER_ORIGIN)).await;
    send(&mut ws, json!({"type": "hello", "token": token})).await;
    assert_eq!(closed_with(&mut ws).await.0, 4403);
    // The site's own origin works.
    let mut ws = raw_socket(&app, &path, Some(ORIGIN)).await;
    send(&mut ws, json!({"type": "hello", "token": token})).await;
    assert_eq!(next_of_type(&mut ws, "status").await["status"], "waiting");

    // Helper socket: a bad bearer is 401 at the upgrade; a hello frame works without one.
    let mut request = app.ws_url("/v1/helper/live").into_client_request().unwrap();
    request.headers_mut().insert("authorization", "Bearer hlp_wrong".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|r| r.1.status())),
    }
    let mut ws = raw_socket(&app, "/v1/helper/live", None).await;
    send(&mut ws, json!({"type": "hello", "token": app.tokens["bob"]})).await;
    assert_eq!(next_of_type(&mut ws, "ready").await["helper"], "bob");
    let mut ws = raw_socket(&app, "/v1/helper/live", None).await;
    send(&mut ws, json!({"type": "hello", "token": "hlp_nope"})).await;
    assert_eq!(closed_with(&mut ws).await.0, 4401);
}

async fn helpers_get_queue_events_of_their_queues_only(app: TestApp) {
    let mut alice = app.helper_socket("alice").await;
    let mut carol = app.helper_socket("carol").await;
    let (id, _, _) = app.start("new request").await;
    let new = next_of_type(&mut alice, "queue").await;
    assert_eq!((new["event"].as_str(), new["conversation"]["id"].as_str()), (Some("new"), Some(id.as_str())));
    assert_eq!(new["conversation"]["status"], "waiting");

    assert_eq!(app.claim("bob", &id).await.status(), 200);
    let claimed = next_of_type(&mut alice, "queue").await;
    assert_eq!(
        (claimed["event"].as_str(), claimed["conversation"]["owner"].as_str()),
        (Some("claimed"), Some("bob"))
    );

    // Alice follows it; when it moves to carol's queue, alice is told it is gone and
    // carol learns of it.
    send(&mut alice, json!({"type": "open", "conversation": id})).await;
    next_of_type(&mut alice, "status").await;
    let moved = app
        .helper_post(
            "bob",
            &format!("/v1/helper/conversations/{id}/transfer"),
            json!({"to_queue": "other-queue"}),
        )
        .await;
    assert_eq!(moved.status(), 204);
    let left =
        next_matching(&mut alice, |f| f["type"] == "gone" || (f["type"] == "queue" && f["event"] == "left"))
            .await;
    assert_eq!(left["conversation"].as_str().or(left["conversation"]["id"].as_str()), Some(id.as_str()));
    let arrived = next_of_type(&mut carol, "queue").await;
    assert_eq!(
        (arrived["event"].as_str(), arrived["conversation"]["queue"].as_str()),
        (Some("transferred"), Some("other-queue"))
    );
    // Carol never heard of its earlier life in the wiki queue.
    assert_ne!(arrived["event"], "new");

    // Opening a conversation outside your queues is refused with an error frame.
    let (mine, _, _) = app.start("wiki only").await;
    send(&mut carol, json!({"type": "open", "conversation": mine})).await;
    let error = next_matching(&mut carol, |f| f["type"] == "error").await;
    assert_eq!(error["code"], "not_found");
}

async fn helpers_online(app: &TestApp) -> i64 {
    let settings: Value = app
        .client
        .get(format!("{}/v1/sites/wiki/widget", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    settings["availability"]["helpers_online"].as_i64().unwrap()
}

/// Polls until `want` (the server notices a closed socket asynchronously).
async fn eventually_online(app: &TestApp, want: i64) {
    let what = format!("helpers_online becomes {want}");
    common::eventually(&what, || async { (helpers_online(app).await == want).then_some(()) }).await;
}

async fn presence_follows_sockets_and_the_away_switch(app: TestApp) {
    assert_eq!(helpers_online(&app).await, 0);
    let alice = app.helper_socket("alice").await;
    let mut bob = app.helper_socket("bob").await;
    assert_eq!(helpers_online(&app).await, 2);
    let away = app.helper_post("alice", "/v1/helper/presence", json!({"status": "away"})).await;
    assert_eq!(away.status(), 200);
    assert_eq!(helpers_online(&app).await, 1);
    send(&mut bob, json!({"type": "presence", "status": "away"})).await;
    eventually_online(&app, 0).await;
    send(&mut bob, json!({"type": "presence", "status": "available"})).await;
    eventually_online(&app, 1).await;
    drop(bob);
    drop(alice);
    eventually_online(&app, 0).await;
    let (status, code) = common::error_code(
        app.helper_post("alice", "/v1/helper/presence", json!({"status": "asleep"})).await,
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "malformed_json"));
}

/// Rate limits live in memory, the same for either backend: SQLite only.
#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let app = TestApp::spawn_with(common::Backend::Sqlite, |config| {
        config.limits.conversations_per_hour_per_network = 2;
        config.limits.messages_per_minute_per_token = 3;
    })
    .await
    .unwrap();
    let (id, token, _) = app.start("one").await;
    app.start("two").await;
    let third = app.create(json!({"site": "wiki", "text": "three"})).await;
    assert_eq!(third.status(), 429);
    let retry: u64 = third.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert_eq!(common::error_code(third).await.1, "rate_limited");

    for n in 0..3 {
        let posted =
            app.requester_post(&id, &token, json!({"client_id": format!("m{n}"), "text": "hi"})).await;
        assert_eq!(posted.status(), 201);
    }
    let limited = app.requester_post(&id, &token, json!({"client_id": "m4", "text": "hi"})).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    let mut ws = app.requester_socket(&id, &token, 0).await;
    next_of_type(&mut ws, "status").await;
    send(&mut ws, json!({"type": "message", "client_id": "m5", "text": "hi"})).await;
    let error = next_of_type(&mut ws, "error").await;
    assert_eq!(error["code"], "rate_limited");
    assert!(error["retry_after"].as_u64().unwrap() >= 1);
    assert_eq!(app.requester_view(&id, &token).await["last_seq"], 4, "nothing stored past the limit");
}

async fn helpers_see_who_else_follows_a_conversation(app: TestApp) {
    let (id, token, _) = app.start("two helpers look at this").await;
    let mut requester = app.requester_socket(&id, &token, 0).await;
    common::next_of_type(&mut requester, "status").await;
    let mut alice = app.helper_socket("alice").await;
    common::send(&mut alice, json!({"type": "open", "conversation": id})).await;
    let seen = common::next_matching(&mut alice, |f| f["type"] == "viewers").await;
    assert_eq!(seen["helpers"], json!(["alice"]));
    let mut bob = app.helper_socket("bob").await;
    common::send(&mut bob, json!({"type": "open", "conversation": id})).await;
    let seen = common::next_matching(&mut alice, |f| f["type"] == "viewers").await;
    assert_eq!(seen["helpers"], json!(["alice", "bob"]));
    // Re-opening (e.g. to resume) does not count twice.
    common::send(&mut bob, json!({"type": "open", "conversation": id, "after": 1})).await;
    common::send(&mut bob, json!({"type": "close", "conversation": id})).await;
    let seen = common::next_matching(&mut alice, |f| f["type"] == "viewers").await;
    assert_eq!(seen["helpers"], json!(["alice"]), "bob closed it once and is gone");
    drop(bob);

    // The requester never hears who is looking.
    common::send(&mut requester, json!({"type": "ping"})).await;
    loop {
        let frame = common::next_json(&mut requester).await;
        assert_ne!(frame["type"], "viewers", "{frame}");
        if frame["type"] == "pong" {
            break;
        }
    }
}

async fn a_burst_on_a_helper_socket_is_answered_and_stored_in_order(app: TestApp) {
    let (first, first_token, _) = app.start("Someone keeps reverting me with insults").await;
    let (second, second_token, _) = app.start("I am being followed around").await;
    for id in [&first, &second] {
        assert_eq!(app.claim("alice", id).await.status(), 200);
    }
    let mut alice = app.helper_socket("alice").await;
    // Sent without waiting for any answer: two conversations interleaved, a refused
    // message (empty text), one for a conversation that does not exist, and a resend.
    let mut frames = Vec::new();
    for i in 0..40 {
        let id = if i % 2 == 0 { &first } else { &second };
        let text = match i {
            17 => String::new(),
            _ => format!("answer {i}"),
        };
        let conversation = if i == 23 { "c_nowhere".to_string() } else { id.clone() };
        let client_id = if i == 31 { "m-1".to_string() } else { format!("m-{i}") };
        frames.push((conversation, client_id, text));
    }
    for (conversation, client_id, text) in &frames {
        send(
            &mut alice,
            json!({"type": "message", "conversation": conversation, "client_id": client_id, "text": text}),
        )
        .await;
    }
    let mut answers = Vec::new();
    while answers.len() < frames.len() {
        let frame = next_json(&mut alice).await;
        if frame["type"] == "ack" || frame["type"] == "error" {
            answers.push(frame);
        }
    }
    // One answer per frame, in the order the frames came.
    let mut last_seq = std::collections::HashMap::new();
    for (i, ((conversation, client_id, _), answer)) in frames.iter().zip(&answers).enumerate() {
        assert_eq!(answer["conversation"], conversation.as_str(), "answer {i}: {answer}");
        match i {
            17 => assert_eq!(answer["code"], "empty_text", "{answer}"),
            23 => assert_eq!(answer["code"], "not_found", "{answer}"),
            31 => {
                assert_eq!(answer["client_id"], "m-1");
                assert_eq!(answer["duplicate"], true, "a resend is recognised: {answer}");
                assert_eq!(answer["seq"], answers[1]["seq"]);
            }
            _ => {
                assert_eq!(answer["client_id"], client_id.as_str());
                assert_eq!(answer["duplicate"], false);
                let seq = answer["seq"].as_i64().unwrap();
                let before = last_seq.insert(conversation.clone(), seq).unwrap_or(0);
                assert!(seq > before, "seqs follow the frames' order: {answer}");
            }
        }
    }
    // Each requester reads the answers meant for them, once each, in the order sent.
    for (id, token, parity) in [(&first, &first_token, 0), (&second, &second_token, 1)] {
        let view = app.requester_view(id, token).await;
        let texts: Vec<&str> = view["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["author_role"] == "helper")
            .map(|m| m["text"].as_str().unwrap())
            .collect();
        let expected: Vec<String> = (0..40)
            .filter(|i| i % 2 == parity && ![17, 23, 31].contains(i))
            .map(|i| format!("answer {i}"))
            .collect();
        assert_eq!(texts, expected, "{id}");
    }
}
