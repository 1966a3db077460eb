//! The chaos run: two `helpline serve` nodes on one PostgreSQL, many conversations
//! talking at once; every requester's and every helper's socket is dropped at least
//! three times (requesters right after sending, before the ack), clients reconnect to
//! whichever node answers, and one node is killed (`kill -9`) and started again
//! meanwhile. A checker then counts what was lost, doubled or out of order: 0 each.
//!
//! Size: `HELPLINE_CHAOS_CONVERSATIONS` (default 1000: about half a minute on 2 cores;
//! docs/SECURITY.md gives the larger run). PostgreSQL only.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::node::Node;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const CONFIG: &str = r#"
[limits]
messages_per_minute_per_token = 1000000
conversations_per_hour_per_network = 100000
requests_per_minute_per_network = 10000000

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

/// Questions each requester asks, one at a time, each answered.
const ROUNDS: usize = 4;
/// Drops each client lives through at least.
const DROPS: usize = 3;
/// Conversations each helper socket follows.
const PER_HELPER_SOCKET: usize = 50;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The nodes' addresses as they are now (a restarted node gets a new port).
#[derive(Clone, Default)]
struct Nodes(Arc<Mutex<Vec<String>>>);

impl Nodes {
    fn pick(&self, n: usize) -> String {
        let urls = self.0.lock().unwrap();
        urls[n % urls.len()].clone()
    }
}

/// What went wrong, as the clients saw it.
#[derive(Clone, Default)]
struct Findings(Arc<Mutex<Vec<String>>>);

impl Findings {
    fn add(&self, what: String) {
        self.0.lock().unwrap().push(what);
    }
}

fn ws(url: &str) -> String {
    url.replacen("http", "ws", 1)
}

async fn send(socket: &mut Socket, frame: Value) -> bool {
    socket.send(WsMessage::Text(frame.to_string().into())).await.is_ok()
}

/// The next text frame; `None` when the socket ended.
async fn next(socket: &mut Socket) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), socket.next()).await {
            Ok(Some(Ok(WsMessage::Text(text)))) => return Some(serde_json::from_str(&text).unwrap()),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) | Err(_) => return None,
        }
    }
}

/// A requester as the widget is: resumes after the last seq shown, sends again what was
/// not acknowledged (same client id). Drops its socket right after sending its first
/// `DROPS` questions. Returns the answers' texts in the order shown.
async fn requester(nodes: Nodes, n: usize, id: String, token: String, findings: Findings) -> Vec<String> {
    let mut shown = 0i64;
    let mut round = 0;
    let mut drops = 0;
    let mut answers = Vec::new();
    let mut attempt = n;
    'connect: loop {
        attempt += 1;
        let url = format!("{}/v1/conversations/{id}/live", ws(&nodes.pick(attempt)));
        let Ok((mut socket, _)) = tokio_tungstenite::connect_async(url).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        if !send(&mut socket, json!({"type": "hello", "token": token, "after": shown, "wire": 2})).await {
            continue;
        }
        let question = format!("q{round}");
        if !send(&mut socket, json!({"type": "message", "client_id": question, "text": question})).await {
            continue;
        }
        if drops < DROPS && round == drops {
            drops += 1;
            drop(socket); // gone before the ack
            continue;
        }
        loop {
            let Some(frame) = next(&mut socket).await else { continue 'connect };
            match frame["type"].as_str() {
                Some("message") => {
                    let seq = frame["seq"].as_i64().unwrap();
                    if seq <= shown {
                        findings.add(format!("{id}: requester got seq {seq} after {shown}"));
                    }
                    shown = shown.max(seq);
                    if frame["author_role"] == "helper" {
                        let text = frame["text"].as_str().unwrap().to_string();
                        answers.push(text.clone());
                        if text == format!("re: q{round}") {
                            round += 1;
                            if round == ROUNDS {
                                return answers;
                            }
                            continue 'connect; // asks the next question (and may drop)
                        }
                    }
                }
                Some("status") => shown = shown.max(frame["last_seq"].as_i64().unwrap_or(0)),
                Some("error") => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue 'connect;
                }
                _ => {}
            }
        }
    }
}

/// What a helper socket's client saw of each conversation.
#[derive(Default)]
struct HelperView {
    last: HashMap<String, i64>,
    /// Requester messages in the order seen: (conversation, seq, text).
    seen: Vec<(String, i64, String)>,
    /// Answers acknowledged: (conversation, question).
    answered: HashSet<(String, String)>,
}

/// A helper socket following `ids`: answers every question, again after a reconnect if
/// the answer was not acknowledged; drops its socket every 700 ms until it has been
/// dropped `DROPS` times, and runs until every question of its conversations is answered.
async fn helper(nodes: Nodes, n: usize, token: String, ids: Vec<String>, findings: Findings) -> HelperView {
    let mut view =
        HelperView { last: ids.iter().map(|id| (id.clone(), 0)).collect(), ..HelperView::default() };
    let mut drops = 0;
    let mut attempt = n;
    let done = |view: &HelperView| view.answered.len() == ids.len() * ROUNDS;
    while !(done(&view) && drops >= DROPS) {
        attempt += 1;
        let mut request =
            format!("{}/v1/helper/live", ws(&nodes.pick(attempt))).into_client_request().unwrap();
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        let Ok((mut socket, _)) = tokio_tungstenite::connect_async(request).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        if !send(&mut socket, json!({"type": "hello", "wire": 2})).await {
            continue;
        }
        for id in &ids {
            send(&mut socket, json!({"type": "open", "conversation": id, "after": view.last[id]})).await;
        }
        // Answers that went out but were never acknowledged go again.
        let unanswered: Vec<(String, String)> = view
            .seen
            .iter()
            .map(|(c, _, t)| (c.clone(), t.clone()))
            .filter(|k| k.1.starts_with('q') && !view.answered.contains(k))
            .collect();
        for (c, q) in unanswered {
            send(&mut socket, json!({"type": "message", "conversation": c, "client_id": format!("re-{q}"), "text": format!("re: {q}")})).await;
        }
        let drop_at = tokio::time::Instant::now() + Duration::from_millis(700);
        loop {
            if drops < DROPS && tokio::time::Instant::now() >= drop_at {
                drops += 1;
                break; // dropped
            }
            if done(&view) && drops >= DROPS {
                break;
            }
            let frame = tokio::select! {
                frame = next(&mut socket) => frame,
                () = tokio::time::sleep_until(drop_at), if drops < DROPS => continue,
            };
            let Some(frame) = frame else { break };
            match frame["type"].as_str() {
                Some("message") if frame["author_role"] == "requester" => {
                    let c = frame["conversation"].as_str().unwrap().to_string();
                    let seq = frame["seq"].as_i64().unwrap();
                    if seq <= view.last[&c] {
                        findings.add(format!("{c}: helper got seq {seq} after {}", view.last[&c]));
                    }
                    view.last.insert(c.clone(), seq.max(view.last[&c]));
                    let text = frame["text"].as_str().unwrap().to_string();
                    view.seen.push((c.clone(), seq, text.clone()));
                    if text.starts_with('q') {
                        send(&mut socket, json!({"type": "message", "conversation": c, "client_id": format!("re-{text}"), "text": format!("re: {text}")})).await;
                    }
                }
                Some("message") => {
                    let c = frame["conversation"].as_str().unwrap().to_string();
                    let seq = frame["seq"].as_i64().unwrap();
                    view.last.insert(c.clone(), seq.max(view.last[&c]));
                }
                Some("ack") => {
                    let c = frame["conversation"].as_str().unwrap().to_string();
                    let q = frame["client_id"].as_str().unwrap().trim_start_matches("re-").to_string();
                    view.answered.insert((c, q));
                }
                Some("error") => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    break; // reconnect, which answers again what was not acknowledged
                }
                _ => {}
            }
        }
    }
    view
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_loses_doubles_and_reorders_nothing() {
    let Some(schema) = common::PgSchema::create().await else {
        eprintln!("skipped: several nodes need HELPLINE_TEST_POSTGRES_URL");
        return;
    };
    let conversations: usize =
        std::env::var("HELPLINE_CHAOS_CONVERSATIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("helpline.toml"), CONFIG).unwrap();
    let node = Node { dir: dir.path().to_path_buf(), database_url: Some(schema.url.clone()) };
    node.run(&["helper", "add", "alice", "--queue", "wiki-queue"]);
    let token = node.run(&["helper", "token", "alice"]).last().unwrap().clone();
    let mut a = node.start();
    let b = node.start();
    let url_a = a.url.clone();
    let nodes = Nodes(Arc::new(Mutex::new(vec![url_a.clone(), b.url.clone()])));

    helpline::install_tls();
    let http = reqwest::Client::new();
    let mut started = Vec::new();
    for n in 0..conversations {
        let url = nodes.pick(n);
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
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(claimed.status(), 200);
        started.push((id, created["token"].as_str().unwrap().to_string()));
    }

    let findings = Findings::default();
    let helpers: Vec<_> = started
        .chunks(PER_HELPER_SOCKET)
        .enumerate()
        .map(|(n, chunk)| {
            let ids = chunk.iter().map(|(id, _)| id.clone()).collect();
            tokio::spawn(helper(nodes.clone(), n, token.clone(), ids, findings.clone()))
        })
        .collect();
    let finished = Arc::new(AtomicUsize::new(0));
    let requesters: Vec<_> = started
        .iter()
        .enumerate()
        .map(|(n, (id, token))| {
            let (nodes, findings, finished) = (nodes.clone(), findings.clone(), Arc::clone(&finished));
            let (id, token) = (id.clone(), token.clone());
            tokio::spawn(async move {
                let answers = requester(nodes, n, id, token, findings).await;
                finished.fetch_add(1, Ordering::Relaxed);
                answers
            })
        })
        .collect();

    // A third of the way: node A dies; a second later it is started again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    while finished.load(Ordering::Relaxed) < conversations / 3 {
        assert!(tokio::time::Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill();
    nodes.0.lock().unwrap().retain(|u| *u != url_a);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let a_again = node.start();
    nodes.0.lock().unwrap().push(a_again.url.clone());

    // The checker.
    let expected: Vec<String> = (0..ROUNDS).map(|r| format!("re: q{r}")).collect();
    let (mut lost, mut doubled) = (0, 0);
    for (task, (id, _)) in requesters.into_iter().zip(&started) {
        let answers = tokio::time::timeout_at(deadline, task).await.expect("the run ends in time").unwrap();
        let unique: HashSet<&String> = answers.iter().collect();
        doubled += answers.len() - unique.len();
        lost += expected.iter().filter(|e| !unique.contains(e)).count();
        if answers != expected {
            findings.add(format!("{id}: answers {answers:?}"));
        }
    }
    let mut seen_by_conversation: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    for task in helpers {
        let view = tokio::time::timeout_at(deadline, task).await.expect("the run ends in time").unwrap();
        for (c, seq, text) in view.seen {
            seen_by_conversation.entry(c).or_default().push((seq, text));
        }
    }
    for (id, _) in &started {
        let seen = seen_by_conversation.remove(id).unwrap_or_default();
        let questions: Vec<&str> =
            seen.iter().map(|(_, t)| t.as_str()).filter(|t| t.starts_with('q')).collect();
        let unique: HashSet<&str> = questions.iter().copied().collect();
        doubled += questions.len() - unique.len();
        lost += ROUNDS - unique.len().min(ROUNDS);
        if !seen.windows(2).all(|w| w[0].0 < w[1].0) {
            findings.add(format!("{id}: the helper saw {seen:?}"));
        }
    }
    // Stored once each.
    for (id, token) in &started {
        let view: Value = http
            .get(format!("{}/v1/conversations/{id}", nodes.pick(0)))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let keys: Vec<&str> =
            view["messages"].as_array().unwrap().iter().filter_map(|m| m["client_id"].as_str()).collect();
        let unique: HashSet<&str> = keys.iter().copied().collect();
        doubled += keys.len() - unique.len();
        lost += ROUNDS - unique.len().min(ROUNDS);
    }
    let findings = findings.0.lock().unwrap().clone();
    let out_of_order = findings.iter().filter(|f| f.contains("after")).count();
    println!(
        "chaos: {conversations} conversations, lost {lost}, doubled {doubled}, out of order {out_of_order}"
    );
    assert_eq!((lost, doubled, out_of_order), (0, 0, 0), "{findings:#?}");
    assert!(findings.is_empty(), "{findings:#?}");
    drop((a_again, b));
}
