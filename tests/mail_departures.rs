//! When the person leaves: a waiting chat nobody answered, whose requester gave an
//! address and stayed away longer than two minutes, becomes an e-mail conversation — the
//! confirmation and the first answer arrive at a real SMTP server. Not when they came
//! back, not when a helper had answered, not without an address.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::smtpd::{Smtpd, free_port};
use common::{Backend, TestApp};
use serde_json::{Value, json};

async fn chat(app: &TestApp, text: &str, email: Option<&str>) -> (String, String) {
    let mut body = json!({"site": "wiki", "lang": "en", "text": text, "channel": "chat"});
    if let Some(email) = email {
        body["email"] = json!(email);
    }
    let created: Value = app.create(body).await.json().await.unwrap();
    assert_eq!(created["email_if_you_leave"], email.is_some(), "{created}");
    (created["id"].as_str().unwrap().to_string(), created["token"].as_str().unwrap().to_string())
}

/// Opens the requester's live socket, then closes it; waits until the server noted it.
async fn visit_and_leave(app: &TestApp, id: &str, token: &str) {
    let ws = app.requester_socket(id, token, 0).await;
    drop(ws);
    common::eventually("the server notes that the requester left", || async {
        let left = app
            .stored_count(
                "SELECT COUNT(*) FROM conversations WHERE id = $1 AND requester_left_at IS NOT NULL",
                &[id],
            )
            .await;
        (left == 1).then_some(())
    })
    .await;
}

async fn channel(app: &TestApp, id: &str) -> String {
    let rows: Vec<(String,)> = app.stored("SELECT channel FROM conversations WHERE id = $1", &[id]).await;
    rows[0].0.clone()
}

on_both_backends!(backend; a_chat_left_unanswered_is_answered_by_mail);

async fn a_chat_left_unanswered_is_answered_by_mail(backend: Backend) {
    let port = free_port();
    let smtpd = Smtpd::start(port).await;
    let Some(app) = TestApp::spawn_with(backend, |c| c.mail = Some(common::smtpd::mail_config(port))).await
    else {
        return;
    };
    let (left, left_token) =
        chat(&app, "Someone edits my user page to insult me.", Some("reader@example.org")).await;
    let (back, back_token) = chat(&app, "I will stay, I promise.", Some("back@example.org")).await;
    let (answered, answered_token) = chat(&app, "Please help me.", Some("answered@example.org")).await;
    let (nameless, nameless_token) = chat(&app, "No address given.", None).await;
    assert_eq!(app.claim("alice", &answered).await.status(), 200);
    assert_eq!(app.helper_says("alice", &answered, "h1", "I am here.", false).await.status(), 201);
    for (id, token) in [(&left, &left_token), (&back, &back_token)] {
        visit_and_leave(&app, id, token).await;
    }
    // Nothing is noted where it cannot matter: answered already, or no address.
    for (id, token) in [(&answered, &answered_token), (&nameless, &nameless_token)] {
        drop(app.requester_socket(id, token, 0).await);
    }

    assert_eq!(app.departures_round().await, 0, "not gone long enough");
    let _back_again = app.requester_socket(&back, &back_token, 0).await;
    common::eventually("the server notes that the requester is back", || async {
        let back = app
            .stored_count(
                "SELECT COUNT(*) FROM conversations WHERE id = $1 AND requester_left_at IS NULL",
                &[&back],
            )
            .await;
        (back == 1).then_some(())
    })
    .await;
    app.advance(Duration::from_secs(3 * 60));
    assert_eq!(app.departures_round().await, 1, "only the chat left unanswered, with an address");
    assert_eq!(channel(&app, &left).await, "email");
    for id in [&back, &answered, &nameless] {
        assert_eq!(channel(&app, id).await, "chat", "{id}");
    }
    let view = app.requester_view(&left, &left_token).await;
    let last = view["messages"].as_array().unwrap().last().unwrap().clone();
    assert!(last["text"].as_str().unwrap().contains("will answer you by e-mail"), "{last}");
    assert_eq!(view["email_if_you_leave"], false, "an e-mail conversation now");

    // The confirmation by mail, then the first answer.
    let mails = smtpd.wait_for(1).await;
    assert_eq!(mails[0]["to"], "reader@example.org");
    assert!(mails[0]["body"].as_str().unwrap().contains("> Someone edits my user page to insult me."));
    assert_eq!(app.claim("alice", &left).await.status(), 200);
    assert_eq!(
        app.helper_says("alice", &left, "a1", "I have seen it and reverted it.", false).await.status(),
        201
    );
    let mails = smtpd.wait_for(2).await;
    assert!(mails[1]["body"].as_str().unwrap().contains("I have seen it and reverted it."));
    assert_eq!(app.departures_round().await, 0, "once");
}
