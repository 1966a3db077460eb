//! The group-committing appender: many messages in one transaction keep their order,
//! their own `seq`s, and idempotency — also for a resend inside the same batch.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Instant;

use common::TestApp;
use helpline::domain::conversation::requester_client_key;
use helpline::domain::{AppendRequest, Author, ClientId};

on_both_backends!(one_batch_keeps_order_seq_and_idempotency, a_helper_writes_only_in_their_queues);

fn request(id: &str, client_id: &str, text: &str) -> AppendRequest {
    AppendRequest {
        conversation_id: id.into(),
        author: Author::Requester,
        internal: false,
        text: text.to_string(),
        masked_text: None,
        client_key: Some(requester_client_key(&ClientId::parse(client_id).unwrap())),
        possible_harm: false,
        author_queues: None,
        author_names: Vec::new(),
        received: Instant::now(),
        origin: None,
    }
}

/// An internal note by a helper whose queues are `queues`.
fn note(id: &str, client_id: &str, queues: &[&str]) -> AppendRequest {
    AppendRequest {
        author: Author::Helper { id: "h_someone".into(), shown_name: "someone".into() },
        internal: true,
        author_queues: Some(queues.iter().map(|q| (*q).into()).collect()),
        ..request(id, client_id, "a note")
    }
}

async fn one_batch_keeps_order_seq_and_idempotency(app: TestApp) {
    let (a, a_token, _) = app.start("first conversation").await;
    let (b, _, _) = app.start("second conversation").await;
    // Queued together, so usually in one batch (on SQLite the appender runs on its own
    // thread and may take the first alone); the answers must be the same either way.
    let (r1, r2, r3, r4, r5) = tokio::join!(
        app.append(request(&a, "x", "a-one")),
        app.append(request(&b, "x", "b-one")),
        app.append(request(&a, "y", "a-two")),
        app.append(request(&a, "x", "a-one again")),
        app.append(request("no-such-conversation", "z", "lost")),
    );
    let (r1, r2, r3, r4) = (r1.unwrap(), r2.unwrap(), r3.unwrap(), r4.unwrap());
    assert_eq!((r1.seq, r1.duplicate), (2, false));
    assert_eq!((r2.seq, r2.duplicate), (2, false), "seq is per conversation");
    assert_eq!((r3.seq, r3.duplicate), (3, false));
    assert_eq!((r4.seq, r4.duplicate), (2, true), "a resend in the same batch is recognised");
    assert_eq!(r5.unwrap_err(), "not_found", "one bad request does not sink the batch");
    let view = app.requester_view(&a, &a_token).await;
    let texts: Vec<&str> =
        view["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["first conversation", "a-one", "a-two"]);
}

async fn a_helper_writes_only_in_their_queues(app: TestApp) {
    let (id, _, _) = app.start("Please help").await;
    let queue = app.helper_json("alice", &format!("/v1/helper/conversations/{id}")).await["queue"].clone();
    let (outside, inside) = tokio::join!(
        app.append(note(&id, "n-1", &["some-other-queue"])),
        app.append(note(&id, "n-2", &[queue.as_str().unwrap()])),
    );
    assert_eq!(outside.unwrap_err(), "not_found", "the same answer as for no conversation");
    assert_eq!(inside.unwrap().seq, 2);
    let notes = app
        .stored_count("SELECT COUNT(*) FROM messages WHERE conversation_id = $1 AND internal = 1", &[&id])
        .await;
    assert_eq!(notes, 1);
}
