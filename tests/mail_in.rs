//! Replies by e-mail come back into their conversation: answers go out through a real
//! SMTP server (aiosmtpd) with the conversation's reply address; the requester's reply
//! is handed to the server as an MTA would (`helpline mail-in`, or its HTTP edge) and
//! its new words appear, once. Threading without the reply address only from the
//! conversation's own address; automatic answers and bounces; mail with no thread opens
//! a conversation; what is not a mail is refused and stores nothing.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::smtpd::{Smtpd, free_port};
use common::{Backend, TestApp};
use helpline::config::MailConfig;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_helpline");

async fn spawn(backend: Backend, port: u16, inbound_site: Option<&str>) -> Option<TestApp> {
    let mail = MailConfig {
        replies: true,
        inbound_site: inbound_site.map(Into::into),
        ..common::smtpd::mail_config(port)
    };
    TestApp::spawn_with(backend, |config| config.mail = Some(mail)).await
}

async fn hand_in(app: &TestApp, raw: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/v1/mail/inbound", app.url))
        .bearer_auth(app.mail_in_key())
        .body(raw.replace('\n', "\r\n"))
        .send()
        .await
        .unwrap()
}

async fn received(app: &TestApp, raw: &str) -> Value {
    let response = hand_in(app, raw).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

on_both_backends!(backend; a_reply_comes_back_into_its_conversation_once);

async fn a_reply_comes_back_into_its_conversation_once(backend: Backend) {
    let port = free_port();
    let smtpd = Smtpd::start(port).await;
    let Some(app) = spawn(backend, port, None).await else { return };
    let id = app.email_request("Someone writes on my talk page every night.").await;
    let confirmation = &smtpd.wait_for(1).await[0];
    let reply_to = confirmation["reply_to"].as_str().unwrap().to_string();
    assert!(reply_to.starts_with("reply+") && reply_to.ends_with("@helpline.test"), "{reply_to}");
    assert!(confirmation["body"].as_str().unwrap().contains("Reply to this mail to answer"));

    let reply = format!(
        "From: Reader <Reader@Example.org>\nTo: Helpline <{reply_to}>\nSubject: Re: Your request\n\
         Message-ID: <r1@example.org>\nIn-Reply-To: <{id}.0@helpline.test>\n\n\
         He did it again tonight.\n\nOn Thu, 3 Dec 2026, Helpline <help@helpline.test> wrote:\n> We have received your request\n"
    );
    let stored = received(&app, &reply).await;
    assert_eq!(stored["outcome"], "stored", "{stored}");
    assert_eq!(stored["duplicate"], false);
    let again = received(&app, &reply).await;
    assert_eq!(
        (again["outcome"].as_str(), again["duplicate"].as_bool()),
        (Some("stored"), Some(true)),
        "{again}"
    );
    assert_eq!(
        app.requester_words(&id).await,
        ["Someone writes on my talk page every night.", "He did it again tonight."],
        "the new words, once, without the quoted history"
    );
}

#[tokio::test]
async fn threads_need_the_reply_address_or_the_conversation_s_own_address() {
    let port = free_port();
    let _smtpd = Smtpd::start(port).await;
    let Some(app) = spawn(Backend::Sqlite, port, Some("wiki")).await else { return };
    let id = app.email_request("Please help me.").await;

    // No reply address, but our message id, from the right address, in Latin-1.
    let own = format!(
        "From: reader@example.org\nTo: help@helpline.test\nReferences: <{id}.0@helpline.test>\n\
         MIME-Version: 1.0\nContent-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n\
         Gr=FC=DFe, es geht weiter.\n"
    );
    assert_eq!(received(&app, &own).await["outcome"], "stored");
    // The same ids from someone else: never into that conversation; a new one instead.
    let stranger = format!(
        "From: mallory@example.org\nTo: help@helpline.test\nIn-Reply-To: <{id}.0@helpline.test>\n\
         Subject: hello\n\nLet me in.\n"
    );
    let opened = received(&app, &stranger).await;
    assert_eq!(opened["outcome"], "opened", "{opened}");
    assert_ne!(opened["conversation"], id.as_str());
    assert_eq!(app.requester_words(&id).await, ["Please help me.", "Grüße, es geht weiter."]);
    let new = opened["conversation"].as_str().unwrap();
    assert_eq!(app.requester_words(new).await, ["Let me in."]);
    let channel: Vec<(String,)> = app.stored("SELECT channel FROM conversations WHERE id = $1", &[new]).await;
    assert_eq!(channel[0].0, "email", "answered by mail, to the sender");

    // A made-up reply address is no thread either.
    let forged = "From: mallory@example.org\nTo: reply+00112233445566778899aabbccddeeff.0123456789abcdef0123@helpline.test\n\nhi\n";
    assert_ne!(received(&app, forged).await["conversation"], id.as_str());
}

#[tokio::test]
async fn machines_bounces_attachments_and_what_is_not_a_mail() {
    let port = free_port();
    let smtpd = Smtpd::start(port).await;
    let Some(app) = spawn(Backend::Sqlite, port, None).await else { return };
    let id = app.email_request("I need someone to talk to.").await;
    let reply_to = smtpd.wait_for(1).await[0]["reply_to"].as_str().unwrap().to_string();
    let count = || async {
        app.stored_count("SELECT COUNT(*) FROM messages WHERE conversation_id = $1", &[&id]).await
    };
    let before = count().await;

    let away =
        format!("From: reader@example.org\nTo: {reply_to}\nAuto-Submitted: auto-replied\n\nI am away.\n");
    assert_eq!(received(&app, &away).await, json!({"outcome": "ignored", "reason": "automatic"}));
    assert_eq!(count().await, before, "nothing of an automatic answer is stored");

    let with_file = format!(
        "From: reader@example.org\nTo: {reply_to}\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n\
         --b\nContent-Type: text/plain\n\nHere is a screenshot.\n--b\nContent-Type: image/png\n\
         Content-Disposition: attachment; filename=\"x.png\"\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--b--\n"
    );
    assert_eq!(received(&app, &with_file).await["outcome"], "stored");
    let view = app.helper_json("alice", &format!("/v1/helper/conversations/{id}")).await;
    let last = view["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["author_role"], "system");
    assert!(last["text"].as_str().unwrap().contains("attachments"), "{last}");

    let bounce = format!(
        "From: MAILER-DAEMON@mx.example.org\nTo: help@helpline.test\nReturn-Path: <>\nMIME-Version: 1.0\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\n\n\
         --r\nContent-Type: text/plain\n\nNot delivered.\n--r\nContent-Type: message/delivery-status\n\n\
         Final-Recipient: rfc822; reader@example.org\nAction: failed\nStatus: 5.1.1\n--r\n\
         Content-Type: text/rfc822-headers\n\nReply-To: {reply_to}\nMessage-ID: <{id}.3@helpline.test>\n--r--\n"
    );
    assert_eq!(received(&app, &bounce).await, json!({"outcome": "bounced", "conversation": id}));
    let view = app.helper_json("alice", &format!("/v1/helper/conversations/{id}")).await;
    assert_eq!(view["mail"], "failed", "the helper sees the address does not take mail");

    let refused = hand_in(&app, "this is not a mail at all").await;
    assert_eq!(common::error_code(refused).await, (400, "not_a_mail".to_string()));
    let stranger = app
        .client
        .post(format!("{}/v1/mail/inbound", app.url))
        .bearer_auth("0".repeat(64))
        .body(away.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 401, "only with the server's key");
}

/// `helpline mail-in` as an MTA runs it: a mail on standard input; 0, 65 or 75. Run
/// off the test's runtime, which also runs the server that answers it.
async fn mail_in(app: &TestApp, server: &str, raw: &str) -> (i32, String) {
    let (dir, server, raw) = (app.dir.path().to_path_buf(), server.to_string(), raw.replace('\n', "\r\n"));
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(BIN)
            .args(["mail-in", "--server", &server, "--data-dir"])
            .arg(&dir)
            .current_dir(&dir)
            .env("HELPLINE_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(raw.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        let text =
            String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
        (output.status.code().unwrap(), text)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn mail_in_speaks_the_mta_s_exit_codes() {
    let port = free_port();
    let smtpd = Smtpd::start(port).await;
    let Some(app) = spawn(Backend::Sqlite, port, None).await else { return };
    let id = app.email_request("Can anyone help?").await;
    let reply_to = smtpd.wait_for(1).await[0]["reply_to"].as_str().unwrap().to_string();
    let reply = format!(
        "From: reader@example.org\nTo: {reply_to}\nMessage-ID: <cli1@example.org>\n\nYes, still here.\n"
    );
    let (code, out) = mail_in(&app, &app.url, &reply).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"stored\""), "{out}");
    assert_eq!(app.requester_words(&id).await, ["Can anyone help?", "Yes, still here."]);
    let (code, out) = mail_in(&app, &app.url, "not a mail").await;
    assert_eq!(code, 65, "nothing stored, the MTA bounces it ({out})");
    let (code, out) = mail_in(&app, "http://127.0.0.1:9", &reply).await;
    assert_eq!(code, 75, "the server unreachable: try again later ({out})");
    assert_eq!(app.requester_words(&id).await.len(), 2);
}

/// A sender with no thread (a person, or a machine without the headers that say so)
/// opens conversations only at the rate of one network: the rest wait (the MTA keeps
/// them and tries again later), nothing of them is stored, other senders go on.
#[tokio::test]
async fn new_threads_from_one_sender_are_held_to_a_rate() {
    let port = free_port();
    let _smtpd = Smtpd::start(port).await;
    let mail =
        MailConfig { replies: true, inbound_site: Some("wiki".into()), ..common::smtpd::mail_config(port) };
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.mail = Some(mail);
        config.limits.conversations_per_hour_per_network = 3;
    })
    .await
    else {
        return;
    };
    let from = |sender: &str, n: usize| {
        format!(
            "From: {sender}\nTo: help@helpline.test\nMessage-ID: <loop{n}@example.org>\nSubject: hi\n\nMessage {n}.\n"
        )
    };
    for n in 0..3 {
        assert_eq!(received(&app, &from("looping@example.org", n)).await["outcome"], "opened");
    }
    let held = hand_in(&app, &from("looping@example.org", 3)).await;
    assert_eq!(common::error_code(held).await, (429, "rate_limited".to_string()));
    let (code, out) = mail_in(&app, &app.url, &from("looping@example.org", 4)).await;
    assert_eq!(code, 75, "held, not lost: the MTA tries again later ({out})");
    assert_eq!(app.stored_count("SELECT COUNT(*) FROM conversations", &[]).await, 3);
    assert_eq!(received(&app, &from("someone-else@example.org", 9)).await["outcome"], "opened");
}
