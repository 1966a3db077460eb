//! Console sign-in: one-time links, browser sessions, and the checks every console
//! request goes through (session cookie, CSRF token, same origin).
//!
//! A session is created only at sign-in, with a fresh random id, so an id planted in a
//! browser beforehand is never adopted. Only SHA-256 hashes of link tokens and session
//! ids are stored. Every state-changing request carries the session's CSRF token (a form
//! field or the `X-CSRF-Token` header) and, when the browser sends one, an `Origin` that
//! is this server's own.

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, HOST, ORIGIN};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};

use crate::app::AppState;
use crate::config::ConsoleConfig;
use crate::helpers::{self, Helper};
use crate::secrets;
use crate::store::{Store, now_ms};

pub const COOKIE_NAME: &str = "helpline_console";
const LINK_PREFIX: &str = "mlk_";

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

/// Makes a one-time sign-in link token for a helper, valid `minutes`.
pub async fn new_link(store: &Store, helper_id: &str, minutes: u32) -> sqlx::Result<String> {
    let token = secrets::new_token();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO magic_links (token_hash, helper_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&token.hash)
    .bind(helper_id)
    .bind(now)
    .bind(now + i64::from(minutes) * 60_000)
    .execute(&store.write)
    .await?;
    Ok(format!("{LINK_PREFIX}{}", token.token))
}

/// Makes a link token like [`new_link`] unless `most` links made for the helper in the
/// last `minutes` exist already (`None` then). The helper's row is locked first, inside
/// the transaction, so two requests at once cannot both see room for one more link.
pub async fn new_link_within(
    store: &Store,
    helper_id: &str,
    minutes: u32,
    most: i64,
) -> sqlx::Result<Option<String>> {
    let token = secrets::new_token();
    let now = now_ms();
    let lifetime = i64::from(minutes) * 60_000;
    let mut tx = store.write.begin().await?;
    sqlx::query("UPDATE helpers SET id = id WHERE id = $1").bind(helper_id).execute(&mut *tx).await?;
    let made = sqlx::query(
        "INSERT INTO magic_links (token_hash, helper_id, created_at, expires_at) \
         SELECT $1, $2, $3, $4 WHERE \
         (SELECT COUNT(*) FROM magic_links WHERE helper_id = $2 AND created_at > $5) < $6",
    )
    .bind(&token.hash)
    .bind(helper_id)
    .bind(now)
    .bind(now + lifetime)
    .bind(now - lifetime)
    .bind(most)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok((made == 1).then(|| format!("{LINK_PREFIX}{}", token.token)))
}

/// The helper a link token names, if it is still good — without using it up (the page
/// that asks "continue as NAME?").
pub async fn peek_link(store: &Store, token: &str) -> sqlx::Result<Result<Helper, LinkRefused>> {
    let Some(raw) = token.strip_prefix(LINK_PREFIX) else { return Ok(Err(LinkRefused::Unknown)) };
    let row: Option<(String, i64, Option<i64>)> =
        sqlx::query_as("SELECT helper_id, expires_at, used_at FROM magic_links WHERE token_hash = $1")
            .bind(secrets::hash_token(raw))
            .fetch_optional(&store.read)
            .await?;
    let Some((helper_id, expires_at, used_at)) = row else { return Ok(Err(LinkRefused::Unknown)) };
    if used_at.is_some() {
        return Ok(Err(LinkRefused::Used));
    }
    if expires_at <= now_ms() {
        return Ok(Err(LinkRefused::Expired));
    }
    let mut conn = store.read.acquire().await?;
    Ok(helpers::find_by_id(&mut conn, &helper_id).await?.ok_or(LinkRefused::Unknown))
}

/// Uses the link up and opens a session. Returns the new session's cookie value.
pub async fn redeem_link(
    store: &Store,
    config: &ConsoleConfig,
    token: &str,
) -> sqlx::Result<Result<String, LinkRefused>> {
    let Some(raw) = token.strip_prefix(LINK_PREFIX) else { return Ok(Err(LinkRefused::Unknown)) };
    let hash = secrets::hash_token(raw);
    let now = now_ms();
    let mut tx = store.write.begin().await?;
    // One statement decides: of two simultaneous uses, only one updates the row.
    let used = sqlx::query(
        "UPDATE magic_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(&hash)
    .execute(&mut *tx)
    .await?;
    if used.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(Err(match peek_link(store, token).await? {
            Err(refused) => refused,
            Ok(_) => LinkRefused::Used,
        }));
    }
    let helper_id: String = sqlx::query_scalar("SELECT helper_id FROM magic_links WHERE token_hash = $1")
        .bind(&hash)
        .fetch_one(&mut *tx)
        .await?;
    let session = insert_session(&mut tx, config, &helper_id).await?;
    tx.commit().await?;
    Ok(Ok(session))
}

/// Opens a new session for a helper (after any sign-in); returns the cookie value.
pub async fn start_session(store: &Store, config: &ConsoleConfig, helper_id: &str) -> sqlx::Result<String> {
    let mut conn = store.write.acquire().await?;
    insert_session(&mut conn, config, helper_id).await
}

async fn insert_session(
    conn: &mut sqlx::AnyConnection,
    config: &ConsoleConfig,
    helper_id: &str,
) -> sqlx::Result<String> {
    let now = now_ms();
    let session = secrets::new_token();
    let csrf = secrets::new_token().token;
    sqlx::query(
        "INSERT INTO console_sessions (id_hash, helper_id, csrf_token, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&session.hash)
    .bind(helper_id)
    .bind(&csrf)
    .bind(now)
    .bind(now + i64::from(config.session_hours) * 3_600_000)
    .execute(conn)
    .await?;
    Ok(session.token)
}

/// The session of a cookie value, if it exists and has not expired.
pub async fn find(store: &Store, cookie_value: &str) -> sqlx::Result<Option<ConsoleSession>> {
    let id_hash = secrets::hash_token(cookie_value);
    let row: Option<(String, String, i64)> =
        sqlx::query_as("SELECT helper_id, csrf_token, expires_at FROM console_sessions WHERE id_hash = $1")
            .bind(&id_hash)
            .fetch_optional(&store.read)
            .await?;
    let Some((helper_id, csrf, expires_at)) = row else { return Ok(None) };
    if expires_at <= now_ms() {
        return Ok(None);
    }
    let mut conn = store.read.acquire().await?;
    Ok(helpers::find_by_id(&mut conn, &helper_id).await?.map(|helper| ConsoleSession {
        helper,
        csrf,
        id_hash,
    }))
}

/// Ends a session (sign-out).
pub async fn end(store: &Store, session: &ConsoleSession) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1 OR expires_at <= $2")
        .bind(&session.id_hash)
        .bind(now_ms())
        .execute(&store.write)
        .await?;
    Ok(())
}

/// The `Set-Cookie` value that stores a session id: not readable by scripts, sent only
/// to the console, and not on cross-site subrequests.
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

/// A console request's session, if it has a valid one: for actions, which answer a
/// missing session their own way (JSON or redirect), and the sign-in pages.
pub struct MaybeSession(pub Option<ConsoleSession>);

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = crate::error::AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(value) = cookie_value(&parts.headers) else { return Ok(Self(None)) };
        Ok(Self(find(&state.store, value).await?))
    }
}

/// A signed-in helper on a console page. Without a valid session the browser is sent to
/// sign-in before the handler runs.
pub struct SignedIn(pub ConsoleSession);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match MaybeSession::from_request_parts(parts, state).await {
            Ok(MaybeSession(Some(session))) => Ok(Self(session)),
            Ok(MaybeSession(None)) => Err(Redirect::to("/console/signin").into_response()),
            Err(error) => Err(error.into_response()),
        }
    }
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
        let text = value.to_str().unwrap();
        assert!(
            text.contains("HttpOnly") && text.contains("SameSite=Lax") && text.contains("Secure"),
            "{text}"
        );
        let plain = ConsoleConfig { secure_cookies: false, ..config };
        assert!(!cookie(&plain, "xyz").to_str().unwrap().contains("Secure"));
    }
}
