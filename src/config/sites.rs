//! Sites, queues, and what coordinators curate for a site: canned replies and the other
//! teams matters are redirected to. The same rules hold for the file and the console.

use serde::{Deserialize, Serialize};

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
}
