//! What coordinators see and do in the console, and what reaches them: statistics of
//! aggregates only, blocks and lifting them, thanks, the team's members.
#![allow(clippy::unwrap_used)]

mod common;

use common::console::{act, browser, csrf_of, page, redeem, signed_in, spawn};
use common::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

on_both_backends!(
    spawn = spawn;
    a_block_stops_the_requester_until_lifted,
    thanks_reach_their_helper_once_and_coordinators_as_an_average,
    coordinators_invite_and_remove_members_and_lift_blocks,
);

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
