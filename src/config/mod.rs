//! Settings: built-in defaults, then `helpline.toml` (or `--config FILE`), then
//! `HELPLINE_*` environment variables (nested keys with `__`, e.g.
//! `HELPLINE_LIMITS__MESSAGE_CHARS=2000`), then command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

mod eligibility;
mod mail;
mod sites;
mod validate;

pub use eligibility::{Approval, EligibilityRules};
pub use mail::{ImapConfig, ImapSecurity, MailConfig};

pub use sites::{
    BotConfig, CATALOG_TEXT_CHARS, CATALOG_TITLE_CHARS, CannedReply, OtherTeam, QueueConfig, SiteConfig,
    Topic,
};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address the HTTP server binds to.
    pub listen: SocketAddr,
    /// Where the SQLite database and the generated secret key live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// The URL people reach this server at (for printed links); defaults to `http://LISTEN`.
    pub public_url: Option<String>,
    /// 64 hex characters. When absent, one is generated once into `data_dir/secret.key`.
    pub secret_key: Option<String>,
    /// SQLite `synchronous` setting: `full` (survives power loss) or `normal` (survives a
    /// crash of the process, not of the machine).
    pub sqlite_synchronous: String,
    /// Closed conversations are purged this many days after closing.
    pub retention_days: u32,
    /// A requester may come back to a closed conversation for this many days.
    pub reopen_days: u32,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    pub limits: Limits,
    pub proof_of_work: ProofOfWorkConfig,
    /// Outbound mail. Without it the server offers chat only.
    pub mail: Option<MailConfig>,
    pub console: ConsoleConfig,
    pub routing: RoutingConfig,
    pub wiki: WikiSettings,
    pub sites: Vec<SiteConfig>,
    pub queues: Vec<QueueConfig>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// The first message (the request itself) is capped at this many characters.
    pub first_message_chars: usize,
    /// Later messages, from either side.
    pub message_chars: usize,
    /// Largest accepted HTTP request body.
    pub body_bytes: usize,
    /// Largest accepted WebSocket frame.
    pub frame_bytes: usize,
    /// New conversations per requester network per hour.
    pub conversations_per_hour_per_network: u32,
    /// Messages per requester token per minute.
    pub messages_per_minute_per_token: u32,
    /// Requests of any kind per requester network per minute.
    pub requests_per_minute_per_network: u32,
    /// A connection must send its whole request head within this time (slow clients,
    /// "slowloris"); a keep-alive connection idle this long is closed.
    pub header_read_seconds: u64,
    /// A request, its body included, is answered within this time, or gets `408`.
    pub request_seconds: u64,
}

/// A proof of work (ALTCHA's format) asked of new requests while many wait: a flood of
/// requests from many networks costs its sender CPU time, a person a second or two.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ProofOfWorkConfig {
    /// `auto`: asked while `waiting_above` or more requests wait, until fewer than half
    /// that wait; `always`; or `off`.
    pub mode: ProofOfWorkMode,
    pub waiting_above: u32,
    /// The challenge's search space: a person's browser tries half of it on average.
    pub max_number: u64,
    /// A challenge must be solved and used within this time.
    pub expires_seconds: u64,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ProofOfWorkMode {
    Auto,
    Always,
    Off,
}

impl Default for ProofOfWorkConfig {
    fn default() -> Self {
        Self { mode: ProofOfWorkMode::Auto, waiting_above: 30, max_number: 100_000, expires_seconds: 600 }
    }
}

/// How requests find helpers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RoutingConfig {
    /// A claimed conversation whose owner has had no live socket (console or client) for
    /// this many seconds goes back to the queue, with a note to the requester. 0: never.
    pub owner_offline_seconds: u64,
    /// Offer each waiting conversation to the least-loaded available helper (online, not
    /// away, in its queue and language, under their capacity), one helper at a time.
    /// Anyone may still take it from the queue meanwhile.
    pub auto_offer: bool,
    /// How long an offer waits for "Take it" or "Not now" before the next helper's turn.
    pub offer_seconds: u64,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        Self { owner_offline_seconds: 600, auto_offer: false, offer_seconds: 60 }
    }
}

/// How Helpline talks to the sites' wikis.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct WikiSettings {
    /// Who runs this server, for the User-Agent the wikis see (an e-mail address or a
    /// page). Defaults to `mail.from`.
    pub contact: Option<String>,
    /// Signed-in helpers' eligibility is checked again this often (minutes).
    pub recheck_minutes: u32,
}

impl Default for WikiSettings {
    fn default() -> Self {
        Self { contact: None, recheck_minutes: 5 }
    }
}

/// The helper console's sign-in and sessions.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ConsoleConfig {
    /// Mark the session cookie `Secure` (sent over HTTPS only). Turn off only for a local
    /// demo on plain HTTP.
    pub secure_cookies: bool,
    /// A session ends this many hours after sign-in.
    pub session_hours: u32,
    /// A sign-in link works once, for this many minutes.
    pub link_minutes: u32,
    /// Sign-in with MediaWiki OAuth 2.0, besides links.
    pub oauth: Option<OAuthConfig>,
}

/// A MediaWiki OAuth 2.0 client (Special:OAuthConsumerRegistration): callback URL
/// `PUBLIC_URL/console/oauth/callback`, grant "authorization code", no extra rights.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OAuthConfig {
    /// `wikimedia` (meta.wikimedia.org) fills in the three URLs.
    #[serde(default)]
    pub provider: Option<String>,
    pub client_id: String,
    /// For confidential clients; public clients rely on PKCE alone.
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub authorize_url: Option<String>,
    #[serde(default)]
    pub token_url: Option<String>,
    #[serde(default)]
    pub profile_url: Option<String>,
}

const WIKIMEDIA_OAUTH: &str = "https://meta.wikimedia.org/w/rest.php/oauth2";

impl OAuthConfig {
    fn url(&self, given: Option<&String>, path: &str) -> String {
        given.cloned().unwrap_or_else(|| format!("{WIKIMEDIA_OAUTH}/{path}"))
    }
    pub fn authorize_url(&self) -> String {
        self.url(self.authorize_url.as_ref(), "authorize")
    }
    pub fn token_url(&self) -> String {
        self.url(self.token_url.as_ref(), "access_token")
    }
    pub fn profile_url(&self) -> String {
        self.url(self.profile_url.as_ref(), "resource/profile")
    }
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self { secure_cookies: true, session_hours: 12, link_minutes: 15, oauth: None }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            database_url: None,
            public_url: None,
            secret_key: None,
            sqlite_synchronous: "full".into(),
            retention_days: 90,
            reopen_days: 14,
            trust_forwarded_for: false,
            limits: Limits::default(),
            proof_of_work: ProofOfWorkConfig::default(),
            mail: None,
            console: ConsoleConfig::default(),
            routing: RoutingConfig::default(),
            sites: Vec::new(),
            queues: Vec::new(),
            wiki: WikiSettings::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            first_message_chars: 1000,
            message_chars: 2000,
            body_bytes: 32 * 1024,
            frame_bytes: 16 * 1024,
            conversations_per_hour_per_network: 10,
            messages_per_minute_per_token: 30,
            requests_per_minute_per_network: 120,
            header_read_seconds: 10,
            request_seconds: 30,
        }
    }
}

/// Flags from the command line that override the file and the environment.
#[derive(Default, Clone, Debug)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
}

/// Where a server records the address it serves at (see `Config::record_served_url`).
const SERVED_URL_FILE: &str = "served-url";

impl Config {
    pub fn load(overrides: &Overrides) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match &overrides.config_file {
            Some(path) => {
                if !path.exists() {
                    bail!("config file {} does not exist", path.display());
                }
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("helpline.toml")),
        }
        figment = figment.merge(Env::prefixed("HELPLINE_").split("__").ignore(&["test_postgres_url"]));
        let mut config: Config = figment.extract().context("reading the configuration")?;
        if let Some(listen) = overrides.listen {
            config.listen = listen;
        }
        if let Some(dir) = &overrides.data_dir {
            config.data_dir.clone_from(dir);
        }
        config.validate()?;
        Ok(config)
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", self.data_dir.join("helpline.db").display()))
    }

    /// Remembers, in the data directory, the address this server serves at, so that the
    /// commands run beside it (`helper link`, `helper add`) print links that reach it.
    pub fn record_served_url(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating {}", self.data_dir.display()))?;
        let path = self.data_dir.join(SERVED_URL_FILE);
        std::fs::write(&path, format!("{}\n", self.public_url()))
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Without a `public_url`: the address the server of this data directory last
    /// served at, if it recorded one.
    pub fn adopt_served_url(&mut self) {
        if self.public_url.is_some() {
            return;
        }
        let recorded = std::fs::read_to_string(self.data_dir.join(SERVED_URL_FILE)).ok();
        let url = recorded
            .as_deref()
            .map(str::trim)
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"));
        self.public_url = url.map(str::to_string);
    }

    /// The address people reach this server at, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_string()
    }

    pub fn site<Q: AsRef<str> + ?Sized>(&self, id: &Q) -> Option<&SiteConfig> {
        self.sites.iter().find(|s| s.id.as_str() == id.as_ref())
    }

    pub fn queue<Q: AsRef<str> + ?Sized>(&self, id: &Q) -> Option<&QueueConfig> {
        self.queues.iter().find(|q| q.id.as_str() == id.as_ref())
    }

    /// A queue's name, or its id when the configuration has no such queue (any more).
    pub fn queue_name<Q: AsRef<str> + ?Sized>(&self, id: &Q) -> String {
        self.queue(id).map_or_else(|| id.as_ref().to_string(), |q| q.name.clone())
    }

    /// The secret that keys token hashes of networks and seals e-mail addresses.
    pub fn load_or_create_secret(&self) -> anyhow::Result<[u8; 32]> {
        if let Some(hex_key) = &self.secret_key {
            return parse_secret(hex_key).context("secret_key");
        }
        let path = self.data_dir.join("secret.key");
        if path.exists() {
            let text =
                std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            return parse_secret(text.trim()).with_context(|| path.display().to_string());
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating {}", self.data_dir.display()))?;
        let key: [u8; 32] = rand::random();
        write_private(&path, &hex::encode(key))?;
        Ok(key)
    }
}

fn parse_secret(hex_key: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = hex::decode(hex_key).context("must be hex")?;
    bytes.try_into().map_err(|_| anyhow::anyhow!("must be 32 bytes (64 hex characters)"))
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_toml(text: &str) -> anyhow::Result<Config> {
        let config: Config =
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(text)).extract()?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn the_documented_example_is_valid() {
        let config = from_toml(include_str!("../../helpline.example.toml")).unwrap();
        assert_eq!(config.sites.len(), 2);
        assert_eq!(config.site("dewiki").unwrap().queue, "global");
        assert_eq!(config.site("enwiki").unwrap().policies["civility"], "Wikipedia:Civility");
        assert_eq!(config.queue("global").unwrap().languages, ["de", "he", "fr"]);
        assert_eq!(config.limits.first_message_chars, 1000);
        assert_eq!(config.mail.unwrap().max_attempts, 8);
    }

    #[test]
    fn mistakes_fail_at_start_with_a_clear_message() {
        let site = |queue: &str, origin: &str| {
            format!(
                "[[queues]]\nid = \"q\"\nname = \"Q\"\n[[sites]]\nid = \"s\"\nname = \"S\"\nlanguage = \"en\"\n\
                 queue = \"{queue}\"\nallowed_origins = [\"{origin}\"]\nemergency_contact = \"112\"\n"
            )
        };
        assert!(from_toml(&site("q", "https://a.example")).is_ok());
        let err = from_toml(&site("nope", "https://a.example")).unwrap_err().to_string();
        assert!(err.contains("queue nope"), "{err}");
        let err = from_toml(&site("q", "https://a.example/")).unwrap_err().to_string();
        assert!(err.contains("allowed origin"), "{err}");
        let twice = format!(
            "{}[[sites.canned_replies]]\nid = \"hi\"\nlang = \"en\"\ntitle = \"Hi\"\ntext = \"Hello\"\n\
             [[sites.canned_replies]]\nid = \"hi\"\nlang = \"en\"\ntitle = \"Hi\"\ntext = \"Hello again\"\n",
            site("q", "https://a.example")
        );
        let err = from_toml(&twice).unwrap_err().to_string();
        assert!(err.contains("defined twice in en"), "{err}");
        let oauth = |body: &str| from_toml(&format!("[console.oauth]\nclient_id = \"c\"\n{body}"));
        assert!(oauth("provider = \"wikimedia\"").is_ok());
        let err = oauth("").unwrap_err().to_string();
        assert!(err.contains("console.oauth"), "{err}");
        assert!(oauth("provider = \"facebook\"").is_err());
        let wikimedia = oauth("provider = \"wikimedia\"").unwrap().console.oauth.unwrap();
        assert_eq!(wikimedia.token_url(), "https://meta.wikimedia.org/w/rest.php/oauth2/access_token");
        let err = from_toml("sqlite_synchronous = \"sometimes\"").unwrap_err().to_string();
        assert!(err.contains("sqlite_synchronous"), "{err}");
        assert!(from_toml("listen = \"not an address\"").is_err());
    }
}
