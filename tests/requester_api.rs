//! The requester's HTTP API: creating, reading, posting, closing, coming back — and
//! every kind of bad input, which gets a clear 4xx and changes nothing stored.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ORIGIN, OTHER_ORIGIN, TestApp, error_code};
use serde_json::{Value, json};

on_both_backends!(
    create_then_read_after_seq,
    widget_settings_are_localised_and_honest,
    bad_first_messages_are_refused_and_nothing_is_stored,
    bad_later_messages_are_refused_and_nothing_is_stored,
    wrong_tokens_and_other_conversations_are_not_found,
    posting_is_idempotent_on_client_id,
    threats_flag_urgent_and_show_the_emergency_contact_at_once,
    personal_data_is_masked_for_helpers_only,
    email_is_sealed_and_never_shown,
    origins_outside_the_site_are_refused,
    requester_can_close_and_come_back_to_the_last_helper_queue,
    queue_positions_follow_every_change_at_once,
);

/// Positions come from each queue's waiting line, read once per change of the queue:
/// asked many times between two changes they agree, and a change shows at the next ask.
async fn queue_positions_follow_every_change_at_once(app: TestApp) {
    let position =
        async |id: &str, token: &str| app.requester_view(id, token).await["queue_position"].as_i64();
    // A millisecond apart at least: requests that arrive in the same millisecond are
    // ordered by id, by chance.
    let (a, a_token, _) = app.start("first").await;
    app.advance(std::time::Duration::from_millis(5));
    let (b, b_token, _) = app.start("second").await;
    app.advance(std::time::Duration::from_millis(5));
    let (c, c_token, _) = app.start("third").await;
    for _ in 0..3 {
        assert_eq!(
            (position(&a, &a_token).await, position(&b, &b_token).await, position(&c, &c_token).await),
            (Some(1), Some(2), Some(3))
        );
    }
    assert_eq!(app.claim("alice", &a).await.status(), 200);
    assert_eq!(position(&a, &a_token).await, None, "claimed: no longer waiting");
    assert_eq!((position(&b, &b_token).await, position(&c, &c_token).await), (Some(1), Some(2)));
    app.advance(std::time::Duration::from_millis(5));
    let (d, d_token, _) = app.start("fourth").await;
    assert_eq!(position(&d, &d_token).await, Some(3));
    // A threat makes a request urgent: it goes first.
    let body = serde_json::json!({ "client_id": "t-1", "text": "he says he will kill me" });
    assert_eq!(app.requester_post(&d, &d_token, body).await.status(), 201);
    assert_eq!(app.requester_view(&d, &d_token).await["urgent"], true);
    assert_eq!((position(&d, &d_token).await, position(&b, &b_token).await), (Some(1), Some(2)));
    assert_eq!(position(&c, &c_token).await, Some(3));
}

async fn create_then_read_after_seq(app: TestApp) {
    let (id, token, body) = app.start("Someone keeps reverting everything I write").await;
    assert_eq!(body["status"], "waiting");
    assert_eq!(body["queue_position"], 1);
    assert_eq!(body["token"].as_str().unwrap().len(), 43, "256-bit token");
    assert_eq!(body["messages"][0]["seq"], 1);
    assert_eq!(body["messages"][0]["author_role"], "requester");

    let posted =
        app.requester_post(&id, &token, json!({"client_id": "m2", "text": "Also on my talk page"})).await;
    assert_eq!(posted.status(), 201);
    let posted: Value = posted.json().await.unwrap();
    assert_eq!(posted["seq"], 2);
    assert_eq!(posted["duplicate"], false);

    let after_one: Value = app.requester_get(&id, &token, 1).await.json().await.unwrap();
    let messages = after_one["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["text"], "Also on my talk page");
    assert_eq!(messages[0]["client_id"], "m2");
    assert_eq!(after_one["last_seq"], 2);

    // A second request waits behind the first.
    let (_, _, second) = app.start("Another problem").await;
    assert_eq!(second["queue_position"], 2);

    // The token is stored only as a hash.
    let stored: Vec<(String,)> =
        app.stored("SELECT token_hash FROM conversations WHERE id = $1", &[&id]).await;
    assert_ne!(stored[0].0, token);
    assert_eq!(stored[0].0, helpline::secrets::hash_token(&token));
}

async fn widget_settings_are_localised_and_honest(app: TestApp) {
    let settings: Value = app
        .client
        .get(format!("{}/v1/sites/wiki/widget?lang=de", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings["lang"], "de");
    assert_eq!(settings["dir"], "ltr");
    assert_eq!(settings["messages"]["helpline-dialog-title"], "Hilfe holen");
    assert_eq!(settings["availability"]["helpers_online"], 0);
    assert!(settings["availability"]["median_wait_seconds"].is_null());
    assert_eq!(settings["channels"], json!(["chat"]), "no outbound mail: chat only");
    assert!(settings["availability"]["summary"].as_str().unwrap().contains("niemand online"));
    assert_eq!(settings["other_teams"][0]["id"], "oversight");
    assert_eq!(settings["limits"]["first_message_chars"], 1000);

    // A helper comes online: the count says so and chat comes first.
    let _alice = app.helper_socket("alice").await;
    let settings: Value = app
        .client
        .get(format!("{}/v1/sites/wiki/widget?lang=he", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings["availability"]["helpers_online"], 1);
    assert_eq!(settings["dir"], "rtl");
    assert_eq!(settings["lang"], "he");

    // The median wait is measured from real first replies.
    let (id, _, _) = app.start("help").await;
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    assert_eq!(app.helper_says("alice", &id, "a1", "Hello", false).await.status(), 201);
    let other_site: Value = app
        .client
        .get(format!("{}/v1/sites/other/widget", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(other_site["availability"]["helpers_online"], 0, "alice is not in the other queue");

    let (status, code) =
        error_code(app.client.get(format!("{}/v1/sites/nope/widget", app.url)).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    let (status, code) = error_code(
        app.client.get(format!("{}/v1/sites/wiki/widget?lang=x;y", app.url)).send().await.unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "invalid_lang"));
}

async fn count_rows(app: &TestApp, table: &str) -> i64 {
    match table {
        "conversations" => app.stored_count("SELECT COUNT(*) FROM conversations", &[]).await,
        "messages" => app.stored_count("SELECT COUNT(*) FROM messages", &[]).await,
        "events" => app.stored_count("SELECT COUNT(*) FROM events", &[]).await,
        other => panic!("no table {other} counted here"),
    }
}

async fn bad_first_messages_are_refused_and_nothing_is_stored(app: TestApp) {
    let (id, token, _) = app.start("An existing request").await;
    let before = (count_rows(&app, "conversations").await, count_rows(&app, "messages").await);
    let cases = [
        (json!({"site": "wiki", "text": "x".repeat(1001)}), 400, "text_too_long"),
        (json!({"site": "wiki", "text": "   \n  "}), 400, "empty_text"),
        (json!({"site": "nowiki", "text": "help"}), 400, "unknown_site"),
        (json!({"site": "wiki", "text": "help", "email": "not-an-address"}), 400, "invalid_email"),
        (json!({"site": "wiki", "text": "help", "channel": "email"}), 400, "channel_unavailable"),
        (json!({"site": "wiki", "text": "help", "topic": "cooking"}), 400, "unknown_topic"),
        (json!({"site": "wiki", "text": "help", "lang": "en\"; DROP"}), 400, "invalid_lang"),
        (json!({"site": "wiki", "text": "help", "channel": "pigeon"}), 400, "malformed_json"),
        (json!({"site": "wiki"}), 400, "malformed_json"),
        (json!({"site": "wiki", "text": 42}), 400, "malformed_json"),
    ];
    for (body, status, code) in cases {
        let (got_status, got_code) = error_code(app.create(body.clone()).await).await;
        assert_eq!((got_status, got_code.as_str()), (status, code), "{body}");
    }
    // 1000 characters exactly is fine (counted as characters, not bytes).
    let exactly = app.create(json!({"site": "wiki", "text": "ü".repeat(1000)})).await;
    assert_eq!(exactly.status(), 201);

    // Not JSON at all, the wrong content type, and a body over the size limit.
    let raw = |body: &'static str, content_type: &'static str| {
        app.client
            .post(format!("{}/v1/conversations", app.url))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let (status, code) = error_code(raw("{not json", "application/json").await.unwrap()).await;
    assert_eq!((status, code.as_str()), (400, "malformed_json"));
    let (status, code) =
        error_code(raw("text=help", "application/x-www-form-urlencoded").await.unwrap()).await;
    assert_eq!((status, code.as_str()), (415, "unsupported_media_type"));
    let huge = json!({"site": "wiki", "text": "x".repeat(100_000)});
    let (status, code) = error_code(app.create(huge).await).await;
    assert_eq!((status, code.as_str()), (413, "payload_too_large"));

    // Only the valid 1000-character request was added; the earlier one is intact.
    assert_eq!(count_rows(&app, "conversations").await, before.0 + 1);
    assert_eq!(count_rows(&app, "messages").await, before.1 + 1);
    let view = app.requester_view(&id, &token).await;
    assert_eq!(view["messages"][0]["text"], "An existing request");
}

async fn bad_later_messages_are_refused_and_nothing_is_stored(app: TestApp) {
    let (id, token, _) = app.start("First").await;
    let cases = [
        (json!({"client_id": "a", "text": "y".repeat(2001)}), 400, "text_too_long"),
        (json!({"client_id": "a", "text": ""}), 400, "empty_text"),
        (json!({"client_id": "", "text": "hi"}), 400, "invalid_client_id"),
        (json!({"client_id": "has space", "text": "hi"}), 400, "invalid_client_id"),
        (json!({"text": "hi"}), 400, "malformed_json"),
    ];
    for (body, status, code) in cases {
        let (got_status, got_code) = error_code(app.requester_post(&id, &token, body.clone()).await).await;
        assert_eq!((got_status, got_code.as_str()), (status, code), "{body}");
    }
    let view = app.requester_view(&id, &token).await;
    assert_eq!(view["messages"].as_array().unwrap().len(), 1);
    assert_eq!(view["last_seq"], 1);
}

async fn wrong_tokens_and_other_conversations_are_not_found(app: TestApp) {
    let (id_a, token_a, _) = app.start("Mine").await;
    let (id_b, _token_b, _) = app.start("Someone else's").await;
    // Another conversation's id with my token, a made-up token, an unknown id: all 404.
    for (id, token) in [(&id_b, &token_a), (&id_a, &"x".repeat(43)), (&"nope".to_string(), &token_a)] {
        let (status, code) = error_code(app.requester_get(id, token, 0).await).await;
        assert_eq!((status, code.as_str()), (404, "not_found"));
        let (status, _) =
            error_code(app.requester_post(id, token, json!({"client_id": "x", "text": "hi"})).await).await;
        assert_eq!(status, 404);
    }
    // No token at all.
    let response = app.client.get(format!("{}/v1/conversations/{id_a}", app.url)).send().await.unwrap();
    let (status, code) = error_code(response).await;
    assert_eq!((status, code.as_str()), (401, "missing_token"));
    // Nothing was added to b.
    let stored = app.stored_count("SELECT COUNT(*) FROM messages WHERE conversation_id = $1", &[&id_b]).await;
    assert_eq!(stored, 1);
}

async fn posting_is_idempotent_on_client_id(app: TestApp) {
    let (id, token, _) = app.start("First").await;
    let first = app.requester_post(&id, &token, json!({"client_id": "c-1", "text": "Once"})).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = app.requester_post(&id, &token, json!({"client_id": "c-1", "text": "Once"})).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["seq"], first["seq"]);
    assert_eq!(again["duplicate"], true);
    let view = app.requester_view(&id, &token).await;
    let texts: Vec<&str> =
        view["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["First", "Once"]);
    // A helper's client id that happens to equal the requester's is a different message.
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    assert_eq!(app.helper_says("alice", &id, "c-1", "Hello", false).await.status(), 201);
}

async fn threats_flag_urgent_and_show_the_emergency_contact_at_once(app: TestApp) {
    let (_quiet, _, _) = app.start("A calm question about a deletion").await;
    let (id, token, body) = app.start("He wrote that he will kill you if I edit again").await;
    assert_eq!(body["urgent"], true);
    let system = &body["messages"][1];
    assert_eq!(system["author_role"], "system");
    assert!(system["text"].as_str().unwrap().contains("emergency@wiki.example"), "{system}");
    // Urgent on top of the queue, ahead of the older request.
    let queue: Value = app.helper_json("alice", "/v1/helper/queue").await;
    assert_eq!(queue["conversations"][0]["id"], id.as_str());
    assert_eq!(queue["conversations"][0]["urgent"], true);
    let events: Value = app.helper_json("alice", &format!("/v1/helper/conversations/{id}/events")).await;
    let actions: Vec<&str> =
        events["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "flagged_urgent"]);

    // A later message can raise the flag too (German rules), once.
    let (id2, token2, body2) = app.start("Ein Streit über einen Artikel").await;
    assert_eq!(body2["urgent"], false);
    app.requester_post(
        &id2,
        &token2,
        json!({"client_id": "d1", "text": "Er hat geschrieben, er bringt mich um"}),
    )
    .await;
    app.requester_post(&id2, &token2, json!({"client_id": "d2", "text": "Und dass er mich umbringen will"}))
        .await;
    let view = app.requester_view(&id2, &token2).await;
    assert_eq!(view["urgent"], true);
    let notices =
        view["messages"].as_array().unwrap().iter().filter(|m| m["author_role"] == "system").count();
    assert_eq!(notices, 1, "the emergency notice is shown once");
    let _ = token;
}

async fn personal_data_is_masked_for_helpers_only(app: TestApp) {
    let text = "Write to me at jane@example.org or call 0171 2345678";
    let (id, token, body) = app.start(text).await;
    assert_eq!(body["messages"][0]["text"], text, "the requester sees their own words");
    let queue: Value = app.helper_json("alice", "/v1/helper/queue").await;
    let preview = queue["conversations"][0]["preview"].as_str().unwrap();
    assert!(!preview.contains("jane@example.org") && !preview.contains("2345678"), "{preview}");
    let view: Value = app.helper_json("alice", &format!("/v1/helper/conversations/{id}")).await;
    let seen = view["messages"][0]["text"].as_str().unwrap();
    assert!(seen.contains("[e-mail address]") && seen.contains("[phone number]"), "{seen}");
    assert_eq!(view["messages"][0]["masked"], true);
    let mine = app.requester_view(&id, &token).await;
    assert_eq!(mine["messages"][0]["text"], text);
}

async fn email_is_sealed_and_never_shown(app: TestApp) {
    let response =
        app.create(json!({"site": "wiki", "text": "Please answer me", "email": "reader@example.org"})).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["channel"], "chat");
    // Without outbound mail, answers by e-mail are refused rather than promised.
    let by_mail =
        app.create(json!({"site": "wiki", "text": "hi", "channel": "email", "email": "r@example.org"})).await;
    assert_eq!(error_code(by_mail).await, (400, "channel_unavailable".to_string()));
    let id = body["id"].as_str().unwrap();
    helpline::install_tls();
    let raw = reqwest::Client::new()
        .get(format!("{}/v1/helper/conversations/{id}", app.url))
        .bearer_auth(&app.tokens["alice"])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!raw.contains("reader@example.org"), "helpers never see the address");
    assert!(raw.contains("\"has_email\":true"));
    let sealed: Vec<(String,)> =
        app.stored("SELECT email_sealed FROM conversations WHERE id = $1", &[id]).await;
    assert!(!sealed[0].0.contains("reader"));
    assert_eq!(app.unseal(&sealed[0].0).as_deref(), Some("reader@example.org"));
}

async fn origins_outside_the_site_are_refused(app: TestApp) {
    let post = |origin: &'static str| {
        app.client
            .post(format!("{}/v1/conversations", app.url))
            .header("origin", origin)
            .json(&json!({"site": "wiki", "text": "help"}))
            .send()
    };
    assert_eq!(post(ORIGIN).await.unwrap().status(), 201);
    let (status, code) = error_code(post(OTHER_ORIGIN).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (403, "forbidden"));
    let (status, _) = error_code(post("https://evil.example").await.unwrap()).await;
    assert_eq!(status, 403);

    // CORS preflight: allowed for the site's origin, not for others, never for the helper API.
    let preflight = |origin: &'static str, path: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}{path}", app.url))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight(ORIGIN, "/v1/conversations").await.unwrap();
    assert_eq!(ok.headers().get("access-control-allow-origin").unwrap(), ORIGIN);
    let evil = preflight("https://evil.example", "/v1/conversations").await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    let helper = preflight(ORIGIN, "/v1/helper/queue").await.unwrap();
    assert!(helper.headers().get("access-control-allow-origin").is_none());

    // A conversation of site `wiki` cannot be read from the other site's origin.
    let (id, token, _) = app.start("mine").await;
    let response = app
        .client
        .get(format!("{}/v1/conversations/{id}", app.url))
        .header("origin", OTHER_ORIGIN)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

async fn requester_can_close_and_come_back_to_the_last_helper_queue(app: TestApp) {
    let (id, token, _) = app.start("First").await;
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    assert_eq!(app.helper_says("alice", &id, "h1", "Hello, I'm here", false).await.status(), 201);
    let closed = app
        .client
        .post(format!("{}/v1/conversations/{id}/close", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 200);
    let closed: Value = closed.json().await.unwrap();
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["outcome"], "withdrawn");
    let again = app
        .client
        .post(format!("{}/v1/conversations/{id}/close", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(again).await, (409, "closed".to_string()));

    // Alice is offline: the reopened request goes back to the queue.
    let posted =
        app.requester_post(&id, &token, json!({"client_id": "back", "text": "It started again"})).await;
    assert_eq!(posted.status(), 201);
    let view = app.requester_view(&id, &token).await;
    assert_eq!(view["status"], "waiting");
    assert!(view["outcome"].is_null());

    // With alice online, closing and coming back returns straight to her.
    let _alice = app.helper_socket("alice").await;
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    let close = app
        .helper_post("alice", &format!("/v1/helper/conversations/{id}/close"), json!({"outcome": "resolved"}))
        .await;
    assert_eq!(close.status(), 200);
    app.requester_post(&id, &token, json!({"client_id": "back2", "text": "Sorry, one more thing"})).await;
    let view = app.requester_view(&id, &token).await;
    assert_eq!(view["status"], "active");
    assert_eq!(view["helper_name"], "alice");

    // Past the reopen window (14 days), a closed conversation stays closed.
    let close = app
        .helper_post("alice", &format!("/v1/helper/conversations/{id}/close"), json!({"outcome": "resolved"}))
        .await;
    assert_eq!(close.status(), 200);
    app.advance(std::time::Duration::from_secs(15 * 86_400));
    let late = app.requester_post(&id, &token, json!({"client_id": "late", "text": "Hello?"})).await;
    assert_eq!(error_code(late).await, (409, "closed".to_string()));
}
