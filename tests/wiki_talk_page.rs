//! The move to the requester's talk page on a real MediaWiki: refused while the name is
//! only claimed, for a logged-out reader and for a temporary account; "Confirm it's you"
//! through the wiki's OAuth 2.0 (a small provider written for these tests stands in for
//! the wiki's OAuth extension, which Debian does not package) makes the name verified;
//! the requester sees the exact wikitext and declines or accepts; only on acceptance the
//! bot posts the section (read back through the API), naming the helper, and the
//! conversation closes as moved with the link.
#![allow(clippy::unwrap_used)]

mod common;

use common::oauth_stand_in::{confirm, oauth_config, provider, requester};
use common::wiki::TestWiki;
use common::{Backend, TestApp, error_code};
use helpline::config::BotConfig;
use helpline::wiki::WikiClient;
use serde_json::{Value, json};

async fn spawn(wiki: &TestWiki, oauth_base: &str) -> TestApp {
    let (api, login, password) =
        (wiki.api(), wiki.value("MW_BOT_LOGIN").to_string(), wiki.value("MW_BOT_PASS").to_string());
    let oauth = oauth_config(oauth_base);
    TestApp::spawn_with(Backend::Sqlite, move |config| {
        config.sites[0].api_url = Some(api);
        config.sites[0].bot =
            Some(BotConfig { username: login, password: Some(password), password_file: None });
        config.sites[0].oauth = Some(oauth);
    })
    .await
    .unwrap()
}

/// A logged-in reader's request, claimed by alice.
async fn claimed_request(app: &TestApp, username: Option<&str>, temporary: bool) -> (String, String) {
    let mut body = json!({"site": "wiki", "lang": "en", "text": "someone reverts everything I write"});
    if let Some(name) = username {
        body["username"] = json!(name);
        body["username_temporary"] = json!(temporary);
    }
    let created: Value = app.create(body).await.json().await.unwrap();
    let (id, token) =
        (created["id"].as_str().unwrap().to_string(), created["token"].as_str().unwrap().to_string());
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    (id, token)
}

async fn propose(app: &TestApp, id: &str) -> reqwest::Response {
    app.helper_post(
        "alice",
        &format!("/v1/helper/conversations/{id}/talk-page"),
        json!({"section_title": "Help with reverts", "text": "We talked about the reverts of your edits."}),
    )
    .await
}

#[tokio::test]
async fn the_move_needs_a_confirmed_name_consent_and_then_posts_the_exact_text() {
    let Some(wiki) = TestWiki::get() else { return };
    let (p, oauth) = provider().await;
    let app = spawn(&wiki, &oauth).await;
    let reader = wiki.new_user("Reader", &[]);
    let (id, token) = claimed_request(&app, Some(&reader.name), false).await;

    let (status, code) = error_code(propose(&app, &id).await).await;
    assert_eq!((status, code.as_str()), (409, "unverified"), "a claimed name is not enough");

    let window = confirm(&app, &p, &id, &token, &reader.name).await;
    assert_eq!(window.status(), 200);
    assert!(window.text().await.unwrap().contains(&format!("You are confirmed as {}", reader.name)));

    let proposed: Value = propose(&app, &id).await.json().await.unwrap();
    assert_eq!(proposed["status"], "proposed");
    assert_eq!(proposed["page"], format!("User talk:{}", reader.name));
    let wikitext = proposed["wikitext"].as_str().unwrap().to_string();
    assert!(
        wikitext.starts_with("We talked about the reverts of your edits.\n\nalice of the help team"),
        "{wikitext}"
    );
    let (status, code) = error_code(propose(&app, &id).await).await;
    assert_eq!((status, code.as_str()), (409, "already_proposed"));

    // The requester sees exactly that text, in the chat and on its own.
    let shown: Value =
        requester(&app, reqwest::Method::GET, &id, "/talk-page", &token, None).await.json().await.unwrap();
    assert_eq!(shown["wikitext"], wikitext.as_str());
    let view = app.requester_view(&id, &token).await;
    assert!(
        view["messages"].as_array().unwrap().iter().any(|m| m["text"].as_str().unwrap().contains(&wikitext))
    );

    // Declined: nothing on the wiki.
    let declined: Value = requester(
        &app,
        reqwest::Method::POST,
        &id,
        "/talk-page/answer",
        &token,
        Some(json!({"accept": false})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(declined["status"], "declined");
    let talk = format!("User talk:{}", reader.name);
    let client = WikiClient::new("Helpline-test/0".into()).unwrap();
    assert!(client.page(&wiki.api(), &talk).await.unwrap().is_none(), "nothing posted");

    // Proposed again, accepted: posted, read back, closed as moved with the link.
    assert_eq!(propose(&app, &id).await.status(), 200);
    let posted: Value = requester(
        &app,
        reqwest::Method::POST,
        &id,
        "/talk-page/answer",
        &token,
        Some(json!({"accept": true})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(posted["status"], "posted", "{posted}");
    let url = posted["url"].as_str().unwrap();
    assert!(url.ends_with("#Help_with_reverts"), "{url}");
    let page = client.page(&wiki.api(), &talk).await.unwrap().unwrap();
    assert!(page.text.starts_with("== Help with reverts =="), "{}", page.text);
    assert!(page.text.contains("We talked about the reverts of your edits."));
    assert!(
        page.text
            .contains("alice of the help team will continue with you here. [[User:HelplineBot|HelplineBot]]"),
        "{}",
        page.text
    );
    let view = app.requester_view(&id, &token).await;
    assert_eq!(
        (view["status"].as_str(), view["outcome"].as_str()),
        (Some("closed"), Some("moved_to_talk_page"))
    );
    assert!(view["messages"].as_array().unwrap().iter().any(|m| m["text"].as_str().unwrap().contains(url)));
    let again = requester(
        &app,
        reqwest::Method::POST,
        &id,
        "/talk-page/answer",
        &token,
        Some(json!({"accept": true})),
    )
    .await;
    assert_eq!(error_code(again).await, (409, "no_proposal".to_string()), "an answer counts once");
    assert_eq!(
        client
            .page(&wiki.api(), &talk)
            .await
            .unwrap()
            .unwrap()
            .text
            .matches("== Help with reverts ==")
            .count(),
        1
    );
}

#[tokio::test]
async fn logged_out_and_temporary_requesters_are_told_why_not_and_a_wiki_refusal_changes_nothing() {
    let Some(wiki) = TestWiki::get() else { return };
    let (p, oauth) = provider().await;
    let app = spawn(&wiki, &oauth).await;

    let (id, _) = claimed_request(&app, None, false).await;
    let response = propose(&app, &id).await;
    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "logged_out");
    assert!(body["error"]["message"].as_str().unwrap().contains("not logged in"));

    let (id, _) = claimed_request(&app, Some("~2026-12345-6"), true).await;
    assert_eq!(error_code(propose(&app, &id).await).await, (409, "temporary_account".to_string()));

    // Confirmed as another account than claimed: the confirmed one counts.
    let reader = wiki.new_user("Confirmed", &[]);
    let (id, token) = claimed_request(&app, Some("Someone Else"), false).await;
    confirm(&app, &p, &id, &token, &reader.name).await;
    let proposed: Value = propose(&app, &id).await.json().await.unwrap();
    assert_eq!(proposed["page"], format!("User talk:{}", reader.name));

    // The wiki refuses (the page is protected): the conversation stays open, the helper
    // sees the wiki's words, the requester is told in plain words.
    wiki.admin().await.protect(&format!("User talk:{}", reader.name)).await;
    let failed: Value = requester(
        &app,
        reqwest::Method::POST,
        &id,
        "/talk-page/answer",
        &token,
        Some(json!({"accept": true})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(failed["status"], "failed");
    assert!(failed.get("error").is_none(), "the wiki's words are for the helper");
    let helper_view = app.helper_json("alice", &format!("/v1/helper/conversations/{id}/talk-page")).await;
    assert!(helper_view["error"].as_str().unwrap().contains("the wiki refused"), "{helper_view}");
    let view = app.requester_view(&id, &token).await;
    assert_ne!(view["status"], "closed");

    // A used or unknown confirmation window says so.
    let window = reqwest::Client::new()
        .get(format!("{}/v1/verify/callback?code=x&state=unknown", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(window.status(), 400);
    assert!(window.text().await.unwrap().contains("expired or was used already"));
}
