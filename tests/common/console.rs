//! Driving the helper console as a browser would: its own cookies, sign-in by a
//! one-time link, forms with the page's CSRF token.

use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;

use super::{Backend, TestApp};

pub async fn spawn(backend: Backend) -> Option<TestApp> {
    // Plain HTTP in tests: a Secure cookie would not come back.
    TestApp::spawn_with(backend, |config| config.console.secure_cookies = false).await
}

/// A browser: its own cookies, and redirects left for the test to see.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A one-time sign-in link token for `name`, as `helpline helper link` prints.
pub async fn link_for(app: &TestApp, name: &str) -> String {
    app.sign_in_link(name).await
}

pub async fn redeem(app: &TestApp, client: &reqwest::Client, token: &str) -> reqwest::Response {
    client.post(format!("{}/console/signin/link", app.url)).form(&[("token", token)]).send().await.unwrap()
}

/// Signs `name` in; returns the browser and the page's CSRF token.
pub async fn signed_in(app: &TestApp, name: &str) -> (reqwest::Client, String) {
    let client = browser();
    let token = link_for(app, name).await;
    let response = redeem(app, &client, &token).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let csrf = csrf_of(&page(app, &client, "/console").await.1);
    (client, csrf)
}

pub async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let response = client.get(format!("{}{path}", app.url)).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

pub fn csrf_of(html: &str) -> String {
    let re = regex::Regex::new(r#"name="csrf" value="([^"]+)""#).unwrap();
    re.captures(html).unwrap_or_else(|| panic!("no CSRF token in {html}"))[1].to_string()
}

pub fn session_cookie(response: &reqwest::Response) -> String {
    let value = response.headers().get(SET_COOKIE).unwrap().to_str().unwrap().to_string();
    assert!(
        value.contains("HttpOnly") && value.contains("SameSite=Lax") && value.contains("Path=/"),
        "{value}"
    );
    value.split(';').next().unwrap().trim_start_matches("helpline_console=").to_string()
}

pub async fn act(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    client.post(format!("{}{path}", app.url)).form(fields).send().await.unwrap()
}
