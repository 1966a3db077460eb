//! PostgreSQL restarted under load: `helpline serve` does not exit; its clients see
//! their sockets end or their messages refused while the database is away, reconnect
//! and send again as the widget does, and once it is back every message is stored once
//! and seen once, in order, on both sides. Runs against a PostgreSQL of the test's own
//! (tests/common/own_postgres.rs), which it stops and starts.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::node::Node;
use common::own_postgres::OwnPostgres;
use common::{Ws, next_of_type, send};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const CONFIG: &str = r#"
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

const CONVERSATIONS: usize = 20;
/// Messages each requester sends, one at a time, each once the last was answered and
/// `PACE` later (so that the load lasts through the restarts).
const ROUNDS: usize = 100;
const PACE: Duration = Duration::from_millis(50);

type Seen = Arc<Mutex<Vec<(String, i64, String)>>>;

fn ws(url: &str) -> String {
    url.replacen("http", "ws", 1)
}

/// What one requester lived through.
#[derive(Default)]
struct Requester {
    replies: Vec<(i64, String)>,
    disruptions: usize,
}

/// Sends `ROUNDS` messages one after another, each once its answer came; on a lost
/// socket or a refusal it reconnects (after what it has shown) and sends again with the
/// same client id, as the widget does.
async fn requester(url: String, id: String, token: String) -> Requester {
    let mut me = Requester::default();
    let mut shown = 0i64;
    let mut round = 0;
    'connect: while round < ROUNDS {
        let socket =
            tokio_tungstenite::connect_async(format!("{}/v1/conversations/{id}/live", ws(&url))).await;
        let Ok((mut socket, _)) = socket else {
            me.disruptions += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let hello = json!({"type": "hello", "token": token, "after": shown, "wire": 2});
        if socket.send(WsMessage::Text(hello.to_string().into())).await.is_err() {
            continue;
        }
        let mut sent_for = None;
        let mut asked_at = tokio::time::Instant::now();
        loop {
            assert!(
                asked_at.elapsed() < Duration::from_secs(30),
                "{id}: no answer to q{round} in 30 s (shown {shown})"
            );
            if sent_for != Some(round) {
                let text = format!("q{round}");
                let frame = json!({"type": "message", "client_id": text, "text": text});
                if socket.send(WsMessage::Text(frame.to_string().into())).await.is_err() {
                    me.disruptions += 1;
                    continue 'connect;
                }
                sent_for = Some(round);
                asked_at = tokio::time::Instant::now();
            }
            let frame = match tokio::time::timeout(Duration::from_secs(30), socket.next()).await {
                Ok(Some(Ok(WsMessage::Text(text)))) => serde_json::from_str::<Value>(&text).unwrap(),
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(_)) | None) => {
                    me.disruptions += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue 'connect;
                }
                Err(_) => panic!("{id}: nothing for 30 s in round {round}"),
            };
            match frame["type"].as_str() {
                Some("message") => {
                    let seq = frame["seq"].as_i64().unwrap();
                    assert!(seq > shown, "{id}: each message once, in order ({seq} after {shown})");
                    shown = seq;
                    if frame["author_role"] == "helper" {
                        let text = frame["text"].as_str().unwrap().to_string();
                        me.replies.push((seq, text.clone()));
                        if text == format!("re: q{round}") {
                            round += 1;
                            if round == ROUNDS {
                                return me;
                            }
                            tokio::time::sleep(PACE).await;
                        }
                    }
                }
                Some("status") => shown = shown.max(frame["last_seq"].as_i64().unwrap_or(0)),
                Some("error") => {
                    // Refused while the database is away: send it again a little later.
                    me.disruptions += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    sent_for = None;
                }
                _ => {}
            }
        }
    }
    me
}

/// The helper: follows every conversation and answers each question; every second it
/// sends again the answers not yet acknowledged (same client ids: stored once), and it
/// reconnects and reopens after what it saw when its socket ends. Runs until stopped;
/// what it saw is in `seen`.
async fn helper(url: String, token: String, ids: Vec<String>, seen: Seen) {
    let mut last: std::collections::HashMap<String, i64> = ids.iter().map(|id| (id.clone(), 0)).collect();
    let mut acknowledged: HashSet<(String, String)> = HashSet::new();
    let answer = |id: &str, question: &str| json!({"type": "message", "conversation": id, "client_id": format!("re-{question}"), "text": format!("re: {question}")});
    'connect: loop {
        let Ok((mut socket, _)) =
            tokio_tungstenite::connect_async(format!("{}/v1/helper/live", ws(&url))).await
        else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let socket: &mut Ws = &mut socket;
        send(socket, json!({"type": "hello", "token": token, "wire": 2})).await;
        if tokio::time::timeout(Duration::from_secs(5), next_of_type(socket, "ready")).await.is_err() {
            continue;
        }
        for id in &ids {
            send(socket, json!({"type": "open", "conversation": id, "after": last[id]})).await;
        }
        let mut resend = tokio::time::interval(Duration::from_secs(1));
        loop {
            let next = tokio::select! {
                next = socket.next() => next,
                _ = resend.tick() => {
                    let due: Vec<(String, String)> = seen
                        .lock()
                        .unwrap()
                        .iter()
                        .filter(|(_, _, t)| t.starts_with('q'))
                        .map(|(id, _, t)| (id.clone(), t.clone()))
                        .filter(|k| !acknowledged.contains(k))
                        .collect();
                    for (id, question) in due {
                        let _ = socket.send(WsMessage::Text(answer(&id, &question).to_string().into())).await;
                    }
                    continue;
                }
            };
            let frame = match next {
                Some(Ok(WsMessage::Text(text))) => serde_json::from_str::<Value>(&text).unwrap(),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue 'connect;
                }
            };
            match frame["type"].as_str() {
                Some("message") => {
                    let id = frame["conversation"].as_str().unwrap().to_string();
                    let seq = frame["seq"].as_i64().unwrap();
                    // Checked at the end (a panic here would go unseen): once each, in order.
                    last.insert(id.clone(), seq);
                    if frame["author_role"] == "requester" {
                        let text = frame["text"].as_str().unwrap().to_string();
                        seen.lock().unwrap().push((id.clone(), seq, text.clone()));
                        if text.starts_with('q') {
                            let _ = socket.send(WsMessage::Text(answer(&id, &text).to_string().into())).await;
                        }
                    }
                }
                Some("ack") => {
                    let id = frame["conversation"].as_str().unwrap().to_string();
                    let question = frame["client_id"].as_str().unwrap().trim_start_matches("re-").to_string();
                    acknowledged.insert((id, question));
                }
                _ => {}
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load_loses_nothing() {
    let Some(postgres) = OwnPostgres::start() else {
        eprintln!("skipped: no PostgreSQL server binaries under /usr/lib/postgresql");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("helpline.toml"), CONFIG).unwrap();
    let node = Node { dir: dir.path().to_path_buf(), database_url: Some(postgres.url()) };
    node.run(&["helper", "add", "alice", "--queue", "wiki-queue"]);
    let helper_token = node.run(&["helper", "token", "alice"]).last().unwrap().clone();
    let mut server = node.start();
    let url = server.url.clone();
    helpline::install_tls();
    let http = reqwest::Client::new();
    let mut conversations = Vec::new();
    for n in 0..CONVERSATIONS {
        let created: Value = http
            .post(format!("{url}/v1/conversations"))
            .json(&json!({"site": "wiki", "text": format!("conversation {n}")}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["id"].as_str().unwrap().to_string();
        let claimed = http
            .post(format!("{url}/v1/helper/conversations/{id}/claim"))
            .bearer_auth(&helper_token)
            .send()
            .await
            .unwrap();
        assert_eq!(claimed.status(), 200);
        conversations.push((id, created["token"].as_str().unwrap().to_string()));
    }
    let ids: Vec<String> = conversations.iter().map(|(id, _)| id.clone()).collect();
    let seen: Seen = Arc::default();
    let helper = tokio::spawn(helper(url.clone(), helper_token, ids, Arc::clone(&seen)));
    let requesters: Vec<_> = conversations
        .iter()
        .map(|(id, token)| tokio::spawn(requester(url.clone(), id.clone(), token.clone())))
        .collect();

    // Under way: the database goes away for longer than a request waits for a
    // connection (10 s: messages are refused), then for a second (ridden out).
    tokio::time::sleep(Duration::from_secs(1)).await;
    for away in [Duration::from_secs(12), Duration::from_secs(1)] {
        postgres.pg_ctl("stop");
        tokio::time::sleep(away).await;
        assert!(server.runs(), "the server runs on without its database");
        postgres.pg_ctl("start");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    let mut disruptions = 0;
    for (task, (id, _)) in requesters.into_iter().zip(&conversations) {
        let lived = tokio::time::timeout(Duration::from_secs(120), task).await.unwrap().unwrap();
        disruptions += lived.disruptions;
        let texts: Vec<&str> = lived.replies.iter().map(|(_, t)| t.as_str()).collect();
        let expected: Vec<String> = (0..ROUNDS).map(|r| format!("re: q{r}")).collect();
        assert_eq!(texts, expected, "{id}: every answer once, in order");
    }
    assert!(disruptions > 0, "the restarts were felt by the clients");
    helper.abort();
    let seen = seen.lock().unwrap().clone();
    let unique: HashSet<(&str, &str)> = seen.iter().map(|(id, _, t)| (id.as_str(), t.as_str())).collect();
    assert_eq!(unique.len(), seen.len(), "the helper saw no message twice");
    let questions = seen.iter().filter(|(_, _, t)| t.starts_with('q')).count();
    assert_eq!(questions, CONVERSATIONS * ROUNDS, "every question reached the helper");
    for (id, _) in &conversations {
        let seqs: Vec<i64> = seen.iter().filter(|(c, _, _)| c == id).map(|(_, s, _)| *s).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{id}: the helper saw them in order");
    }

    // Stored once each.
    for (id, token) in &conversations {
        let view: Value = http
            .get(format!("{url}/v1/conversations/{id}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut keys = HashSet::new();
        for m in view["messages"].as_array().unwrap() {
            if let Some(c) = m["client_id"].as_str() {
                assert!(keys.insert(c.to_string()), "{id}: {c} stored twice");
            }
        }
        assert_eq!(keys.len(), ROUNDS, "{id}: every question stored");
    }
    assert!(server.runs(), "the server never exited");
    let ready = http.get(format!("{url}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let metrics = http.get(format!("{url}/metrics")).send().await.unwrap().text().await.unwrap();
    let resyncs: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("helpline_cluster_resyncs_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no resync counter in {metrics}"));
    assert!(resyncs >= 1.0, "the node listened again after the restarts");
}
