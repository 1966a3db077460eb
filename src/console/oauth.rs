//! Console sign-in with MediaWiki OAuth 2.0: authorization code with PKCE (S256) and a
//! `state` bound to the browser by a cookie, against Wikimedia's central server (the
//! `wikimedia` preset) or any MediaWiki with the OAuth extension. The username comes from
//! the provider's profile and must be a helper's name; nobody gets an account by signing
//! in.

use axum::extract::{Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::Ui;
use super::pages::{MessagePage, render};
use super::session;
use crate::app::AppState;
use crate::config::OAuthConfig;
use crate::secrets;
use crate::store::now_ms;

const STATE_COOKIE: &str = "helpline_oauth";
const PENDING_MS: i64 = 600_000;

/// The S256 PKCE challenge of a verifier.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn state_cookie(state: &AppState, value: &str, max_age: u32) -> HeaderValue {
    let secure = if state.config.console.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{STATE_COOKIE}={value}; Path=/console/oauth; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn redirect_uri(state: &AppState) -> String {
    format!("{}/console/oauth/callback", state.config.public_url())
}

fn refused(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    key: &str,
    name: Option<&str>,
) -> Response {
    let ui = Ui::new(&state.i18n, headers, None);
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
    let Some(oauth) = state.config.console.oauth.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let flow = secrets::new_token();
    let verifier = secrets::new_token().token;
    let now = now_ms();
    let stored = sqlx::query(
        "INSERT INTO oauth_pending (state_hash, verifier, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&flow.hash)
    .bind(&verifier)
    .bind(now)
    .bind(now + PENDING_MS)
    .execute(&state.store.write)
    .await;
    if let Err(error) = stored {
        return super::pages::error_page(&state, &headers, &error.into(), Some("/console/signin".into()));
    }
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", oauth.client_id.as_str()),
        ("redirect_uri", redirect_uri(&state).as_str()),
        ("state", flow.token.as_str()),
        ("code_challenge", challenge(&verifier).as_str()),
        ("code_challenge_method", "S256"),
    ])
    .unwrap_or_default();
    let location = format!("{}?{query}", oauth.authorize_url());
    (
        StatusCode::SEE_OTHER,
        [
            (LOCATION, HeaderValue::from_str(&location).unwrap_or_else(|_| HeaderValue::from_static("/"))),
            (SET_COOKIE, state_cookie(&state, &flow.token, 600)),
        ],
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
}

#[derive(Deserialize)]
struct Profile {
    username: String,
}

/// The provider sends the browser back here with a code: checks `state` against the
/// cookie and the pending sign-in, exchanges the code (with the PKCE verifier), reads the
/// username, and opens a session for the helper of that name.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    let Some(oauth) = state.config.console.oauth.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if q.error.is_some() {
        return refused(&state, &headers, StatusCode::BAD_REQUEST, "helpline-console-oauth-denied", None);
    }
    let (Some(code), Some(flow)) = (q.code, q.state) else {
        return refused(&state, &headers, StatusCode::BAD_REQUEST, "helpline-console-oauth-state", None);
    };
    let from_cookie = session::named_cookie(&headers, STATE_COOKIE);
    if !from_cookie.is_some_and(|c| secrets::constant_time_eq(c, &flow)) {
        return refused(&state, &headers, StatusCode::BAD_REQUEST, "helpline-console-oauth-state", None);
    }
    let verifier = match take_pending(&state, &flow).await {
        Ok(Some(verifier)) => verifier,
        Ok(None) => {
            return refused(&state, &headers, StatusCode::BAD_REQUEST, "helpline-console-oauth-state", None);
        }
        Err(e) => {
            return super::pages::error_page(&state, &headers, &e.into(), Some("/console/signin".into()));
        }
    };
    let username = match exchange(&state, &oauth, &code, &verifier).await {
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
    let helper = match crate::helpers::find_by_name(&state.store, &username).await {
        Ok(Some(helper)) => helper,
        Ok(None) => {
            return refused(
                &state,
                &headers,
                StatusCode::FORBIDDEN,
                "helpline-console-oauth-unknown",
                Some(&username),
            );
        }
        Err(e) => {
            return super::pages::error_page(
                &state,
                &headers,
                &crate::error::AppError::Internal(e.into()),
                None,
            );
        }
    };
    match session::start_session(&state.store, &state.config.console, &helper.id).await {
        Ok(value) => {
            let mut response =
                (StatusCode::SEE_OTHER, [(LOCATION, HeaderValue::from_static("/console"))]).into_response();
            let cookies = response.headers_mut();
            cookies.append(SET_COOKIE, session::cookie(&state.config.console, &value));
            cookies.append(SET_COOKIE, state_cookie(&state, "", 0));
            response
        }
        Err(e) => super::pages::error_page(&state, &headers, &e.into(), None),
    }
}

/// Uses up a pending sign-in; its verifier if it existed and had not expired.
async fn take_pending(state: &AppState, flow: &str) -> sqlx::Result<Option<String>> {
    let hash = secrets::hash_token(flow);
    let mut tx = state.store.write.begin().await?;
    let row: Option<(String, i64)> =
        sqlx::query_as("SELECT verifier, expires_at FROM oauth_pending WHERE state_hash = $1")
            .bind(&hash)
            .fetch_optional(&mut *tx)
            .await?;
    sqlx::query("DELETE FROM oauth_pending WHERE state_hash = $1 OR expires_at <= $2")
        .bind(&hash)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(row.filter(|(_, expires)| *expires > now_ms()).map(|(verifier, _)| verifier))
}

async fn exchange(
    state: &AppState,
    oauth: &OAuthConfig,
    code: &str,
    verifier: &str,
) -> anyhow::Result<String> {
    let redirect = redirect_uri(state);
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect.as_str()),
        ("client_id", oauth.client_id.as_str()),
        ("code_verifier", verifier),
    ];
    if let Some(secret) = &oauth.client_secret {
        form.push(("client_secret", secret.as_str()));
    }
    let answer = state.http.post(oauth.token_url()).form(&form).send().await?;
    anyhow::ensure!(answer.status().is_success(), "token endpoint answered {}", answer.status());
    let token: TokenAnswer = answer.json().await?;
    let profile = state.http.get(oauth.profile_url()).bearer_auth(&token.access_token).send().await?;
    anyhow::ensure!(profile.status().is_success(), "profile endpoint answered {}", profile.status());
    let profile: Profile = profile.json().await?;
    anyhow::ensure!(!profile.username.trim().is_empty(), "the profile has no username");
    Ok(profile.username)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc_7636_s256() {
        // The example of RFC 7636, appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
