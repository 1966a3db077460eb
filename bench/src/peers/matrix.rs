//! Matrix Synapse as a peer: `matrix-synapse` from PyPI (in a virtualenv, see
//! scripts/bench-peers), SQLite, every rate limit lifted, presence off. Each pair is a
//! private room of two users; a message is `PUT …/send/m.room.message/{txn}`, receiving
//! is the `/sync` long poll — what every Matrix client does.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::peers::traffic::Traffic;
use crate::stats::Window;

const START_TIMEOUT: Duration = Duration::from_secs(120);
const SETUP_CONCURRENCY: usize = 8;
/// Only room timelines: no presence, account data or receipts in the sync bodies.
const FILTER: &str = r#"{"presence":{"not_types":["*"]},"account_data":{"not_types":["*"]},"room":{"ephemeral":{"not_types":["*"]},"account_data":{"not_types":["*"]},"state":{"lazy_load_members":true},"timeline":{"limit":100}}}"#;

pub struct Synapse {
    child: Child,
    pid: u32,
    base: String,
    dir: PathBuf,
}

/// One user's connection: its room, its place in the sync stream, texts taken from a
/// sync body and not handed out yet.
pub struct MatrixLink {
    http: reqwest::Client,
    base: String,
    token: String,
    user: String,
    room: String,
    since: String,
    txn: u64,
    pending: VecDeque<String>,
}

impl Synapse {
    /// Starts Synapse with `python` (the virtualenv's interpreter).
    pub async fn start(python: &Path) -> anyhow::Result<Self> {
        // Absolute, not canonical: the virtualenv's `python` is a symlink that must stay one.
        let python = &std::path::absolute(python)?;
        let port = free_port()?;
        let dir = std::env::temp_dir().join(format!("helpline-bench-synapse-{}-{port}", std::process::id()));
        std::fs::create_dir_all(dir.join("media"))?;
        let config = dir.join("homeserver.yaml");
        std::fs::write(&config, configuration(port, &dir))?;
        std::fs::write(dir.join("log.yaml"), LOG_CONFIG)?;
        let keys = Command::new(python)
            .args(["-m", "synapse.app.homeserver", "--generate-keys", "-c"])
            .arg(&config)
            .output()
            .await
            .with_context(|| format!("running {} -m synapse.app.homeserver", python.display()))?;
        if !keys.status.success() {
            bail!("synapse --generate-keys: {}", String::from_utf8_lossy(&keys.stderr));
        }
        let child = Command::new(python)
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(&config)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting synapse")?;
        let pid = child.id().context("synapse exited at once")?;
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            let up = http.get(format!("{base}/_matrix/client/versions")).send().await;
            if up.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                bail!("synapse did not answer on {base} in time");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(Self { child, pid, base, dir })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `count` rooms of two users: the requester's end and the helper's of each.
    pub async fn pairs(&self, count: usize) -> anyhow::Result<Vec<(MatrixLink, MatrixLink)>> {
        stream::iter(0..count).map(|i| self.pair(i)).buffered(SETUP_CONCURRENCY).try_collect().await
    }

    async fn pair(&self, i: usize) -> anyhow::Result<(MatrixLink, MatrixLink)> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
        let (requester, requester_token) = register(&http, &self.base, &format!("r{i}")).await?;
        let (helper, helper_token) = register(&http, &self.base, &format!("h{i}")).await?;
        let created: Value = call(
            http.post(format!("{}/_matrix/client/v3/createRoom", self.base))
                .bearer_auth(&requester_token)
                .json(&json!({ "preset": "private_chat", "invite": [helper] })),
        )
        .await?;
        let room = created["room_id"].as_str().context("createRoom gave no room_id")?.to_string();
        call(
            http.post(format!("{}/_matrix/client/v3/join/{}", self.base, encode(&room)))
                .bearer_auth(&helper_token)
                .json(&json!({})),
        )
        .await?;
        let link = |user: String, token: String| MatrixLink {
            http: http.clone(),
            base: self.base.clone(),
            token,
            user,
            room: room.clone(),
            since: String::new(),
            txn: 0,
            pending: VecDeque::new(),
        };
        let mut requester = link(requester, requester_token);
        let mut helper = link(helper, helper_token);
        requester.catch_up().await?;
        helper.catch_up().await?;
        Ok((requester, helper))
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.child.kill().await;
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(())
    }
}

impl MatrixLink {
    /// Sends a text into the room; returns the bytes of the exchange.
    pub async fn send(&mut self, text: &str) -> anyhow::Result<usize> {
        self.txn += 1;
        let url = format!(
            "{}/_matrix/client/v3/rooms/{}/send/m.room.message/t{}",
            self.base,
            encode(&self.room),
            self.txn
        );
        let body = json!({ "msgtype": "m.text", "body": text }).to_string();
        let sent = body.len();
        let response = self
            .http
            .put(url)
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let answer = response.bytes().await?;
        if !status.is_success() {
            bail!("synapse refused a message: {status}: {}", String::from_utf8_lossy(&answer));
        }
        Ok(sent + answer.len())
    }

    /// The next text from the other user, by long-polling `/sync` (each poll one frame).
    pub async fn receive(&mut self, window: Window, traffic: &mut Traffic) -> anyhow::Result<Option<String>> {
        loop {
            if let Some(text) = self.pending.pop_front() {
                return Ok(Some(text));
            }
            let bytes = self.sync(30_000).await?;
            if window.contains(Instant::now()) {
                traffic.add(Traffic { frames: 1, bytes: bytes as u64 });
            }
        }
    }

    /// Skips everything up to now (the room's creation).
    async fn catch_up(&mut self) -> anyhow::Result<()> {
        self.sync(0).await?;
        self.pending.clear();
        Ok(())
    }

    async fn sync(&mut self, timeout_ms: u64) -> anyhow::Result<usize> {
        let mut query = vec![("timeout", timeout_ms.to_string()), ("filter", FILTER.to_string())];
        if !self.since.is_empty() {
            query.push(("since", self.since.clone()));
        }
        let url = reqwest::Url::parse_with_params(&format!("{}/_matrix/client/v3/sync", self.base), &query)?;
        let response = self.http.get(url).bearer_auth(&self.token).send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        if !status.is_success() {
            bail!("synapse /sync: {status}: {}", String::from_utf8_lossy(&body));
        }
        let value: Value = serde_json::from_slice(&body)?;
        self.since = value["next_batch"].as_str().context("sync without next_batch")?.to_string();
        if let Some(events) = value["rooms"]["join"][&self.room]["timeline"]["events"].as_array() {
            for event in events {
                if event["type"] == "m.room.message"
                    && event["sender"] != self.user.as_str()
                    && let Some(text) = event["content"]["body"].as_str()
                {
                    self.pending.push_back(text.to_string());
                }
            }
        }
        Ok(body.len())
    }
}

/// Registers `name` (open registration, the dummy flow): its full id and access token.
async fn register(http: &reqwest::Client, base: &str, name: &str) -> anyhow::Result<(String, String)> {
    let body =
        json!({ "username": name, "password": "bench-password-1", "auth": { "type": "m.login.dummy" } });
    let answer: Value = call(http.post(format!("{base}/_matrix/client/v3/register")).json(&body)).await?;
    let user = answer["user_id"].as_str().context("register gave no user_id")?.to_string();
    let token = answer["access_token"].as_str().context("register gave no access_token")?.to_string();
    Ok((user, token))
}

async fn call(request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let response = request.send().await?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("synapse: {status}: {text}");
    }
    Ok(serde_json::from_str(&text)?)
}

/// Room ids (`!abc:server`) in a path.
fn encode(id: &str) -> String {
    id.replace('!', "%21").replace(':', "%3A")
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

const LOG_CONFIG: &str = "version: 1
formatters:
  plain:
    format: '%(asctime)s %(levelname)s %(name)s %(message)s'
handlers:
  console:
    class: logging.StreamHandler
    formatter: plain
root:
  level: WARNING
  handlers: [console]
disable_existing_loggers: false
";

/// Every rate limit lifted, presence off, open registration on loopback only.
fn configuration(port: u16, dir: &Path) -> String {
    let unlimited = "{per_second: 1000000, burst_count: 1000000}";
    format!(
        "server_name: bench.invalid
pid_file: {dir}/homeserver.pid
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: {dir}/homeserver.db
log_config: {dir}/log.yaml
media_store_path: {dir}/media
signing_key_path: {dir}/signing.key
report_stats: false
enable_registration: true
enable_registration_without_verification: true
trusted_key_servers: []
suppress_key_server_warning: true
presence:
  enabled: false
rc_message: {unlimited}
rc_registration: {unlimited}
rc_room_creation: {unlimited}
rc_login:
  address: {unlimited}
  account: {unlimited}
  failed_attempts: {unlimited}
rc_joins:
  local: {unlimited}
  remote: {unlimited}
rc_joins_per_room: {unlimited}
rc_invites:
  per_room: {unlimited}
  per_user: {unlimited}
  per_issuer: {unlimited}
rc_presence:
  per_user: {unlimited}
",
        dir = dir.display()
    )
}
