//! The evidence list and conflicts of interest on a real MediaWiki. Real edits make the
//! story: a requester writes an article, the account they have trouble with edits it
//! right after them and writes on their talk page and a subpage of their user page, a
//! helper edits that talk page too; another page of the account's, not touching the
//! requester, stays out. The account itself and the co-editing helper are never offered
//! the request nor shown it; another helper is. The owner sends the list into the chat;
//! a requester who asks not to be helped by their helper gets another.
#![allow(clippy::unwrap_used)]

mod common;

use common::console::{page, signed_in};
use common::wiki::{TestWiki, WikiUser};
use common::{Backend, TestApp, Ws, error_code, eventually, next_matching, send};
use serde_json::{Value, json};

async fn spawn(wiki: &TestWiki) -> TestApp {
    let api = wiki.api();
    TestApp::spawn_with(Backend::Sqlite, move |config| {
        config.sites[0].api_url = Some(api);
        config.console.secure_cookies = false;
        config.routing.auto_offer = true;
        config.routing.offer_seconds = 300;
    })
    .await
    .unwrap()
}

/// The account's edit summary on the talk page: the evidence list shows it to helpers.
const HOSTILE_SUMMARY: &str =
    r#"<img src=x onerror="alert(1)"> "><script>alert(2)</script><a href="javascript:alert(3)">x</a>"#;

struct Story {
    requester: WikiUser,
    mallory: WikiUser,
    coeditor: WikiUser,
    bystander: WikiUser,
    /// The revisions that concern the requester: after them, on the talk page, on the
    /// user page.
    after: i64,
    talk: i64,
    user_page: i64,
    /// The account's edit that does not concern them.
    elsewhere: i64,
}

async fn story(wiki: &TestWiki) -> Story {
    let (requester, mallory) = (wiki.new_user("Reader", &[]), wiki.new_user("Mallory", &[]));
    let (coeditor, bystander) = (wiki.new_user("Coeditor", &[]), wiki.new_user("Bystander", &[]));
    let (r, m) = (wiki.log_in(&requester).await, wiki.log_in(&mallory).await);
    let (c, b) = (wiki.log_in(&coeditor).await, wiki.log_in(&bystander).await);
    let article = format!("Rivers of {}", requester.name);
    r.edit(&article, "Rivers flow.").await;
    let after = m.edit(&article, "Rivers do not flow, you fool.").await;
    let talk_page = format!("User talk:{}", requester.name);
    let talk = m.edit_saying(&talk_page, "== You ==\nStop editing.", HOSTILE_SUMMARY).await;
    c.edit(&talk_page, "== You ==\nStop editing.\n:I agree with Mallory.").await;
    let user_page = m.edit(&format!("User:{}/Notes", requester.name), "Watching you.").await;
    let lakes = format!("Lakes of {}", mallory.name);
    let elsewhere = m.edit(&lakes, "Lakes are still.").await;
    b.edit(&lakes, "Lakes are still, mostly.").await;
    Story { requester, mallory, coeditor, bystander, after, talk, user_page, elsewhere }
}

async fn evidence(app: &TestApp, helper: &str, id: &str) -> Value {
    app.helper_json(helper, &format!("/v1/helper/conversations/{id}/evidence")).await
}

async fn listed(app: &TestApp, helper: &str, id: &str) -> bool {
    let listing = app.helper_json(helper, "/v1/helper/queue").await;
    listing["conversations"].as_array().unwrap().iter().any(|c| c["id"] == id)
}

/// Everything this socket hears until the answer to a ping sent now.
async fn heard(ws: &mut Ws) -> Vec<Value> {
    send(ws, json!({"type": "ping"})).await;
    let mut frames = Vec::new();
    loop {
        let frame = next_matching(ws, |_| true).await;
        if frame["type"] == "pong" {
            return frames;
        }
        frames.push(frame);
    }
}

#[tokio::test]
async fn the_account_and_who_edited_with_it_never_see_the_request_and_the_evidence_lists_real_edits() {
    let Some(wiki) = TestWiki::get() else { return };
    let s = story(&wiki).await;
    let mut app = spawn(&wiki).await;
    for user in [&s.mallory, &s.coeditor, &s.bystander] {
        app.add_helper(&user.name, &["wiki-queue"], &[]).await;
        app.give_token(&user.name).await;
    }
    let mut sockets = Vec::new();
    for user in [&s.mallory, &s.coeditor, &s.bystander] {
        sockets.push(app.helper_socket(&user.name).await);
    }

    let text = "someone follows me around the wiki";
    let created: Value = app
        .create(json!({"site": "wiki", "lang": "en", "text": text,
            "username": s.requester.name, "trouble_with": s.mallory.name.to_lowercase()}))
        .await
        .json()
        .await
        .unwrap();
    let (id, token) =
        (created["id"].as_str().unwrap().to_string(), created["token"].as_str().unwrap().to_string());

    let view = eventually("the conflict check ends", || async {
        let view = evidence(&app, "alice", &id).await;
        (view["conflict_check"] == "done").then_some(view)
    })
    .await;

    // The evidence: the three edits that concern the requester, newest first, with diff
    // links; the account's page elsewhere is not in it.
    let revids: Vec<i64> =
        view["edits"].as_array().unwrap().iter().map(|e| e["revid"].as_i64().unwrap()).collect();
    assert_eq!(revids, [s.user_page, s.talk, s.after], "{view}");
    let whys: Vec<&str> =
        view["edits"].as_array().unwrap().iter().map(|e| e["why"].as_str().unwrap()).collect();
    assert_eq!(whys, ["user_page", "talk_page", "after_requester"]);
    assert!(!revids.contains(&s.elsewhere));
    assert!(view["edits"][0]["diff_url"].as_str().unwrap().contains(&format!("diff={}", s.user_page)));
    assert!(view["wikitext"].as_str().unwrap().contains(&format!("[[Special:Diff/{}]]", s.talk)));
    assert_eq!(view["account"], s.mallory.name.to_lowercase());
    assert!(view["kept_away"].as_u64().unwrap() >= 2, "{view}");
    // The account's own edit summary is shown to the helper as text, never as markup.
    assert_eq!(view["edits"][1]["comment"], HOSTILE_SUMMARY, "{view}");
    let (browser, _) = signed_in(&app, "alice").await;
    let (status, html) = page(&app, &browser, &format!("/console/conversations/{id}/context")).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("alert(2)"), "the summary is on the page: {html}");
    for made in ["<img src=x", "<script>alert", "<a href=\"javascript", "onerror=\""] {
        assert!(!html.contains(made), "{made} on the helper's page: {html}");
    }

    // Offered to the bystander only; the account and its co-editor neither see it
    // listed, nor open it, nor hear its text on their sockets.
    let offered = next_matching(&mut sockets[2], |f| f["type"] == "queue" && f["event"] == "offered").await;
    assert_eq!(offered["conversation"]["id"], id.as_str());
    assert!(listed(&app, &s.bystander.name, &id).await);
    for (user, socket) in [&s.mallory, &s.coeditor].into_iter().zip(sockets.iter_mut()) {
        assert!(!listed(&app, &user.name, &id).await, "{} sees it listed", user.name);
        let page = app.helper_get(&user.name, &format!("/v1/helper/conversations/{id}")).await;
        assert_eq!(page.status(), 404, "{} opens it", user.name);
        assert_eq!(app.claim(&user.name, &id).await.status(), 404);
        for frame in heard(socket).await {
            assert!(!frame.to_string().contains(text), "{} heard {frame}", user.name);
            assert_ne!(frame["event"], "offered", "{} was offered it", user.name);
        }
    }
    let offers: Vec<(String,)> = app
        .stored(
            "SELECT h.name FROM offers o JOIN helpers h ON h.id = o.helper_id WHERE o.conversation_id = $1",
            &[&id],
        )
        .await;
    assert_eq!(offers, [(s.bystander.name.clone(),)]);

    // Nor can it be handed to them; the owner sends the list into the chat, ready for a
    // noticeboard.
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    let handed = app
        .helper_post(
            "alice",
            &format!("/v1/helper/conversations/{id}/transfer"),
            json!({"to_helper": s.coeditor.name}),
        )
        .await;
    assert_eq!(error_code(handed).await, (400, "conflict_of_interest".into()));
    let sent =
        app.helper_post("alice", &format!("/v1/helper/conversations/{id}/evidence/send"), json!({})).await;
    assert_eq!(sent.status(), 200);
    let seen = app.requester_view(&id, &token).await;
    let last = seen["messages"].as_array().unwrap().last().unwrap()["text"].as_str().unwrap().to_string();
    assert!(last.contains(&format!("[[Special:Diff/{}]]", s.after)), "{last}");
    assert!(
        last.starts_with(&format!("Edits of {} that concern you", s.mallory.name.to_lowercase())),
        "{last}"
    );

    // Asked not to be helped by alice: she loses it, it waits for another.
    let asked = app
        .client
        .post(format!("{}/v1/conversations/{id}/not-helped-by", app.url))
        .bearer_auth(&token)
        .json(&json!({"helper": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 204);
    let now = app.requester_view(&id, &token).await;
    assert_eq!(now["status"], "waiting");
    assert_eq!(app.helper_get("alice", &format!("/v1/helper/conversations/{id}")).await.status(), 404);
    assert!(!listed(&app, "alice", &id).await);
    assert!(listed(&app, "bob", &id).await, "bob still sees it");
}

#[tokio::test]
async fn an_owner_named_by_a_helper_loses_the_conversation_and_a_bad_name_changes_nothing() {
    let Some(wiki) = TestWiki::get() else { return };
    let (requester, mallory) = (wiki.new_user("Reader", &[]), wiki.new_user("Mallory", &[]));
    wiki.log_in(&mallory).await.edit(&format!("User talk:{}", requester.name), "Hello.").await;
    let mut app = spawn(&wiki).await;
    app.add_helper(&mallory.name, &["wiki-queue"], &[]).await;
    app.give_token(&mallory.name).await;
    let created: Value = app
        .create(json!({"site": "wiki", "lang": "en", "text": "a helper is the one I fear", "username": requester.name}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(app.claim(&mallory.name, &id).await.status(), 200);
    let mut socket = app.helper_socket(&mallory.name).await;
    send(&mut socket, json!({"type": "open", "conversation": id, "after": 0})).await;
    next_matching(&mut socket, |f| f["type"] == "status").await;

    let path = format!("/v1/helper/conversations/{id}/trouble");
    let bad = app.helper_post("alice", &path, json!({"account": "  "})).await;
    assert_eq!(error_code(bad).await.0, 400);
    assert_eq!(app.requester_view(&id, created["token"].as_str().unwrap()).await["status"], "active");

    assert_eq!(app.helper_post("alice", &path, json!({"account": mallory.name})).await.status(), 204);
    let gone = next_matching(&mut socket, |f| f["type"] == "gone").await;
    assert_eq!(gone["conversation"], id.as_str());
    let status: Vec<(String, Option<String>)> =
        app.stored("SELECT status, owner_id FROM conversations WHERE id = $1", &[&id]).await;
    assert_eq!(status[0], ("waiting".to_string(), None));
    assert_eq!(app.helper_get(&mallory.name, &format!("/v1/helper/conversations/{id}")).await.status(), 404);
    let view = eventually("the conflict check ends", || async {
        let view = evidence(&app, "alice", &id).await;
        (view["conflict_check"] == "done").then_some(view)
    })
    .await;
    assert_eq!(view["edits"][0]["why"], "talk_page", "{view}");
    assert_eq!(view["requester_verified"], false);
}
