//! Console sign-in with OAuth 2.0 (authorization code + PKCE) against a small OAuth
//! provider written for these tests — a test double standing in for Wikimedia's central
//! OAuth server, which cannot run here. It checks what the real one checks: the client,
//! the redirect URI, and the PKCE verifier against the challenge. A wiki account that
//! is no helper may then apply to join a queue that takes applications, and a
//! coordinator decides.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use common::{Backend, TestApp};
use helpline::config::OAuthConfig;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde::Deserialize;
use serde_json::json;

const CLIENT_ID: &str = "helpline-test";

/// The test double's memory: who is "logged in" at the provider, and issued codes.
#[derive(Clone, Default)]
struct Provider {
    user: Arc<Mutex<String>>,
    codes: Arc<Mutex<HashMap<String, Issued>>>,
}

/// A code the double issued: (challenge, redirect_uri, user).
type Issued = (String, String, String);

#[derive(Deserialize)]
struct Authorize {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    state: String,
    code_challenge: String,
    code_challenge_method: String,
}

async fn authorize(State(p): State<Provider>, Query(q): Query<Authorize>) -> Response {
    if q.response_type != "code" || q.client_id != CLIENT_ID || q.code_challenge_method != "S256" {
        return (StatusCode::BAD_REQUEST, "bad authorization request").into_response();
    }
    let code = format!("code-{}", p.codes.lock().unwrap().len());
    let user = p.user.lock().unwrap().clone();
    p.codes.lock().unwrap().insert(code.clone(), (q.code_challenge, q.redirect_uri.clone(), user));
    Redirect::to(&format!("{}?code={code}&state={}", q.redirect_uri, q.state)).into_response()
}

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: String,
    code: String,
    redirect_uri: String,
    client_id: String,
    code_verifier: String,
}

async fn access_token(State(p): State<Provider>, Form(f): Form<TokenRequest>) -> Response {
    let Some((challenge, redirect_uri, _)) = p.codes.lock().unwrap().get(&f.code).cloned() else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_grant"}))).into_response();
    };
    let valid = f.grant_type == "authorization_code"
        && f.client_id == CLIENT_ID
        && f.redirect_uri == redirect_uri
        && helpline_challenge(&f.code_verifier) == challenge;
    if !valid {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_grant"}))).into_response();
    }
    axum::Json(json!({"access_token": format!("token-{}", f.code), "token_type": "Bearer"})).into_response()
}

async fn profile(State(p): State<Provider>, headers: HeaderMap) -> Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some(code) = auth.strip_prefix("Bearer token-") else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    match p.codes.lock().unwrap().get(code) {
        Some((_, _, user)) => axum::Json(json!({"sub": 1, "username": user})).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// RFC 7636 S256, computed independently of the code under test.
fn helpline_challenge(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

async fn provider() -> (String, Provider) {
    let p = Provider::default();
    *p.user.lock().unwrap() = "alice".into();
    let app = axum::Router::new()
        .route("/authorize", get(authorize))
        .route("/access_token", post(access_token))
        .route("/resource/profile", get(profile))
        .with_state(p.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, p)
}

/// The console's OAuth client, pointed at the test double.
fn client_of(provider_url: &str) -> OAuthConfig {
    OAuthConfig {
        provider: None,
        client_id: CLIENT_ID.into(),
        client_secret: None,
        authorize_url: Some(format!("{provider_url}/authorize")),
        token_url: Some(format!("{provider_url}/access_token")),
        profile_url: Some(format!("{provider_url}/resource/profile")),
    }
}

async fn spawn(backend: Backend, provider_url: &str) -> Option<TestApp> {
    let oauth = client_of(provider_url);
    TestApp::spawn_with(backend, |config| {
        config.console.secure_cookies = false;
        config.console.oauth = Some(oauth);
    })
    .await
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Follows the flow to the callback URL the provider sends the browser to.
async fn to_callback(app: &TestApp, client: &reqwest::Client) -> String {
    let start = client.get(format!("{}/console/oauth/start", app.url)).send().await.unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let cookie = start.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let authorize_url = start.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(authorize_url.contains("code_challenge_method=S256") && authorize_url.contains("state="));
    let back = client.get(&authorize_url).send().await.unwrap();
    back.headers()[LOCATION].to_str().unwrap().to_string()
}

on_both_backends!(backend; a_helper_signs_in_with_oauth_and_pkce, wrong_state_reuse_and_strangers_are_refused);
on_both_backends!(backend; a_wiki_account_that_is_no_helper_applies_and_a_coordinator_approves);

async fn a_helper_signs_in_with_oauth_and_pkce(backend: Backend) {
    let (provider_url, _) = provider().await;
    let Some(app) = spawn(backend, &provider_url).await else { return };
    let client = browser();
    let signin =
        client.get(format!("{}/console/signin", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(signin.contains("Sign in with your Wikimedia account"));
    let callback = to_callback(&app, &client).await;
    assert!(callback.starts_with(&format!("{}/console/oauth/callback?code=", app.url)), "{callback}");
    let done = client.get(&callback).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()[LOCATION], "/console");
    let dashboard = client.get(format!("{}/console", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(dashboard.contains("Signed in as alice"), "{dashboard}");
}

async fn wrong_state_reuse_and_strangers_are_refused(backend: Backend) {
    let (provider_url, provider) = provider().await;
    let Some(app) = spawn(backend, &provider_url).await else { return };
    let signed_in = |client: reqwest::Client| {
        let url = format!("{}/console", app.url);
        async move { client.get(url).send().await.unwrap().status() == StatusCode::OK }
    };

    // A state that is not the one this browser was given.
    let client = browser();
    let callback = to_callback(&app, &client).await;
    let (before, _) = callback.split_once("&state=").unwrap();
    let forged = client.get(format!("{before}&state=forged")).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    assert!(forged.text().await.unwrap().contains("out of date"));
    assert!(!signed_in(client.clone()).await);

    // The right callback in another browser (no state cookie): refused.
    let other = browser();
    assert_eq!(other.get(&callback).send().await.unwrap().status(), StatusCode::BAD_REQUEST);
    // Used once, refused the second time.
    assert_eq!(client.get(&callback).send().await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(client.get(&callback).send().await.unwrap().status(), StatusCode::BAD_REQUEST);

    // PKCE: a code from one sign-in, brought to another, is useless without its verifier.
    let thief = browser();
    let stolen = to_callback(&app, &browser()).await;
    let own = to_callback(&app, &thief).await;
    let code = stolen.split("code=").nth(1).unwrap().split('&').next().unwrap();
    let own_state = own.split("state=").nth(1).unwrap();
    let swapped = thief
        .get(format!("{}/console/oauth/callback?code={code}&state={own_state}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(swapped.status(), StatusCode::BAD_GATEWAY, "the provider refused the verifier");
    assert!(!signed_in(thief).await);

    // Someone the wiki knows but who is no helper here gets no session.
    *provider.user.lock().unwrap() = "Mallory".into();
    let stranger = browser();
    let callback = to_callback(&app, &stranger).await;
    let refused = stranger.get(&callback).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("Mallory is not a helper here"));
    assert!(!signed_in(stranger).await);

    // A provider that declines.
    let declined = browser()
        .get(format!("{}/console/oauth/callback?error=access_denied&state=x", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(declined.status(), StatusCode::BAD_REQUEST);
}

async fn a_wiki_account_that_is_no_helper_applies_and_a_coordinator_approves(backend: Backend) {
    let (provider_url, provider) = provider().await;
    let oauth = client_of(&provider_url);
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.console.secure_cookies = false;
        config.console.oauth = Some(oauth);
        // The wiki is not asked here: an approval is what lets the applicant in.
        config.sites[0].api_url = Some("http://127.0.0.1:9/api.php".into());
        config.queues[0].eligibility = Some(
            toml::from_str("site = \"wiki\"\ngroups_any = [\"sysop\"]\napproval = \"alternative\"").unwrap(),
        );
    })
    .await
    else {
        return;
    };
    *provider.user.lock().unwrap() = "Newcomer".into();
    let applicant = browser();
    let callback = to_callback(&app, &applicant).await;
    let invited = applicant.get(&callback).send().await.unwrap();
    assert_eq!(invited.status(), StatusCode::SEE_OTHER);
    assert_eq!(invited.headers()[LOCATION], "/console/apply");
    let cookie = invited.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("Path=/console/apply"), "{cookie}");
    let form =
        applicant.get(format!("{}/console/apply", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(form.contains("You apply as Newcomer"), "{form}");
    assert!(!form.contains("Other helpers"), "only queues that take applications: {form}");
    assert_eq!(
        applicant.get(format!("{}/console", app.url)).send().await.unwrap().status(),
        StatusCode::SEE_OTHER,
        "no session"
    );

    let apply = |client: &reqwest::Client, origin: &str, statement: &str| {
        client
            .post(format!("{}/console/apply/wiki", app.url))
            .header("origin", origin)
            .form(&[("queue", "wiki-queue"), ("statement", statement)])
            .send()
    };
    let foreign = apply(&applicant, "https://evil.example", "I want in").await.unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let nobody = apply(&browser(), &app.url, "I want in").await.unwrap();
    assert_eq!(nobody.status(), StatusCode::SEE_OTHER, "without the cookie: to sign-in");
    let filed = apply(&applicant, &app.url, "I have answered at the help desk for years.").await.unwrap();
    assert_eq!(filed.status(), StatusCode::OK);
    assert!(filed.text().await.unwrap().contains("is with its coordinators"));
    let again = apply(&applicant, &app.url, "Please").await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT, "one waiting application at a time");
    assert!(app.helper("Newcomer").await.is_none(), "no helper before a decision");

    app.set_role("alice", "wiki-queue", "coordinator").await.unwrap();
    let (coordinator, csrf) = common::console::signed_in(&app, "alice").await;
    let team =
        coordinator.get(format!("{}/console/team", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(team.contains("I have answered at the help desk for years."), "{team}");
    let ids: Vec<(String,)> =
        app.stored("SELECT id FROM queue_applications WHERE name = $1", &["Newcomer"]).await;
    for (reason, expected) in
        [(" ", StatusCode::BAD_REQUEST), ("Known from the help desk", StatusCode::SEE_OTHER)]
    {
        let fields = [
            ("csrf", csrf.as_str()),
            ("application", ids[0].0.as_str()),
            ("decision", "approve"),
            ("reason", reason),
        ];
        let decided = common::console::act(&app, &coordinator, "/console/team/decide", &fields).await;
        assert_eq!(decided.status(), expected, "reason {reason:?}");
    }
    let helper = app.helper("Newcomer").await.unwrap();
    assert!(helper.is_member("wiki-queue"));
    let reasons: Vec<(String, Option<String>)> =
        app.stored("SELECT status, reason FROM queue_applications WHERE name = $1", &["Newcomer"]).await;
    assert_eq!(reasons, [("approved".to_string(), Some("Known from the help desk".to_string()))]);
    // Signing in again through the wiki now opens a session.
    let back = browser();
    let callback = to_callback(&app, &back).await;
    assert_eq!(back.get(&callback).send().await.unwrap().headers()[LOCATION], "/console");
}
