//! `kill -9` of the real binary mid-conversation loses no acknowledged message; after a
//! restart every client resumes with `after` and sees each message once, in order.
//! Also drives the CLI as scripts do (`helper add`, `helper token`, `serve`).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};

use common::node::Node;
use common::{Ws, next_json, next_of_type, send};
use futures_util::{SinkExt, StreamExt};
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

fn ws(url: &str) -> String {
    url.replacen("http", "ws", 1)
}

async fn connect(url: String) -> Ws {
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

async fn helper_socket(url: &str, token: &str) -> Ws {
    let mut socket = connect(format!("{}/v1/helper/live", ws(url))).await;
    send(&mut socket, json!({"type": "hello", "token": token})).await;
    next_of_type(&mut socket, "ready").await;
    socket
}

/// Reads frames until the socket dies (the server was killed); returns what came.
async fn drain_until_dead(socket: &mut Ws) -> Vec<Value> {
    let mut frames = Vec::new();
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(common::PATIENCE, socket.next()).await {
        if let WsMessage::Text(text) = frame {
            frames.push(serde_json::from_str(&text).unwrap());
        }
    }
    frames
}

/// Messages after a hello, up to the `status` frame that follows the backlog.
async fn backlog(socket: &mut Ws) -> Vec<Value> {
    let mut messages = Vec::new();
    loop {
        let frame = next_json(socket).await;
        match frame["type"].as_str() {
            Some("message") => messages.push(frame),
            Some("status") => return messages,
            _ => {}
        }
    }
}

async fn kill_restart_resume(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("helpline.toml"), CONFIG).unwrap();
    let node = Node { dir: dir.path().to_path_buf(), database_url };
    let added = node.run(&["helper", "add", "alice", "--queue", "wiki-queue"]);
    assert!(added[0].contains("alice"), "{added:?}");
    let token = node.run(&["helper", "token", "alice"]).last().unwrap().clone();
    assert!(token.starts_with("hlp_"));
    let listed = node.run(&["helper", "list"]);
    assert!(listed.iter().any(|l| l.starts_with("alice") && l.contains("wiki-queue")), "{listed:?}");

    let (mut child, url) = node.serve();
    helpline::install_tls();
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{url}/v1/conversations"))
        .json(&json!({"site": "wiki", "text": "please stay with me"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    let requester_token = created["token"].as_str().unwrap().to_string();
    let claimed = http
        .post(format!("{url}/v1/helper/conversations/{id}/claim"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(claimed.status(), 200);

    let mut helper = helper_socket(&url, &token).await;
    send(&mut helper, json!({"type": "open", "conversation": id})).await;
    let live_url = format!("{}/v1/conversations/{id}/live", ws(&url));
    let mut requester = connect(live_url.clone()).await;
    send(&mut requester, json!({"type": "hello", "token": requester_token})).await;
    backlog(&mut requester).await;

    // Send a stream of messages without waiting; kill -9 once some are acknowledged.
    const SENT: usize = 3000;
    let (mut sink, mut stream) = requester.split();
    let sender = tokio::spawn(async move {
        for n in 0..SENT {
            let frame =
                json!({"type": "message", "client_id": format!("m{n}"), "text": format!("message {n}")});
            if sink.send(WsMessage::Text(frame.to_string().into())).await.is_err() {
                return n;
            }
        }
        SENT
    });
    let mut acked: BTreeMap<String, i64> = BTreeMap::new();
    let mut killed = false;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(common::PATIENCE, stream.next()).await {
        let WsMessage::Text(text) = frame else { continue };
        let frame: Value = serde_json::from_str(&text).unwrap();
        if frame["type"] == "ack" {
            acked.insert(frame["client_id"].as_str().unwrap().to_string(), frame["seq"].as_i64().unwrap());
            if acked.len() == 200 && !killed {
                child.kill().unwrap(); // SIGKILL
                killed = true;
            }
        }
    }
    child.wait().unwrap();
    assert!(killed, "the server was killed mid-stream");
    let sent = sender.await.unwrap();
    assert!(
        acked.len() >= 200 && acked.len() < SENT,
        "killed mid-stream: {} acked of {sent} sent",
        acked.len()
    );
    let helper_before: Vec<Value> =
        drain_until_dead(&mut helper).await.into_iter().filter(|f| f["type"] == "message").collect();
    let helper_last = helper_before.last().map_or(0, |m| m["seq"].as_i64().unwrap());

    // Restart on the same data; resume everyone.
    let (mut child, url) = node.serve();
    let mut requester = connect(format!("{}/v1/conversations/{id}/live", ws(&url))).await;
    send(&mut requester, json!({"type": "hello", "token": requester_token, "after": 0})).await;
    let stored = backlog(&mut requester).await;
    let seqs: Vec<i64> = stored.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order, no repeats");
    let by_client: HashMap<String, i64> = stored
        .iter()
        .filter_map(|m| Some((m["client_id"].as_str()?.to_string(), m["seq"].as_i64().unwrap())))
        .collect();
    for (client_id, seq) in &acked {
        assert_eq!(by_client.get(client_id), Some(seq), "acknowledged {client_id} survived with its seq");
    }

    // Resending everything with the same client ids stores nothing twice.
    for n in 0..SENT {
        send(
            &mut requester,
            json!({"type": "message", "client_id": format!("m{n}"), "text": format!("message {n}")}),
        )
        .await;
    }
    let mut duplicates = 0;
    let mut acks = 0;
    while acks < SENT {
        let frame = next_json(&mut requester).await;
        if frame["type"] == "ack" {
            acks += 1;
            let client_id = frame["client_id"].as_str().unwrap();
            if let Some(seq) = acked.get(client_id) {
                assert_eq!(frame["seq"].as_i64(), Some(*seq));
                assert_eq!(frame["duplicate"], true);
            }
            if frame["duplicate"] == true {
                duplicates += 1;
            }
        }
    }
    assert_eq!(duplicates, by_client.len(), "every stored message was recognised");
    let view: Value = http
        .get(format!("{url}/v1/conversations/{id}"))
        .bearer_auth(&requester_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut seen = HashSet::new();
    for m in view["messages"].as_array().unwrap() {
        if let Some(c) = m["client_id"].as_str() {
            assert!(seen.insert(c.to_string()), "{c} stored twice");
        }
    }
    assert_eq!(seen.len(), SENT, "each message once");

    // The helper resumes from the last seq it saw: the rest, once, in order.
    let mut helper = helper_socket(&url, &token).await;
    send(&mut helper, json!({"type": "open", "conversation": id, "after": helper_last})).await;
    let last_seq = view["last_seq"].as_i64().unwrap();
    let mut after: Vec<i64> = Vec::new();
    while after.last().copied().unwrap_or(helper_last) < last_seq {
        let frame = next_of_type(&mut helper, "message").await;
        after.push(frame["seq"].as_i64().unwrap());
    }
    let all: Vec<i64> = helper_before.iter().map(|m| m["seq"].as_i64().unwrap()).chain(after).collect();
    assert_eq!(all, (1..=last_seq).collect::<Vec<_>>(), "the helper saw every seq once, in order");

    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_message_sqlite() {
    kill_restart_resume(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_message_postgres() {
    let Some(schema) = common::PgSchema::create().await else {
        eprintln!("skipped on PostgreSQL: HELPLINE_TEST_POSTGRES_URL is not set");
        return;
    };
    kill_restart_resume(Some(schema.url.clone())).await;
}
