//! The group-committing appender: many messages in one transaction keep their order,
//! their own `seq`s, and idempotency — also for a resend inside the same batch.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Instant;

use common::TestApp;
use helpline::conversations::appender::AppendRequest;
use helpline::conversations::model::{Author, requester_client_key};

on_both_backends!(one_batch_keeps_order_seq_and_idempotency, a_helper_writes_only_in_their_queues);

fn request(id: &str, client_id: &str, text: &str) -> AppendRequest {
    AppendRequest {
        conversation_id: id.to_string(),
        author: Author::Requester,
        internal: false,
        text: text.to_string(),
        masked_text: None,
        client_key: Some(requester_client_key(client_id)),
        possible_harm: false,
        author_queues: None,
        received: Instant::now(),
    }
}

/// An internal note by a helper whose queues are `queues`.
fn note(id: &str, client_id: &str, queues: &[&str]) -> AppendRequest {
    AppendRequest {
        author: Author::Helper { id: "h_someone".into(), shown_name: "someone".into() },
        internal: true,
        author_queues: Some(queues.iter().map(|q| q.to_string()).collect()),
        ..request(id, client_id, "a note")
    }
}

async fn one_batch_keeps_order_seq_and_idempotency(app: TestApp) {
    let state = &app.server.as_ref().unwrap().state;
    let (a, a_token, _) = app.start("first conversation").await;
    let (b, _, _) = app.start("second conversation").await;
    // Queued together, so usually in one batch (on SQLite the appender runs on its own
    // thread and may take the first alone); the answers must be the same either way.
    let appender = &state.appender;
    let (r1, r2, r3, r4, r5) = tokio::join!(
        appender.append(request(&a, "x", "a-one")),
        appender.append(request(&b, "x", "b-one")),
        appender.append(request(&a, "y", "a-two")),
        appender.append(request(&a, "x", "a-one again")),
        appender.append(request("no-such-conversation", "z", "lost")),
    );
    let (r1, r2, r3, r4) = (r1.unwrap(), r2.unwrap(), r3.unwrap(), r4.unwrap());
    assert_eq!((r1.seq, r1.duplicate), (2, false));
    assert_eq!((r2.seq, r2.duplicate), (2, false), "seq is per conversation");
    assert_eq!((r3.seq, r3.duplicate), (3, false));
    assert_eq!((r4.seq, r4.duplicate), (2, true), "a resend in the same batch is recognised");
    assert_eq!(r5.unwrap_err().code(), "not_found", "one bad request does not sink the batch");
    let view = app.requester_view(&a, &a_token).await;
    let texts: Vec<&str> =
        view["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["first conversation", "a-one", "a-two"]);
}

async fn a_helper_writes_only_in_their_queues(app: TestApp) {
    let state = &app.server.as_ref().unwrap().state;
    let (id, _, _) = app.start("Please help").await;
    let queue: String = sqlx::query_scalar("SELECT queue FROM conversations WHERE id = $1")
        .bind(&id)
        .fetch_one(&state.store.read)
        .await
        .unwrap();
    let appender = &state.appender;
    let (outside, inside) = tokio::join!(
        appender.append(note(&id, "n-1", &["some-other-queue"])),
        appender.append(note(&id, "n-2", &[queue.as_str()])),
    );
    assert_eq!(outside.unwrap_err().code(), "not_found", "the same answer as for no conversation");
    assert_eq!(inside.unwrap().seq, 2);
    let notes: Vec<Option<String>> =
        sqlx::query_scalar("SELECT client_key FROM messages WHERE conversation_id = $1 AND internal = 1")
            .bind(&id)
            .fetch_all(&state.store.read)
            .await
            .unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
}
