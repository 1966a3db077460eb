//! Helpers' opt-in mail alerts, through a real SMTP server: "requests are waiting" once
//! per request when one has waited longer than its queue's `alert_after_minutes` and
//! nobody of the queue is online — nothing when someone is on it, nothing to those who
//! did not ask or have no address, never a word of the request — and a daily digest,
//! once a day. Chosen in the console's settings.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::console::{act, page, signed_in};
use common::smtpd::{Smtpd, free_port};
use common::{Backend, TestApp};
use reqwest::StatusCode;

const REQUEST: &str = "Someone posts my home address on my talk page.";

async fn spawn(backend: Backend, port: u16) -> Option<TestApp> {
    TestApp::spawn_with(backend, |config| {
        config.mail = Some(common::smtpd::mail_config(port));
        config.console.secure_cookies = false;
        for queue in &mut config.queues {
            queue.alert_after_minutes = 10;
        }
    })
    .await
}

async fn choose(app: &TestApp, name: &str, alerts: &str) {
    let (browser, csrf) = signed_in(app, name).await;
    let (_, html) = page(app, &browser, "/console/settings").await;
    assert!(html.contains(r#"name="alerts" value="waiting""#), "{html}");
    let saved =
        act(app, &browser, "/console/settings", &[("csrf", &csrf), ("shown_as", "name"), ("alerts", alerts)])
            .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(app, &browser, "/console/settings").await;
    assert!(html.contains(&format!(r#"value="{alerts}" checked"#)), "{html}");
}

on_both_backends!(backend; a_request_waiting_with_nobody_online_is_mailed_about_once);

async fn a_request_waiting_with_nobody_online_is_mailed_about_once(backend: Backend) {
    let port = free_port();
    let smtpd = Smtpd::start(port).await;
    let Some(app) = spawn(backend, port).await else { return };
    app.set_email("alice", Some("alice@helpers.test")).await.unwrap();
    app.set_email("carol", Some("carol@helpers.test")).await.unwrap();
    choose(&app, "alice", "waiting").await;
    choose(&app, "bob", "waiting").await; // no address: nothing can reach bob
    choose(&app, "carol", "waiting").await; // another queue

    let (_first, _, _) = app.start(REQUEST).await;
    assert_eq!(app.alert_round().await, 0, "not waiting long enough yet");
    app.advance(Duration::from_secs(11 * 60));
    assert_eq!(app.alert_round().await, 1);
    let mails = smtpd.wait_for(1).await;
    assert_eq!(mails[0]["to"], "alice@helpers.test");
    assert_eq!(mails[0]["subject"], "Requests are waiting in Wiki helpers");
    let body = mails[0]["body"].as_str().unwrap();
    assert!(body.contains("one request has waited more than 10 minutes in Wiki helpers"), "{body}");
    assert!(body.contains("/console"), "{body}");
    assert!(!body.contains("home address"), "never a word of the request: {body}");
    assert_eq!(app.alert_round().await, 0, "once per request");

    // Someone of the queue is online: a new request that waits is not mailed about.
    let _bob = app.helper_socket("bob").await;
    let (_second, _, _) = app.start("Another one, please help.").await;
    app.advance(Duration::from_secs(11 * 60));
    assert_eq!(app.alert_round().await, 0, "nothing when someone is on it");
    assert_eq!(smtpd.mails().await.len(), 1);
}

#[tokio::test]
async fn a_daily_digest_goes_out_once_a_day() {
    let port = free_port();
    let smtpd = Smtpd::start(port).await;
    let Some(app) = spawn(Backend::Sqlite, port).await else { return };
    app.set_email("alice", Some("alice@helpers.test")).await.unwrap();
    choose(&app, "alice", "digest").await;
    app.start(REQUEST).await;
    app.start("A second request.").await;

    // To the next day, past the digest hour (07:00 UTC).
    const DAY: i64 = 86_400_000;
    let now = app.now_ms();
    let target = (now / DAY + 1) * DAY + 8 * 3_600_000;
    app.advance(Duration::from_millis(u64::try_from(target - now).unwrap()));
    let sent = app.alert_round().await;
    assert_eq!(sent, 1, "the digest (waiting alerts go only to those who chose them)");
    let mails = smtpd.wait_for(1).await;
    assert_eq!(mails[0]["subject"], "Your daily summary of the help queues");
    let body = mails[0]["body"].as_str().unwrap();
    assert!(body.contains("Wiki helpers: 2 waiting now"), "{body}");
    assert!(!body.contains("home address"), "{body}");
    assert_eq!(app.alert_round().await, 0, "once a day");
}
