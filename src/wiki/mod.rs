//! The sites' wikis, through their MediaWiki Action API: one client for every call.
//!
//! - `api`: the calls themselves: a descriptive User-Agent, `maxlag`, retry with backoff
//!   where the wiki did nothing, errors in words a helper can act on;
//! - `account`: what a wiki says about accounts, in batches of 50;
//! - `pages`: page reads; `evidence`: what an account did where it touches someone;
//!   `bot`: the site's bot account, its edits and `emailuser`;
//! - `links`: links into the wiki for the helper.
//!
//! The wiki is asked by the server, so helpers' browsers do not call the wiki on each
//! page view, and what it says about an account is kept a minute.

pub mod account;
pub mod api;
pub mod bot;
pub mod evidence;
pub mod farm;
pub mod gadget;
pub mod global;
pub mod links;
pub mod pages;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use account::{AccountFacts, BlockFacts, WikiAccount};
pub use api::{Api, WikiError};
pub use bot::{BotSession, Edit, Edited};
pub use evidence::{Evidence, EvidenceEdit};
pub use global::GlobalAccount;
pub use links::{WikiLink, diff_url, links, page_url};
pub use pages::Page;

use crate::config::{Config, SiteConfig};

/// A minute: fresh enough to show a block made while helping, light on the wiki.
const TTL: Duration = Duration::from_secs(60);
/// Reads wait this long for the wiki; the conversation page itself never waits.
const READ_TIMEOUT: Duration = Duration::from_secs(8);
const MAX_CACHED: usize = 2000;

/// An evidence list's wiki, requester and account (name keys).
type EvidenceKey = (String, String, String);

/// `Helpline/VERSION (+PUBLIC_URL; CONTACT) reqwest`, as the wikis' User-Agent policy
/// asks: who runs the client and how to reach them when it misbehaves.
pub fn user_agent(config: &Config) -> String {
    let contact = config.wiki.contact.clone().or_else(|| config.mail.as_ref().map(|m| m.from.clone()));
    let contact = contact.map(|c| format!("; {c}")).unwrap_or_default();
    format!("Helpline/{} (+{}{contact}) reqwest", env!("CARGO_PKG_VERSION"), config.public_url())
}

/// The client of the sites' wikis: anonymous reads, with what they said about accounts
/// kept a minute, and one bot session per site for writes.
pub struct WikiClient {
    http: reqwest::Client,
    user_agent: String,
    accounts: Mutex<HashMap<(String, String), (Instant, WikiAccount)>>,
    /// Evidence lists by (wiki, requester, account), a minute: the panel asks on each view.
    evidence: Mutex<HashMap<EvidenceKey, (Instant, Evidence)>>,
    bots: Mutex<HashMap<String, Arc<BotSession>>>,
}

impl WikiClient {
    pub fn new(user_agent: String) -> anyhow::Result<Self> {
        crate::install_tls();
        let http = reqwest::Client::builder().user_agent(&user_agent).timeout(READ_TIMEOUT).build()?;
        Ok(Self {
            http,
            user_agent,
            accounts: Mutex::default(),
            evidence: Mutex::default(),
            bots: Mutex::default(),
        })
    }

    /// Anonymous calls to the wiki at `api_url`.
    pub fn api<'a>(&'a self, api_url: &'a str) -> Api<'a> {
        Api { http: &self.http, url: api_url }
    }

    /// What the wiki at `api_url` says about `name`, from the cache when fresh.
    pub async fn account(&self, api_url: &str, name: &str) -> Result<WikiAccount, WikiError> {
        let key = (api_url.to_string(), name.to_string());
        if let Some((at, account)) = self.accounts.lock().unwrap_or_else(|e| e.into_inner()).get(&key)
            && at.elapsed() < TTL
        {
            return Ok(account.clone());
        }
        let account = account::look_up(&self.api(api_url), &[name])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| WikiError::BadAnswer("the wiki's answer has no user".into()))?;
        let mut entries = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_CACHED {
            entries.retain(|_, (at, _)| at.elapsed() < TTL);
            if entries.len() >= MAX_CACHED {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), account.clone()));
        Ok(account)
    }

    /// What the wiki says about every name now (not cached), 50 names a call.
    pub async fn accounts(&self, api_url: &str, names: &[&str]) -> Result<Vec<WikiAccount>, WikiError> {
        account::look_up(&self.api(api_url), names).await
    }

    /// A page's current text; `None` when it does not exist.
    pub async fn page(&self, api_url: &str, title: &str) -> Result<Option<Page>, WikiError> {
        pages::read(&self.api(api_url), title).await
    }

    /// The users a page links to (a members page); `None` when it does not exist.
    pub async fn user_links(&self, api_url: &str, title: &str) -> Result<Option<Vec<String>>, WikiError> {
        pages::user_links(&self.api(api_url), title).await
    }

    /// What `account` did since `since` where it touches `requester` (public data only),
    /// from the cache when asked within the minute.
    pub async fn evidence(
        &self,
        api_url: &str,
        requester: &str,
        account: &str,
        since: &str,
    ) -> Result<Evidence, WikiError> {
        let key = (api_url.to_string(), crate::domain::name_key(requester), crate::domain::name_key(account));
        if let Some((at, found)) = self.evidence.lock().unwrap_or_else(|e| e.into_inner()).get(&key)
            && at.elapsed() < TTL
        {
            return Ok(found.clone());
        }
        let found = evidence::gather(&self.api(api_url), requester, account, since).await?;
        let mut entries = self.evidence.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_CACHED {
            entries.retain(|_, (at, _)| at.elapsed() < TTL);
            if entries.len() >= MAX_CACHED {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), found.clone()));
        Ok(found)
    }

    /// The farm's global account of `name` (CentralAuth), asked of `api_url`.
    pub async fn global_account(
        &self,
        api_url: &str,
        name: &str,
    ) -> Result<Option<GlobalAccount>, WikiError> {
        global::look_up(&self.api(api_url), name).await
    }

    /// The site's bot session, logged in on first use.
    pub fn bot(&self, site: &SiteConfig) -> Result<Arc<BotSession>, WikiError> {
        let api_url = site
            .api_url
            .as_deref()
            .ok_or_else(|| WikiError::NotConfigured(format!("site {} has no api_url", site.id)))?;
        let bot = site
            .bot
            .as_ref()
            .ok_or_else(|| WikiError::NotConfigured(format!("site {} has no bot account", site.id)))?;
        let mut bots = self.bots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(session) = bots.get(site.id.as_str()) {
            return Ok(session.clone());
        }
        let password = bot.password().map_err(|e| WikiError::NotConfigured(format!("{e:#}")))?;
        let session = Arc::new(BotSession::new(&self.user_agent, api_url, &bot.username, &password)?);
        bots.insert(site.id.to_string(), session.clone());
        Ok(session)
    }
}
