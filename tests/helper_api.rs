//! The helper API: the queue, one owner per conversation, notes that never reach the
//! requester, hand-over, redirects, closing — and that helpers see only their queues.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestApp, error_code};
use serde_json::{Value, json};

on_both_backends!(
    queue_lists_waiting_first_urgent_on_top_oldest_first,
    only_one_helper_owns_a_conversation,
    internal_notes_never_reach_the_requester,
    release_and_transfer_hand_over,
    redirect_tells_the_requester_where_to_go,
    close_with_an_outcome,
    helpers_see_only_their_queues,
    bad_helper_input_changes_nothing,
    median_wait_comes_from_first_replies,
    removing_a_helper_returns_their_conversations_to_the_queue,
);

async fn removing_a_helper_returns_their_conversations_to_the_queue(app: TestApp) {
    let (id, token, _) = app.start("help").await;
    let (closed, _, _) = app.start("done").await;
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    assert_eq!(app.claim("alice", &closed).await.status(), 200);
    let path = format!("/v1/helper/conversations/{closed}/close");
    assert_eq!(app.helper_post("alice", &path, json!({"outcome": "resolved"})).await.status(), 200);
    assert_eq!(app.remove_helper("alice").await, 1, "the open one goes back");
    let view = app.requester_view(&id, &token).await;
    assert_eq!(view["status"], "waiting");
    assert!(view["helper_name"].is_null());
    let waiting = queue(&app, "bob", "?status=waiting").await;
    assert_eq!(ids(&waiting), std::slice::from_ref(&id), "the closed one stays closed");
    let events: Value = app.helper_json("bob", &format!("/v1/helper/conversations/{id}/events")).await;
    let last = events["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "released");
    assert_eq!(last["detail"]["reason"], "helper removed");
    // The removed helper's token no longer works.
    assert_eq!(app.helper_get("alice", "/v1/helper/me").await.status(), 401);
}

async fn queue(app: &TestApp, helper: &str, query: &str) -> Vec<Value> {
    let response = app.helper_get(helper, &format!("/v1/helper/queue{query}")).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["conversations"].as_array().unwrap().clone()
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|c| c["id"].as_str().unwrap().to_string()).collect()
}

async fn queue_lists_waiting_first_urgent_on_top_oldest_first(app: TestApp) {
    // Requests a millisecond apart may share a timestamp: ten seconds pass between them.
    let pause = || app.advance(std::time::Duration::from_secs(10));
    let (old, _, _) = app.start("first, calm").await;
    pause();
    let (claimed, _, _) = app.start("second, will be claimed").await;
    pause();
    let (newer, _, _) = app.start("third, calm").await;
    pause();
    let german = app.create(json!({"site": "wiki", "lang": "de", "text": "Hilfe bitte"})).await;
    let german: Value = german.json().await.unwrap();
    pause();
    let (urgent, _, _) = app.start("fourth: I want to end my life").await;
    assert_eq!(app.claim("alice", &claimed).await.status(), 200);

    let all = queue(&app, "bob", "").await;
    assert_eq!(
        ids(&all),
        [urgent.clone(), old.clone(), newer.clone(), german["id"].as_str().unwrap().into(), claimed.clone()]
    );
    assert_eq!(all[4]["owner"], "alice");
    assert_eq!(all[4]["status"], "active");
    assert_eq!(all[0]["urgent"], true);

    let waiting = queue(&app, "bob", "?status=waiting").await;
    assert_eq!(waiting.len(), 4);
    let german_only = queue(&app, "bob", "?lang=de").await;
    assert_eq!(ids(&german_only), [german["id"].as_str().unwrap().to_string()]);
    let by_queue = queue(&app, "bob", "?queue=wiki-queue").await;
    assert_eq!(by_queue.len(), 5);
    let (status, _) = error_code(app.helper_get("bob", "/v1/helper/queue?queue=other-queue").await).await;
    assert_eq!(status, 404, "not bob's queue");
    let (status, code) = error_code(app.helper_get("bob", "/v1/helper/queue?status=sleeping").await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_query"));
    assert!(queue(&app, "carol", "").await.is_empty(), "carol's queue is empty");
}

async fn only_one_helper_owns_a_conversation(app: TestApp) {
    let (id, token, _) = app.start("please help").await;
    let first = app.claim("alice", &id).await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["owner"], "alice");
    assert_eq!(first["status"], "active");

    let second = app.claim("bob", &id).await;
    assert_eq!(second.status(), 409);
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["error"]["code"], "already_claimed");
    assert!(second["error"]["message"].as_str().unwrap().contains("alice"), "{second}");

    // Claiming again is harmless for the owner.
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    // Bob cannot answer, only note.
    let (status, code) = error_code(app.helper_says("bob", &id, "b1", "I'll answer", false).await).await;
    assert_eq!((status, code.as_str()), (409, "not_owner"));
    assert_eq!(app.helper_says("bob", &id, "b2", "I know this user", true).await.status(), 201);
    // An unclaimed conversation cannot be answered.
    let (other, _, _) = app.start("another").await;
    let (status, code) = error_code(app.helper_says("alice", &other, "x", "hi", false).await).await;
    assert_eq!((status, code.as_str()), (409, "not_claimed"));

    // The requester sees who joined, and only that.
    let view = app.requester_view(&id, &token).await;
    assert_eq!(view["helper_name"], "alice");
    let texts: Vec<&str> =
        view["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["please help", "alice has joined the conversation."]);

    // Concurrent claims: exactly one wins.
    let (race, _, _) = app.start("race").await;
    let (a, b) = tokio::join!(app.claim("alice", &race), app.claim("bob", &race));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    let events: Value = app.helper_json("alice", &format!("/v1/helper/conversations/{race}/events")).await;
    let claims = events["events"].as_array().unwrap().iter().filter(|e| e["action"] == "claimed").count();
    assert_eq!(claims, 1);
}

async fn internal_notes_never_reach_the_requester(app: TestApp) {
    let (id, token, _) = app.start("something is wrong").await;
    let mut requester_ws = app.requester_socket(&id, &token, 0).await;
    common::next_of_type(&mut requester_ws, "status").await;
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    assert_eq!(app.helper_says("bob", &id, "n1", "NOTE: check the block log", true).await.status(), 201);
    assert_eq!(app.helper_says("alice", &id, "n2", "NOTE: second opinion", true).await.status(), 201);
    assert_eq!(app.helper_says("alice", &id, "p1", "Hello, how can I help?", false).await.status(), 201);

    // Over the socket: the public answer arrives, no note ever does.
    let answer = common::next_matching(&mut requester_ws, |f| {
        assert!(!f.to_string().contains("NOTE"), "a note reached the requester's socket: {f}");
        f["type"] == "message" && f["author_role"] == "helper"
    })
    .await;
    assert_eq!(answer["text"], "Hello, how can I help?");
    // Over HTTP, from the start and after each seq.
    for after in 0..6 {
        let body = app.requester_get(&id, &token, after).await.text().await.unwrap();
        assert!(!body.contains("NOTE"), "a note reached the requester over HTTP: {body}");
    }
    // Resuming the socket from 0 replays history without notes.
    let mut again = app.requester_socket(&id, &token, 0).await;
    let status = common::next_matching(&mut again, |f| {
        assert!(!f.to_string().contains("NOTE"), "a note reached a resumed socket: {f}");
        f["type"] == "status"
    })
    .await;
    assert_eq!(status["helper_name"], "alice");
    // Helpers see the notes, marked.
    let view: Value = app.helper_json("bob", &format!("/v1/helper/conversations/{id}")).await;
    let notes: Vec<&Value> =
        view["messages"].as_array().unwrap().iter().filter(|m| m["internal"] == true).collect();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0]["author_name"], "bob");
}

async fn release_and_transfer_hand_over(app: TestApp) {
    let (id, token, _) = app.start("help").await;
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    let path = |action: &str| format!("/v1/helper/conversations/{id}/{action}");
    // Only the owner releases.
    let (status, code) = error_code(app.helper_post("bob", &path("release"), json!({})).await).await;
    assert_eq!((status, code.as_str()), (409, "not_owner"));
    let released: Value = app.helper_post("alice", &path("release"), json!({})).await.json().await.unwrap();
    assert_eq!(released["status"], "waiting");
    assert!(released["owner"].is_null());
    assert_eq!(queue(&app, "bob", "?status=waiting").await.len(), 1);

    // Hand-over to a named helper.
    assert_eq!(app.claim("bob", &id).await.status(), 200);
    let moved: Value =
        app.helper_post("bob", &path("transfer"), json!({"to_helper": "alice"})).await.json().await.unwrap();
    assert_eq!(moved["owner"], "alice");
    assert_eq!(app.helper_says("alice", &id, "a1", "I'm back", false).await.status(), 201);
    let (status, code) =
        error_code(app.helper_post("alice", &path("transfer"), json!({"to_helper": "carol"})).await).await;
    assert_eq!((status, code.as_str()), (400, "not_a_member"));
    let (status, code) =
        error_code(app.helper_post("alice", &path("transfer"), json!({"to_helper": "nobody"})).await).await;
    assert_eq!((status, code.as_str()), (400, "unknown_helper"));
    let (status, code) = error_code(app.helper_post("alice", &path("transfer"), json!({})).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_transfer"));

    // To another queue: alice loses sight of it, carol gets it.
    let response = app.helper_post("alice", &path("transfer"), json!({"to_queue": "other-queue"})).await;
    assert_eq!(response.status(), 204);
    assert_eq!(app.helper_get("alice", &format!("/v1/helper/conversations/{id}")).await.status(), 404);
    let carols = queue(&app, "carol", "").await;
    assert_eq!(ids(&carols), std::slice::from_ref(&id));
    assert_eq!(carols[0]["status"], "waiting");

    let view = app.requester_view(&id, &token).await;
    let systems: Vec<&str> = view["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author_role"] == "system")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert!(systems.iter().any(|t| t.contains("back in the queue")), "{systems:?}");
    assert!(systems.iter().any(|t| t.contains("alice is taking over")), "{systems:?}");
    assert!(systems.iter().any(|t| t.contains("another group")), "{systems:?}");
}

async fn redirect_tells_the_requester_where_to_go(app: TestApp) {
    let (id, token, _) = app.start("There is my home address in an old revision").await;
    let path = format!("/v1/helper/conversations/{id}/redirect");
    let (status, code) = error_code(app.helper_post("alice", &path, json!({"team": "pizza"})).await).await;
    assert_eq!((status, code.as_str()), (400, "unknown_team"));
    let redirected: Value =
        app.helper_post("alice", &path, json!({"team": "oversight"})).await.json().await.unwrap();
    assert_eq!(redirected["status"], "closed");
    assert_eq!(redirected["outcome"], "redirected");
    assert_eq!(redirected["redirected_team"], "oversight");
    let view = app.requester_view(&id, &token).await;
    assert_eq!(view["redirected_to"]["id"], "oversight");
    assert_eq!(view["redirected_to"]["link"], "https://wiki.example/wiki/oversight");
    let last = view["messages"].as_array().unwrap().last().unwrap().clone();
    assert!(last["text"].as_str().unwrap().contains("https://wiki.example/wiki/oversight"), "{last}");
}

async fn close_with_an_outcome(app: TestApp) {
    let (id, token, _) = app.start("help").await;
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    let path = format!("/v1/helper/conversations/{id}/close");
    let (status, code) =
        error_code(app.helper_post("bob", &path, json!({"outcome": "resolved"})).await).await;
    assert_eq!((status, code.as_str()), (409, "not_owner"));
    let (status, code) =
        error_code(app.helper_post("alice", &path, json!({"outcome": "withdrawn"})).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_outcome"));
    let (status, code) =
        error_code(app.helper_post("alice", &path, json!({"outcome": "redirected"})).await).await;
    assert_eq!((status, code.as_str()), (400, "use_redirect"));
    let (status, _) = error_code(app.helper_post("alice", &path, json!({"outcome": "vanished"})).await).await;
    assert_eq!(status, 400);
    let closed: Value =
        app.helper_post("alice", &path, json!({"outcome": "resolved"})).await.json().await.unwrap();
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["outcome"], "resolved");
    let (status, code) =
        error_code(app.helper_post("alice", &path, json!({"outcome": "resolved"})).await).await;
    assert_eq!((status, code.as_str()), (409, "closed"));
    assert_eq!(app.requester_view(&id, &token).await["outcome"], "resolved");

    // The audit trail keeps who did what.
    let events: Value = app.helper_json("bob", &format!("/v1/helper/conversations/{id}/events")).await;
    let trail: Vec<(String, String)> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().into(), e["actor"].as_str().unwrap_or("-").into()))
        .collect();
    assert_eq!(
        trail,
        [
            ("created".into(), "-".into()),
            ("claimed".into(), "alice".into()),
            ("closed".into(), "alice".into())
        ]
    );
}

async fn helpers_see_only_their_queues(app: TestApp) {
    let (id, _, _) = app.start("for the wiki queue").await;
    let path = |action: &str| format!("/v1/helper/conversations/{id}/{action}");
    assert_eq!(app.helper_get("carol", &format!("/v1/helper/conversations/{id}")).await.status(), 404);
    assert_eq!(app.helper_get("carol", &path("events")).await.status(), 404);
    for action in ["claim", "release"] {
        assert_eq!(app.helper_post("carol", &path(action), json!({})).await.status(), 404, "{action}");
    }
    assert_eq!(app.helper_post("carol", &path("close"), json!({"outcome": "resolved"})).await.status(), 404);
    assert_eq!(app.helper_post("carol", &path("redirect"), json!({"team": "oversight"})).await.status(), 404);
    assert_eq!(app.helper_says("carol", &id, "c", "note", true).await.status(), 404);
    // And the same for a conversation that does not exist.
    assert_eq!(app.helper_get("alice", "/v1/helper/conversations/nope").await.status(), 404);
    // Without a token, or with a requester's token: 401.
    let (_, requester_token, _) = app.start("x").await;
    let response = app
        .client
        .get(format!("{}/v1/helper/queue", app.url))
        .bearer_auth(requester_token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(response).await, (401, "invalid_token".to_string()));
    let response = app.client.get(format!("{}/v1/helper/queue", app.url)).send().await.unwrap();
    assert_eq!(error_code(response).await, (401, "missing_token".to_string()));
    let me: Value = app.helper_json("carol", "/v1/helper/me").await;
    assert_eq!(me["queues"][0]["queue"], "other-queue");
}

async fn bad_helper_input_changes_nothing(app: TestApp) {
    let (id, token, _) = app.start("help").await;
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    let path = format!("/v1/helper/conversations/{id}/messages");
    for (body, code) in [
        (json!({"client_id": "a", "text": ""}), "empty_text"),
        (json!({"client_id": "a", "text": "z".repeat(2001)}), "text_too_long"),
        (json!({"client_id": "bad id", "text": "hi"}), "invalid_client_id"),
        (json!({"text": "hi"}), "malformed_json"),
    ] {
        let (status, got) = error_code(app.helper_post("alice", &path, body.clone()).await).await;
        assert_eq!((status, got.as_str()), (400, code), "{body}");
    }
    let before = app.requester_view(&id, &token).await;
    assert_eq!(before["last_seq"], 2, "request and join notice only");
    // Idempotent for helpers too.
    let first: Value = app.helper_says("alice", &id, "same", "Hello", false).await.json().await.unwrap();
    let again = app.helper_says("alice", &id, "same", "Hello", false).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["seq"], again["seq"]);
    assert_eq!(app.requester_view(&id, &token).await["last_seq"], 3);
}

async fn median_wait_comes_from_first_replies(app: TestApp) {
    let (id, _, _) = app.start("help").await;
    // Three minutes until the first reply.
    app.advance(std::time::Duration::from_secs(180));
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    assert_eq!(app.helper_says("alice", &id, "a", "Hi", false).await.status(), 201);
    let _alice = app.helper_socket("alice").await;
    let settings: Value = app
        .client
        .get(format!("{}/v1/sites/wiki/widget", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings["availability"]["median_wait_seconds"], 180);
    let summary = settings["availability"]["summary"].as_str().unwrap();
    assert!(summary.contains("One helper is online") && summary.contains("3 min"), "{summary}");
}
