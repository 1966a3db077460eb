//! Two `helpline serve` processes on one PostgreSQL; the requester talks through node A,
//! the helper through node B. A is killed (`kill -9`) mid-conversation; the requester
//! resumes on B as the widget does (hello with the last `seq` it saw, then its
//! unacknowledged messages again with the same client ids). Nothing is lost, nothing
//! is doubled, the order is kept, on both sides. PostgreSQL only.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashSet};

use common::node::Node;
use common::{Ws, next_json, next_of_type, send};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const CONFIG: &str = r#"
sqlite_synchronous = "full"

[limits]
messages_per_minute_per_token = 1000000
conversations_per_hour_per_network = 1000
requests_per_minute_per_network = 1000000

# One load generator asks for help many times: no proof of work.
[proof_of_work]
mode = "off"

[[queues]]
id = "wiki-queue"
name = "Wiki helpers"

[[sites]]
id = "wiki"
name = "Test Wiki"
language = "en"
queue = "wiki-queue"
emergency_contact = "emergency@wiki.example"
"#;

/// Messages the requester sends; A is killed after `KILL_AFTER` of them are acknowledged.
const SENT: usize = 300;
const KILL_AFTER: usize = 100;

fn ws(url: &str) -> String {
    url.replacen("http", "ws", 1)
}

async fn requester_socket(url: &str, id: &str, token: &str, after: i64) -> Ws {
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("{}/v1/conversations/{id}/live", ws(url))).await.unwrap();
    send(&mut socket, json!({"type": "hello", "token": token, "after": after, "wire": 2})).await;
    socket
}

/// The helper on B: answers every requester message with "re: …" and records what it saw.
async fn helper_answers(url: String, token: String, id: String, want: usize) -> Vec<(i64, String)> {
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("{}/v1/helper/live", ws(&url))).await.unwrap();
    send(&mut socket, json!({"type": "hello", "token": token, "wire": 2})).await;
    next_of_type(&mut socket, "ready").await;
    send(&mut socket, json!({"type": "open", "conversation": id, "after": 0})).await;
    let mut seen = Vec::new();
    while seen.iter().filter(|(_, t): &&(i64, String)| t.starts_with("message ")).count() < want {
        let frame = next_json(&mut socket).await;
        if frame["type"] == "message" && frame["author_role"] == "requester" {
            let text = frame["text"].as_str().unwrap().to_string();
            seen.push((frame["seq"].as_i64().unwrap(), text.clone()));
            let reply = json!({"type": "message", "conversation": id, "client_id": format!("re-{}", text.replace(' ', "-")), "text": format!("re: {text}")});
            send(&mut socket, reply).await;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_conversation_loses_nothing() {
    let Some(schema) = common::PgSchema::create().await else {
        eprintln!("skipped: several nodes need HELPLINE_TEST_POSTGRES_URL");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("helpline.toml"), CONFIG).unwrap();
    let node = Node { dir: dir.path().to_path_buf(), database_url: Some(schema.url.clone()) };
    node.run(&["helper", "add", "alice", "--queue", "wiki-queue"]);
    let helper_token = node.run(&["helper", "token", "alice"]).last().unwrap().clone();
    let mut a = node.start();
    let b = node.start();
    let (url_a, url_b) = (a.url.clone(), b.url.clone());

    helpline::install_tls();
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{url_a}/v1/conversations"))
        .json(&json!({"site": "wiki", "text": "please stay with me"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    let token = created["token"].as_str().unwrap().to_string();
    let claimed = http
        .post(format!("{url_b}/v1/helper/conversations/{id}/claim"))
        .bearer_auth(&helper_token)
        .send()
        .await
        .unwrap();
    assert_eq!(claimed.status(), 200);
    let helper = tokio::spawn(helper_answers(url_b.clone(), helper_token, id.clone(), SENT));

    // The requester on A: a stream of messages; A dies once some are acknowledged.
    let mut socket = requester_socket(&url_a, &id, &token, 0).await;
    let mut acked: BTreeMap<usize, i64> = BTreeMap::new();
    let mut replies: Vec<(i64, String)> = Vec::new();
    // As the widget: the last seq shown (messages and status frames; an ack's seq may
    // run ahead of messages still on their way).
    let mut shown = 0;
    let mut next = 0;
    let mut killed = false;
    while acked.len() < SENT || replies.len() < SENT {
        // Keep up to 20 unacknowledged messages in flight.
        while next < SENT && next < acked.len() + 20 {
            let frame = json!({"type": "message", "client_id": format!("m{next}"), "text": format!("message {next}")});
            if socket.send_frame(frame).await.is_err() {
                break;
            }
            next += 1;
        }
        let frame = match tokio::time::timeout(common::PATIENCE, socket.next()).await {
            Ok(Some(Ok(WsMessage::Text(text)))) => serde_json::from_str::<Value>(&text).unwrap(),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) => {
                // The node is gone: resume on B from the last seq seen, and send again
                // every message not acknowledged (same client ids).
                assert!(killed, "the socket died before the kill");
                socket = requester_socket(&url_b, &id, &token, shown).await;
                next = (0..SENT).find(|n| !acked.contains_key(n)).unwrap_or(SENT);
                continue;
            }
            Err(_) => {
                panic!("nothing for {:?}: {} acked, {} replies", common::PATIENCE, acked.len(), replies.len())
            }
        };
        match frame["type"].as_str() {
            Some("ack") => {
                let n: usize = frame["client_id"].as_str().unwrap()[1..].parse().unwrap();
                let seq = frame["seq"].as_i64().unwrap();
                if let Some(before) = acked.insert(n, seq) {
                    assert_eq!(before, seq, "a resent message keeps its seq");
                }
                if acked.len() == KILL_AFTER && !killed {
                    a.kill(); // SIGKILL
                    killed = true;
                }
            }
            Some("message") => {
                let seq = frame["seq"].as_i64().unwrap();
                assert!(seq > shown, "each message once, in order: {seq} after {shown}");
                shown = seq;
                if frame["author_role"] == "helper" {
                    replies.push((seq, frame["text"].as_str().unwrap().to_string()));
                }
            }
            Some("status") => shown = shown.max(frame["last_seq"].as_i64().unwrap_or(0)),
            _ => {}
        }
    }
    assert!(killed);

    // The helper saw each message once, in seq order; the requester each reply once.
    let seen = helper.await.unwrap();
    let texts: Vec<&str> =
        seen.iter().map(|(_, t)| t.as_str()).filter(|t| t.starts_with("message ")).collect();
    let unique: HashSet<&str> = texts.iter().copied().collect();
    assert_eq!((texts.len(), unique.len()), (SENT, SENT), "each message reached the helper once");
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "the helper saw them in order");
    assert!(replies.windows(2).all(|w| w[0].0 < w[1].0), "the requester saw replies in order");
    let reply_texts: HashSet<&str> = replies.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(reply_texts.len(), SENT, "each reply reached the requester once");
    // Stored: every message once, with the seq its ack gave.
    let view: Value = http
        .get(format!("{url_b}/v1/conversations/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored: Vec<&Value> =
        view["messages"].as_array().unwrap().iter().filter(|m| m["author_role"] == "requester").collect();
    for (n, seq) in &acked {
        let with_id: Vec<&&Value> = stored.iter().filter(|m| m["client_id"] == format!("m{n}")).collect();
        assert_eq!(with_id.len(), 1, "m{n} stored once");
        assert_eq!(with_id[0]["seq"].as_i64(), Some(*seq));
    }
    drop(b);
}

trait SendFrame {
    async fn send_frame(&mut self, frame: Value) -> Result<(), tokio_tungstenite::tungstenite::Error>;
}

impl SendFrame for Ws {
    async fn send_frame(&mut self, frame: Value) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        use futures_util::SinkExt;
        self.send(WsMessage::Text(frame.to_string().into())).await
    }
}
