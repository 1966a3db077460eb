//! Calls to one wiki's Action API: `format=json&formatversion=2`, `maxlag=5`, and a
//! retry with backoff where the wiki said it did nothing (lagged, throttled, briefly
//! down, not reached at all). Errors come back as a [`WikiError`] whose words can be
//! shown to a helper as they are.

use std::fmt;
use std::time::Duration;

use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde_json::Value;

/// How many times a call is tried in all.
const ATTEMPTS: u32 = 3;
/// The longest wait between tries, whatever the wiki's `Retry-After` asks.
const MAX_WAIT: Duration = Duration::from_secs(5);
/// Ask the wiki to refuse (rather than slow down) when its replicas lag by more than this
/// many seconds, as the wiki's API etiquette asks of automated clients.
pub const MAXLAG: &str = "5";

/// What went wrong talking to a wiki, in words a helper can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WikiError {
    /// No answer at all: the wiki is down, unreachable, or too slow.
    Unreachable(String),
    /// The wiki is busy (lagged or throttling) and stayed so through every retry.
    Busy,
    /// The wiki answered with an API error.
    Refused { code: String, info: String },
    /// The bot account could not log in.
    Login(String),
    /// An answer that is not what the Action API sends.
    BadAnswer(String),
    /// The site has no `api_url`, or no bot account where one is needed.
    NotConfigured(String),
    /// A write whose fate is unknown: sent, but no answer came. It may have happened.
    Unknown(String),
}

impl fmt::Display for WikiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreachable(why) => write!(f, "the wiki did not answer ({why})"),
            Self::Busy => write!(f, "the wiki is busy; try again in a minute"),
            Self::Refused { code, info } => write!(f, "the wiki refused: {info} ({code})"),
            Self::Login(why) => write!(f, "the bot account could not log in to the wiki: {why}"),
            Self::BadAnswer(why) => write!(f, "the wiki's answer was not understood ({why})"),
            Self::NotConfigured(why) => write!(f, "{why}"),
            Self::Unknown(why) => {
                write!(f, "the wiki did not confirm the change ({why}); look at the page before trying again")
            }
        }
    }
}

impl std::error::Error for WikiError {}

impl WikiError {
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Whether a call may be sent again when it was sent and no answer came. Reads may;
/// writes may not (an edit sent twice posts twice), only when the wiki said it did
/// nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    Read,
    Write,
}

/// One wiki's API endpoint, through a given HTTP client (a bot session has its own, with
/// its cookies).
pub struct Api<'a> {
    pub http: &'a Client,
    pub url: &'a str,
}

impl Api<'_> {
    /// A GET with the common parameters added.
    pub async fn get(&self, params: &[(&str, &str)]) -> Result<Value, WikiError> {
        self.call(Retry::Read, || self.http.get(self.url).query(&common(params))).await
    }

    /// A POST (form) with the common parameters added.
    pub async fn post(&self, params: &[(&str, &str)], retry: Retry) -> Result<Value, WikiError> {
        self.call(retry, || self.http.post(self.url).form(&common(params))).await
    }

    async fn call(&self, retry: Retry, request: impl Fn() -> RequestBuilder) -> Result<Value, WikiError> {
        let mut wait = Duration::from_millis(500);
        let mut last = WikiError::Busy;
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(wait.min(MAX_WAIT)).await;
                wait *= 2;
            }
            match request().send().await {
                Err(error) if error.is_connect() => last = WikiError::Unreachable(short(error)),
                Err(error) if retry == Retry::Read => last = WikiError::Unreachable(short(error)),
                Err(error) => return Err(WikiError::Unknown(short(error))),
                Ok(response) => match read(response).await {
                    Answer::Done(value) => return Ok(value),
                    Answer::Failed(error) => return Err(error),
                    Answer::Again { after } => {
                        last = WikiError::Busy;
                        if let Some(after) = after {
                            wait = after;
                        }
                    }
                },
            }
        }
        Err(last)
    }
}

fn common<'p>(params: &[(&'p str, &'p str)]) -> Vec<(&'p str, &'p str)> {
    let mut all = params.to_vec();
    all.extend([
        ("format", "json"),
        ("formatversion", "2"),
        ("maxlag", MAXLAG),
        ("errorformat", "plaintext"),
    ]);
    all
}

enum Answer {
    Done(Value),
    Failed(WikiError),
    /// The wiki did nothing and asks to be asked again later.
    Again {
        after: Option<Duration>,
    },
}

async fn read(response: Response) -> Answer {
    let status = response.status();
    let after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
        return Answer::Again { after };
    }
    if !status.is_success() {
        return Answer::Failed(WikiError::Unreachable(format!("HTTP {status}")));
    }
    let body = match response.text().await {
        Ok(body) => body,
        Err(error) => return Answer::Failed(WikiError::Unreachable(short(error))),
    };
    let Ok(value) = serde_json::from_str::<Value>(&body) else {
        return Answer::Failed(WikiError::BadAnswer("not JSON; is api_url the wiki's api.php?".into()));
    };
    match api_error(&value) {
        Some(error) if error.code() == Some("maxlag") || error.code() == Some("ratelimited") => {
            Answer::Again { after }
        }
        Some(error) => Answer::Failed(error),
        None => Answer::Done(value),
    }
}

/// The API's error, in either error format: `error` (the default) or `errors` (with
/// `errorformat`).
pub fn api_error(value: &Value) -> Option<WikiError> {
    let first = value.get("errors").and_then(|e| e.get(0)).or_else(|| value.get("error"))?;
    let code = first.get("code").and_then(Value::as_str).unwrap_or("unknown").to_string();
    let info = first
        .get("text")
        .or_else(|| first.get("info"))
        .and_then(Value::as_str)
        .unwrap_or("no reason given")
        .to_string();
    Some(WikiError::Refused { code, info })
}

/// An error's words without the full URL (which may carry a token).
fn short(error: reqwest::Error) -> String {
    if error.is_timeout() {
        return "no answer in time".into();
    }
    if error.is_connect() {
        return "could not connect".into();
    }
    let error = error.without_url();
    let mut words = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        words = format!("{words}: {cause}");
        source = cause.source();
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_read_in_both_formats() {
        let plain = serde_json::json!({"errors":[{"code":"badtoken","text":"Invalid CSRF token."}]});
        assert_eq!(
            api_error(&plain),
            Some(WikiError::Refused { code: "badtoken".into(), info: "Invalid CSRF token.".into() })
        );
        let old = serde_json::json!({"error":{"code":"maxlag","info":"Waiting for a database server"}});
        assert_eq!(api_error(&old).and_then(|e| e.code().map(str::to_string)), Some("maxlag".into()));
        assert_eq!(api_error(&serde_json::json!({"query":{}})), None);
    }
}
