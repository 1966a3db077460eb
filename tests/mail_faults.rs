//! The outbox under faults, with the real binary and a real SMTP server: `kill -9` while
//! a mail is in flight (the relay has the mail but has not yet said 250) loses nothing
//! and sends that one mail again after the restart — the documented repeat, at most
//! once — and every later answer goes out exactly once.
#![allow(clippy::unwrap_used)]

mod common;

use common::node::Node;
use common::smtpd::{Smtpd, free_port};
use serde_json::{Value, json};

fn config(smtp_port: u16) -> String {
    format!(
        r#"
[mail]
smtp_url = "smtp://127.0.0.1:{smtp_port}"
from = "Helpline <help@helpline.test>"
poll_ms = 50
retry_ms = 100

[[queues]]
id = "wiki-queue"
name = "Wiki helpers"

[[sites]]
id = "wiki"
name = "Test Wiki"
language = "en"
queue = "wiki-queue"
emergency_contact = "emergency@wiki.example"
"#
    )
}

fn message_ids(mails: &[Value]) -> Vec<String> {
    mails.iter().map(|m| m["message_id"].as_str().unwrap().to_string()).collect()
}

async fn kill_9_while_a_mail_is_in_flight(database_url: Option<String>) {
    let port = free_port();
    let smtpd = Smtpd::holding(port).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("helpline.toml"), config(port)).unwrap();
    let node = Node { dir: dir.path().to_path_buf(), database_url };
    node.run(&["helper", "add", "alice", "--queue", "wiki-queue"]);
    let token = node.run(&["helper", "token", "alice"]).last().unwrap().clone();

    smtpd.hold();
    let (mut child, url) = node.serve();
    helpline::install_tls();
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{url}/v1/conversations"))
        .json(&json!({"site": "wiki", "text": "Please answer me by mail.", "channel": "email",
                      "email": "reader@example.org"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_string();

    // The relay holds the confirmation and has not said 250: kill -9 now.
    let held = smtpd.wait_for(1).await;
    child.kill().unwrap();
    child.wait().unwrap();
    smtpd.release();

    let (mut child, url) = node.serve();
    let again = smtpd.wait_for(2).await;
    assert_eq!(message_ids(&again), [message_ids(&held)[0].clone(), message_ids(&held)[0].clone()]);
    assert_eq!(again[0]["body"], again[1]["body"], "the very same mail, sent again once");

    // The helper answers: it goes out once, after the repeat, and nothing more follows.
    let helper = |path: String| http.post(format!("{url}{path}")).bearer_auth(&token);
    assert_eq!(helper(format!("/v1/helper/conversations/{id}/claim")).send().await.unwrap().status(), 200);
    let answered = helper(format!("/v1/helper/conversations/{id}/messages"))
        .json(&json!({"client_id": "answer-1", "text": "I am here. Tell me what happened."}))
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 201);
    let mails = smtpd.wait_for(3).await;
    assert!(mails[2]["body"].as_str().unwrap().contains("I am here. Tell me what happened."));
    let state = common::eventually("the mail state becomes sent", || async {
        let view: Value = http
            .get(format!("{url}/v1/helper/conversations/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (view["mail"] == "sent").then_some(view)
    })
    .await;
    let texts: Vec<&str> =
        state["messages"].as_array().unwrap().iter().filter_map(|m| m["text"].as_str()).collect();
    assert!(
        texts.contains(&"Please answer me by mail.") && texts.contains(&"I am here. Tell me what happened."),
        "nothing of the conversation lost: {texts:?}"
    );
    let all = smtpd.mails().await;
    assert_eq!(all.len(), 3, "one repeat of the mail in flight, the answer once: {:?}", message_ids(&all));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_in_flight_at_kill_9_goes_out_again_once_sqlite() {
    kill_9_while_a_mail_is_in_flight(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_in_flight_at_kill_9_goes_out_again_once_postgres() {
    let Some(schema) = common::PgSchema::create().await else {
        eprintln!("skipped on PostgreSQL: HELPLINE_TEST_POSTGRES_URL is not set");
        return;
    };
    kill_9_while_a_mail_is_in_flight(Some(schema.url.clone())).await;
}
