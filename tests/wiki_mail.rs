//! "Answer me through the wiki's e-mail", on a real MediaWiki: refused while the name is
//! only claimed and for an account that takes no e-mail; for a confirmed account that
//! does, the helper's answer is sent by the site's bot through the wiki's `emailuser`
//! (the wiki's own mail arrives in its mailbox), and Helpline never holds the address.
#![allow(clippy::unwrap_used)]

mod common;

use common::oauth_stand_in::{confirm, oauth_config, provider, requester};
use common::smtpd::{Smtpd, free_port};
use common::wiki::TestWiki;
use common::{Backend, TestApp, error_code};
use helpline::config::BotConfig;
use serde_json::{Value, json};

async fn spawn(wiki: &TestWiki, oauth_base: &str, smtp_port: u16) -> TestApp {
    let (api, login, password) =
        (wiki.api(), wiki.value("MW_BOT_LOGIN").to_string(), wiki.value("MW_BOT_PASS").to_string());
    let oauth = oauth_config(oauth_base);
    TestApp::spawn_with(Backend::Sqlite, move |config| {
        config.mail = Some(common::smtpd::mail_config(smtp_port));
        config.sites[0].api_url = Some(api);
        config.sites[0].bot =
            Some(BotConfig { username: login, password: Some(password), password_file: None });
        config.sites[0].oauth = Some(oauth);
    })
    .await
    .unwrap()
}

async fn chat_as(app: &TestApp, name: &str) -> (String, String) {
    let body = json!({"site": "wiki", "lang": "en", "text": "Someone harasses me on my talk page.", "username": name});
    let created: Value = app.create(body).await.json().await.unwrap();
    let (id, token) =
        (created["id"].as_str().unwrap().to_string(), created["token"].as_str().unwrap().to_string());
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    (id, token)
}

async fn choose_wiki_mail(app: &TestApp, id: &str, token: &str) -> reqwest::Response {
    requester(app, reqwest::Method::POST, id, "/wiki-mail", token, None).await
}

#[tokio::test]
async fn answers_go_through_the_wiki_s_e_mail_for_a_confirmed_account_only() {
    let Some(wiki) = TestWiki::get() else { return };
    let (p, oauth) = provider().await;
    let port = free_port();
    let smtpd = Smtpd::start(port).await;
    let app = spawn(&wiki, &oauth, port).await;
    let reader = wiki.new_user("Mailable", &[]);
    let address = format!("{}@readers.test", reader.name.to_lowercase());
    wiki.set_email(&reader, &address);
    let silent = wiki.new_user("NoMail", &[]);

    let (id, token) = chat_as(&app, &reader.name).await;
    let (status, code) = error_code(choose_wiki_mail(&app, &id, &token).await).await;
    assert_eq!((status, code.as_str()), (409, "unverified"), "a claimed name is never enough");

    // An account that takes no e-mail is told so, and stays a chat.
    let (other, other_token) = chat_as(&app, &silent.name).await;
    assert_eq!(confirm(&app, &p, &other, &other_token, &silent.name).await.status(), 200);
    let (status, code) = error_code(choose_wiki_mail(&app, &other, &other_token).await).await;
    assert_eq!((status, code.as_str()), (409, "not_emailable"));
    assert_eq!(app.requester_view(&other, &other_token).await["channel"], "chat");

    assert_eq!(confirm(&app, &p, &id, &token, &reader.name).await.status(), 200);
    assert_eq!(
        app.helper_says("alice", &id, "h0", "Before the switch: you read this here.", false).await.status(),
        201
    );
    let chosen = choose_wiki_mail(&app, &id, &token).await;
    assert_eq!(chosen.status(), 200);
    let view: Value = chosen.json().await.unwrap();
    assert_eq!(view["channel"], "email");
    assert!(view.to_string().contains("Helpline does not learn your address"), "{view}");

    assert_eq!(
        app.helper_says("alice", &id, "h1", "I have asked an admin to look at it.", false).await.status(),
        201
    );
    let mail = common::eventually("the wiki mails the answer", || async {
        wiki.mails().into_iter().find(|m| m["to"].as_str().unwrap_or_default().contains(&address))
    })
    .await;
    let body = mail["body"].as_str().unwrap();
    assert!(body.contains("I have asked an admin to look at it."), "{body}");
    assert!(!body.contains("Before the switch"), "what the chat showed is not mailed again: {body}");
    assert!(body.contains("the wiki knows your address, Helpline does not"), "{body}");
    assert!(mail["from"].as_str().unwrap().contains("wiki@wiki.test"), "sent by the wiki: {mail}");

    // Helpline holds no address for it, and its own relay sent nothing.
    let sealed = app
        .stored_count("SELECT COUNT(*) FROM conversations WHERE id = $1 AND email_sealed IS NOT NULL", &[&id])
        .await;
    assert_eq!(sealed, 0);
    assert!(smtpd.mails().await.is_empty());
    common::eventually("the helper sees the mail went out", || async {
        let view = app.helper_json("alice", &format!("/v1/helper/conversations/{id}")).await;
        (view["mail"] == "sent").then_some(())
    })
    .await;
}
