//! The wiki-context panel of a conversation: what it says without a name, without a wiki
//! address, and when the wiki does not answer; and that only the queue's helpers get it.
//! (What it shows from a real MediaWiki is tested in e2e/tests/mediawiki.test.js.)
#![allow(clippy::unwrap_used)]

mod common;

use common::console::{page, signed_in};
use common::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(spawn = spawn; the_panel_says_what_is_known_and_what_is_not);

/// Site `wiki` points at a wiki that is not there (a closed port on loopback).
async fn spawn(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |config| {
        config.console.secure_cookies = false;
        config.sites[0].api_url = Some("http://127.0.0.1:9/w/api.php".into());
    })
    .await
}

async fn started(app: &TestApp, site: &str, username: Option<&str>) -> String {
    let mut body = json!({"site": site, "lang": "en", "text": "someone follows my edits"});
    if let Some(name) = username {
        body["username"] = json!(name);
    }
    let response = app.create(body).await;
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
}

async fn the_panel_says_what_is_known_and_what_is_not(app: TestApp) {
    let (alice, _) = signed_in(&app, "alice").await;
    let panel = async |id: &str| page(&app, &alice, &format!("/console/conversations/{id}/context")).await;

    let logged_out = started(&app, "wiki", None).await;
    let (status, html) = panel(&logged_out).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No account name came with this request"), "{html}");
    assert!(!html.contains("<a "), "no name, no links: {html}");

    // The wiki is down: the page says so, and the links (built from api_url) remain.
    let named = started(&app, "wiki", Some("Jörg & <Co>")).await;
    let (status, html) = panel(&named).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("The wiki did not answer just now"), "{html}");
    assert!(html.contains("Jörg &#38; &#60;Co&#62;") && !html.contains("<Co>"), "escaped: {html}");
    assert!(
        html.contains(
            "http://127.0.0.1:9/w/index.php?title=Special%3AContributions%2FJ%C3%B6rg+%26+%3CCo%3E"
        ),
        "{html}"
    );
    assert!(html.contains("a claim, not proof"), "{html}");
    // The conversation page itself does not wait for the wiki: it links to the panel.
    let (_, conversation) = page(&app, &alice, &format!("/console/conversations/{named}")).await;
    assert!(conversation.contains(&format!("data-src=\"/console/conversations/{named}/context\"")));

    // Carol helps another queue: the panel of a wiki-queue conversation is not hers.
    let (carol, _) = signed_in(&app, "carol").await;
    let response =
        carol.get(format!("{}/console/conversations/{named}/context", app.url)).send().await.unwrap();
    assert!(
        matches!(response.status(), StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{}",
        response.status()
    );

    // Site `other` has no wiki address: only the claimed name.
    let (carol_html, other) = (carol, started(&app, "other", Some("Reader")).await);
    let html = carol_html
        .get(format!("{}/console/conversations/{other}/context", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Reader") && html.contains("no wiki address (api_url)"), "{html}");
}
