//! The site's bot account: logged in with a bot password (`Name@app`, made at the wiki's
//! `Special:BotPasswords`), writing with a CSRF token and `assertuser`, so that a lost
//! session never edits as a logged-out IP. One session (its own cookies) per site.

use std::sync::Arc;

use reqwest::Client;
use reqwest::cookie::Jar;
use serde_json::Value;
use tokio::sync::Mutex;

use super::api::{Api, Retry, WikiError};

/// Errors after which logging in again may help.
const SESSION_LOST: &[&str] = &["badtoken", "assertuserfailed", "assertnameduserfailed", "notloggedin"];

pub struct BotSession {
    http: Client,
    api_url: String,
    /// `Name@app`, as the wiki's bot password page shows it.
    login_name: String,
    password: String,
    /// The CSRF token of the current session; `None` before the first log-in.
    csrf: Mutex<Option<String>>,
}

/// An edit to make. `section_title` makes it a new section (`section=new`).
#[derive(Clone, Debug, Default)]
pub struct Edit<'a> {
    pub title: &'a str,
    pub text: &'a str,
    pub summary: &'a str,
    pub section_title: Option<&'a str>,
    /// The revision the text was based on: the edit fails rather than overwrite a change
    /// made meanwhile.
    pub base_revid: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edited {
    pub title: String,
    /// `None` when the text was already so (no new revision).
    pub revid: Option<i64>,
}

impl BotSession {
    pub fn new(user_agent: &str, api_url: &str, login_name: &str, password: &str) -> Result<Self, WikiError> {
        crate::install_tls();
        let http = Client::builder()
            .user_agent(user_agent)
            .cookie_provider(Arc::new(Jar::default()))
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .map_err(|e| WikiError::NotConfigured(format!("no HTTP client: {e}")))?;
        Ok(Self {
            http,
            api_url: api_url.to_string(),
            login_name: login_name.to_string(),
            password: password.to_string(),
            csrf: Mutex::new(None),
        })
    }

    pub fn api(&self) -> Api<'_> {
        Api { http: &self.http, url: &self.api_url }
    }

    /// The account's own name: `Name` of `Name@app`.
    pub fn account(&self) -> &str {
        self.login_name.split_once('@').map_or(self.login_name.as_str(), |(name, _)| name)
    }

    async fn log_in(&self) -> Result<String, WikiError> {
        let api = self.api();
        let tokens = api.get(&[("action", "query"), ("meta", "tokens"), ("type", "login")]).await?;
        let login_token = token(&tokens, "logintoken")?;
        let answer = api
            .post(
                &[
                    ("action", "login"),
                    ("lgname", &self.login_name),
                    ("lgpassword", &self.password),
                    ("lgtoken", &login_token),
                ],
                Retry::Read,
            )
            .await?;
        let result = answer.pointer("/login/result").and_then(Value::as_str).unwrap_or("no result");
        if result != "Success" {
            // A string, or with `errorformat` an object with its `text`.
            let reason = answer
                .pointer("/login/reason/text")
                .or_else(|| answer.pointer("/login/reason"))
                .and_then(Value::as_str)
                .unwrap_or(result);
            return Err(WikiError::Login(reason.to_string()));
        }
        let tokens = api.get(&[("action", "query"), ("meta", "tokens"), ("type", "csrf")]).await?;
        token(&tokens, "csrftoken")
    }

    /// Whether the bot password is accepted (logs in afresh).
    pub async fn check(&self) -> Result<(), WikiError> {
        let mut csrf = self.csrf.lock().await;
        *csrf = Some(self.log_in().await?);
        Ok(())
    }

    /// A write: the token and `assertuser` added; logged in again once if the session
    /// was lost meanwhile.
    pub async fn write(&self, params: &[(&str, &str)]) -> Result<Value, WikiError> {
        let mut csrf = self.csrf.lock().await;
        for attempt in 0..2 {
            let token = match csrf.as_ref() {
                Some(token) => token.clone(),
                None => {
                    let fresh = self.log_in().await?;
                    *csrf = Some(fresh.clone());
                    fresh
                }
            };
            let mut all = params.to_vec();
            all.extend([("token", token.as_str()), ("assertuser", self.account())]);
            match self.api().post(&all, Retry::Write).await {
                Err(error) if attempt == 0 && error.code().is_some_and(|c| SESSION_LOST.contains(&c)) => {
                    *csrf = None;
                }
                other => return other,
            }
        }
        Err(WikiError::Login("the session was lost twice".into()))
    }

    pub async fn edit(&self, edit: &Edit<'_>) -> Result<Edited, WikiError> {
        let base = edit.base_revid.map(|r| r.to_string());
        let mut params = vec![
            ("action", "edit"),
            ("title", edit.title),
            ("text", edit.text),
            ("summary", edit.summary),
            ("watchlist", "nochange"),
        ];
        if let Some(section_title) = edit.section_title {
            params.extend([("section", "new"), ("sectiontitle", section_title)]);
        }
        if let Some(base) = &base {
            params.push(("baserevid", base));
        }
        let answer = self.write(&params).await?;
        let edit_answer = answer.get("edit").ok_or_else(|| WikiError::BadAnswer("no edit result".into()))?;
        if edit_answer.get("result").and_then(Value::as_str) != Some("Success") {
            // A hook (an edit filter, a captcha) stopped it.
            let why = edit_answer.to_string();
            return Err(WikiError::Refused { code: "editfailed".into(), info: why });
        }
        Ok(Edited {
            title: edit_answer.get("title").and_then(Value::as_str).unwrap_or(edit.title).to_string(),
            revid: edit_answer.get("newrevid").and_then(Value::as_i64),
        })
    }

    /// Sends a user a mail through the wiki (`Special:EmailUser`): the wiki knows the
    /// address, Helpline never does.
    pub async fn email_user(&self, target: &str, subject: &str, text: &str) -> Result<(), WikiError> {
        let answer = self
            .write(&[("action", "emailuser"), ("target", target), ("subject", subject), ("text", text)])
            .await?;
        match answer.pointer("/emailuser/result").and_then(Value::as_str) {
            Some("Success") => Ok(()),
            other => Err(WikiError::Refused {
                code: "emailuser".into(),
                info: other.unwrap_or("no result").to_string(),
            }),
        }
    }
}

fn token(answer: &Value, name: &str) -> Result<String, WikiError> {
    answer
        .pointer(&format!("/query/tokens/{name}"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| WikiError::BadAnswer(format!("no {name}")))
}
