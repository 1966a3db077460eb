//! Transcripts by e-mail, through a real SMTP server: once the conversation has ended
//! the requester asks for it (chat: to an address given for this mail; e-mail: to the
//! conversation's own); it holds their words and the helper's, never an internal note;
//! its address is forgotten once it is sent; at most three; bad asks change nothing.
#![allow(clippy::unwrap_used)]

mod common;

use common::smtpd::{Smtpd, free_port};
use common::{Backend, TestApp, error_code};
use serde_json::{Value, json};

async fn ask(app: &TestApp, id: &str, token: &str, body: Value) -> reqwest::Response {
    app.client
        .post(format!("{}/v1/conversations/{id}/transcript", app.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn close(app: &TestApp, id: &str) {
    let path = format!("/v1/helper/conversations/{id}/close");
    assert_eq!(app.helper_post("alice", &path, json!({"outcome": "resolved"})).await.status(), 200);
}

on_both_backends!(backend; a_chat_s_transcript_goes_to_the_address_given_without_internal_notes);

async fn a_chat_s_transcript_goes_to_the_address_given_without_internal_notes(backend: Backend) {
    let port = free_port();
    let smtpd = Smtpd::start(port).await;
    let Some(app) = TestApp::spawn_with(backend, |c| c.mail = Some(common::smtpd::mail_config(port))).await
    else {
        return;
    };
    let (id, token, _) = app.start("Someone keeps reverting me and calls me names.").await;
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    assert_eq!(
        app.helper_says("alice", &id, "h1", "I see it. Let us look together.", false).await.status(),
        201
    );
    assert_eq!(
        app.helper_says("alice", &id, "n1", "NOTE: check the other account", true).await.status(),
        201
    );
    assert_eq!(
        app.requester_post(&id, &token, json!({"client_id": "r1", "text": "Thank you."})).await.status(),
        201
    );

    let early = ask(&app, &id, &token, json!({"email": "reader@example.org"})).await;
    assert_eq!(error_code(early).await, (409, "not_closed".to_string()));
    close(&app, &id).await;
    let without = ask(&app, &id, &token, json!({})).await;
    assert_eq!(error_code(without).await, (400, "email_required".to_string()), "a chat has no address");
    let bad = ask(&app, &id, &token, json!({"email": "not an address"})).await;
    assert_eq!(error_code(bad).await, (400, "invalid_email".to_string()));
    let stranger = ask(&app, &id, "hlr_not-the-token", json!({"email": "reader@example.org"})).await;
    assert_eq!(stranger.status(), 404, "only the requester's token");
    assert_eq!(app.stored_count("SELECT COUNT(*) FROM transcripts", &[]).await, 0, "bad asks store nothing");

    let asked = ask(&app, &id, &token, json!({"email": "reader@example.org"})).await;
    assert_eq!(asked.status(), 202);
    assert_eq!(asked.json::<Value>().await.unwrap()["number"], 1);
    let mail = smtpd.wait_for(1).await[0].clone();
    assert_eq!(mail["to"], "reader@example.org");
    assert_eq!(mail["message_id"].as_str().unwrap(), format!("<{id}.t1@helpline.test>"));
    assert!(mail["subject"].as_str().unwrap().contains("Your conversation"), "{mail}");
    let body = mail["body"].as_str().unwrap();
    for said in
        ["Someone keeps reverting me and calls me names.", "I see it. Let us look together.", "Thank you."]
    {
        assert!(body.contains(said), "{said:?} in {body}");
    }
    assert!(!body.contains("NOTE: check the other account"), "never an internal note: {body}");
    assert!(!mail["html"].as_str().unwrap().contains("NOTE: check"), "nor in the HTML part");

    // The address served that mail only.
    common::eventually("the transcript's address is forgotten", || async {
        let left =
            app.stored_count("SELECT COUNT(*) FROM transcripts WHERE email_sealed IS NOT NULL", &[]).await;
        (left == 0).then_some(())
    })
    .await;
    let events = app.helper_json("alice", &format!("/v1/helper/conversations/{id}/events")).await;
    assert!(events.to_string().contains("transcript_requested"));
    assert!(!events.to_string().contains("reader@example.org"), "no address in the audit trail");

    for number in [2, 3] {
        let again = ask(&app, &id, &token, json!({"email": "reader@example.org"})).await;
        assert_eq!(again.json::<Value>().await.unwrap()["number"], number);
    }
    let fourth = ask(&app, &id, &token, json!({"email": "someone-else@example.org"})).await;
    assert_eq!(error_code(fourth).await, (409, "too_many_transcripts".to_string()));
    let mails = smtpd.wait_for(3).await;
    assert!(mails.iter().all(|m| m["to"] == "reader@example.org"));
}

#[tokio::test]
async fn an_e_mail_conversation_s_transcript_goes_to_its_own_address() {
    let port = free_port();
    let smtpd = Smtpd::start(port).await;
    let Some(app) =
        TestApp::spawn_with(Backend::Sqlite, |c| c.mail = Some(common::smtpd::mail_config(port))).await
    else {
        return;
    };
    let created = app
        .create(json!({"site": "wiki", "lang": "en", "text": "Please write to me.", "channel": "email",
                       "email": "mailer@example.org"}))
        .await;
    let created: Value = created.json().await.unwrap();
    let (id, token) = (created["id"].as_str().unwrap(), created["token"].as_str().unwrap());
    smtpd.wait_for(1).await;
    assert_eq!(app.claim("alice", id).await.status(), 200);
    close(&app, id).await;
    assert_eq!(ask(&app, id, token, json!({})).await.status(), 202);
    let transcript = common::eventually("the transcript arrives", || async {
        let mails = smtpd.mails().await;
        mails.into_iter().find(|m| m["message_id"].as_str().unwrap_or_default().contains(".t1@"))
    })
    .await;
    assert_eq!(transcript["to"], "mailer@example.org");
    assert!(transcript["body"].as_str().unwrap().contains("Please write to me."));
}
