//! The sites' wikis, through their MediaWiki Action API.
//!
//! Today: the requester's public wiki context for the helper: what the wiki says about
//! the account name the widget reported (account age, edit count, groups, block status),
//! and links to its user page, talk page, contributions and block log. Asked of the
//! site's MediaWiki Action API by the server — so helpers' browsers do not call the wiki
//! on each page view — and cached a minute. The name is a claim from the reader's
//! browser, never proof; the panel says so.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Url;
use serde::Deserialize;

/// A minute: fresh enough to show a block made while helping, light on the wiki.
const TTL: Duration = Duration::from_secs(60);
/// The panel waits this long for the wiki; the conversation page itself never waits.
const WIKI_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_CACHED: usize = 2000;

#[derive(Clone, Debug, PartialEq)]
pub struct WikiAccount {
    /// The name as the wiki spells it.
    pub name: String,
    /// `None` when the wiki has no account of that name.
    pub facts: Option<AccountFacts>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AccountFacts {
    /// ISO 8601, as the wiki gives it; `None` for very old accounts.
    pub registered: Option<String>,
    pub edit_count: i64,
    /// Explicit and implicit groups, without `*` (everyone).
    pub groups: Vec<String>,
    pub block: Option<BlockFacts>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BlockFacts {
    pub by: String,
    pub reason: String,
    /// `infinite` or an ISO 8601 time.
    pub expiry: String,
    pub partial: bool,
}

/// A link into the wiki about the account.
pub struct WikiLink {
    /// The message key of its label.
    pub key: &'static str,
    pub url: String,
}

/// The wiki's `index.php` beside its `api.php`.
fn index_url(api_url: &str) -> Option<String> {
    api_url.strip_suffix("api.php").map(|base| format!("{base}index.php"))
}

/// User page, talk page, contributions and block log. Canonical (English) namespace
/// and special page names work on every wiki, whatever its language.
pub fn links(api_url: &str, name: &str) -> Vec<WikiLink> {
    let Some(index) = index_url(api_url) else { return Vec::new() };
    let page = |key: &'static str, params: &[(&str, String)]| {
        Url::parse_with_params(&index, params).ok().map(|url| WikiLink { key, url: url.to_string() })
    };
    [
        page("helpline-console-wiki-user-page", &[("title", format!("User:{name}"))]),
        page("helpline-console-wiki-talk-page", &[("title", format!("User_talk:{name}"))]),
        page("helpline-console-wiki-contributions", &[("title", format!("Special:Contributions/{name}"))]),
        page(
            "helpline-console-wiki-block-log",
            &[
                ("title", "Special:Log".to_string()),
                ("type", "block".to_string()),
                ("page", format!("User:{name}")),
            ],
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[derive(Deserialize)]
struct ApiAnswer {
    query: Option<ApiQuery>,
    error: Option<ApiError>,
}

#[derive(Deserialize)]
struct ApiError {
    info: String,
}

#[derive(Deserialize)]
struct ApiQuery {
    users: Vec<ApiUser>,
}

#[derive(Deserialize)]
struct ApiUser {
    name: String,
    #[serde(default)]
    missing: bool,
    #[serde(default)]
    invalid: bool,
    editcount: Option<i64>,
    registration: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    blockid: Option<i64>,
    blockedby: Option<String>,
    blockreason: Option<String>,
    blockexpiry: Option<String>,
    #[serde(default)]
    blockpartial: bool,
}

/// Reads an answer of `list=users` (`formatversion=2`).
pub fn parse(body: &str) -> anyhow::Result<WikiAccount> {
    let answer: ApiAnswer = serde_json::from_str(body)?;
    if let Some(error) = answer.error {
        anyhow::bail!("the wiki refused: {}", error.info);
    }
    let user = answer
        .query
        .and_then(|q| q.users.into_iter().next())
        .ok_or_else(|| anyhow::anyhow!("the wiki's answer has no user"))?;
    if user.missing || user.invalid {
        return Ok(WikiAccount { name: user.name, facts: None });
    }
    let block = user.blockid.map(|_| BlockFacts {
        by: user.blockedby.unwrap_or_default(),
        reason: user.blockreason.unwrap_or_default(),
        expiry: user.blockexpiry.unwrap_or_default(),
        partial: user.blockpartial,
    });
    Ok(WikiAccount {
        name: user.name,
        facts: Some(AccountFacts {
            registered: user.registration,
            edit_count: user.editcount.unwrap_or(0),
            groups: user.groups.into_iter().filter(|g| g != "*").collect(),
            block,
        }),
    })
}

/// A client of the sites' wikis, with what they said kept a minute.
pub struct WikiClient {
    http: reqwest::Client,
    entries: Mutex<HashMap<(String, String), (Instant, WikiAccount)>>,
}

impl WikiClient {
    pub fn new(http: reqwest::Client) -> Self {
        Self { http, entries: Mutex::default() }
    }

    /// What the wiki at `api_url` says about `name`, from the cache when fresh.
    pub async fn account(&self, api_url: &str, name: &str) -> anyhow::Result<WikiAccount> {
        let http = &self.http;
        let key = (api_url.to_string(), name.to_string());
        if let Some((at, account)) = self.entries.lock().unwrap_or_else(|e| e.into_inner()).get(&key)
            && at.elapsed() < TTL
        {
            return Ok(account.clone());
        }
        let url = Url::parse_with_params(
            api_url,
            &[
                ("action", "query"),
                ("list", "users"),
                ("ususers", name),
                ("usprop", "blockinfo|groups|editcount|registration"),
                ("format", "json"),
                ("formatversion", "2"),
                ("maxlag", "5"),
            ],
        )?;
        let response = http.get(url).timeout(WIKI_TIMEOUT).send().await?.error_for_status()?;
        let account = parse(&response.text().await?)?;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_CACHED {
            entries.retain(|_, (at, _)| at.elapsed() < TTL);
            if entries.len() >= MAX_CACHED {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), account.clone()));
        Ok(account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_account_a_missing_name_and_a_block() {
        let found = parse(
            r#"{"batchcomplete":true,"query":{"users":[{"userid":2,"name":"Reader","editcount":12,
            "registration":"2024-05-01T10:00:00Z","groups":["*","user","autoconfirmed"]}]}}"#,
        )
        .unwrap();
        let facts = found.facts.unwrap();
        assert_eq!((facts.edit_count, facts.groups.join(",")), (12, "user,autoconfirmed".to_string()));
        assert!(facts.block.is_none());

        let missing = parse(r#"{"query":{"users":[{"name":"Nobody","missing":true}]}}"#).unwrap();
        assert_eq!(missing, WikiAccount { name: "Nobody".into(), facts: None });

        let blocked = parse(
            r#"{"query":{"users":[{"userid":3,"name":"Troll","editcount":1,"registration":null,"groups":["*","user"],
            "blockid":7,"blockedby":"Admin","blockedbyid":1,"blockreason":"Harassment","blockedtimestamp":"2026-01-01T00:00:00Z",
            "blockexpiry":"infinite","blockpartial":false}]}}"#,
        )
        .unwrap();
        let block = blocked.facts.unwrap().block.unwrap();
        assert_eq!(
            (block.by.as_str(), block.reason.as_str(), block.expiry.as_str()),
            ("Admin", "Harassment", "infinite")
        );

        assert!(parse(r#"{"error":{"code":"maxlag","info":"Waiting for a database server"}}"#).is_err());
        assert!(parse("<html>").is_err());
    }

    #[test]
    fn links_are_encoded_and_canonical() {
        let links = links("https://de.wikipedia.org/w/api.php", "Jörg & Co");
        assert_eq!(links.len(), 4);
        assert_eq!(links[0].url, "https://de.wikipedia.org/w/index.php?title=User%3AJ%C3%B6rg+%26+Co");
        assert!(links[3].url.contains("type=block"));
        assert!(super::links("https://wiki.example/rest.php", "X").is_empty());
    }
}
