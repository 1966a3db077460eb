//! Console sign-in: one-time links (printed, given by a coordinator, or mailed), browser
//! sessions, and their cookie.
//!
//! A session is created only at sign-in, with a fresh random id, so an id planted in a
//! browser beforehand is never adopted. Only SHA-256 hashes of link tokens and session
//! ids are stored. Every state-changing console request carries the session's CSRF
//! token (`helpers::auth`).

use axum::http::header::{COOKIE, HOST, ORIGIN};
use axum::http::{HeaderMap, HeaderValue};

use crate::config::ConsoleConfig;
use crate::domain::time::{HOUR_MS, MINUTE_MS};
use crate::domain::{Email, Helper, HelperId};
use crate::secrets;
use crate::state::AppState;
use crate::store::{self, Store, sessions};

pub const COOKIE_NAME: &str = "helpline_console";
const LINK_PREFIX: &str = "mlk_";
/// Links mailed per helper per link lifetime at most, so the form cannot flood an inbox.
pub const MAX_MAILED_LINKS: i64 = 3;

/// A signed-in helper and their session's CSRF token.
#[derive(Clone, Debug)]
pub struct ConsoleSession {
    pub helper: Helper,
    pub csrf: String,
    id_hash: String,
}

/// Why a sign-in link was refused. The page says which, so a helper knows to ask for a
/// new one rather than retry.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkRefused {
    Unknown,
    Expired,
    Used,
}

/// Makes a one-time sign-in link token for a helper, valid `link_minutes`.
pub async fn new_link(
    store: &Store,
    config: &ConsoleConfig,
    helper: &HelperId,
    now: i64,
) -> sqlx::Result<String> {
    let token = secrets::new_token();
    let expires = now + i64::from(config.link_minutes) * MINUTE_MS;
    sessions::insert_link(store, &token.hash, helper, now, expires).await?;
    Ok(format!("{LINK_PREFIX}{}", token.token))
}

/// Makes a link token like [`new_link`] unless `most` links were made for the helper
/// in the last link lifetime (`None` then), so a form cannot flood an inbox.
pub async fn new_link_within(
    store: &Store,
    config: &ConsoleConfig,
    helper: &HelperId,
    now: i64,
    most: i64,
) -> sqlx::Result<Option<String>> {
    let token = secrets::new_token();
    let lifetime = i64::from(config.link_minutes) * MINUTE_MS;
    let made =
        sessions::insert_link_within(store, &token.hash, helper, now, now + lifetime, now - lifetime, most)
            .await?;
    Ok(made.then(|| format!("{LINK_PREFIX}{}", token.token)))
}

/// The whole sign-in link for a token.
pub fn link_url(public_url: &str, token: &str) -> String {
    format!("{public_url}/console/signin/link?token={token}")
}

/// The helper a link token names, if it is still good — without using it up (the page
/// that asks "continue as NAME?").
pub async fn peek_link(store: &Store, token: &str, now: i64) -> sqlx::Result<Result<Helper, LinkRefused>> {
    let Some(raw) = token.strip_prefix(LINK_PREFIX) else { return Ok(Err(LinkRefused::Unknown)) };
    let Some(link) = sessions::find_link(store, &secrets::hash_token(raw)).await? else {
        return Ok(Err(LinkRefused::Unknown));
    };
    if link.used_at.is_some() {
        return Ok(Err(LinkRefused::Used));
    }
    if link.expires_at <= now {
        return Ok(Err(LinkRefused::Expired));
    }
    let mut conn = store.read.acquire().await?;
    Ok(store::helpers::find_by_id(&mut conn, &link.helper).await?.ok_or(LinkRefused::Unknown))
}

/// A new session id (for the cookie) and what is stored of it.
struct FreshSession {
    cookie_value: String,
    id_hash: String,
    csrf: String,
}

fn fresh_session() -> FreshSession {
    let id = secrets::new_token();
    FreshSession { cookie_value: id.token, id_hash: id.hash, csrf: secrets::new_token().token }
}

fn session_expiry(config: &ConsoleConfig, now: i64) -> i64 {
    now + i64::from(config.session_hours) * HOUR_MS
}

/// Uses the link up and opens a session. Returns the new session's cookie value and
/// whose session it is.
pub async fn redeem_link(
    store: &Store,
    config: &ConsoleConfig,
    token: &str,
    now: i64,
) -> sqlx::Result<Result<(String, HelperId), LinkRefused>> {
    let Some(raw) = token.strip_prefix(LINK_PREFIX) else { return Ok(Err(LinkRefused::Unknown)) };
    let fresh = fresh_session();
    let new = sessions::NewSession {
        id_hash: &fresh.id_hash,
        csrf: &fresh.csrf,
        now,
        expires_at: session_expiry(config, now),
    };
    match sessions::redeem_link(store, &secrets::hash_token(raw), &new).await? {
        Some(helper) => Ok(Ok((fresh.cookie_value, helper))),
        None => Ok(Err(match peek_link(store, token, now).await? {
            Err(refused) => refused,
            Ok(_) => LinkRefused::Used,
        })),
    }
}

/// Opens a new session for a helper (after any sign-in); returns the cookie value.
pub async fn start_session(
    store: &Store,
    config: &ConsoleConfig,
    helper: &HelperId,
    now: i64,
) -> sqlx::Result<String> {
    let fresh = fresh_session();
    let new = sessions::NewSession {
        id_hash: &fresh.id_hash,
        csrf: &fresh.csrf,
        now,
        expires_at: session_expiry(config, now),
    };
    sessions::start_session(store, helper, &new).await?;
    Ok(fresh.cookie_value)
}

/// The session of a cookie value, if it exists and has not expired.
pub async fn find(store: &Store, cookie_value: &str, now: i64) -> sqlx::Result<Option<ConsoleSession>> {
    let id_hash = secrets::hash_token(cookie_value);
    let Some((helper, csrf, expires_at)) = sessions::find_session(store, &id_hash).await? else {
        return Ok(None);
    };
    if expires_at <= now {
        return Ok(None);
    }
    let mut conn = store.read.acquire().await?;
    Ok(store::helpers::find_by_id(&mut conn, &helper).await?.map(|helper| ConsoleSession {
        helper,
        csrf,
        id_hash,
    }))
}

/// Ends a session (sign-out).
pub async fn end(store: &Store, session: &ConsoleSession, now: i64) -> sqlx::Result<()> {
    sessions::end_session(store, &session.id_hash, now).await
}

/// Mails a sign-in link to the helper with this address, if there is one, mail is set
/// up, and fewer than `MAX_MAILED_LINKS` went out in a link lifetime. Says nothing
/// either way: the form answers the same whoever asks.
pub async fn mail_link(state: &AppState, address: &Email, lang: &str) -> anyhow::Result<()> {
    let Some(mailer) = &state.mailer else { return Ok(()) };
    let Some((helper, address)) = super::find_by_email(&state.store, &state.secrets, address).await? else {
        return Ok(());
    };
    let minutes = state.config.console.link_minutes;
    let made =
        new_link_within(&state.store, &state.config.console, &helper.id, state.now_ms(), MAX_MAILED_LINKS)
            .await?;
    let Some(token) = made else {
        tracing::info!(helper = %helper.name, "sign-in link by e-mail not sent: enough links are out already");
        return Ok(());
    };
    let link = link_url(&state.config.public_url(), &token);
    let i18n = &state.i18n;
    let subject = i18n.format(lang, "helpline-mail-signin-subject", &[]);
    let body = i18n.format(lang, "helpline-mail-signin-body", &[&helper.name, &link, &minutes.to_string()]);
    let mail = mailer
        .letter(&address, subject, body)
        .map_err(|e| anyhow::anyhow!("building the mail: {}", e.code))?;
    mailer.send(mail).await.map_err(|e| anyhow::anyhow!("the relay answered {}", e.code))?;
    state.metrics.signin_link_mailed();
    Ok(())
}

/// The `Set-Cookie` value that stores a session id: not readable by scripts, sent only
/// to this server, and not on cross-site subrequests.
pub fn cookie(config: &ConsoleConfig, value: &str) -> HeaderValue {
    let secure = if config.secure_cookies { "; Secure" } else { "" };
    let max_age = u64::from(config.session_hours) * 3600;
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn removal_cookie(config: &ConsoleConfig) -> HeaderValue {
    let secure = if config.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The session cookie's value in a request, if any.
pub fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    named_cookie(headers, COOKIE_NAME)
}

/// The value of the cookie `wanted` in a request, if it is there and not empty.
pub fn named_cookie<'a>(headers: &'a HeaderMap, wanted: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(name, value)| (name == wanted && !value.is_empty()).then_some(value))
}

/// Whether the request's `Origin`, when the browser sends one, is this server: the
/// configured `public_url`, or the request's own `Host` when none is configured.
pub fn same_origin(headers: &HeaderMap, public_url: Option<&str>) -> bool {
    let Some(origin) = headers.get(ORIGIN).and_then(|o| o.to_str().ok()) else { return true };
    match public_url {
        Some(url) => origin_of(url) == origin,
        None => headers.get(HOST).and_then(|h| h.to_str().ok()).is_some_and(|host| {
            origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(host)
        }),
    }
}

fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    url[after_scheme..].find('/').map_or(url, |slash| &url[..after_scheme + slash])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; helpline_console=abc; b=2"));
        assert_eq!(cookie_value(&headers), Some("abc"));
        headers.insert(COOKIE, HeaderValue::from_static("helpline_console="));
        assert_eq!(cookie_value(&headers), None);
    }

    #[test]
    fn origins_must_be_this_server() {
        let mut headers = HeaderMap::new();
        assert!(same_origin(&headers, Some("https://help.example.org")), "no Origin: not a cross-site form");
        headers.insert(ORIGIN, HeaderValue::from_static("https://help.example.org"));
        assert!(same_origin(&headers, Some("https://help.example.org/")));
        assert!(!same_origin(&headers, Some("https://other.example.org")));
        headers.insert(ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        headers.insert(HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&headers, None));
        headers.insert(HOST, HeaderValue::from_static("evil.example"));
        assert!(!same_origin(&headers, None));
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_unless_turned_off() {
        let config = ConsoleConfig::default();
        let value = cookie(&config, "xyz");
        let text = value.to_str().unwrap_or_default();
        assert!(
            text.contains("HttpOnly") && text.contains("SameSite=Lax") && text.contains("Secure"),
            "{text}"
        );
        let plain = ConsoleConfig { secure_cookies: false, ..config };
        assert!(!cookie(&plain, "xyz").to_str().unwrap_or_default().contains("Secure"));
    }
}
