//! Sign-in links by e-mail, through a real SMTP server: a helper with an address on file
//! gets a one-time link; a stranger learns nothing from the answer; an inbox cannot be
//! flooded; bad input and other sites' forms are refused.
#![allow(clippy::unwrap_used)]

mod common;

use common::console::{browser, page, redeem};
use common::smtpd::{Smtpd, free_port};
use common::{Backend, TestApp};
use reqwest::StatusCode;
use reqwest::header::{LOCATION, ORIGIN};

on_both_backends!(backend; a_helper_signs_in_with_a_link_from_their_mailbox);
on_both_backends!(links_asked_for_at_once_stay_within_the_limit);

async fn spawn(backend: Backend, port: u16) -> Option<TestApp> {
    let mail = common::smtpd::mail_config(port);
    TestApp::spawn_with(backend, |config| {
        config.mail = Some(mail);
        config.console.secure_cookies = false;
    })
    .await
}

async fn ask_for_link(app: &TestApp, client: &reqwest::Client, address: &str) -> (StatusCode, String) {
    let response = client
        .post(format!("{}/console/signin/email", app.url))
        .form(&[("email", address)])
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn a_helper_signs_in_with_a_link_from_their_mailbox(backend: Backend) {
    let port = free_port();
    let smtpd = Smtpd::start(port).await;
    let Some(app) = spawn(backend, port).await else { return };
    app.set_email("alice", Some("alice@example.org")).await.unwrap();
    app.set_email("bob", Some("bob@example.org")).await.unwrap();
    // One address, one helper; nor is an address kept in clear.
    assert!(app.set_email("bob", Some("ALICE@example.org")).await.is_err());
    let stored: Vec<(Option<String>,)> = app.stored("SELECT email_sealed FROM helpers", &[]).await;
    assert!(stored.iter().filter_map(|s| s.0.as_ref()).all(|s| !s.contains("example.org")), "{stored:?}");

    let client = browser();
    let (_, signin) = page(&app, &client, "/console/signin").await;
    assert!(signin.contains("Send me a sign-in link"), "{signin}");

    // Known (in any capitalisation) or not, the answer is the same.
    let (status, known) = ask_for_link(&app, &client, " Alice@Example.ORG ").await;
    assert_eq!(status, StatusCode::OK);
    let (status, unknown) = ask_for_link(&app, &client, "nobody@example.org").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(known, unknown);
    assert!(known.contains("If this address belongs to a helper here"), "{known}");

    let mails = smtpd.wait_for(1).await;
    assert_eq!(mails[0]["to"], "alice@example.org");
    let body = mails[0]["body"].as_str().unwrap();
    assert!(body.contains("Hello alice") && body.contains("works once, for 15 minutes"), "{body}");
    let token =
        regex::Regex::new(r"token=(mlk_[A-Za-z0-9_-]+)").unwrap().captures(body).unwrap()[1].to_string();
    let signed_in = redeem(&app, &client, &token).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()[LOCATION], "/console");
    let (status, dashboard) = page(&app, &client, "/console").await;
    assert_eq!(status, StatusCode::OK);
    assert!(dashboard.contains("Signed in as alice"), "{dashboard}");
    // The link from the mail works once.
    assert_eq!(redeem(&app, &browser(), &token).await.status(), StatusCode::BAD_REQUEST);

    // Bad input and forms from other sites are refused.
    let stranger = browser();
    assert_eq!(ask_for_link(&app, &stranger, "not an address").await.0, StatusCode::BAD_REQUEST);
    let forged = stranger
        .post(format!("{}/console/signin/email", app.url))
        .header(ORIGIN, "https://evil.example")
        .form(&[("email", "alice@example.org")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // Asking again and again mails at most three links in a link's lifetime.
    for _ in 0..4 {
        assert_eq!(ask_for_link(&app, &stranger, "alice@example.org").await.0, StatusCode::OK);
    }
    smtpd.wait_for(3).await;
    // Bob's link, asked for last, arrives after alice's requests were handled.
    ask_for_link(&app, &stranger, "bob@example.org").await;
    let mails = smtpd.wait_for(4).await;
    let to_alice = mails.iter().filter(|m| m["to"] == "alice@example.org").count();
    assert_eq!(to_alice, 3, "{mails:#?}");
    assert!(mails.iter().any(|m| m["to"] == "bob@example.org"));
}

async fn links_asked_for_at_once_stay_within_the_limit(app: TestApp) {
    let alice = app.helper("alice").await.unwrap();
    // Eight requests racing (separate connections on PostgreSQL): three links, no more.
    let asks = (0..8).map(|_| app.mailed_link_within("alice", 3));
    let links: Vec<String> = futures_util::future::join_all(asks).await.into_iter().flatten().collect();
    assert_eq!(links.len(), 3, "{links:?}");
    let stored =
        app.stored_count("SELECT COUNT(*) FROM magic_links WHERE helper_id = $1", &[alice.id.as_str()]).await;
    assert_eq!(stored, 3);
    // Each one made signs in.
    for link in links {
        assert_eq!(redeem(&app, &browser(), &link).await.status(), StatusCode::SEE_OTHER);
    }
}
