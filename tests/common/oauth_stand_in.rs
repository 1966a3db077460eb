//! A stand-in for the wiki's OAuth 2.0 provider (the OAuth extension, which Debian does
//! not package): a small provider written for these tests, with PKCE, that says who is
//! logged in at the wiki. And "Confirm it's you" as the requester's window goes through it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use helpline::config::OAuthConfig;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Digest;

use super::TestApp;

/// The stand-in provider: who is logged in at the wiki, and the codes it issued.
#[derive(Clone, Default)]
pub struct Provider {
    pub user: Arc<Mutex<String>>,
    codes: Arc<Mutex<HashMap<String, (String, String)>>>,
}

#[derive(Deserialize)]
struct Authorize {
    client_id: String,
    redirect_uri: String,
    state: String,
    code_challenge: String,
    code_challenge_method: String,
}

async fn authorize(State(p): State<Provider>, Query(q): Query<Authorize>) -> Response {
    assert_eq!((q.client_id.as_str(), q.code_challenge_method.as_str()), ("wiki-client", "S256"));
    let code = format!("code{}", p.codes.lock().unwrap().len());
    let user = p.user.lock().unwrap().clone();
    p.codes.lock().unwrap().insert(code.clone(), (q.code_challenge, user));
    Redirect::to(&format!("{}?code={code}&state={}", q.redirect_uri, q.state)).into_response()
}

#[derive(Deserialize)]
struct TokenRequest {
    code: String,
    code_verifier: String,
}

async fn token(State(p): State<Provider>, Form(f): Form<TokenRequest>) -> Response {
    let Some((challenge, user)) = p.codes.lock().unwrap().remove(&f.code) else {
        return (axum::http::StatusCode::BAD_REQUEST, "unknown code").into_response();
    };
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(f.code_verifier.as_bytes()));
    if expected != challenge {
        return (axum::http::StatusCode::BAD_REQUEST, "PKCE").into_response();
    }
    axum::Json(json!({"access_token": format!("at-{user}"), "token_type": "Bearer"})).into_response()
}

async fn profile(headers: axum::http::HeaderMap) -> Response {
    let user = headers["authorization"].to_str().unwrap().trim_start_matches("Bearer at-").to_string();
    axum::Json(json!({"sub": "1", "username": user})).into_response()
}

pub async fn provider() -> (Provider, String) {
    let p = Provider::default();
    let app = axum::Router::new()
        .route("/authorize", get(authorize))
        .route("/access_token", post(token))
        .route("/resource/profile", get(profile))
        .with_state(p.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (p, url)
}

/// The site's `oauth` settings for the stand-in at `base`.
pub fn oauth_config(base: &str) -> OAuthConfig {
    OAuthConfig {
        provider: None,
        client_id: "wiki-client".into(),
        client_secret: None,
        authorize_url: Some(format!("{base}/authorize")),
        token_url: Some(format!("{base}/access_token")),
        profile_url: Some(format!("{base}/resource/profile")),
    }
}

pub async fn requester(
    app: &TestApp,
    method: reqwest::Method,
    id: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app
        .client
        .request(method, format!("{}/v1/conversations/{id}{path}", app.url))
        .bearer_auth(token)
        .header("origin", super::ORIGIN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// "Confirm it's you", as the requester's window goes through it.
pub async fn confirm(
    app: &TestApp,
    p: &Provider,
    id: &str,
    token: &str,
    wiki_user: &str,
) -> reqwest::Response {
    *p.user.lock().unwrap() = wiki_user.to_string();
    let started: Value =
        requester(app, reqwest::Method::POST, id, "/verify", token, None).await.json().await.unwrap();
    let window = reqwest::Client::new();
    window.get(started["authorize_url"].as_str().unwrap()).send().await.unwrap()
}
