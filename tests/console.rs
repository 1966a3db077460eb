//! The helper console through its pages, as a browser would use them: sign-in links,
//! sessions, CSRF, who may see and do what, a conversation handled end to end.
#![allow(clippy::unwrap_used)]

mod common;

use common::console::{act, browser, csrf_of, link_for, page, redeem, session_cookie, signed_in, spawn};
use common::{Backend, TestApp};
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

on_both_backends!(
    spawn = spawn;
    a_link_signs_in_once_with_a_fresh_session,
    expired_and_unknown_links_are_refused,
    actions_without_the_csrf_token_or_from_another_site_change_nothing,
    helpers_see_only_their_queues,
    a_conversation_handled_from_the_console,
    signing_out_ends_the_session,
    a_team_alias_keeps_the_helpers_name_from_the_requester,
    canned_replies_come_in_the_requesters_language,
    take_next_offers_urgent_then_oldest_in_the_helpers_languages,
    capacity_limits_taking_and_read_marks_show,
    the_helper_api_takes_the_console_session_with_its_csrf_token,
);

/// One proof of who a helper is, everywhere: the console's session works on the helper
/// API from the console's own pages, and changes need the session's CSRF token there too.
async fn the_helper_api_takes_the_console_session_with_its_csrf_token(app: TestApp) {
    let (id, _, _) = app.start("help me please").await;
    let (alice, csrf) = signed_in(&app, "alice").await;
    let me: Value =
        alice.get(format!("{}/v1/helper/me", app.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["name"], "alice");
    let claim = format!("{}/v1/helper/conversations/{id}/claim", app.url);
    let without = alice.post(&claim).json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(common::error_code(without).await, (403, "forbidden".to_string()), "no CSRF token");
    let foreign = alice
        .post(&claim)
        .header(ORIGIN, "https://evil.example")
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({}));
    assert_eq!(foreign.send().await.unwrap().status(), StatusCode::UNAUTHORIZED, "not from another site");
    let with =
        alice.post(&claim).header("x-csrf-token", &csrf).json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(with.status(), StatusCode::OK);
    let view: Value = app.helper_json("bob", &format!("/v1/helper/conversations/{id}")).await;
    assert_eq!(view["owner"], "alice");
    // A bearer token is checked as such: a wrong one is refused, whatever cookie comes along.
    let wrong = alice.get(format!("{}/v1/helper/me", app.url)).bearer_auth("hlp_wrong").send().await.unwrap();
    assert_eq!(common::error_code(wrong).await, (401, "invalid_token".to_string()));
}

async fn a_link_signs_in_once_with_a_fresh_session(app: TestApp) {
    let client = browser();
    let (status, _) = page(&app, &client, "/console").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "not signed in: sent to sign-in");

    let token = link_for(&app, "alice").await;
    // Looking at the link (a mail scanner, a preview) does not use it up.
    for _ in 0..2 {
        let (status, html) = page(&app, &client, &format!("/console/signin/link?token={token}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Continue as alice"), "{html}");
    }
    // A session id planted in the browser beforehand is not adopted.
    let planted = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = planted
        .post(format!("{}/console/signin/link", app.url))
        .header(COOKIE, "helpline_console=planted-by-someone-else")
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/console");
    let first = session_cookie(&response);
    assert_ne!(first, "planted-by-someone-else");
    let (status, html) = {
        let r = planted
            .get(format!("{}/console", app.url))
            .header(COOKIE, format!("helpline_console={first}"))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Signed in as alice"), "{html}");

    // Used once: refused the second time, and no session comes of it.
    let again = redeem(&app, &client, &token).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.headers().get(SET_COOKIE).is_none());
    assert!(again.text().await.unwrap().contains("already been used"));

    // Every sign-in gets its own new session id.
    let second = session_cookie(&redeem(&app, &client, &link_for(&app, "alice").await).await);
    assert_ne!(first, second);
}

async fn expired_and_unknown_links_are_refused(app: TestApp) {
    let client = browser();
    let expired = link_for(&app, "alice").await;
    // A link works for `link_minutes` (15): a quarter of an hour and a minute later, no more.
    app.advance(std::time::Duration::from_secs(16 * 60));
    let response = redeem(&app, &client, &expired).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(SET_COOKIE).is_none());
    assert!(response.text().await.unwrap().contains("expired"));
    for bad in ["mlk_nope", "", "hlp_not-a-link", "<script>"] {
        let response = redeem(&app, &client, bad).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(response.text().await.unwrap().contains("not known"), "{bad}");
    }
    let (status, _) = page(&app, &client, "/console").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "still not signed in");
}

async fn actions_without_the_csrf_token_or_from_another_site_change_nothing(app: TestApp) {
    let (id, _, _) = app.start("help").await;
    let (client, csrf) = signed_in(&app, "alice").await;
    let claim = format!("/console/conversations/{id}/claim");
    for fields in [vec![], vec![("csrf", "wrong")], vec![("csrf", "")]] {
        let response = act(&app, &client, &claim, &fields).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{fields:?}");
    }
    let cross_site = client
        .post(format!("{}{claim}", app.url))
        .header(ORIGIN, "https://evil.example")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let presence = act(&app, &client, "/console/presence", &[("status", "away")]).await;
    assert_eq!(presence.status(), StatusCode::FORBIDDEN);
    let view: Value = app.helper_json("bob", &format!("/v1/helper/conversations/{id}")).await;
    assert_eq!(view["status"], "waiting", "nothing changed");
    assert!(view["owner"].is_null());

    let response = act(&app, &client, &claim, &[("csrf", &csrf)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let view: Value = app.helper_json("bob", &format!("/v1/helper/conversations/{id}")).await;
    assert_eq!(view["owner"], "alice");
}

async fn helpers_see_only_their_queues(app: TestApp) {
    let (id, _, _) = app.start("a request for the wiki queue").await;
    let (carol, csrf) = signed_in(&app, "carol").await;
    let (status, html) = page(&app, &carol, "/console").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(&id) && !html.contains("a request for the wiki queue"), "{html}");
    let (status, html) = page(&app, &carol, &format!("/console/conversations/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!html.contains("a request for the wiki queue"));
    let response = act(&app, &carol, &format!("/console/conversations/{id}/claim"), &[("csrf", &csrf)]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // A filter naming a queue she is not in shows nothing rather than everything.
    let (_, html) = page(&app, &carol, "/console?queue=wiki-queue").await;
    assert!(!html.contains(&id));

    let (_, html) = page(&app, &carol, "/console/live").await;
    assert!(!html.contains(&id));

    let (alice, _) = signed_in(&app, "alice").await;
    let (_, html) = page(&app, &alice, "/console").await;
    assert!(html.contains(&id) && html.contains("a request for the wiki queue"), "{html}");
    // The live part alone, as the console script refreshes it: the listing, no page around it.
    let (status, live) = page(&app, &alice, "/console/live").await;
    assert_eq!(status, StatusCode::OK);
    assert!(live.contains(&id) && live.contains("a request for the wiki queue"), "{live}");
    assert!(!live.contains("<html") && !live.contains("<form method=\"get\""), "{live}");
    let (_, filtered) = page(&app, &alice, "/console/live?site=other").await;
    assert!(!filtered.contains(&id), "the page's filters apply to its live part");
}

async fn a_conversation_handled_from_the_console(app: TestApp) {
    let (id, token, _) = app.start("Someone writes to me at jane@example.org every day").await;
    let (alice, csrf) = signed_in(&app, "alice").await;
    let (bob, bob_csrf) = signed_in(&app, "bob").await;
    let path = format!("/console/conversations/{id}");

    let (_, html) = page(&app, &alice, &path).await;
    assert!(html.contains("Take this conversation"));
    assert!(!html.contains("jane@example.org"), "personal data is masked for helpers");
    assert_eq!(
        act(&app, &alice, &format!("{path}/claim"), &[("csrf", &csrf)]).await.status(),
        StatusCode::SEE_OTHER
    );

    // Bob sees it is Alice's and cannot answer in her place.
    let (_, html) = page(&app, &bob, &path).await;
    assert!(
        html.contains("Another helper has this conversation") && !html.contains("Take this conversation")
    );
    let refused = act(&app, &bob, &format!("{path}/reply"), &[("csrf", &bob_csrf), ("text", "me too")]).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);

    let reply = [("csrf", csrf.as_str()), ("client_id", "r-1"), ("text", "I am here. Tell me more.")];
    assert_eq!(act(&app, &alice, &format!("{path}/reply"), &reply).await.status(), StatusCode::SEE_OTHER);
    // The same form sent twice (a double click) is stored once.
    assert_eq!(act(&app, &alice, &format!("{path}/reply"), &reply).await.status(), StatusCode::SEE_OTHER);
    let note = [("csrf", csrf.as_str()), ("client_id", "n-1"), ("text", "Check the user's block log")];
    assert_eq!(act(&app, &alice, &format!("{path}/note"), &note).await.status(), StatusCode::SEE_OTHER);

    let (_, html) = page(&app, &alice, &path).await;
    assert!(
        html.contains("Internal note by alice — not sent") && html.contains("Check the user&#39;s block log"),
        "{html}"
    );
    let requester = app.requester_view(&id, &token).await;
    let texts: Vec<&str> =
        requester["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts.iter().filter(|t| **t == "I am here. Tell me more.").count(), 1, "{texts:?}");
    assert!(!texts.iter().any(|t| t.contains("block log")), "a note reached the requester: {texts:?}");

    // Hand-over to Bob, then Bob closes.
    let hand_over = [("csrf", csrf.as_str()), ("to_helper", "bob")];
    assert_eq!(
        act(&app, &alice, &format!("{path}/transfer"), &hand_over).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, html) = page(&app, &bob, &path).await;
    assert!(html.contains("With bob") && html.contains("Answer (the person sees this)"), "{html}");
    let close = [("csrf", bob_csrf.as_str()), ("outcome", "resolved")];
    assert_eq!(act(&app, &bob, &format!("{path}/close"), &close).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.requester_view(&id, &token).await["status"], "closed");
    let bad = [("csrf", bob_csrf.as_str()), ("outcome", "vanished")];
    let response = act(&app, &bob, &format!("{path}/close"), &bad).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("Choose an outcome"));
}

async fn signing_out_ends_the_session(app: TestApp) {
    let (probe_client, _) = signed_in(&app, "bob").await;
    let probe = |client: &reqwest::Client| client.get(format!("{}/console/session", app.url)).send();
    assert_eq!(probe(&probe_client).await.unwrap().status(), StatusCode::NO_CONTENT, "signed in");
    assert_eq!(probe(&browser()).await.unwrap().status(), StatusCode::UNAUTHORIZED, "a stranger");
    let client = browser();
    let response = redeem(&app, &client, &link_for(&app, "alice").await).await;
    let cookie = session_cookie(&response);
    let csrf = csrf_of(&page(&app, &client, "/console").await.1);
    let out = act(&app, &client, "/console/signout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(out.headers()[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    // The old cookie, replayed, is worth nothing.
    let replay = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = replay
        .get(format!("{}/console", app.url))
        .header(COOKIE, format!("helpline_console={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/console/signin");
    let replayed = replay
        .get(format!("{}/console/session", app.url))
        .header(COOKIE, format!("helpline_console={cookie}"));
    assert_eq!(replayed.send().await.unwrap().status(), StatusCode::UNAUTHORIZED, "the probe says so too");
}

#[tokio::test]
async fn the_console_socket_takes_the_session_only_from_the_console_itself() {
    let app = spawn(Backend::Sqlite).await.unwrap();
    let response = redeem(&app, &browser(), &link_for(&app, "alice").await).await;
    let cookie = session_cookie(&response);
    let connect = |origin: &'static str| {
        let mut request = app.ws_url("/v1/helper/live").into_client_request().unwrap();
        request.headers_mut().insert(COOKIE, format!("helpline_console={cookie}").parse().unwrap());
        request.headers_mut().insert(ORIGIN, origin.parse().unwrap());
        request
    };
    let own_origin: &'static str = Box::leak(app.url.clone().into_boxed_str());
    let (mut ws, _) = tokio_tungstenite::connect_async(connect(own_origin)).await.unwrap();
    let ready = common::next_json(&mut ws).await;
    assert_eq!(ready["type"], "ready");
    assert_eq!(ready["helper"], "alice");
    ws.close(None).await.unwrap();

    // From another site's page the cookie counts for nothing: a hello is required.
    let (mut ws, _) = tokio_tungstenite::connect_async(connect("https://evil.example")).await.unwrap();
    ws.send(tokio_tungstenite::tungstenite::Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    let (code, _) = common::closed_with(&mut ws).await;
    assert_ne!(code, 1000);
    assert!(ws.next().await.is_none());
}

async fn a_team_alias_keeps_the_helpers_name_from_the_requester(app: TestApp) {
    let (id, token, _) = app.start("someone is harassing me").await;
    let (alice, csrf) = signed_in(&app, "alice").await;
    let bad = act(&app, &alice, "/console/settings", &[("csrf", &csrf), ("shown_as", "nickname")]).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let saved = act(&app, &alice, "/console/settings", &[("csrf", &csrf), ("shown_as", "alias")]).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&app, &alice, "/console/settings").await;
    assert!(html.contains("A team alias (#1)"), "{html}");

    let path = format!("/console/conversations/{id}");
    assert_eq!(
        act(&app, &alice, &format!("{path}/claim"), &[("csrf", &csrf)]).await.status(),
        StatusCode::SEE_OTHER
    );
    let reply = [("csrf", csrf.as_str()), ("client_id", "r-1"), ("text", "Hello, I am here.")];
    assert_eq!(act(&app, &alice, &format!("{path}/reply"), &reply).await.status(), StatusCode::SEE_OTHER);
    let view = app.requester_view(&id, &token).await;
    assert_eq!(view["helper_name"], "#1");
    let messages = view["messages"].as_array().unwrap();
    assert!(messages.iter().any(|m| m["text"] == "#1 has joined the conversation."), "{view}");
    assert!(messages.iter().any(|m| m["author_name"] == "#1" && m["text"] == "Hello, I am here."), "{view}");
    assert!(!view.to_string().contains("alice"), "the name reached the requester: {view}");

    // Helpers and the audit trail still see who it was.
    let events: Value = app.helper_json("bob", &format!("/v1/helper/conversations/{id}/events")).await;
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "claimed" && e["actor"] == "alice"),
        "{events}"
    );
    let (_, html) = page(&app, &alice, &path).await;
    assert!(html.contains("With alice"));

    // Back to the name; the alias number is kept for next time.
    assert_eq!(
        act(&app, &alice, "/console/settings", &[("csrf", &csrf), ("shown_as", "name")]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.requester_view(&id, &token).await["helper_name"], "alice");
    act(&app, &alice, "/console/settings", &[("csrf", &csrf), ("shown_as", "alias")]).await;
    assert_eq!(app.requester_view(&id, &token).await["helper_name"], "#1");
}

async fn canned_replies_come_in_the_requesters_language(app: TestApp) {
    let (alice, csrf) = signed_in(&app, "alice").await;
    let mut pages = Vec::new();
    for lang in ["en", "de"] {
        let response = app.create(serde_json::json!({"site": "wiki", "lang": lang, "text": "help"})).await;
        let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
        let path = format!("/console/conversations/{id}");
        let (_, before) = page(&app, &alice, &path).await;
        assert!(!before.contains("Replies and guides"), "only the owner gets the answer tools");
        act(&app, &alice, &format!("{path}/claim"), &[("csrf", &csrf)]).await;
        pages.push(page(&app, &alice, &path).await.1);
    }
    let (en, de) = (&pages[0], &pages[1]);
    assert!(en.contains("Hello from the help team.") && !en.contains("Hallo vom Hilfeteam."), "{en}");
    assert!(de.contains("Hallo vom Hilfeteam.") && !de.contains("Hello from the help team."), "{de}");
    // A reply that exists only in German is still offered in English, marked as such.
    assert!(en.contains("Siehe die Richtlinie.") && en.contains("(de)"), "{en}");
}

async fn take_next_offers_urgent_then_oldest_in_the_helpers_languages(app: TestApp) {
    app.add_helper("dora", &["wiki-queue"], &["de"]).await;
    let create = |lang: &'static str, text: &'static str| {
        let app = &app;
        async move {
            let response = app.create(serde_json::json!({"site": "wiki", "lang": lang, "text": text})).await;
            response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
        }
    };
    let oldest_en = create("en", "first, in English").await;
    let german = create("de", "zweitens, auf Deutsch").await;
    let urgent_en = create("en", "I want to end my life").await;

    let (dora, dora_csrf) = signed_in(&app, "dora").await;
    let (_, html) = page(&app, &dora, "/console").await;
    assert!(html.contains("Take the next request (one waits in your languages)"), "{html}");
    let taken = act(&app, &dora, "/console/next", &[("csrf", &dora_csrf)]).await;
    assert_eq!(taken.status(), StatusCode::SEE_OTHER);
    assert_eq!(taken.headers()[LOCATION], format!("/console/conversations/{german}"), "only German for dora");
    let none = act(&app, &dora, "/console/next", &[("csrf", &dora_csrf)]).await;
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
    assert!(none.text().await.unwrap().contains("Nobody is waiting in your queues and languages."));

    let (alice, csrf) = signed_in(&app, "alice").await;
    let first = act(&app, &alice, "/console/next", &[("csrf", &csrf)]).await;
    assert_eq!(first.headers()[LOCATION], format!("/console/conversations/{urgent_en}"), "urgent first");
    let second = act(&app, &alice, "/console/next", &[("csrf", &csrf)]).await;
    assert_eq!(second.headers()[LOCATION], format!("/console/conversations/{oldest_en}"), "then the oldest");
    let view: Value = app.helper_json("bob", &format!("/v1/helper/conversations/{oldest_en}")).await;
    assert_eq!(view["owner"], "alice");
    let refused = act(&app, &alice, "/console/next", &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "CSRF applies here too");
}

async fn capacity_limits_taking_and_read_marks_show(app: TestApp) {
    let (alice, csrf) = signed_in(&app, "alice").await;
    for bad in ["0", "21", "many"] {
        let form = [("csrf", csrf.as_str()), ("shown_as", "name"), ("capacity", bad)];
        assert_eq!(
            act(&app, &alice, "/console/settings", &form).await.status(),
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
    let form = [("csrf", csrf.as_str()), ("shown_as", "name"), ("capacity", "1")];
    assert_eq!(act(&app, &alice, "/console/settings", &form).await.status(), StatusCode::SEE_OTHER);
    assert!(page(&app, &alice, "/console/settings").await.1.contains(r#"value="1""#));
    // A form missing a field it needs is refused as such, and changes nothing.
    let incomplete =
        act(&app, &alice, "/console/settings", &[("csrf", csrf.as_str()), ("capacity", "7")]).await;
    assert_eq!(incomplete.status(), StatusCode::BAD_REQUEST);
    assert!(incomplete.text().await.unwrap().contains("The form could not be read"));
    assert!(page(&app, &alice, "/console/settings").await.1.contains(r#"value="1""#), "capacity kept");

    let (one, one_token, _) = app.start("first").await;
    let (two, two_token, _) = app.start("second").await;
    let taken = act(&app, &alice, "/console/next", &[("csrf", &csrf)]).await;
    let location = taken.headers()[LOCATION].to_str().unwrap().to_string();
    // Started within the same millisecond, either may be the oldest.
    let (first, token) = if location == format!("/console/conversations/{one}") {
        (one, one_token)
    } else {
        assert_eq!(location, format!("/console/conversations/{two}"));
        (two, two_token)
    };
    let full = act(&app, &alice, "/console/next", &[("csrf", &csrf)]).await;
    assert_eq!(full.status(), StatusCode::CONFLICT);
    let (_, html) = page(&app, &alice, "/console").await;
    assert!(
        html.contains("You have 1 of 1 open conversations.") && !html.contains("Take the next request"),
        "{html}"
    );

    let reply = [("csrf", csrf.as_str()), ("client_id", "r"), ("text", "Hello")];
    act(&app, &alice, &format!("/console/conversations/{first}/reply"), &reply).await;
    let path = format!("/console/conversations/{first}");
    assert!(!page(&app, &alice, &path).await.1.contains(r#"class="read""#));
    let seq = app.requester_view(&first, &token).await["last_seq"].as_i64().unwrap();
    let mut socket = app.requester_socket(&first, &token, 0).await;
    common::send(&mut socket, serde_json::json!({"type": "read", "seq": seq})).await;
    common::eventually("the read mark shows", || async {
        page(&app, &alice, &path).await.1.contains(r#"class="read""#).then_some(())
    })
    .await;
}

#[tokio::test]
async fn every_console_page_sends_a_stranger_to_sign_in() {
    let app = spawn(Backend::Sqlite).await.unwrap();
    let stranger = browser();
    for path in [
        "/console",
        "/console/live",
        "/console/settings",
        "/console/conversations/c_unknown",
        "/console/conversations/c_unknown/context",
        "/console/stats",
        "/console/stats.csv",
        "/console/team",
        "/console/sites",
        "/console/sites/enwiki",
    ] {
        let response = stranger.get(format!("{}{path}", app.url)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()[LOCATION], "/console/signin", "{path}");
        assert!(response.text().await.unwrap().is_empty(), "{path}: nothing of the page is sent");
    }
}
