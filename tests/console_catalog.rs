//! Coordinators change a site's canned replies and other teams in the console; helpers,
//! requesters and redirects see the change at once, bad input changes nothing, and
//! nobody edits a site whose queue they do not coordinate.
#![allow(clippy::unwrap_used)]

mod common;

use common::TestApp;
use common::console::{act, page, signed_in, spawn};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};

on_both_backends!(
    spawn = spawn;
    only_coordinators_of_the_sites_queue_change_it,
    replies_are_added_changed_hidden_and_restored,
    teams_reach_requesters_and_redirects_at_once,
);

async fn make_coordinator(app: &TestApp, name: &str) {
    app.set_role(name, "wiki-queue", "coordinator").await.unwrap();
}

/// The conversation page of a new conversation in `lang`, claimed by `helper`.
async fn answer_tools(app: &TestApp, client: &reqwest::Client, csrf: &str, lang: &str) -> String {
    let response = app.create(json!({"site": "wiki", "lang": lang, "text": "help"})).await;
    let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let path = format!("/console/conversations/{id}");
    act(app, client, &format!("{path}/claim"), &[("csrf", csrf)]).await;
    page(app, client, &path).await.1
}

async fn widget_teams(app: &TestApp) -> Vec<String> {
    let settings: Value = app
        .client
        .get(format!("{}/v1/sites/wiki/widget", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    settings["other_teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

async fn only_coordinators_of_the_sites_queue_change_it(app: TestApp) {
    let (bob, bob_csrf) = signed_in(&app, "bob").await;
    assert_eq!(page(&app, &bob, "/console/sites").await.0, StatusCode::FORBIDDEN);
    assert_eq!(page(&app, &bob, "/console/sites/wiki").await.0, StatusCode::FORBIDDEN);
    let new_reply = [
        ("csrf", bob_csrf.as_str()),
        ("id", "sneaky"),
        ("lang", "en"),
        ("title", "Sneaky"),
        ("text", "Not from a coordinator"),
    ];
    let refused = act(&app, &bob, "/console/sites/wiki/reply-save", &new_reply).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    make_coordinator(&app, "alice").await;
    let (alice, csrf) = signed_in(&app, "alice").await;
    // One site to edit: straight to it.
    let index = alice.get(format!("{}/console/sites", app.url)).send().await.unwrap();
    assert_eq!(index.status(), StatusCode::SEE_OTHER);
    assert_eq!(index.headers()[LOCATION], "/console/sites/wiki");
    // The other site belongs to a queue alice does not coordinate.
    assert_eq!(page(&app, &alice, "/console/sites/other").await.0, StatusCode::FORBIDDEN);
    let elsewhere = [("csrf", csrf.as_str()), ("id", "x"), ("lang", "de"), ("title", "X"), ("text", "Y")];
    let refused = act(&app, &alice, "/console/sites/other/reply-save", &elsewhere).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // Without the CSRF token, nothing happens.
    let forged = [("id", "forged"), ("lang", "en"), ("title", "Forged"), ("text", "Forged text")];
    let refused = act(&app, &alice, "/console/sites/wiki/reply-save", &forged).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let (status, html) = page(&app, &alice, "/console/sites/wiki").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Hello from the help team.") && html.contains("Oversight"), "{html}");
    assert!(!html.contains("Sneaky") && !html.contains("Forged"), "{html}");
    let (_, other) = page(&app, &alice, "/console/sites/wiki").await;
    assert!(!other.contains("Other Wiki"));
}

async fn replies_are_added_changed_hidden_and_restored(app: TestApp) {
    make_coordinator(&app, "alice").await;
    let (alice, csrf) = signed_in(&app, "alice").await;
    let save = |id: &'static str,
                lang: &'static str,
                title: &'static str,
                text: &'static str,
                link: &'static str| {
        [("id", id), ("lang", lang), ("title", title), ("text", text), ("link", link)]
    };
    let post = async |action: &str, fields: &[(&str, &str)]| {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        act(&app, &alice, &format!("/console/sites/wiki/{action}"), &form).await.status()
    };

    // Add one, change one of the file's, hide the file's German welcome.
    let noticeboard = save(
        "noticeboard",
        "en",
        "Guide: noticeboard",
        "Reports go to the incidents noticeboard.",
        "https://wiki.example/wiki/Noticeboard",
    );
    assert_eq!(post("reply-save", &noticeboard).await, StatusCode::SEE_OTHER);
    let welcome = save("welcome", "en", "Welcome (new)", "Hello, a volunteer here. I have read it.", "");
    assert_eq!(post("reply-save", &welcome).await, StatusCode::SEE_OTHER);
    assert_eq!(post("reply-remove", &[("id", "welcome"), ("lang", "de")]).await, StatusCode::SEE_OTHER);

    let en = answer_tools(&app, &alice, &csrf, "en").await;
    assert!(en.contains("Reports go to the incidents noticeboard."), "{en}");
    assert!(en.contains("Hello, a volunteer here.") && !en.contains("Hello from the help team."), "{en}");
    // German readers now get the site's language for "welcome": the German one is hidden.
    let de = answer_tools(&app, &alice, &csrf, "de").await;
    assert!(de.contains("Hello, a volunteer here.") && !de.contains("Hallo vom Hilfeteam."), "{de}");

    // Bad input gets a clear error and leaves what is stored alone.
    let script = save("noticeboard", "en", "Guide", "Changed text", "javascript:alert(1)");
    assert_eq!(post("reply-save", &script).await, StatusCode::BAD_REQUEST);
    let long_title = "T".repeat(121);
    let too_long = [("id", "noticeboard"), ("lang", "en"), ("title", long_title.as_str()), ("text", "x")];
    assert_eq!(post("reply-save", &too_long).await, StatusCode::BAD_REQUEST);
    let empty = save("noticeboard", "en", "Guide", "   ", "");
    assert_eq!(post("reply-save", &empty).await, StatusCode::BAD_REQUEST);
    let bad_id = save("Not An Id", "en", "Guide", "Text", "");
    assert_eq!(post("reply-save", &bad_id).await, StatusCode::BAD_REQUEST);
    let bad_lang = save("noticeboard", "english please", "Guide", "Text", "");
    assert_eq!(post("reply-save", &bad_lang).await, StatusCode::BAD_REQUEST);
    let (_, error) = page(&app, &alice, "/console/sites/wiki").await;
    assert!(error.contains("Reports go to the incidents noticeboard."), "{error}");
    assert!(!error.contains("Changed text") && !error.contains("javascript:"), "{error}");
    assert_eq!(post("reply-remove", &[("id", "nothing"), ("lang", "en")]).await, StatusCode::NOT_FOUND);

    // Restoring the file's version undoes the change; removing an added one deletes it.
    assert_eq!(post("reply-restore", &[("id", "welcome"), ("lang", "en")]).await, StatusCode::SEE_OTHER);
    assert_eq!(post("reply-restore", &[("id", "welcome"), ("lang", "de")]).await, StatusCode::SEE_OTHER);
    assert_eq!(post("reply-remove", &[("id", "noticeboard"), ("lang", "en")]).await, StatusCode::SEE_OTHER);
    let de = answer_tools(&app, &alice, &csrf, "de").await;
    assert!(de.contains("Hallo vom Hilfeteam.") && !de.contains("noticeboard"), "{de}");
    let (_, listing) = page(&app, &alice, "/console/sites/wiki").await;
    assert!(!listing.contains("· changed here"), "nothing is changed any more: {listing}");
}

async fn teams_reach_requesters_and_redirects_at_once(app: TestApp) {
    make_coordinator(&app, "alice").await;
    let (alice, csrf) = signed_in(&app, "alice").await;
    let post = async |action: &str, fields: &[(&str, &str)]| {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        act(&app, &alice, &format!("/console/sites/wiki/{action}"), &form).await.status()
    };
    assert_eq!(widget_teams(&app).await, ["oversight", "emergency"]);

    let privacy = [
        ("id", "privacy"),
        ("title", "Privacy team"),
        ("text", "Personal information published on the wiki."),
        ("email", "privacy@wiki.example"),
    ];
    assert_eq!(post("team-save", &privacy).await, StatusCode::SEE_OTHER);
    assert_eq!(post("team-remove", &[("id", "oversight")]).await, StatusCode::SEE_OTHER);
    // A team nobody can reach is refused, and so is an address that is not one.
    let unreachable = [("id", "void"), ("title", "Void"), ("text", "Nobody")];
    assert_eq!(post("team-save", &unreachable).await, StatusCode::BAD_REQUEST);
    let bad_mail = [("id", "privacy"), ("title", "Privacy"), ("text", "x"), ("email", "not-an-address")];
    assert_eq!(post("team-save", &bad_mail).await, StatusCode::BAD_REQUEST);
    assert_eq!(widget_teams(&app).await, ["emergency", "privacy"]);

    // A hidden team is no longer a redirect target; the new one is, with its details.
    let (id, token, _) = app.start("my address is in an old revision").await;
    let path = format!("/v1/helper/conversations/{id}/redirect");
    assert_eq!(app.helper_post("alice", &path, json!({"team": "oversight"})).await.status(), 400);
    assert_eq!(app.helper_post("alice", &path, json!({"team": "privacy"})).await.status(), 200);
    let view = app.requester_view(&id, &token).await;
    assert_eq!(view["redirected_to"]["label"], "Privacy team");
    assert_eq!(view["redirected_to"]["email"], "privacy@wiki.example");

    assert_eq!(post("team-restore", &[("id", "oversight")]).await, StatusCode::SEE_OTHER);
    assert_eq!(widget_teams(&app).await, ["oversight", "emergency", "privacy"]);
}
