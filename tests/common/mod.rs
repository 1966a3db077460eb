//! Test support: start the real app on port 0 with a fresh database — SQLite in a temp
//! directory, or a fresh schema of the PostgreSQL at `HELPLINE_TEST_POSTGRES_URL` — and
//! drive it through its public interface.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use helpline::app::Server;
use helpline::clock::Clock;
use helpline::config::{CannedReply, Config, OtherTeam, QueueConfig, SiteConfig, Topic};
use helpline::domain::{AppendRequest, Appended, Helper, QueueId, QueueRole};
use helpline::state::AppState;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub mod console;
pub mod dovecot;
mod eligibility;
pub mod fingerprint;
pub mod mail_in;
pub mod node;
mod nodes;
pub mod oauth_stand_in;
pub mod openapi;
pub mod own_postgres;
mod rounds;
pub mod smtpd;
pub mod wiki;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub const ORIGIN: &str = "https://wiki.example";
pub const OTHER_ORIGIN: &str = "https://other.example";
/// Generous: a test that waits this long has failed.
pub const PATIENCE: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each scenario `async fn NAME(app: TestApp)` on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    // Each test takes a `TestApp` made by the file's own `spawn_fn(Backend)`.
    (spawn = $spawn:ident; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    let app = super::$spawn($crate::common::Backend::Sqlite).await.unwrap();
                    super::$name(app).await;
                }
                #[tokio::test]
                async fn postgres() {
                    match super::$spawn($crate::common::Backend::Postgres).await {
                        Some(app) => super::$name(app).await,
                        None => eprintln!("skipped on PostgreSQL: HELPLINE_TEST_POSTGRES_URL is not set"),
                    }
                }
            }
        )*
    };
    // Each test takes the `Backend` and starts what it needs itself.
    (backend; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
                #[tokio::test]
                async fn postgres() {
                    if $crate::common::postgres_url().is_some() {
                        super::$name($crate::common::Backend::Postgres).await;
                    } else {
                        eprintln!("skipped on PostgreSQL: HELPLINE_TEST_POSTGRES_URL is not set");
                    }
                }
            }
        )*
    };
    // Each test takes a `TestApp` with the default test configuration.
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    let app = $crate::common::TestApp::spawn($crate::common::Backend::Sqlite).await.unwrap();
                    super::$name(app).await;
                }
                #[tokio::test]
                async fn postgres() {
                    match $crate::common::TestApp::spawn($crate::common::Backend::Postgres).await {
                        Some(app) => super::$name(app).await,
                        None => eprintln!("skipped on PostgreSQL: HELPLINE_TEST_POSTGRES_URL is not set"),
                    }
                }
            }
        )*
    };
}

pub fn postgres_url() -> Option<String> {
    std::env::var("HELPLINE_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())
}

/// A fresh schema on the test PostgreSQL; dropped when this value is dropped.
pub struct PgSchema {
    pub name: String,
    pub url: String,
    base: String,
}

impl PgSchema {
    pub async fn create() -> Option<Self> {
        let base = postgres_url()?;
        let name = format!("t_{}", helpline::secrets::new_id().to_ascii_lowercase().replace(['-', '_'], ""));
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&base)
            .await
            .expect("connect to the test PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}"))).execute(&mut conn).await.unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options[search_path]={name}");
        Some(Self { name, url, base })
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (base, name) = (self.base.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                if let Ok(mut conn) = <sqlx::AnyConnection as sqlx::Connection>::connect(&base).await {
                    let drop = format!("DROP SCHEMA {name} CASCADE");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut conn).await;
                }
            });
        })
        .join();
    }
}

pub fn test_config(dir: &std::path::Path) -> Config {
    let team = |id: &str, label: &str| OtherTeam {
        id: id.into(),
        label: label.into(),
        description: format!("{label} handles these."),
        link: Some(format!("https://wiki.example/wiki/{id}")),
        email: None,
    };
    let reply = |id: &str, lang: &str, title: &str, text: &str| CannedReply {
        id: id.into(),
        lang: lang.into(),
        title: title.into(),
        text: text.into(),
        link: None,
    };
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        sqlite_synchronous: "normal".into(),
        ..Config::default()
    };
    config.limits.conversations_per_hour_per_network = 10_000;
    config.limits.messages_per_minute_per_token = 10_000;
    config.limits.requests_per_minute_per_network = 100_000;
    // Tests start many requests from one address; tests/abuse.rs switches it back on.
    config.proof_of_work.mode = helpline::config::ProofOfWorkMode::Off;
    config.queues = vec![
        QueueConfig::new("wiki-queue", "Wiki helpers"),
        QueueConfig::new("other-queue", "Other helpers"),
    ];
    config.sites = vec![
        SiteConfig {
            id: "wiki".into(),
            name: "Test Wiki".into(),
            api_url: None,
            bot: None,
            oauth: None,
            language: "en".into(),
            allowed_origins: vec![ORIGIN.into()],
            queue: "wiki-queue".into(),
            topics: vec![Topic { id: "harassment".into(), label: "Harassment".into() }],
            other_teams: vec![team("oversight", "Oversight"), team("emergency", "Emergency team")],
            emergency_contact: "emergency@wiki.example".into(),
            portlet: "p-tb".into(),
            floating_button: false,
            quick_exit_url: None,
            canned_replies: vec![
                reply("welcome", "en", "Welcome", "Hello from the help team."),
                reply("welcome", "de", "Willkommen", "Hallo vom Hilfeteam."),
                reply("policy", "de", "Richtlinie", "Siehe die Richtlinie."),
            ],
            policies: Default::default(),
            temporary_account_days: 90,
        },
        SiteConfig {
            id: "other".into(),
            name: "Other Wiki".into(),
            api_url: None,
            bot: None,
            oauth: None,
            language: "de".into(),
            allowed_origins: vec![OTHER_ORIGIN.into()],
            queue: "other-queue".into(),
            topics: vec![],
            other_teams: vec![],
            emergency_contact: "notfall@other.example".into(),
            portlet: "p-tb".into(),
            floating_button: false,
            quick_exit_url: None,
            canned_replies: vec![],
            policies: Default::default(),
            temporary_account_days: 90,
        },
    ];
    config
}

pub struct TestApp {
    pub url: String,
    pub backend: Backend,
    pub client: reqwest::Client,
    /// Helper name → API token. alice and bob are in wiki-queue, carol in other-queue.
    pub tokens: HashMap<String, String>,
    pub server: Option<Server>,
    pub dir: tempfile::TempDir,
    pub schema: Option<PgSchema>,
    /// The server's clock: `advance` lets time pass for it.
    clock: Clock,
    /// What the server was started with (another node starts with the same).
    config: Config,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path());
        let schema = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(PgSchema::create().await?),
        };
        config.database_url = schema.as_ref().map(|s| s.url.clone());
        adjust(&mut config);
        let clock = Clock::system();
        let server = Server::start_with_clock(config.clone(), clock.clone()).await.unwrap();
        let mut app = Self {
            url: server.url(),
            backend,
            client: reqwest::Client::new(),
            tokens: HashMap::new(),
            server: Some(server),
            dir,
            schema,
            clock,
            config,
        };
        for (name, queue) in [("alice", "wiki-queue"), ("bob", "wiki-queue"), ("carol", "other-queue")] {
            app.add_helper(name, &[queue], &[]).await;
            let token =
                helpline::helpers::new_api_token(&app.state().store, app.now_ms(), name).await.unwrap();
            app.tokens.insert(name.to_string(), token);
        }
        Some(app)
    }

    /// The running server's shared state, for the methods below: tests go through them
    /// (or the public interface), never into the state themselves.
    fn state(&self) -> &AppState {
        &self.server.as_ref().expect("the server runs").state
    }

    /// The server's time now (Unix ms).
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Lets time pass for the server: its clock moves forward (retention, the reopen
    /// window, waiting times and link lifetimes all read it).
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Adds a helper to these queues, speaking these languages (none: any).
    pub async fn add_helper(&self, name: &str, queues: &[&str], languages: &[&str]) -> Helper {
        let queues: Vec<QueueId> = queues.iter().map(|q| QueueId::from(*q)).collect();
        let languages: Vec<String> = languages.iter().map(|l| l.to_string()).collect();
        helpline::helpers::add(&self.state().store, self.now_ms(), name, &queues, &languages).await.unwrap()
    }

    /// The helper of this name, as stored now.
    pub async fn helper(&self, name: &str) -> Option<Helper> {
        helpline::helpers::find(&self.state().store, name).await.ok()
    }

    /// Makes a member `coordinator` (or `helper`) of a queue; the refusal's message if not.
    pub async fn set_role(&self, name: &str, queue: &str, role: &str) -> Result<(), String> {
        let role = QueueRole::parse(role).ok_or_else(|| format!("no role {role}"))?;
        helpline::helpers::set_role(&self.state().store, name, &QueueId::from(queue), role)
            .await
            .map_err(|e| e.to_string())
    }

    /// How many conversations the helper takes at once.
    pub async fn set_capacity(&self, name: &str, capacity: i64) {
        let helper = self.helper(name).await.unwrap();
        helpline::helpers::set_preferences(self.state(), &helper.id, helper.alias.is_some(), capacity)
            .await
            .unwrap();
    }

    /// Where the helper's sign-in links may be mailed; the refusal's message if not.
    pub async fn set_email(&self, name: &str, address: Option<&str>) -> Result<(), String> {
        let helper = self.helper(name).await.unwrap();
        let address = address.map(helpline::domain::Email::parse).transpose().map_err(|e| e.to_string())?;
        let state = self.state();
        helpline::helpers::set_email(&state.store, &state.secrets, &helper.id, address.as_ref())
            .await
            .map_err(|e| e.to_string())
    }

    /// The name of the helper with this address (any capitalisation), if any.
    pub async fn helper_by_email(&self, address: &str) -> Option<String> {
        let state = self.state();
        let address = helpline::domain::Email::parse(address).ok()?;
        helpline::helpers::find_by_email(&state.store, &state.secrets, &address)
            .await
            .unwrap()
            .map(|(h, _)| h.name)
    }

    /// Removes a helper the way `helpline helper remove` does; how many conversations
    /// went back to their queues.
    pub async fn remove_helper(&self, name: &str) -> usize {
        helpline::conversations::routing::remove_helper(self.state(), name).await.unwrap()
    }

    /// A one-time console sign-in link token, as `helpline helper link` makes.
    pub async fn sign_in_link(&self, name: &str) -> String {
        let state = self.state();
        let helper = self.helper(name).await.unwrap();
        helpline::helpers::signin::new_link(&state.store, &state.config.console, &helper.id, self.now_ms())
            .await
            .unwrap()
    }

    /// A link as "send me a sign-in link" makes one: `None` when `most` were made in a
    /// link lifetime already.
    pub async fn mailed_link_within(&self, name: &str, most: i64) -> Option<String> {
        let state = self.state();
        let helper = self.helper(name).await.unwrap();
        helpline::helpers::signin::new_link_within(
            &state.store,
            &state.config.console,
            &helper.id,
            self.now_ms(),
            most,
        )
        .await
        .unwrap()
    }

    /// Purges what is past retention now, as the hourly task does.
    pub async fn purge(&self) -> u64 {
        helpline::conversations::retention::purge_expired(self.state()).await.unwrap()
    }

    /// An API token for a helper added by the test (alice, bob and carol have theirs).
    pub async fn give_token(&mut self, name: &str) {
        let token = helpline::helpers::new_api_token(&self.state().store, self.now_ms(), name).await.unwrap();
        self.tokens.insert(name.to_string(), token);
    }

    /// One round of auto-offers, as the server runs each second.
    pub async fn offer_round(&self) -> usize {
        helpline::conversations::offers::round(self.state()).await.unwrap()
    }

    /// A message straight to the appender; the error's code when refused.
    pub async fn append(&self, request: AppendRequest) -> Result<Appended, &'static str> {
        self.state().appender.append(request).await.map_err(|e| e.code())
    }

    /// Opens a sealed value with the server's key (to check what is stored is sealed).
    pub fn unseal(&self, sealed: &str) -> Option<String> {
        self.state().secrets.open(sealed)
    }

    /// Rows of the database as stored, for tests about what is kept at rest (hashed,
    /// sealed, deleted). Reads only: tests change the server through its interface.
    pub async fn stored<T>(&self, sql: &'static str, binds: &[&str]) -> Vec<T>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        let mut query = sqlx::query_as::<_, T>(sql);
        for bind in binds {
            query = query.bind(bind.to_string());
        }
        query.fetch_all(&self.state().store.read).await.unwrap()
    }

    /// One number from the database, as stored (`SELECT COUNT(*) …`).
    pub async fn stored_count(&self, sql: &'static str, binds: &[&str]) -> i64 {
        let rows: Vec<(i64,)> = self.stored(sql, binds).await;
        rows.first().map_or(0, |r| r.0)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("{}{path}", self.url.replacen("http", "ws", 1))
    }

    pub async fn create(&self, body: Value) -> reqwest::Response {
        self.client.post(format!("{}/v1/conversations", self.url)).json(&body).send().await.unwrap()
    }

    /// Starts a conversation on site `wiki`; returns (id, token, body).
    pub async fn start(&self, text: &str) -> (String, String, Value) {
        let response = self.create(json!({ "site": "wiki", "lang": "en", "text": text })).await;
        assert_eq!(response.status(), 201, "creating a conversation");
        let body: Value = response.json().await.unwrap();
        (body["id"].as_str().unwrap().to_string(), body["token"].as_str().unwrap().to_string(), body)
    }

    pub async fn requester_get(&self, id: &str, token: &str, after: i64) -> reqwest::Response {
        self.client
            .get(format!("{}/v1/conversations/{id}?after={after}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn requester_post(&self, id: &str, token: &str, body: Value) -> reqwest::Response {
        self.client
            .post(format!("{}/v1/conversations/{id}/messages", self.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn helper_get(&self, helper: &str, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.url)).bearer_auth(&self.tokens[helper]).send().await.unwrap()
    }

    /// A helper's GET that must succeed, as JSON.
    pub async fn helper_json(&self, helper: &str, path: &str) -> Value {
        let response = self.helper_get(helper, path).await;
        assert_eq!(response.status(), 200, "GET {path} as {helper}");
        response.json().await.unwrap()
    }

    pub async fn helper_post(&self, helper: &str, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.tokens[helper])
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn claim(&self, helper: &str, id: &str) -> reqwest::Response {
        self.helper_post(helper, &format!("/v1/helper/conversations/{id}/claim"), json!({})).await
    }

    pub async fn helper_says(
        &self,
        helper: &str,
        id: &str,
        client_id: &str,
        text: &str,
        internal: bool,
    ) -> reqwest::Response {
        self.helper_post(
            helper,
            &format!("/v1/helper/conversations/{id}/messages"),
            json!({ "client_id": client_id, "text": text, "internal": internal }),
        )
        .await
    }

    /// Everything the requester can read, over HTTP.
    pub async fn requester_view(&self, id: &str, token: &str) -> Value {
        let response = self.requester_get(id, token, 0).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// The requester's live socket, after the hello frame.
    pub async fn requester_socket(&self, id: &str, token: &str, after: i64) -> Ws {
        let url = self.ws_url(&format!("/v1/conversations/{id}/live"));
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        send(&mut ws, json!({ "type": "hello", "token": token, "after": after })).await;
        ws
    }

    pub async fn helper_socket(&self, helper: &str) -> Ws {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = self.ws_url("/v1/helper/live").into_client_request().unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {}", self.tokens[helper]).parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let ready = next_of_type(&mut ws, "ready").await;
        assert_eq!(ready["helper"], helper);
        ws
    }
}

pub async fn send(ws: &mut Ws, frame: Value) {
    ws.send(WsMessage::Text(frame.to_string().into())).await.unwrap();
}

/// The next JSON frame (pings are answered by the library and skipped).
pub async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let frame = tokio::time::timeout(PATIENCE, ws.next()).await.expect("a frame in time");
        match frame.expect("socket open").expect("frame") {
            WsMessage::Text(text) => return serde_json::from_str(&text).unwrap(),
            WsMessage::Close(close) => panic!("socket closed: {close:?}"),
            _ => {}
        }
    }
}

/// Skips frames until one of type `kind`.
pub async fn next_of_type(ws: &mut Ws, kind: &str) -> Value {
    next_matching(ws, |f| f["type"] == kind).await
}

/// Skips frames until `pred` holds.
pub async fn next_matching(ws: &mut Ws, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        let frame = next_json(ws).await;
        if pred(&frame) {
            return frame;
        }
    }
}

/// Waits for the server to close the socket; returns (code, reason).
pub async fn closed_with(ws: &mut Ws) -> (u16, String) {
    loop {
        let frame = tokio::time::timeout(PATIENCE, ws.next()).await.expect("close in time");
        match frame {
            Some(Ok(WsMessage::Close(Some(close)))) => return (close.code.into(), close.reason.to_string()),
            Some(Ok(WsMessage::Close(None))) | None => return (1005, String::new()),
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("socket error instead of a close frame: {e}"),
        }
    }
}

/// Waits until `probe` gives something (or a test's patience runs out, which fails it),
/// looking again every 50 ms: for what the server does in the background.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: not within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["error"]["code"].as_str().unwrap_or("").to_string())
}
