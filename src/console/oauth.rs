//! Console sign-in with MediaWiki OAuth 2.0, the browser's side (`helpers::oauth` does
//! the protocol): off to the provider with a `state` bound to this browser by a cookie,
//! and back with a code, which becomes a session for the helper of that name.

use axum::extract::{Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::Ui;
use super::render::{MessagePage, error_page, render};
use crate::helpers::{oauth, signin};
use crate::secrets;
use crate::state::AppState;

const STATE_COOKIE: &str = "helpline_oauth";

fn state_cookie(state: &AppState, value: &str, max_age: u32) -> HeaderValue {
    let secure = if state.config.console.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{STATE_COOKIE}={value}; Path=/console/oauth; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn refused(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    key: &str,
    name: Option<&str>,
) -> Response {
    let ui = Ui::of(state, headers, None);
    let text = match name {
        Some(name) => ui.t1(key, name),
        None => ui.t(key),
    };
    let page = MessagePage {
        title: ui.t("helpline-console-oauth-failed"),
        text,
        back: Some("/console/signin".into()),
        ui,
    };
    render(&page, status)
}

/// Starts a sign-in: remembers a new `state` and PKCE verifier, sends the browser to the
/// provider.
pub async fn start(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(config) = state.config.console.oauth.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let started = match oauth::start(&state, config).await {
        Ok(started) => started,
        Err(error) => return error_page(&state, &headers, &error.into(), Some("/console/signin".into())),
    };
    let location =
        HeaderValue::from_str(&started.authorize_url).unwrap_or_else(|_| HeaderValue::from_static("/"));
    (
        StatusCode::SEE_OTHER,
        [(LOCATION, location), (SET_COOKIE, state_cookie(&state, &started.state_token, 600))],
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The provider sends the browser back here with a code: checks `state` against the
/// cookie and the pending sign-in, exchanges the code, and opens a session for the
/// helper of that name.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    let Some(config) = state.config.console.oauth.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let bad_state =
        || refused(&state, &headers, StatusCode::BAD_REQUEST, "helpline-console-oauth-state", None);
    if q.error.is_some() {
        return refused(&state, &headers, StatusCode::BAD_REQUEST, "helpline-console-oauth-denied", None);
    }
    let (Some(code), Some(flow)) = (q.code, q.state) else { return bad_state() };
    let from_cookie = signin::named_cookie(&headers, STATE_COOKIE);
    if !from_cookie.is_some_and(|c| secrets::constant_time_eq(c, &flow)) {
        return bad_state();
    }
    let verifier = match oauth::take_pending(&state, &flow).await {
        Ok(Some(verifier)) => verifier,
        Ok(None) => return bad_state(),
        Err(e) => return error_page(&state, &headers, &e.into(), Some("/console/signin".into())),
    };
    let username = match oauth::exchange(&state, &config, &code, &verifier).await {
        Ok(name) => name,
        Err(error) => {
            tracing::warn!(%error, "OAuth sign-in failed at the provider");
            return refused(
                &state,
                &headers,
                StatusCode::BAD_GATEWAY,
                "helpline-console-oauth-provider",
                None,
            );
        }
    };
    let helper = match crate::helpers::named(&state.store, &username).await {
        Ok(Some(helper)) => helper,
        Ok(None) => {
            if let Some(to_apply) = super::applications::invite_to_apply(&state, &username).await {
                return to_apply;
            }
            return refused(
                &state,
                &headers,
                StatusCode::FORBIDDEN,
                "helpline-console-oauth-unknown",
                Some(&username),
            );
        }
        Err(e) => return error_page(&state, &headers, &e.into(), None),
    };
    super::actions::check_eligibility(&state, &helper.id).await;
    match signin::start_session(&state.store, &state.config.console, &helper.id, state.now_ms()).await {
        Ok(value) => {
            let mut response =
                (StatusCode::SEE_OTHER, [(LOCATION, HeaderValue::from_static("/console"))]).into_response();
            let cookies = response.headers_mut();
            cookies.append(SET_COOKIE, signin::cookie(&state.config.console, &value));
            cookies.append(SET_COOKIE, state_cookie(&state, "", 0));
            response
        }
        Err(e) => error_page(&state, &headers, &e.into(), None),
    }
}
