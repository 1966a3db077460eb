//! The e-mail channel, through a real SMTP server: aiosmtpd (`pip install aiosmtpd`, as
//! `.ci/run` does) delivering into a Maildir that the tests read back.
#![allow(clippy::unwrap_used)]

mod common;

use common::smtpd::{Smtpd, free_port};
use common::{Backend, TestApp, error_code, eventually};
use helpline::config::MailConfig;
use serde_json::{Value, json};

const READER: &str = "reader@example.org";

async fn spawn_with_mail(
    backend: Backend,
    port: u16,
    adjust: impl FnOnce(&mut MailConfig),
) -> Option<TestApp> {
    let mut mail = common::smtpd::mail_config(port);
    adjust(&mut mail);
    TestApp::spawn_with(backend, |config| config.mail = Some(mail)).await
}

on_both_backends!(
    backend;
    an_email_request_is_confirmed_then_answered_by_mail,
    answers_wait_while_the_relay_is_down_and_go_out_when_it_is_back,
    a_mail_that_keeps_failing_is_shown_to_the_helper,
);

async fn email_request(app: &TestApp, text: &str) -> (String, String) {
    let response = app
        .create(json!({"site": "wiki", "lang": "en", "text": text, "channel": "email", "email": READER}))
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["channel"], "email");
    (body["id"].as_str().unwrap().into(), body["token"].as_str().unwrap().into())
}

async fn helper_view(app: &TestApp, id: &str) -> Value {
    let response = app.helper_get("alice", &format!("/v1/helper/conversations/{id}")).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn an_email_request_is_confirmed_then_answered_by_mail(backend: Backend) {
    let port = free_port();
    let smtpd = Smtpd::start(port).await;
    let Some(app) = spawn_with_mail(backend, port, |_| {}).await else { return };

    // With nobody online, the dialog offers e-mail first and says why.
    let settings: Value = app
        .client
        .get(format!("{}/v1/sites/wiki/widget", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings["channels"], json!(["email", "chat"]));
    assert!(settings["availability"]["summary"].as_str().unwrap().contains("By e-mail"), "{settings}");
    assert!(settings["messages"].get("helpline-mail-subject").is_none(), "mail texts stay on the server");

    let (id, _token) =
        email_request(&app, "Someone follows my edits\nand insults me on every talk page.").await;
    let mails = smtpd.wait_for(1).await;
    let confirmation = &mails[0];
    assert_eq!(confirmation["to"], READER);
    assert_eq!(confirmation["from"], "Helpline <help@helpline.test>");
    assert_eq!(confirmation["subject"], "Your request for help on Test Wiki");
    assert_eq!(confirmation["message_id"], format!("<{id}.0@helpline.test>"));
    let body = confirmation["body"].as_str().unwrap();
    assert!(body.contains("We have received your request for help on Test Wiki"), "{body}");
    assert!(body.contains("> Someone follows my edits\n> and insults me on every talk page."), "{body}");
    assert!(body.contains("deleted 90 days after"), "{body}");
    // The same words as HTML, for mail programs that show that part, escaped.
    assert_eq!(confirmation["content_type"], "multipart/alternative");
    let html = confirmation["html"].as_str().unwrap();
    assert!(html.contains("<html lang=\"en\" dir=\"ltr\">"), "{html}");
    assert!(html.contains("We have received your request for help on Test Wiki"), "{html}");
    assert!(html.contains("Someone follows my edits\nand insults me"), "{html}");
    assert!(html.contains("deleted 90 days after"), "{html}");

    // The helper knows there is an address, never what it is.
    let view = helper_view(&app, &id).await;
    assert_eq!(view["has_email"], true);
    assert_eq!(view["mail"], "sent");
    assert!(!view.to_string().contains(READER), "{view}");

    assert_eq!(app.claim("alice", &id).await.status(), 200);
    let note =
        app.helper_says("alice", &id, "n1", "Internal: check the history of the talk page", true).await;
    assert_eq!(note.status(), 201);
    let answer =
        app.helper_says("alice", &id, "a1", "Hello, I am Alice. I have read your message.", false).await;
    assert_eq!(answer.status(), 201);
    let mails = smtpd.wait_for(2).await;
    let reply = &mails[1];
    let body = reply["body"].as_str().unwrap();
    assert!(body.contains("alice wrote:\nHello, I am Alice. I have read your message."), "{body}");
    assert!(body.contains("alice has joined the conversation."), "{body}");
    assert!(!body.contains("Internal"), "an internal note reached the requester: {body}");
    assert!(!body.contains("> Someone follows"), "the request is quoted once, in the confirmation");
    assert_eq!(reply["in_reply_to"], format!("<{id}.0@helpline.test>"));

    let close = app
        .helper_post("alice", &format!("/v1/helper/conversations/{id}/close"), json!({"outcome": "resolved"}))
        .await;
    assert_eq!(close.status(), 200);
    let mails = smtpd.wait_for(3).await;
    assert!(mails[2]["body"].as_str().unwrap().contains("This conversation has been closed."), "{mails:#?}");
    assert_eq!(mails.len(), 3, "one mail per answer, none for the note or the join alone");

    // The address is stored sealed, not in clear.
    let sealed: Vec<(Option<String>,)> =
        app.stored("SELECT email_sealed FROM conversations WHERE id = $1", &[&id]).await;
    assert!(!sealed[0].0.as_deref().unwrap().contains("example.org"));
}

async fn mail_counter(app: &TestApp, outcome: &str) -> u64 {
    let metrics = app.client.get(format!("{}/metrics", app.url)).send().await.unwrap().text().await.unwrap();
    let prefix = format!("helpline_mails_total{{outcome=\"{outcome}\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(&prefix)).map_or(0, |n| n.trim().parse().unwrap())
}

async fn wait_for_counter(app: &TestApp, outcome: &str, at_least: u64) {
    let what = format!("a mail {outcome} counted");
    eventually(&what, || async { (mail_counter(app, outcome).await >= at_least).then_some(()) }).await;
}

async fn answers_wait_while_the_relay_is_down_and_go_out_when_it_is_back(backend: Backend) {
    let port = free_port();
    let Some(app) = spawn_with_mail(backend, port, |_| {}).await else { return };
    let (id, _) = email_request(&app, "Please help, nobody answers me <script>alert(1)</script>").await;
    wait_for_counter(&app, "retry", 1).await;
    assert_eq!(helper_view(&app, &id).await["mail"], "pending");

    let smtpd = Smtpd::start(port).await;
    let mails = smtpd.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0]["body"].as_str().unwrap().contains("> Please help, nobody answers me"));
    let html = mails[0]["html"].as_str().unwrap();
    assert!(
        html.contains("nobody answers me &lt;script&gt;")
            || html.contains("nobody answers me &#60;script&#62;"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "the requester's words are text in the HTML part: {html}");
    eventually("the mail state becomes sent", || async {
        (helper_view(&app, &id).await["mail"] == "sent").then_some(())
    })
    .await;
    // Exactly once: the answer that follows is the second mail, and nothing repeats.
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    let answer = r#"I am here. <img src=x onerror="alert(1)"><a href="javascript:alert(2)">x</a> " onmouseover="alert(3)"#;
    assert_eq!(app.helper_says("alice", &id, "a1", answer, false).await.status(), 201);
    let mails = smtpd.wait_for(2).await;
    eventually("the answer's mail state becomes sent", || async {
        (helper_view(&app, &id).await["mail"] == "sent").then_some(())
    })
    .await;
    let all = smtpd.mails().await;
    let ids: Vec<&str> = all.iter().map(|m| m["message_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2, "the waiting mail once, then the answer once: {ids:?}");
    assert_ne!(ids[0], ids[1]);
    assert!(mails[1]["body"].as_str().unwrap().contains(answer), "the text part keeps the words as they are");
    // A helper's words are text in the HTML part too: no element, attribute or link of theirs.
    let html = mails[1]["html"].as_str().unwrap();
    assert!(html.contains("I am here. &"), "{html}");
    for made in ["<img", "<a ", "onerror=\"", "onmouseover=\"", "href=\"javascript"] {
        assert!(!html.contains(made), "{made} in the HTML part: {html}");
    }
}

async fn a_mail_that_keeps_failing_is_shown_to_the_helper(backend: Backend) {
    let port = free_port();
    let Some(app) = spawn_with_mail(backend, port, |mail| mail.max_attempts = 2).await else { return };
    let (id, token) = email_request(&app, "Is anyone there?").await;
    wait_for_counter(&app, "failed", 1).await;
    let view = helper_view(&app, &id).await;
    assert_eq!(view["mail"], "failed");
    let events: Value = app.helper_json("alice", &format!("/v1/helper/conversations/{id}/events")).await;
    let failed = events["events"].as_array().unwrap().iter().find(|e| e["action"] == "mail_failed").unwrap();
    assert_eq!(failed["detail"]["code"], "connection");
    assert!(!events.to_string().contains(READER));
    // Nothing of the conversation was lost: the request is still there for the helper.
    assert_eq!(app.requester_view(&id, &token).await["messages"][0]["text"], "Is anyone there?");
    assert_eq!(mail_counter(&app, "retry").await, 1, "one retry, then given up");
}

#[tokio::test]
async fn without_outbound_mail_only_chat_is_offered() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let settings: Value = app
        .client
        .get(format!("{}/v1/sites/wiki/widget", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings["channels"], json!(["chat"]));
    let response = app
        .create(json!({"site": "wiki", "lang": "en", "text": "hi", "channel": "email", "email": READER}))
        .await;
    assert_eq!(error_code(response).await, (400, "channel_unavailable".into()));
}

#[tokio::test]
async fn an_email_request_needs_a_valid_address_and_stores_nothing_otherwise() {
    let port = free_port();
    let app = spawn_with_mail(Backend::Sqlite, port, |_| {}).await.unwrap();
    for (email, code) in
        [(None, "email_required"), (Some("   "), "email_required"), (Some("not-an-address"), "invalid_email")]
    {
        let response = app
            .create(json!({"site": "wiki", "lang": "en", "text": "hi", "channel": "email", "email": email}))
            .await;
        assert_eq!(error_code(response).await, (400, code.into()), "{email:?}");
    }
    let queue: Value = app.helper_json("alice", "/v1/helper/queue").await;
    assert_eq!(queue["conversations"], json!([]), "nothing stored");
}

#[test]
fn bad_mail_settings_fail_at_start() {
    let good = MailConfig {
        poll_ms: 1000,
        max_attempts: 3,
        retry_ms: 1000,
        ..MailConfig::new("smtp://127.0.0.1:25", "Helpline <help@example.org>")
    };
    assert!(good.check().is_ok());
    let bad_from = MailConfig { from: "not an address".into(), ..good.clone() };
    assert!(bad_from.check().unwrap_err().to_string().contains("mail.from"));
    let bad_url = MailConfig { smtp_url: "ftp://example.org".into(), ..good.clone() };
    assert!(bad_url.check().unwrap_err().to_string().contains("mail.smtp_url"));
    let zero = MailConfig { poll_ms: 0, ..good };
    assert!(zero.check().is_err());
}
