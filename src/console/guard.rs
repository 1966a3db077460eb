//! What every console request goes through before its handler runs, on top of
//! `helpers::auth`: pages need a signed-in helper (or the browser goes to sign-in), and
//! forms must come from the console itself, from a signed-in helper, with the session's
//! CSRF token. A refused form is answered as the page asked — JSON for the console
//! script, a page or a redirect for a plain form.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::header::ACCEPT;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::render::error_page;
use crate::error::{AppError, AppResult};
use crate::helpers::auth;
use crate::helpers::signin::{self, ConsoleSession};
use crate::state::AppState;

/// A signed-in helper on a console page. Without a valid session the browser is sent to
/// sign-in before the handler runs.
pub struct SignedIn(pub ConsoleSession);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match auth::console_session(state, &parts.headers).await {
            Ok(Some(session)) => Ok(Self(session)),
            Ok(None) => Err(Redirect::to("/console/signin").into_response()),
            Err(error) => Err(error_page(state, &parts.headers, &error.into(), None)),
        }
    }
}

/// The session a request has, if any (the sign-in pages).
pub struct MaybeSignedIn(pub Option<ConsoleSession>);

impl FromRequestParts<AppState> for MaybeSignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match auth::console_session(state, &parts.headers).await {
            Ok(session) => Ok(Self(session)),
            Err(error) => Err(error_page(state, &parts.headers, &error.into(), None)),
        }
    }
}

/// How to answer a console form: JSON for the console script (`Accept:
/// application/json`), else a redirect back, or a page saying what went wrong.
#[derive(Clone)]
pub struct Reply {
    headers: HeaderMap,
}

impl Reply {
    fn wants_json(&self) -> bool {
        self.headers.get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"))
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The answer to an action: `back` (or `{ok: true}`) when it worked.
    pub fn done(&self, state: &AppState, result: AppResult<()>, back: &str) -> Response {
        match (result, self.wants_json()) {
            (Ok(()), true) => axum::Json(serde_json::json!({ "ok": true })).into_response(),
            (Ok(()), false) => Redirect::to(back).into_response(),
            (Err(error), json) => self.refused(state, error, back, json),
        }
    }

    fn refused(&self, state: &AppState, error: AppError, back: &str, json: bool) -> Response {
        match (error, json) {
            (error, true) => error.into_response(),
            (AppError::Unauthorized(_), false) => Redirect::to("/console/signin").into_response(),
            (error, false) => error_page(state, &self.headers, &error, Some(back.to_string())),
        }
    }
}

/// The `csrf` field every console form carries.
#[derive(Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

/// A form without fields of its own (the CSRF token only).
#[derive(Deserialize, Default)]
pub struct NoFields {}

/// A console form: from the console itself, by a signed-in helper, with the session's
/// CSRF token (its `csrf` field or the `X-CSRF-Token` header).
pub struct ConsoleForm<T> {
    pub session: ConsoleSession,
    pub form: T,
    pub reply: Reply,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for ConsoleForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let reply = Reply { headers: parts.headers.clone() };
        let checked = check(state, &parts, body).await;
        match checked {
            Ok((session, form)) => Ok(Self { session, form, reply }),
            Err(error) => Err(reply.refused(state, error, "/console", reply.wants_json())),
        }
    }
}

async fn check<T: DeserializeOwned>(
    state: &AppState,
    parts: &Parts,
    body: axum::body::Body,
) -> AppResult<(ConsoleSession, T)> {
    if !signin::same_origin(&parts.headers, state.config.public_url.as_deref()) {
        return Err(cross_site());
    }
    let session =
        auth::console_session(state, &parts.headers).await?.ok_or(AppError::Unauthorized("not_signed_in"))?;
    let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
        .await
        .map_err(|rejection| AppError::bad_request("unreadable_body", rejection.body_text()))?;
    let field: CsrfField = serde_urlencoded::from_bytes(&bytes).unwrap_or(CsrfField { csrf: None });
    let given = field.csrf.as_deref().filter(|t| !t.is_empty()).or_else(|| auth::csrf_header(&parts.headers));
    if !auth::csrf_matches(&session, given) {
        return Err(auth::stale_form());
    }
    let form = serde_urlencoded::from_bytes(&bytes)
        .map_err(|e| AppError::bad_request("invalid_form", format!("The form could not be read: {e}")))?;
    Ok((session, form))
}

pub fn cross_site() -> AppError {
    AppError::Forbidden("This request came from another site.".into())
}
