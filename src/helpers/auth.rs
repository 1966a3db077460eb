//! The one way a helper proves who they are, for the helper API, the helper socket and
//! the console alike:
//!
//! - a personal API token, `Authorization: Bearer hlp_…` (`helpline helper token NAME`);
//! - the console's session cookie, from the console itself (same origin) — and then every
//!   request that changes something carries the session's CSRF token too (the
//!   `X-CSRF-Token` header, or the form's `csrf` field for console forms);
//! - on the helper socket, when neither came with the upgrade, the token of the first
//!   frame (`{"type":"hello","token":…}`), checked by [`by_token`].

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};

use super::signin::{self, ConsoleSession};
use crate::domain::Helper;
use crate::error::{AppError, AppResult};
use crate::extract::bearer;
use crate::secrets;
use crate::state::AppState;

pub const API_TOKEN_PREFIX: &str = "hlp_";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A helper who proved who they are, and how.
#[derive(Clone, Debug)]
pub struct Identity {
    pub helper: Helper,
    /// The console session, when they came with its cookie rather than a token.
    pub session: Option<ConsoleSession>,
}

/// The helper of an API token, if it is one.
pub async fn by_token(state: &AppState, token: &str) -> sqlx::Result<Option<Helper>> {
    let Some(raw) = token.strip_prefix(API_TOKEN_PREFIX) else { return Ok(None) };
    crate::store::helpers::find_by_token_hash(&state.store, &secrets::hash_token(raw)).await
}

/// Who the request's credentials name: its bearer token (which must then be valid), or
/// else its console cookie when the request comes from the console itself. `None` when
/// it carries neither.
pub async fn identify(state: &AppState, headers: &HeaderMap) -> AppResult<Option<Identity>> {
    if let Some(token) = bearer(headers) {
        return match by_token(state, token).await? {
            Some(helper) => Ok(Some(Identity { helper, session: None })),
            None => Err(AppError::Unauthorized("invalid_token")),
        };
    }
    Ok(console_session(state, headers)
        .await?
        .map(|session| Identity { helper: session.helper.clone(), session: Some(session) }))
}

/// The console session of the request's cookie, if valid and the request is same-origin.
pub async fn console_session(state: &AppState, headers: &HeaderMap) -> sqlx::Result<Option<ConsoleSession>> {
    let Some(value) = signin::cookie_value(headers) else { return Ok(None) };
    if !signin::same_origin(headers, state.config.public_url.as_deref()) {
        return Ok(None);
    }
    signin::find(&state.store, value, state.now_ms()).await
}

/// Whether `given` is the session's CSRF token.
pub fn csrf_matches(session: &ConsoleSession, given: Option<&str>) -> bool {
    given.filter(|t| !t.is_empty()).is_some_and(|t| secrets::constant_time_eq(t, &session.csrf))
}

/// The CSRF token of the `X-CSRF-Token` header.
pub fn csrf_header(headers: &HeaderMap) -> Option<&str> {
    headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok())
}

pub fn stale_form() -> AppError {
    AppError::Forbidden("The form is out of date (missing or wrong CSRF token). Reload the page.".into())
}

/// A helper on the helper API: `401` without valid credentials. A console session may
/// read; to change anything it must send its CSRF token in `X-CSRF-Token`.
pub struct AuthedHelper(pub Helper);

impl FromRequestParts<AppState> for AuthedHelper {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let identity =
            identify(state, &parts.headers).await?.ok_or(AppError::Unauthorized("missing_token"))?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD);
        if let Some(session) = &identity.session
            && !safe
            && !csrf_matches(session, csrf_header(&parts.headers))
        {
            return Err(stale_form());
        }
        Ok(Self(identity.helper))
    }
}

/// Credentials that came with a request, if any: the helper socket takes a missing one
/// from its first frame instead.
pub struct MaybeIdentity(pub Option<Identity>);

impl FromRequestParts<AppState> for MaybeIdentity {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(identify(state, &parts.headers).await?))
    }
}
