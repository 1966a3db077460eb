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
    a_block_stops_the_requester_until_lifted,
    thanks_reach_their_helper_once_and_coordinators_as_an_average,
    coordinators_invite_and_remove_members_and_lift_blocks,
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

on_both_backends!(spawn = spawn_purging_at_once; statistics_are_for_coordinators_and_hold_aggregates_only);

/// Closed conversations are purged as soon as the purge runs (no retention, no reopening).
async fn spawn_purging_at_once(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |config| {
        config.console.secure_cookies = false;
        config.retention_days = 0;
        config.reopen_days = 0;
    })
    .await
}

async fn statistics_are_for_coordinators_and_hold_aggregates_only(app: TestApp) {
    // Two conversations closed and purged after retention earlier today still count.
    for text in ["purged one", "purged two"] {
        let (id, _, _) = app.start(text).await;
        let path = format!("/v1/helper/conversations/{id}/close");
        assert_eq!(
            app.helper_post("bob", &path, serde_json::json!({"outcome": "resolved"})).await.status(),
            200
        );
    }
    app.advance(std::time::Duration::from_secs(1));
    assert_eq!(app.purge().await, 2, "retention is 0 days here");
    let (alice, csrf) = signed_in(&app, "alice").await;
    let (status, _) = page(&app, &alice, "/console/stats").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not a coordinator yet");
    app.set_role("alice", "wiki-queue", "coordinator").await.unwrap();
    assert!(app.set_role("alice", "other-queue", "coordinator").await.is_err());

    let (answered, _, _) = app.start("secret words one").await;
    let (redirected, _, _) = app.start("secret words two").await;
    let (_waiting, _, _) = app.start("secret words three").await;
    for id in [&answered, &redirected] {
        let path = format!("/console/conversations/{id}");
        act(&app, &alice, &format!("{path}/claim"), &[("csrf", &csrf)]).await;
        let reply = [("csrf", csrf.as_str()), ("client_id", "r"), ("text", "hello")];
        assert_eq!(act(&app, &alice, &format!("{path}/reply"), &reply).await.status(), StatusCode::SEE_OTHER);
    }
    let close = [("csrf", csrf.as_str()), ("outcome", "resolved")];
    act(&app, &alice, &format!("/console/conversations/{answered}/close"), &close).await;
    let redirect = [("csrf", csrf.as_str()), ("team", "oversight")];
    act(&app, &alice, &format!("/console/conversations/{redirected}/redirect"), &redirect).await;
    let today = helpline::domain::time::day_of(app.now_ms());

    let (status, html) = page(&app, &alice, "/console/stats?days=7").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("<svg class=\"chart\" id=\"per-day\"") && html.contains("id=\"outcomes\""),
        "{html}"
    );
    assert!(html.contains("Redirected to another team"), "{html}");
    assert!(!html.contains("secret words"), "no request text in statistics");

    let csv = alice.get(format!("{}/console/stats.csv?days=7", app.url)).send().await.unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = csv.text().await.unwrap();
    assert!(!csv.contains("secret words"));
    let group =
        csv.lines().find(|l| l.starts_with("group,wiki-queue,en,")).unwrap_or_else(|| panic!("{csv}"));
    let cells: Vec<&str> = group.split(',').collect();
    assert_eq!(cells[4], "5", "three live and two purged: {group}");
    assert_eq!(cells[5], "1", "one waiting: {group}");
    assert!(cells[6].parse::<i64>().is_ok() && cells[7].parse::<i64>().is_ok(), "two reply times: {group}");
    assert!(csv.contains(&format!("day,,,{today},5,")), "{csv}");
    assert_eq!(csv.lines().filter(|l| l.starts_with("day,")).count(), 7);

    let (status, _) = page(&app, &alice, "/console/stats?queue=other-queue").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only queues she coordinates");
    let (carol, _) = signed_in(&app, "carol").await;
    let response = carol.get(format!("{}/console/stats.csv", app.url)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

async fn a_block_stops_the_requester_until_lifted(app: TestApp) {
    let (id, token, _) = app.start("abusive nonsense").await;
    let (alice, csrf) = signed_in(&app, "alice").await;
    let path = format!("/console/conversations/{id}");
    act(&app, &alice, &format!("{path}/claim"), &[("csrf", &csrf)]).await;
    let odd = act(&app, &alice, &format!("{path}/block"), &[("csrf", &csrf), ("hours", "5")]).await;
    assert_eq!(odd.status(), StatusCode::BAD_REQUEST, "only the offered durations");
    let blocked = act(&app, &alice, &format!("{path}/block"), &[("csrf", &csrf), ("hours", "24")]).await;
    assert_eq!(blocked.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&app, &alice, &path).await;
    assert!(html.contains("Blocked until"), "{html}");

    let before = app.requester_view(&id, &token).await["messages"].as_array().unwrap().len();
    let refused =
        app.requester_post(&id, &token, serde_json::json!({"client_id": "c1", "text": "more abuse"})).await;
    assert_eq!(common::error_code(refused).await, (403, "blocked".to_string()));
    assert_eq!(
        app.requester_view(&id, &token).await["messages"].as_array().unwrap().len(),
        before,
        "nothing stored"
    );
    let again = app.create(serde_json::json!({"site": "wiki", "lang": "en", "text": "new request"})).await;
    assert_eq!(common::error_code(again).await, (403, "blocked".to_string()), "same network, same day");

    assert_eq!(
        act(&app, &alice, &format!("{path}/unblock"), &[("csrf", &csrf)]).await.status(),
        StatusCode::SEE_OTHER
    );
    let allowed =
        app.requester_post(&id, &token, serde_json::json!({"client_id": "c2", "text": "sorry"})).await;
    assert_eq!(allowed.status(), 201);
    assert_eq!(
        app.create(serde_json::json!({"site": "wiki", "lang": "en", "text": "new"})).await.status(),
        201
    );
    let events: Value = app.helper_json("bob", &format!("/v1/helper/conversations/{id}/events")).await;
    let actions: Vec<&str> =
        events["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"blocked") && actions.contains(&"unblocked"), "{actions:?}");
}

async fn thanks_reach_their_helper_once_and_coordinators_as_an_average(app: TestApp) {
    let (id, token, _) = app.start("thank you in advance").await;
    let (alice, csrf) = signed_in(&app, "alice").await;
    let path = format!("/console/conversations/{id}");
    act(&app, &alice, &format!("{path}/claim"), &[("csrf", &csrf)]).await;
    let thanks = |body: Value| {
        let app = &app;
        let (id, token) = (id.clone(), token.clone());
        async move {
            app.client
                .post(format!("{}/v1/conversations/{id}/thanks", app.url))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let early = thanks(serde_json::json!({"rating": 5})).await;
    assert_eq!(common::error_code(early).await, (409, "not_closed".to_string()));
    act(&app, &alice, &format!("{path}/close"), &[("csrf", &csrf), ("outcome", "resolved")]).await;

    for (body, code) in [
        (serde_json::json!({"rating": 6}), "invalid_rating"),
        (serde_json::json!({"rating": 0}), "invalid_rating"),
        (serde_json::json!({}), "empty_thanks"),
        (serde_json::json!({"text": "   "}), "empty_thanks"),
        (serde_json::json!({"text": "x".repeat(501)}), "text_too_long"),
    ] {
        assert_eq!(common::error_code(thanks(body.clone()).await).await, (400, code.to_string()), "{body}");
    }
    let stored =
        thanks(serde_json::json!({"rating": 4, "text": "Thank you! Write to me at me@example.org"})).await;
    assert_eq!(stored.status(), 201);
    let twice = thanks(serde_json::json!({"rating": 1})).await;
    assert_eq!(common::error_code(twice).await, (409, "already_thanked".to_string()), "once only");

    let (_, html) = page(&app, &alice, "/console").await;
    assert!(html.contains("Thanks you received") && html.contains("Rated 4 of 5"), "{html}");
    assert!(
        html.contains("Thank you! Write to me at") && !html.contains("me@example.org"),
        "masked for helpers"
    );
    let (bob, _) = signed_in(&app, "bob").await;
    assert!(
        !page(&app, &bob, "/console").await.1.contains("Thanks you received"),
        "only their helper sees them"
    );

    app.set_role("bob", "wiki-queue", "coordinator").await.unwrap();
    let (_, stats) = page(&app, &bob, "/console/stats").await;
    assert!(stats.contains("thanks, average rating 4.0 of 5"), "{stats}");
    assert!(!stats.contains("Thank you! Write"), "coordinators see the aggregate only");
}

async fn coordinators_invite_and_remove_members_and_lift_blocks(app: TestApp) {
    let (bob, bob_csrf) = signed_in(&app, "bob").await;
    assert_eq!(page(&app, &bob, "/console/team").await.0, StatusCode::FORBIDDEN);
    let invite = [("csrf", bob_csrf.as_str()), ("queue", "wiki-queue"), ("name", "dora")];
    assert_eq!(act(&app, &bob, "/console/team/invite", &invite).await.status(), StatusCode::FORBIDDEN);

    app.set_role("alice", "wiki-queue", "coordinator").await.unwrap();
    let (alice, csrf) = signed_in(&app, "alice").await;
    let no_csrf =
        act(&app, &alice, "/console/team/invite", &[("queue", "wiki-queue"), ("name", "dora")]).await;
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);
    let elsewhere = [("csrf", csrf.as_str()), ("queue", "other-queue"), ("name", "dora")];
    assert_eq!(act(&app, &alice, "/console/team/invite", &elsewhere).await.status(), StatusCode::FORBIDDEN);

    // A mistyped address adds nobody.
    let typo = [("csrf", csrf.as_str()), ("queue", "wiki-queue"), ("name", "dora"), ("email", "dora@")];
    assert_eq!(act(&app, &alice, "/console/team/invite", &typo).await.status(), StatusCode::BAD_REQUEST);
    assert!(app.helper("dora").await.is_none());
    // A new helper, invited with a one-time link shown once (and an address for later links).
    let invite = [
        ("csrf", csrf.as_str()),
        ("queue", "wiki-queue"),
        ("name", "dora"),
        ("languages", "de"),
        ("email", "dora@example.org"),
    ];
    let invited = act(&app, &alice, "/console/team/invite", &invite).await;
    assert_eq!(invited.status(), StatusCode::OK);
    let html = invited.text().await.unwrap();
    assert!(html.contains("Sign-in link for dora"), "{html}");
    let token =
        regex::Regex::new(r"token=(mlk_[A-Za-z0-9_-]+)").unwrap().captures(&html).unwrap()[1].to_string();
    let dora = browser();
    assert_eq!(redeem(&app, &dora, &token).await.status(), StatusCode::SEE_OTHER);
    let (id, requester_token, _) = app.start("for the team").await;
    assert!(page(&app, &dora, "/console").await.1.contains(&id), "dora works the queue");
    let dora_csrf = csrf_of(&page(&app, &dora, "/console").await.1);
    let claimed =
        act(&app, &dora, &format!("/console/conversations/{id}/claim"), &[("csrf", &dora_csrf)]).await;
    assert_eq!(claimed.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.helper_by_email("Dora@example.org").await.as_deref(), Some("dora"));

    // An existing helper of another queue joins this one; roles change; members leave.
    let carol = [("csrf", csrf.as_str()), ("queue", "wiki-queue"), ("name", "carol")];
    assert_eq!(act(&app, &alice, "/console/team/invite", &carol).await.status(), StatusCode::OK);
    assert!(app.helper("carol").await.unwrap().is_member("wiki-queue"));
    let promote =
        [("csrf", csrf.as_str()), ("queue", "wiki-queue"), ("name", "bob"), ("role", "coordinator")];
    assert_eq!(act(&app, &alice, "/console/team/role", &promote).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(page(&app, &bob, "/console/team").await.0, StatusCode::OK);
    let remove = [("csrf", csrf.as_str()), ("queue", "wiki-queue"), ("name", "dora")];
    assert_eq!(act(&app, &alice, "/console/team/remove", &remove).await.status(), StatusCode::SEE_OTHER);
    assert!(!page(&app, &dora, "/console").await.1.contains(&id), "dora no longer sees the queue");
    // Her conversation is back in the queue, and its requester was told.
    let view = app.requester_view(&id, &requester_token).await;
    assert_eq!(view["status"], "waiting");
    let last = view["messages"].as_array().unwrap().last().unwrap().clone();
    assert!(last["text"].as_str().unwrap().contains("had to leave"), "{last}");
    let events: Value = app.helper_json("bob", &format!("/v1/helper/conversations/{id}/events")).await;
    let released = events["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (released["action"].as_str(), released["actor"].as_str()),
        (Some("released"), Some("alice")),
        "{released}"
    );
    assert_eq!(released["detail"]["reason"], "helper left the queue");
    let myself = [("csrf", csrf.as_str()), ("queue", "wiki-queue"), ("name", "alice")];
    assert_eq!(act(&app, &alice, "/console/team/remove", &myself).await.status(), StatusCode::BAD_REQUEST);

    // Blocks in force are listed, and can be lifted here.
    let (blocked, token, _) = app.start("abuse").await;
    let path = format!("/console/conversations/{blocked}");
    act(&app, &alice, &format!("{path}/claim"), &[("csrf", &csrf)]).await;
    act(&app, &alice, &format!("{path}/block"), &[("csrf", &csrf), ("hours", "168")]).await;
    let (_, html) = page(&app, &alice, "/console/team").await;
    assert!(html.contains(&format!("/console/conversations/{blocked}")), "{html}");
    let block_id =
        regex::Regex::new(r#"name="block" value="([^"]+)""#).unwrap().captures(&html).unwrap()[1].to_string();
    for block in [block_id.clone()] {
        let lift = [("csrf", csrf.as_str()), ("block", block.as_str())];
        assert_eq!(act(&app, &alice, "/console/team/lift", &lift).await.status(), StatusCode::SEE_OTHER);
    }
    let (_, html) = page(&app, &alice, "/console/team").await;
    for id in regex::Regex::new(r#"name="block" value="([^"]+)""#).unwrap().captures_iter(&html) {
        let lift = [("csrf", csrf.as_str()), ("block", &id[1])];
        act(&app, &alice, "/console/team/lift", &lift).await;
    }
    let again =
        app.requester_post(&blocked, &token, serde_json::json!({"client_id": "c", "text": "ok now"})).await;
    assert_eq!(again.status(), 201, "lifted");
    let gone = [("csrf", csrf.as_str()), ("block", block_id.as_str())];
    assert_eq!(act(&app, &alice, "/console/team/lift", &gone).await.status(), StatusCode::NOT_FOUND);
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
