//! The client side of the protocol: the HTTP calls the bench needs, the two kinds of
//! live socket, and the server frames it reads.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt, TryStreamExt, stream};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::server::Server;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long one setup step (an HTTP call, a socket handshake) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// Concurrent HTTP calls and socket handshakes while setting up.
const SETUP_CONCURRENCY: usize = 16;

/// A conversation the bench started, with the requester's token.
#[derive(Clone, Deserialize)]
pub struct Conversation {
    pub id: String,
    pub token: String,
}

/// The frames of both sockets that the bench looks at; the rest is `Other`.
#[derive(Deserialize, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Frame {
    Message {
        /// Helper socket only.
        #[serde(default)]
        conversation: Option<String>,
        author_role: String,
        text: String,
    },
    Status {
        #[serde(default)]
        conversation: Option<String>,
    },
    Ack {},
    Error {
        code: String,
        message: String,
    },
    #[serde(other)]
    Other,
}

/// The next server frame, or `None` once the socket is closed. Cancel-safe.
pub async fn next_frame(ws: &mut Ws) -> anyhow::Result<Option<Frame>> {
    while let Some(message) = ws.next().await {
        match message? {
            Message::Text(text) => {
                return serde_json::from_str(text.as_str())
                    .map(Some)
                    .with_context(|| format!("unexpected frame {text}"));
            }
            Message::Close(_) => return Ok(None),
            _ => {}
        }
    }
    Ok(None)
}

pub async fn send_json(ws: &mut Ws, frame: &serde_json::Value) -> anyhow::Result<()> {
    ws.send(Message::text(frame.to_string())).await.context("sending a frame")
}

/// The HTTP API, as the requesters' widget and the demo helper use it.
pub struct Api {
    http: reqwest::Client,
    base: String,
    helper_token: String,
}

impl Api {
    pub fn new(server: &Server) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(STEP_TIMEOUT).build()?;
        Ok(Self { http, base: server.http_url(), helper_token: server.helper_token.clone() })
    }

    /// Starts `count` conversations on the demo site.
    pub async fn start_conversations(&self, count: usize) -> anyhow::Result<Vec<Conversation>> {
        stream::iter(0..count)
            .map(|i| self.start_conversation(i))
            .buffer_unordered(SETUP_CONCURRENCY)
            .try_collect()
            .await
    }

    async fn start_conversation(&self, i: usize) -> anyhow::Result<Conversation> {
        let body = json!({ "site": "demo", "text": format!("Load test conversation c{i}, please ignore") });
        let response = self.http.post(format!("{}/v1/conversations", self.base)).json(&body).send().await?;
        let status = response.status();
        if !status.is_success() {
            bail!("POST /v1/conversations: {status}: {}", response.text().await.unwrap_or_default());
        }
        Ok(response.json().await?)
    }

    /// The demo helper claims every conversation (needed before answering).
    pub async fn claim_all(&self, conversations: &[Conversation]) -> anyhow::Result<()> {
        stream::iter(conversations)
            .map(|c| self.claim(&c.id))
            .buffer_unordered(SETUP_CONCURRENCY)
            .try_collect()
            .await
    }

    async fn claim(&self, id: &str) -> anyhow::Result<()> {
        let response = self
            .http
            .post(format!("{}/v1/helper/conversations/{id}/claim", self.base))
            .bearer_auth(&self.helper_token)
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            bail!("claiming {id}: {status}: {}", response.text().await.unwrap_or_default());
        }
        Ok(())
    }
}

/// The server's group-commit counters, from `/metrics`.
#[derive(Clone, Copy, Default, Debug)]
pub struct CommitCounters {
    /// Transactions of the message appender.
    pub commits: f64,
    /// Messages they stored.
    pub messages: f64,
}

impl CommitCounters {
    /// Commits and messages between two readings.
    pub fn since(self, earlier: Self) -> Self {
        Self { commits: self.commits - earlier.commits, messages: self.messages - earlier.messages }
    }
}

impl Api {
    pub async fn commit_counters(&self) -> anyhow::Result<CommitCounters> {
        let text =
            self.http.get(format!("{}/metrics", self.base)).send().await?.error_for_status()?.text().await?;
        let value = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .with_context(|| format!("no {name} in /metrics"))
        };
        Ok(CommitCounters {
            commits: value("helpline_append_batch_size_count")?,
            messages: value("helpline_append_batch_size_sum")?,
        })
    }
}

pub async fn connect(
    request: tokio_tungstenite::tungstenite::handshake::client::Request,
) -> anyhow::Result<Ws> {
    // No Nagle on the bench's side: only the server's own choices should show.
    let (ws, _) = tokio_tungstenite::connect_async_with_config(request, None, true).await?;
    Ok(ws)
}

/// Which wire a socket asks for in its hello (docs/PROTOCOL.md).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Wire {
    V1,
    Lean,
}

/// A requester's live socket after `hello`, once the server sent the stored messages
/// and the status frame.
pub async fn requester_socket(
    server: &Server,
    conversation: &Conversation,
    wire: Wire,
) -> anyhow::Result<Ws> {
    tokio::time::timeout(STEP_TIMEOUT, async {
        let url = format!("{}/v1/conversations/{}/live", server.ws_url(), conversation.id);
        let mut ws = connect(url.into_client_request()?).await?;
        let mut hello = json!({ "type": "hello", "token": conversation.token, "after": 0 });
        if wire == Wire::Lean {
            hello["wire"] = json!(2);
        }
        send_json(&mut ws, &hello).await?;
        loop {
            match next_frame(&mut ws).await? {
                Some(Frame::Status { .. }) => return Ok(ws),
                Some(Frame::Error { code, message }) => bail!("hello refused: {code}: {message}"),
                Some(_) => {}
                None => bail!("the server closed the requester socket after hello"),
            }
        }
    })
    .await
    .context("requester socket handshake timed out")?
}

/// Opens one requester socket per conversation, in the given order.
pub async fn requester_sockets(server: &Server, conversations: &[Conversation]) -> anyhow::Result<Vec<Ws>> {
    stream::iter(conversations)
        .map(|c| requester_socket(server, c, Wire::V1))
        .buffered(SETUP_CONCURRENCY * 4)
        .try_collect()
        .await
}

/// A helper socket (the demo helper, authorized by header) following `conversations`:
/// returned once the server answered every `open` with its status frame.
pub async fn helper_socket(
    server: &Server,
    conversations: &[Conversation],
    wire: Wire,
) -> anyhow::Result<Ws> {
    helper_socket_with(server, &server.helper_token, conversations, wire).await
}

/// As `helper_socket`, with a token of the caller's (another node's, on one database).
pub async fn helper_socket_with(
    server: &Server,
    token: &str,
    conversations: &[Conversation],
    wire: Wire,
) -> anyhow::Result<Ws> {
    tokio::time::timeout(STEP_TIMEOUT, async {
        let mut request = format!("{}/v1/helper/live", server.ws_url()).into_client_request()?;
        let bearer = HeaderValue::from_str(&format!("Bearer {token}"))?;
        request.headers_mut().insert("authorization", bearer);
        let mut ws = connect(request).await?;
        if wire == Wire::Lean {
            send_json(&mut ws, &json!({ "type": "hello", "wire": 2 })).await?;
        }
        for c in conversations {
            send_json(&mut ws, &json!({ "type": "open", "conversation": c.id, "after": 0 })).await?;
        }
        let mut pending: HashSet<&str> = conversations.iter().map(|c| c.id.as_str()).collect();
        while !pending.is_empty() {
            match next_frame(&mut ws).await? {
                Some(Frame::Status { conversation: Some(id) }) => {
                    pending.remove(id.as_str());
                }
                Some(Frame::Error { code, message }) => bail!("open refused: {code}: {message}"),
                Some(_) => {}
                None => bail!("the server closed the helper socket while opening conversations"),
            }
        }
        Ok(ws)
    })
    .await
    .context("helper socket setup timed out")?
}

/// Helper sockets following `per_socket` conversations each, in order.
pub async fn helper_sockets(
    server: &Server,
    conversations: &[Conversation],
    per_socket: usize,
) -> anyhow::Result<Vec<Ws>> {
    stream::iter(conversations.chunks(per_socket.max(1)))
        .map(|chunk| helper_socket(server, chunk, Wire::V1))
        .buffered(SETUP_CONCURRENCY)
        .try_collect()
        .await
}

/// What the load tasks of a run returned: their results, and the errors of those that
/// failed (a socket closed or refused mid-run).
pub struct Joined<T> {
    pub results: Vec<T>,
    pub failures: Vec<String>,
}

pub async fn join_all<T>(tasks: Vec<tokio::task::JoinHandle<anyhow::Result<T>>>) -> Joined<T> {
    let mut joined = Joined { results: Vec::with_capacity(tasks.len()), failures: Vec::new() };
    for task in tasks {
        match task.await {
            Ok(Ok(result)) => joined.results.push(result),
            Ok(Err(e)) => joined.failures.push(format!("{e:#}")),
            Err(e) => joined.failures.push(format!("task failed: {e}")),
        }
    }
    joined
}

impl<T> Joined<T> {
    /// Prints the first few failures, if any.
    pub fn warn(&self, what: &str) {
        if self.failures.is_empty() {
            return;
        }
        eprintln!("warning: {} {what} failed during the run, e.g.:", self.failures.len());
        for failure in self.failures.iter().take(3) {
            eprintln!("  {failure}");
        }
    }
}
