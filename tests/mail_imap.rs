//! Replies read from a real IMAP mailbox (Dovecot, on loopback): the server waits with
//! IDLE, reads each new mail as `helpline mail-in` would, stores the new words once and
//! deletes the mail; what is not a mail is flagged and kept for the operator; a mailbox
//! that goes away is connected to again, and nothing that arrived meanwhile is missed.
#![allow(clippy::unwrap_used)]

mod common;

use common::dovecot::{self, Dovecot};
use common::smtpd::{Smtpd, free_port};
use common::{Backend, TestApp};
use helpline::config::{ImapConfig, ImapSecurity, MailConfig};

use common::mail_in::READER;

async fn spawn(backend: Backend, smtp_port: u16, imap: &Dovecot, keep: bool) -> Option<TestApp> {
    let mail = MailConfig {
        replies: true,
        inbound_site: Some("wiki".into()),
        imap: Some(ImapConfig {
            host: "127.0.0.1".into(),
            port: Some(imap.port),
            security: ImapSecurity::Plain,
            user: dovecot::USER.into(),
            password: Some(dovecot::PASSWORD.into()),
            password_file: None,
            mailbox: "INBOX".into(),
            poll_seconds: 30,
            keep,
        }),
        ..common::smtpd::mail_config(smtp_port)
    };
    TestApp::spawn_with(backend, |config| config.mail = Some(mail)).await
}

async fn words_become(app: &TestApp, id: &str, expected: &[&str]) {
    let what = format!("the conversation holds {expected:?}");
    common::eventually(&what, || async {
        let words = app.requester_words(id).await;
        (words == expected).then_some(())
    })
    .await;
}

async fn mailbox_becomes(imap: &Dovecot, expected: Vec<Vec<String>>) {
    let what = format!("the mailbox holds {expected:?}");
    common::eventually(&what, || async { (imap.remaining().await == expected).then_some(()) }).await;
}

fn reply(reply_to: &str, message_id: &str, body: &str) -> String {
    format!(
        "From: Reader <{READER}>\nTo: {reply_to}\nSubject: Re: Your request\nMessage-ID: <{message_id}>\n\
         MIME-Version: 1.0\nContent-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n\
         {body}\n"
    )
}

on_both_backends!(backend; a_reply_in_the_mailbox_comes_into_its_conversation_once);

async fn a_reply_in_the_mailbox_comes_into_its_conversation_once(backend: Backend) {
    let Some(imap) = Dovecot::start().await else { return };
    let port = free_port();
    let smtpd = Smtpd::start(port).await;
    let Some(app) = spawn(backend, port, &imap, false).await else { return };
    let id = app.email_request("Someone follows my edits everywhere.").await;
    let reply_to = smtpd.wait_for(1).await[0]["reply_to"].as_str().unwrap().to_string();

    // Quoted-printable Latin-1, with the quoted history under it.
    let first = reply(
        &reply_to,
        "r1@example.org",
        "Danke, es ist wieder passiert. Gr=FC=DFe\n\nOn Mon, 1 Dec 2026, Helpline wrote:\n> Someone follows my edits",
    );
    imap.deliver(&first).await;
    words_become(
        &app,
        &id,
        &["Someone follows my edits everywhere.", "Danke, es ist wieder passiert. Grüße"],
    )
    .await;
    mailbox_becomes(&imap, vec![]).await;

    // Delivered twice (a mail system retrying): stored once.
    imap.deliver(&first).await;
    mailbox_becomes(&imap, vec![]).await;
    // HTML only, base64: becomes text; and the order holds.
    let html = format!(
        "From: {READER}\nTo: {reply_to}\nMessage-ID: <r2@example.org>\nMIME-Version: 1.0\n\
         Content-Type: text/html; charset=UTF-8\nContent-Transfer-Encoding: base64\n\n{}\n",
        base64_of("<p>He wrote on my <b>talk page</b> again.</p>")
    );
    imap.deliver(&html).await;
    words_become(
        &app,
        &id,
        &[
            "Someone follows my edits everywhere.",
            "Danke, es ist wieder passiert. Grüße",
            "He wrote on my talk page again.",
        ],
    )
    .await;
    mailbox_becomes(&imap, vec![]).await;
}

#[tokio::test]
async fn what_is_not_a_mail_is_kept_flagged_and_a_new_thread_opens_a_conversation() {
    let Some(imap) = Dovecot::start().await else { return };
    let port = free_port();
    let _smtpd = Smtpd::start(port).await;
    let Some(app) = spawn(Backend::Sqlite, port, &imap, false).await else { return };
    let before = app.stored_count("SELECT COUNT(*) FROM conversations", &[]).await;

    imap.deliver("no headers, no sender, nothing a mail has").await;
    imap.deliver(&format!(
        "From: {READER}\nTo: help@helpline.test\nSubject: help\nMessage-ID: <n1@example.org>\n\nI am new here and scared.\n"
    ))
    .await;
    mailbox_becomes(&imap, vec![vec!["Flagged".into(), "Seen".into()]]).await;
    let ids: Vec<(String,)> = app.stored("SELECT id FROM conversations ORDER BY created_at", &[]).await;
    assert_eq!(ids.len() as i64, before + 1, "one conversation opened, nothing of the broken mail stored");
    let new = &ids.last().unwrap().0;
    assert_eq!(app.requester_words(new).await, ["I am new here and scared."]);
}

#[tokio::test]
async fn kept_mail_is_marked_read_and_a_mailbox_that_went_away_is_read_again() {
    let Some(mut imap) = Dovecot::start().await else { return };
    let port = free_port();
    let smtpd = Smtpd::start(port).await;
    let Some(app) = spawn(Backend::Sqlite, port, &imap, true).await else { return };
    let id = app.email_request("Please help.").await;
    let reply_to = smtpd.wait_for(1).await[0]["reply_to"].as_str().unwrap().to_string();

    imap.deliver(&reply(&reply_to, "k1@example.org", "First reply.")).await;
    words_become(&app, &id, &["Please help.", "First reply."]).await;
    mailbox_becomes(&imap, vec![vec!["Seen".into()]]).await;

    // The IMAP server goes away; a reply arrives while the server reconnects.
    imap.stop().await;
    imap.restart().await;
    imap.deliver(&reply(&reply_to, "k2@example.org", "Second reply.")).await;
    words_become(&app, &id, &["Please help.", "First reply.", "Second reply."]).await;
    mailbox_becomes(&imap, vec![vec!["Seen".into()], vec!["Seen".into()]]).await;
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}
