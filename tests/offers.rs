//! Auto-offer: a waiting request is offered to the least-loaded available helper of its
//! queue and language, one at a time, on that helper's socket only; "Not now" and
//! silence pass it on; helpers away or at capacity are skipped; nobody gets it twice.
#![allow(clippy::unwrap_used)]

mod common;

use common::console::{act, signed_in};
use common::{Backend, TestApp, Ws, eventually, next_matching, send};
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(spawn = spawn; offers_go_to_the_least_loaded_and_move_on_when_declined);
on_both_backends!(spawn = spawn_quick; an_unanswered_offer_expires_and_goes_to_the_next_helper);

async fn spawn(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |config| {
        config.console.secure_cookies = false;
        config.routing.auto_offer = true;
        config.routing.offer_seconds = 300;
    })
    .await
}

async fn spawn_quick(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |config| {
        config.routing.auto_offer = true;
        config.routing.offer_seconds = 1;
    })
    .await
}

/// The next `offered` frame on this helper's socket; returns the conversation id.
async fn offered(ws: &mut Ws) -> String {
    let frame = next_matching(ws, |f| f["type"] == "queue" && f["event"] == "offered").await;
    frame["conversation"]["id"].as_str().unwrap().to_string()
}

/// (helper name, outcome) of every offer of a conversation, oldest first.
async fn offers_of(app: &TestApp, id: &str) -> Vec<(String, Option<String>)> {
    app.stored(
        "SELECT h.name, o.outcome FROM offers o JOIN helpers h ON h.id = o.helper_id \
         WHERE o.conversation_id = $1 ORDER BY o.offered_at, h.name",
        &[id],
    )
    .await
}

/// Waits until the offers of `id` are as expected (the round runs each second).
async fn wait_for_offers(app: &TestApp, id: &str, expected: &[(&str, Option<&str>)]) {
    let expected: Vec<(String, Option<String>)> =
        expected.iter().map(|(n, o)| ((*n).to_string(), o.map(str::to_string))).collect();
    let what = format!("the offers of {id} become {expected:?}");
    eventually(&what, || async { (offers_of(app, id).await == expected).then_some(()) }).await;
}

async fn offers_go_to_the_least_loaded_and_move_on_when_declined(app: TestApp) {
    let mut alice = app.helper_socket("alice").await;
    let mut bob = app.helper_socket("bob").await;
    let mut carol = app.helper_socket("carol").await;

    // Both free: the name decides; alice takes it from the offer.
    let (first, _, _) = app.start("first request").await;
    assert_eq!(offered(&mut alice).await, first);
    assert_eq!(app.claim("alice", &first).await.status(), 200);
    wait_for_offers(&app, &first, &[("alice", Some("accepted"))]).await;

    // Alice has one open conversation, bob none: bob is offered the next, on his socket.
    let (second, _, _) = app.start("second request <img src=x onerror=alert(1)>").await;
    assert_eq!(offered(&mut bob).await, second);
    wait_for_offers(&app, &second, &[("bob", None)]).await;
    // Alice, in the same queue, is not told of bob's offer.
    send(&mut alice, json!({"type": "ping"})).await;
    loop {
        let frame = common::next_json(&mut alice).await;
        assert_ne!(frame["event"], "offered", "alice heard bob's offer: {frame}");
        if frame["type"] == "pong" {
            break;
        }
    }
    // His dashboard shows it with "Take it" and "Not now".
    let (browser, csrf) = signed_in(&app, "bob").await;
    let dashboard = browser.get(format!("{}/console", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(dashboard.contains("Offered to you") && dashboard.contains("second request"), "{dashboard}");
    // The requester's words are text in the offer, never markup.
    assert!(!dashboard.contains("<img src=x"), "{dashboard}");
    assert!(dashboard.contains("&lt;img src=x") || dashboard.contains("&#60;img src=x"), "{dashboard}");
    // "Not now": alice's turn (at one of five, she is under her capacity).
    let decline = act(&app, &browser, &format!("/console/offers/{second}/decline"), &[("csrf", &csrf)]).await;
    assert_eq!(decline.status(), StatusCode::SEE_OTHER);
    assert_eq!(offered(&mut alice).await, second);
    wait_for_offers(&app, &second, &[("bob", Some("declined")), ("alice", None)]).await;
    let again = act(&app, &browser, &format!("/console/offers/{second}/decline"), &[("csrf", &csrf)]).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "bob's offer is over");
    // Someone else taking it ends the offer as taken.
    assert_eq!(app.claim("bob", &second).await.status(), 200);
    wait_for_offers(&app, &second, &[("bob", Some("declined")), ("alice", Some("taken"))]).await;

    // Away, or at capacity: not offered. Alice at capacity 1 with one open; bob away.
    app.set_capacity("alice", 1).await;
    send(&mut bob, json!({"type": "presence", "status": "away"})).await;
    // Frames are handled in order: the pong means he is away now.
    send(&mut bob, json!({"type": "ping"})).await;
    next_matching(&mut bob, |f| f["type"] == "pong").await;
    let (third, _, _) = app.start("third request").await;
    app.offer_round().await;
    assert_eq!(offers_of(&app, &third).await, vec![], "nobody available under capacity");
    // Bob is back: it is his.
    send(&mut bob, json!({"type": "presence", "status": "available"})).await;
    assert_eq!(offered(&mut bob).await, third);

    // Carol helps another queue: she is offered its requests, never this queue's.
    let response = app.create(json!({"site": "other", "lang": "de", "text": "für carol"})).await;
    let other: Value = response.json().await.unwrap();
    assert_eq!(offered(&mut carol).await, other["id"].as_str().unwrap());
}

async fn an_unanswered_offer_expires_and_goes_to_the_next_helper(app: TestApp) {
    let mut alice = app.helper_socket("alice").await;
    let mut bob = app.helper_socket("bob").await;
    let (id, _, _) = app.start("is anybody there").await;
    assert_eq!(offered(&mut alice).await, id);
    // A second without an answer: bob's turn; then nobody new is left to offer it to.
    assert_eq!(offered(&mut bob).await, id);
    wait_for_offers(&app, &id, &[("alice", Some("expired")), ("bob", Some("expired"))]).await;
    // It still waits in the queue for anyone to take.
    assert_eq!(app.claim("alice", &id).await.status(), 200);
}
