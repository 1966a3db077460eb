//! Two nodes on one PostgreSQL are one service: what happens on one reaches the sockets
//! of the other — messages both ways, status, typing, queue events, "who is looking" —
//! helpers online on one count on the other, a block made on one holds on the other,
//! one node at a time runs the background jobs and another takes over when it stops,
//! the offers it makes reach helpers on either node and pass over those away on either,
//! and a node whose listening connection is cut catches up from the store.
//! PostgreSQL only (SQLite is one node): these skip without `HELPLINE_TEST_POSTGRES_URL`.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::console::{act, signed_in};
use common::{Backend, PATIENCE, TestApp, eventually, next_matching, next_of_type, send};
use serde_json::{Value, json};

async fn two_nodes() -> Option<(TestApp, TestApp)> {
    let a = TestApp::spawn(Backend::Postgres).await?;
    let b = a.another_node().await;
    Some((a, b))
}

/// Two nodes that offer each waiting request to one available helper.
async fn two_nodes_offering() -> Option<(TestApp, TestApp)> {
    let a = TestApp::spawn_with(Backend::Postgres, |config| {
        config.routing.auto_offer = true;
        config.routing.offer_seconds = 300;
    })
    .await?;
    let b = a.another_node().await;
    Some((a, b))
}

macro_rules! on_two_nodes {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                match super::two_nodes().await {
                    Some((a, b)) => super::$name(a, b).await,
                    None => eprintln!("skipped: several nodes need HELPLINE_TEST_POSTGRES_URL"),
                }
            }
        )*
    };
}

#[tokio::test]
async fn offers_reach_helpers_on_either_node_and_pass_over_the_away() {
    match two_nodes_offering().await {
        Some((a, b)) => offers_reach_helpers_on_either_node_and_pass_over_the_away_on(a, b).await,
        None => eprintln!("skipped: several nodes need HELPLINE_TEST_POSTGRES_URL"),
    }
}

mod two_nodes_on_postgres {
    on_two_nodes!(
        requester_on_one_node_and_helper_on_the_other_talk_live,
        queue_events_and_presence_cross_nodes,
        who_is_looking_is_seen_across_nodes,
        a_block_made_on_one_node_holds_on_the_other,
        one_node_runs_the_jobs_and_another_takes_over,
        a_node_that_stops_hearing_catches_up_from_the_store,
    );
}

async fn requester_on_one_node_and_helper_on_the_other_talk_live(a: TestApp, b: TestApp) {
    let (id, token, _) = a.start("Someone follows me from page to page").await;
    let mut requester = a.requester_socket(&id, &token, 0).await;
    next_of_type(&mut requester, "status").await;
    let mut alice = b.helper_socket("alice").await;
    send(&mut alice, json!({"type": "open", "conversation": id, "after": 1})).await;
    next_of_type(&mut alice, "status").await;

    // Claimed on B: the requester on A sees the helper join.
    assert_eq!(b.claim("alice", &id).await.status(), 200);
    let joined = next_matching(&mut requester, |f| f["type"] == "status" && f["status"] == "active").await;
    assert_eq!(joined["helper_name"], "alice");

    // Requester (A) → helper (B), and back, each seen once and in order.
    for n in 1..=5 {
        send(
            &mut requester,
            json!({"type": "message", "client_id": format!("r{n}"), "text": format!("from A {n}")}),
        )
        .await;
        let ack = next_of_type(&mut requester, "ack").await;
        let seen =
            next_matching(&mut alice, |f| f["type"] == "message" && f["author_role"] == "requester").await;
        assert_eq!(
            (seen["text"].as_str(), seen["seq"].as_i64()),
            (Some(format!("from A {n}").as_str()), ack["seq"].as_i64())
        );
        send(
            &mut alice,
            json!({"type": "message", "conversation": id, "client_id": format!("h{n}"), "text": format!("from B {n}")}),
        )
        .await;
        let seen =
            next_matching(&mut requester, |f| f["type"] == "message" && f["author_role"] == "helper").await;
        assert_eq!(seen["text"], format!("from B {n}"));
    }

    // Typing on B reaches A.
    send(&mut alice, json!({"type": "typing", "conversation": id})).await;
    next_of_type(&mut requester, "typing").await;

    // Everything stored once, in order, as either node tells it.
    let on_a = a.requester_view(&id, &token).await;
    let on_b = b.requester_view(&id, &token).await;
    let texts = |v: &Value| -> Vec<String> {
        v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(texts(&on_a), texts(&on_b));
    let mine: Vec<String> = texts(&on_a).into_iter().filter(|t| t.starts_with("from")).collect();
    let expected: Vec<String> =
        (1..=5).flat_map(|n| [format!("from A {n}"), format!("from B {n}")]).collect();
    assert_eq!(mine, expected);
}

async fn queue_events_and_presence_cross_nodes(a: TestApp, b: TestApp) {
    let online = |app: &TestApp| {
        let (client, url) = (app.client.clone(), format!("{}/v1/sites/wiki/widget?lang=en", app.url));
        async move {
            let settings: Value = client.get(url).send().await.unwrap().json().await.unwrap();
            settings["availability"]["helpers_online"].as_i64().unwrap()
        }
    };
    assert_eq!(online(&a).await, 0);
    let alice = b.helper_socket("alice").await;
    eventually("a helper online on B counts on A", || async { (online(&a).await == 1).then_some(()) }).await;

    // A new request on A reaches the dashboard socket on B.
    let mut bob = b.helper_socket("bob").await;
    let (id, _, _) = a.start("new on node A").await;
    let event = next_matching(&mut bob, |f| f["type"] == "queue" && f["conversation"]["id"] == id).await;
    assert_eq!(event["event"], "new");

    drop(alice);
    drop(bob);
    eventually("helpers gone from B are gone on A", || async { (online(&a).await == 0).then_some(()) }).await;
}

async fn who_is_looking_is_seen_across_nodes(a: TestApp, b: TestApp) {
    let (id, _, _) = a.start("two helpers, two nodes").await;
    let mut alice = a.helper_socket("alice").await;
    send(&mut alice, json!({"type": "open", "conversation": id})).await;
    let seen = next_matching(&mut alice, |f| f["type"] == "viewers").await;
    assert_eq!(seen["helpers"], json!(["alice"]));
    let mut bob = b.helper_socket("bob").await;
    send(&mut bob, json!({"type": "open", "conversation": id})).await;
    next_matching(&mut alice, |f| f["type"] == "viewers" && f["helpers"] == json!(["alice", "bob"])).await;
    next_matching(&mut bob, |f| f["type"] == "viewers" && f["helpers"] == json!(["alice", "bob"])).await;
    send(&mut bob, json!({"type": "close", "conversation": id})).await;
    next_matching(&mut alice, |f| f["type"] == "viewers" && f["helpers"] == json!(["alice"])).await;
}

async fn a_block_made_on_one_node_holds_on_the_other(a: TestApp, b: TestApp) {
    let (id, token, _) = a.start("abuse").await;
    // B has seen no block yet, then one is made on A.
    let fine = b.requester_post(&id, &token, json!({"client_id": "c0", "text": "before"})).await;
    assert!(fine.status().is_success(), "{}", fine.status());
    let (alice, csrf) = signed_in(&a, "alice").await;
    let path = format!("/console/conversations/{id}");
    act(&a, &alice, &format!("{path}/claim"), &[("csrf", &csrf)]).await;
    let blocked = act(&a, &alice, &format!("{path}/block"), &[("csrf", &csrf), ("hours", "24")]).await;
    assert_eq!(blocked.status(), 303);
    let refused = b.requester_post(&id, &token, json!({"client_id": "c1", "text": "more abuse"})).await;
    assert_eq!(common::error_code(refused).await, (403, "blocked".to_string()));
    let again = b.create(json!({"site": "wiki", "lang": "en", "text": "new request"})).await;
    assert_eq!(again.status(), 403, "the network is blocked on B too");
}

async fn one_node_runs_the_jobs_and_another_takes_over(mut a: TestApp, mut b: TestApp) {
    let leader =
        eventually("one node leads", || async { (a.leads() != b.leads()).then_some(a.leads()) }).await;
    // Stay one for a while: never both.
    for _ in 0..20 {
        assert!(!(a.leads() && b.leads()), "two nodes ran the jobs at once");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (stopping, staying) = if leader { (&mut a, &b) } else { (&mut b, &a) };
    stopping.stop().await;
    eventually("the other node takes over", || async { staying.leads().then_some(()) }).await;
}

async fn a_node_that_stops_hearing_catches_up_from_the_store(a: TestApp, b: TestApp) {
    let (id, token, _) = a.start("hello across a cut").await;
    assert_eq!(a.claim("alice", &id).await.status(), 200);
    let mut alice = b.helper_socket("alice").await;
    send(&mut alice, json!({"type": "open", "conversation": id, "after": 0})).await;
    next_of_type(&mut alice, "status").await;

    // Cut every listening connection of this schema; a message is stored meanwhile.
    let cut = b.terminate_listeners().await;
    assert!(cut >= 2, "both nodes listen ({cut} cut)");
    let sent =
        a.requester_post(&id, &token, json!({"client_id": "during", "text": "said during the cut"})).await;
    assert!(sent.status().is_success());

    // B's socket gets it once — live if B heard it, else from the store after B
    // listens again — and a `resync` for the dashboard once B listens again.
    let mut texts = Vec::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut resynced = false;
    while !(resynced && texts.contains(&"said during the cut".to_string())) {
        assert!(tokio::time::Instant::now() < deadline, "no catch-up: {texts:?}, resync {resynced}");
        let frame = tokio::time::timeout(PATIENCE, common::next_json(&mut alice)).await.unwrap();
        match frame["type"].as_str() {
            Some("message") => texts.push(frame["text"].as_str().unwrap().to_string()),
            Some("resync") => resynced = true,
            _ => {}
        }
    }
    assert_eq!(texts.iter().filter(|t| *t == "said during the cut").count(), 1, "{texts:?}");

    // And it hears live again.
    let after = a.requester_post(&id, &token, json!({"client_id": "after", "text": "after the cut"})).await;
    assert!(after.status().is_success());
    next_matching(&mut alice, |f| f["type"] == "message" && f["text"] == "after the cut").await;
}

/// The offers are made by the one node that runs the jobs; the helpers they go to, and
/// whether they are away, may be on the other.
async fn offers_reach_helpers_on_either_node_and_pass_over_the_away_on(a: TestApp, b: TestApp) {
    let a_leads =
        eventually("one node leads", || async { (a.leads() != b.leads()).then_some(a.leads()) }).await;
    let (leading, other) = if a_leads { (&a, &b) } else { (&b, &a) };

    // Alice is online only on the node that does not run the jobs: she is offered it there.
    let mut alice = other.helper_socket("alice").await;
    let (first, _, _) = leading.start("offered across nodes").await;
    let offered = next_matching(&mut alice, |f| f["type"] == "queue" && f["event"] == "offered").await;
    assert_eq!(offered["conversation"]["id"], first.as_str());
    assert_eq!(other.claim("alice", &first).await.status(), 200);

    // Away (said on that node), she is passed over: bob, on the leading node, gets the
    // next, although he already has two open to her one.
    send(&mut alice, json!({"type": "presence", "status": "away"})).await;
    send(&mut alice, json!({"type": "ping"})).await;
    next_of_type(&mut alice, "pong").await;
    for text in ["bob's first", "bob's second"] {
        let (id, _, _) = other.start(text).await;
        assert_eq!(leading.claim("bob", &id).await.status(), 200);
    }
    let mut bob = leading.helper_socket("bob").await;
    let (second, _, _) = other.start("while alice is away").await;
    let offered = next_matching(&mut bob, |f| f["type"] == "queue" && f["event"] == "offered").await;
    assert_eq!(offered["conversation"]["id"], second.as_str());
    let offers: Vec<(String, String)> = leading
        .stored(
            "SELECT c.preview, h.name FROM offers o JOIN helpers h ON h.id = o.helper_id \
             JOIN conversations c ON c.id = o.conversation_id ORDER BY o.offered_at",
            &[],
        )
        .await;
    assert_eq!(
        offers,
        [
            ("offered across nodes".to_string(), "alice".to_string()),
            ("while alice is away".to_string(), "bob".to_string())
        ],
        "one offer each, to the one available"
    );
}
