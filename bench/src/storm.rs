//! A reconnect storm: N requester sockets open, all dropped at once (a network blip,
//! a proxy restart), one message stored in every conversation while they are away, then
//! all N reconnect within a spread of S seconds — each resuming with `after` = the last
//! `seq` it had, as the widget does. Measured per client: from its connect to being
//! caught up (the missed message received, then the status frame); checked: every
//! client got exactly the message it missed, once, and nothing else. The conversations
//! wait in the queue (each reconnect works out its queue position) unless
//! `--storm-claimed`.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::client::{self, Api, Conversation, Frame, next_frame, send_json};
use crate::server::{Server, ServerOptions};
use crate::stats::{Latencies, Summary};

const SETUP_CONCURRENCY: usize = 64;
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Settings {
    pub clients: usize,
    pub spread: Duration,
    /// The demo helper claims every conversation first (active, not waiting): no queue
    /// position to work out on each reconnect.
    pub claimed: bool,
}

pub struct Outcome {
    pub clients: usize,
    /// From each client's connect to its status frame after the missed message.
    pub caught_up: Summary,
    /// From the storm's start to the last client caught up.
    pub last_caught_up: Duration,
    /// Clients that did not get exactly their one missed message (or failed).
    pub wrong: usize,
    pub failures: Vec<String>,
}

pub async fn run(options: &ServerOptions, s: &Settings) -> anyhow::Result<Outcome> {
    let server = Server::start(options).await?;
    let outcome = measure(&server, s).await;
    server.stop().await?;
    outcome
}

async fn measure(server: &Server, s: &Settings) -> anyhow::Result<Outcome> {
    let api = Api::new(server)?;
    println!("storm: starting {} conversations and their sockets…", s.clients);
    let conversations = api.start_conversations(s.clients).await?;
    if s.claimed {
        api.claim_all(&conversations).await?;
    }
    // Every socket live (past its backlog and status), then all dropped at once.
    let sockets = client::requester_sockets(server, &conversations).await?;
    drop(sockets);
    println!("storm: all {} sockets dropped; one message stored in each conversation…", s.clients);
    let http = reqwest::Client::new();
    // Each client had everything before its missed message.
    let had: Vec<i64> = stream::iter(&conversations)
        .map(|c| async { Ok::<_, anyhow::Error>(missed_message(&http, server, c).await? - 1) })
        .buffered(SETUP_CONCURRENCY)
        .try_collect()
        .await?;
    println!("storm: {} clients reconnect within {:?}…", s.clients, s.spread);
    let start = Instant::now();
    let count = conversations.len().max(1);
    let tasks: Vec<_> = conversations
        .into_iter()
        .zip(had)
        .enumerate()
        .map(|(i, (c, after))| {
            let at = start + s.spread.mul_f64(i as f64 / count as f64);
            let url = format!("{}/v1/conversations/{}/live", server.ws_url(), c.id);
            tokio::spawn(async move {
                tokio::time::sleep_until(at.into()).await;
                tokio::time::timeout(CATCH_UP_TIMEOUT, resume(url, c, after))
                    .await
                    .context("not caught up in time")?
            })
        })
        .collect();
    let joined = client::join_all(tasks).await;
    let mut caught_up = Latencies::new();
    let mut last = Duration::ZERO;
    let mut wrong = joined.failures.len();
    for (took, finished, right) in &joined.results {
        caught_up.record(*took);
        last = last.max(finished.saturating_duration_since(start));
        wrong += usize::from(!right);
    }
    Ok(Outcome {
        clients: s.clients,
        caught_up: caught_up.summary(),
        last_caught_up: last,
        wrong,
        failures: joined.failures,
    })
}

fn missed_text(id: &str) -> String {
    format!("missed while away in {id}")
}

/// Stores the message the client will miss; its `seq`.
async fn missed_message(http: &reqwest::Client, server: &Server, c: &Conversation) -> anyhow::Result<i64> {
    let response = http
        .post(format!("{}/v1/conversations/{}/messages", server.http_url(), c.id))
        .bearer_auth(&c.token)
        .json(&json!({ "client_id": "storm-1", "text": missed_text(&c.id) }))
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("storing the missed message: {}", response.status());
    }
    let stored: serde_json::Value = response.json().await?;
    stored["seq"].as_i64().context("no seq for the stored message")
}

/// Resumes after `after` (what it had): the time to its status frame, when that was,
/// and whether exactly the missed message came before it.
async fn resume(url: String, c: Conversation, after: i64) -> anyhow::Result<(Duration, Instant, bool)> {
    let started = Instant::now();
    let mut ws = client::connect(url.into_client_request()?).await?;
    send_json(&mut ws, &json!({ "type": "hello", "token": c.token, "after": after, "wire": 2 })).await?;
    let mut texts = Vec::new();
    loop {
        match next_frame(&mut ws).await? {
            Some(Frame::Message { text, .. }) => texts.push(text),
            Some(Frame::Status { .. }) => {
                let now = Instant::now();
                let right = texts == [missed_text(&c.id)];
                return Ok((now - started, now, right));
            }
            Some(Frame::Error { code, message }) => bail!("refused: {code}: {message}"),
            Some(_) => {}
            None => bail!("the server closed the socket before catching it up"),
        }
    }
}
