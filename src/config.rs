//! Settings: built-in defaults, then `helpline.toml` (or `--config FILE`), then
//! `HELPLINE_*` environment variables (nested keys with `__`, e.g.
//! `HELPLINE_LIMITS__MESSAGE_CHARS=2000`), then command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

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
    /// Outbound mail. Without it the server offers chat only.
    pub mail: Option<MailConfig>,
    pub console: ConsoleConfig,
    pub routing: RoutingConfig,
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

/// How answers reach requesters who chose e-mail.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MailConfig {
    /// The relay that sends for us: `smtp://host:25` (plain, a relay on this machine),
    /// `smtp://user:password@host:587?tls=required` (STARTTLS), or `smtps://…:465`.
    pub smtp_url: String,
    /// Sender of every mail, e.g. `Helpline <help@example.org>`.
    pub from: String,
    /// How often the mailer looks for answers to send, in milliseconds.
    #[serde(default = "default_mail_poll_ms")]
    pub poll_ms: u64,
    /// A mail that keeps failing is given up after this many attempts (the helper sees it).
    #[serde(default = "default_mail_attempts")]
    pub max_attempts: u32,
    /// Wait before the first retry, in milliseconds; it doubles each time, up to an hour.
    #[serde(default = "default_mail_retry_ms")]
    pub retry_ms: u64,
}

fn default_mail_retry_ms() -> u64 {
    30_000
}

fn default_mail_poll_ms() -> u64 {
    2000
}

fn default_mail_attempts() -> u32 {
    8
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SiteConfig {
    pub id: String,
    pub name: String,
    /// MediaWiki Action API endpoint, e.g. `https://en.wikipedia.org/w/api.php`.
    #[serde(default)]
    pub api_url: Option<String>,
    /// Default language of the site (BCP 47 code).
    pub language: String,
    /// Origins allowed to call the public API and open sockets for this site.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// The queue this site's requests go to.
    pub queue: String,
    #[serde(default)]
    pub topics: Vec<Topic>,
    #[serde(default)]
    pub other_teams: Vec<OtherTeam>,
    /// Shown at once to a requester whose message suggests a threat of harm.
    pub emergency_contact: String,
    /// The MediaWiki portlet the "Get help" link goes into (e.g. `p-tb`, `p-personal`).
    #[serde(default = "default_portlet")]
    pub portlet: String,
    /// Also show the floating button where the portlet link is visible. (Where the
    /// portlet is missing or folded into a closed menu, the button is always shown.)
    #[serde(default)]
    pub floating_button: bool,
    /// Where "quick exit" goes: a neutral page. Default `about:blank`.
    #[serde(default)]
    pub quick_exit_url: Option<String>,
    /// Ready answers and guides (which noticeboard for what, the wiki's policies) that
    /// helpers insert from the console. One `id` may exist in several languages.
    #[serde(default)]
    pub canned_replies: Vec<CannedReply>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CannedReply {
    pub id: String,
    pub lang: String,
    pub title: String,
    /// The text inserted into the answer (it may contain a link).
    pub text: String,
    /// A guide's page, shown to the helper beside the text.
    #[serde(default)]
    pub link: Option<String>,
}

/// Longest title or label of a canned reply or other team, in characters.
pub const CATALOG_TITLE_CHARS: usize = 120;
/// Longest text of a canned reply or description of a team, in characters.
pub const CATALOG_TEXT_CHARS: usize = 4000;

impl CannedReply {
    /// What makes a reply usable: an id, a language code, a title, a text, and a link
    /// (if any) that is a web address. The same rules hold for the file and the console.
    pub fn check(&self) -> Result<(), String> {
        if !valid_id(&self.id) {
            return Err("the id must be 1-64 of a-z, 0-9, - and _".into());
        }
        if crate::conversations::text::language(&self.lang).is_err() {
            return Err(format!("{:?} is not a language code such as en or de-at", self.lang));
        }
        check_text("title", &self.title, CATALOG_TITLE_CHARS)?;
        check_text("text", &self.text, CATALOG_TEXT_CHARS)?;
        check_link(self.link.as_deref())
    }
}

impl OtherTeam {
    /// An id, a label, a description, and a way to reach the team: a web address or an
    /// e-mail address (or both).
    pub fn check(&self) -> Result<(), String> {
        if !valid_id(&self.id) {
            return Err("the id must be 1-64 of a-z, 0-9, - and _".into());
        }
        check_text("label", &self.label, CATALOG_TITLE_CHARS)?;
        check_text("description", &self.description, CATALOG_TEXT_CHARS)?;
        check_link(self.link.as_deref())?;
        if let Some(email) = &self.email
            && crate::conversations::text::email(email).is_err()
        {
            return Err(format!("{email:?} is not an e-mail address"));
        }
        if self.link.is_none() && self.email.is_none() {
            return Err("give a link or an e-mail address where the team is reached".into());
        }
        Ok(())
    }
}

fn check_text(what: &str, text: &str, max_chars: usize) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if text.chars().count() > max_chars {
        return Err(format!("the {what} is longer than {max_chars} characters"));
    }
    Ok(())
}

/// Links are shown to helpers and requesters as links: only web addresses, never
/// `javascript:` or `data:`.
fn check_link(link: Option<&str>) -> Result<(), String> {
    match link {
        Some(l) if !(l.starts_with("https://") || l.starts_with("http://")) || l.len() > 2000 => {
            Err(format!("the link {l:?} must be an http(s) address"))
        }
        Some(l) if l.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            Err(format!("the link {l:?} must not contain spaces"))
        }
        _ => Ok(()),
    }
}

fn default_portlet() -> String {
    "p-tb".into()
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Topic {
    pub id: String,
    pub label: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct OtherTeam {
    pub id: String,
    pub label: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct QueueConfig {
    pub id: String,
    pub name: String,
    /// Languages a global queue is split by; empty means the queue takes any language.
    #[serde(default)]
    pub languages: Vec<String>,
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
            mail: None,
            console: ConsoleConfig::default(),
            routing: RoutingConfig::default(),
            sites: Vec::new(),
            queues: Vec::new(),
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

    /// Checks cross-references so that a typo fails at start, not at the first request.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut seen = std::collections::HashSet::new();
        for queue in &self.queues {
            if !valid_id(&queue.id) {
                bail!("queue id {:?} must be 1-64 of a-z, 0-9, - and _", queue.id);
            }
            if !seen.insert(&queue.id) {
                bail!("queue {} is defined twice", queue.id);
            }
        }
        let mut sites = std::collections::HashSet::new();
        for site in &self.sites {
            if !valid_id(&site.id) {
                bail!("site id {:?} must be 1-64 of a-z, 0-9, - and _", site.id);
            }
            if !sites.insert(&site.id) {
                bail!("site {} is defined twice", site.id);
            }
            if !self.queues.iter().any(|q| q.id == site.queue) {
                bail!("site {} sends to queue {}, which is not defined", site.id, site.queue);
            }
            if let Some(url) = &site.quick_exit_url
                && !(url.starts_with("https://") || url.starts_with("http://") || url == "about:blank")
            {
                bail!("site {}: quick_exit_url must be an http(s) URL or about:blank", site.id);
            }
            for reply in &site.canned_replies {
                if let Err(problem) = reply.check() {
                    bail!("site {}: canned reply {:?}: {problem}", site.id, reply.id);
                }
                if site.canned_replies.iter().filter(|r| r.id == reply.id && r.lang == reply.lang).count() > 1
                {
                    bail!("site {}: canned reply {} is defined twice in {}", site.id, reply.id, reply.lang);
                }
            }
            for team in &site.other_teams {
                if let Err(problem) = team.check() {
                    bail!("site {}: other team {:?}: {problem}", site.id, team.id);
                }
                if site.other_teams.iter().filter(|t| t.id == team.id).count() > 1 {
                    bail!("site {}: other team {} is defined twice", site.id, team.id);
                }
            }
            if site.emergency_contact.trim().is_empty() {
                bail!("site {} needs an emergency_contact", site.id);
            }
            for origin in &site.allowed_origins {
                if !(origin.starts_with("https://") || origin.starts_with("http://")) || origin.ends_with('/')
                {
                    bail!("site {}: allowed origin {origin:?} must look like https://host[:port]", site.id);
                }
            }
        }
        if !matches!(self.sqlite_synchronous.as_str(), "full" | "normal") {
            bail!("sqlite_synchronous must be \"full\" or \"normal\"");
        }
        if self.retention_days < self.reopen_days {
            bail!(
                "retention_days must be at least reopen_days, or a conversation could vanish while its requester may still come back"
            );
        }
        if self.routing.auto_offer && self.routing.offer_seconds == 0 {
            bail!("routing.offer_seconds must be positive when routing.auto_offer is on");
        }
        if self.console.session_hours == 0 || self.console.link_minutes == 0 {
            bail!("console.session_hours and console.link_minutes must be positive");
        }
        if let Some(oauth) = &self.console.oauth {
            let custom =
                oauth.authorize_url.is_some() && oauth.token_url.is_some() && oauth.profile_url.is_some();
            match oauth.provider.as_deref() {
                Some("wikimedia") if oauth.authorize_url.is_none() => {}
                None if custom => {}
                _ => bail!(
                    "console.oauth: set provider = \"wikimedia\", or give authorize_url, token_url and profile_url"
                ),
            }
            if oauth.client_id.trim().is_empty() {
                bail!("console.oauth.client_id is empty");
            }
        }
        if let Some(mail) = &self.mail {
            crate::mail::check_config(mail)?;
        }
        if self.limits.first_message_chars == 0 || self.limits.message_chars == 0 {
            bail!("message limits must be positive");
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", self.data_dir.join("helpline.db").display()))
    }

    /// The address people reach this server at, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_string()
    }

    pub fn site(&self, id: &str) -> Option<&SiteConfig> {
        self.sites.iter().find(|s| s.id == id)
    }

    pub fn queue(&self, id: &str) -> Option<&QueueConfig> {
        self.queues.iter().find(|q| q.id == id)
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

pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
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
        let config = from_toml(include_str!("../helpline.example.toml")).unwrap();
        assert_eq!(config.sites.len(), 2);
        assert_eq!(config.site("dewiki").unwrap().queue, "global");
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
