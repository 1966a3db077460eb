//! Sites, queues, and what coordinators curate for a site: canned replies and the other
//! teams matters are redirected to. The same rules hold for the file and the console.

use std::path::PathBuf;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::EligibilityRules;
use crate::domain::text::valid_config_id;
use crate::domain::{Email, Language, QueueId, SiteId};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SiteConfig {
    pub id: SiteId,
    pub name: String,
    /// MediaWiki Action API endpoint, e.g. `https://en.wikipedia.org/w/api.php`.
    #[serde(default)]
    pub api_url: Option<String>,
    /// Default language of the site (BCP 47 code).
    pub language: String,
    /// The site's bot account, for what Helpline writes on the wiki (the talk-page move,
    /// the gadget, mail through the wiki).
    #[serde(default)]
    pub bot: Option<BotConfig>,
    /// The wiki's OAuth 2.0 client, for "Confirm it's you": a requester proves the
    /// account they are logged in with (needed to move to their talk page).
    #[serde(default)]
    pub oauth: Option<super::OAuthConfig>,
    /// Origins allowed to call the public API and open sockets for this site.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// The queue this site's requests go to.
    pub queue: QueueId,
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
    /// The wiki's own pages for the policies canned replies name by key (`{{policy:civility}}`
    /// → `[[Wikipedia:Civility]]`): `civility = "Wikipedia:Civility"`.
    #[serde(default)]
    pub policies: std::collections::BTreeMap<String, String>,
    /// Days after which the wiki expires a temporary account (MediaWiki's
    /// `$wgAutoCreateTempUser['expireAfterDays']`, 90 by default), to tell helpers.
    #[serde(default = "default_temporary_account_days")]
    pub temporary_account_days: u32,
}

fn default_temporary_account_days() -> u32 {
    90
}

/// A bot password made at the wiki's `Special:BotPasswords` (or `createBotPassword.php`).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct BotConfig {
    /// `Name@app`, as the wiki shows it.
    pub username: String,
    /// The password itself, or
    #[serde(default)]
    pub password: Option<String>,
    /// a file holding it (kept out of the configuration file).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

impl std::fmt::Debug for BotConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotConfig").field("username", &self.username).finish_non_exhaustive()
    }
}

impl BotConfig {
    pub fn password(&self) -> anyhow::Result<String> {
        let password = match (&self.password, &self.password_file) {
            (Some(password), _) => password.clone(),
            (None, Some(file)) => std::fs::read_to_string(file)
                .with_context(|| format!("the bot password file {}", file.display()))?
                .trim()
                .to_string(),
            (None, None) => {
                anyhow::bail!("the bot account {} has no password or password_file", self.username)
            }
        };
        Ok(password)
    }

    /// What the wiki's `action=login` takes: `Name@app`, and a password of at least 32
    /// of `0-9a-w` (the wiki's own bot passwords are so). A longer or other password
    /// is refused by the wiki as "incorrect" without saying why.
    pub fn check(&self) -> Result<(), String> {
        if !self.username.contains('@') {
            return Err(format!(
                "bot.username {:?} must be Name@app, as Special:BotPasswords shows it",
                self.username
            ));
        }
        if let Ok(password) = self.password()
            && !(password.len() >= 32
                && password.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'w').contains(&b)))
        {
            return Err("a bot password is at least 32 characters of 0-9 and a-w; the wiki \
                 refuses any other (use the one Special:BotPasswords made)"
                .into());
        }
        Ok(())
    }
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
        if !valid_config_id(&self.id) {
            return Err("the id must be 1-64 of a-z, 0-9, - and _".into());
        }
        if Language::parse(&self.lang).is_err() {
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
        if !valid_config_id(&self.id) {
            return Err("the id must be 1-64 of a-z, 0-9, - and _".into());
        }
        check_text("label", &self.label, CATALOG_TITLE_CHARS)?;
        check_text("description", &self.description, CATALOG_TEXT_CHARS)?;
        check_link(self.link.as_deref())?;
        if let Some(email) = &self.email
            && Email::parse(email).is_err()
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
    pub id: QueueId,
    pub name: String,
    /// Languages a global queue is split by; empty means the queue takes any language.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Who may help in this queue; without rules, whoever the operator adds.
    #[serde(default)]
    pub eligibility: Option<EligibilityRules>,
    /// Helpers who asked for it get a mail when a request has waited this long and
    /// nobody of the queue is online (0: never).
    #[serde(default = "default_alert_after_minutes")]
    pub alert_after_minutes: u32,
}

fn default_alert_after_minutes() -> u32 {
    15
}

impl QueueConfig {
    /// A queue for any language, open to whoever the operator adds.
    pub fn new(id: impl Into<QueueId>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            languages: Vec::new(),
            eligibility: None,
            alert_after_minutes: default_alert_after_minutes(),
        }
    }
}
