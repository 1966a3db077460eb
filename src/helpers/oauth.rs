//! Sign-in with MediaWiki OAuth 2.0: authorization code with PKCE (S256) and a `state`
//! bound to the browser, against Wikimedia's central server (the `wikimedia` preset) or
//! any MediaWiki with the OAuth extension. The username comes from the provider's
//! profile and must be a helper's name; nobody gets an account by signing in. The
//! console's pages (`console::oauth`) send the browser there and back.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::OAuthConfig;
use crate::secrets;
use crate::state::AppState;
use crate::store::sessions;

/// How long a sign-in may take at the provider.
pub const PENDING_MS: i64 = 600_000;

/// The S256 PKCE challenge of a verifier.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub fn redirect_uri(state: &AppState) -> String {
    format!("{}/console/oauth/callback", state.config.public_url())
}

/// A sign-in on its way: the `state` for the browser's cookie and the provider, and the
/// address to send the browser to.
pub struct Started {
    pub state_token: String,
    pub authorize_url: String,
}

/// Remembers a new `state` and PKCE verifier; where to send the browser.
pub async fn start(state: &AppState, oauth: &OAuthConfig) -> sqlx::Result<Started> {
    let flow = secrets::new_token();
    let verifier = secrets::new_token().token;
    let now = state.now_ms();
    sessions::insert_oauth_pending(&state.store, &flow.hash, &verifier, now, now + PENDING_MS).await?;
    let authorize_url = authorize_url(oauth, &redirect_uri(state), &flow.token, &verifier);
    Ok(Started { state_token: flow.token, authorize_url })
}

/// Uses up a pending sign-in; its verifier if it existed and had not expired.
pub async fn take_pending(state: &AppState, flow: &str) -> sqlx::Result<Option<String>> {
    sessions::take_oauth_pending(&state.store, &secrets::hash_token(flow), state.now_ms()).await
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
}

#[derive(Deserialize)]
struct Profile {
    username: String,
}

/// Exchanges the code (with the PKCE verifier) and reads the username.
pub async fn exchange(
    state: &AppState,
    oauth: &OAuthConfig,
    code: &str,
    verifier: &str,
) -> anyhow::Result<String> {
    exchange_for(state, oauth, code, verifier, &redirect_uri(state)).await
}

/// The query of an authorization request: code flow with PKCE (S256).
pub fn authorize_url(oauth: &OAuthConfig, redirect: &str, state_token: &str, verifier: &str) -> String {
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", oauth.client_id.as_str()),
        ("redirect_uri", redirect),
        ("state", state_token),
        ("code_challenge", challenge(verifier).as_str()),
        ("code_challenge_method", "S256"),
    ])
    .unwrap_or_default();
    format!("{}?{query}", oauth.authorize_url())
}

/// `exchange` for a sign-in that came back to `redirect`.
pub async fn exchange_for(
    state: &AppState,
    oauth: &OAuthConfig,
    code: &str,
    verifier: &str,
    redirect: &str,
) -> anyhow::Result<String> {
    let redirect = redirect.to_string();
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
