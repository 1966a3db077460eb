//! What every page and answer carries against injection and framing, and sessions an
//! attacker cannot fix in advance.
#![allow(clippy::unwrap_used)]

mod common;

use common::TestApp;
use common::console::{browser, csrf_of, link_for, page, redeem, session_cookie, signed_in, spawn};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, HeaderMap};
use serde_json::json;

on_both_backends!(
    spawn = spawn;
    every_page_and_answer_carries_the_security_headers,
    a_session_cannot_be_fixed_before_sign_in,
);

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).map_or("", |v| v.to_str().unwrap())
}

/// A page: no framing, no type sniffing, and a policy that allows only this server's
/// own scripts (no inline script, no `eval`, no foreign source).
fn assert_page_headers(path: &str, headers: &HeaderMap) {
    let csp = header(headers, "content-security-policy");
    for needed in ["script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "default-src 'self'"] {
        assert!(csp.contains(needed), "{path}: CSP {csp:?} lacks {needed}");
    }
    for loose in ["'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"] {
        assert!(!csp.contains(loose), "{path}: CSP {csp:?} allows {loose}");
    }
    assert_eq!(header(headers, "x-content-type-options"), "nosniff", "{path}");
    assert_eq!(header(headers, "x-frame-options"), "DENY", "{path}");
    assert!(!header(headers, "referrer-policy").is_empty(), "{path}: a referrer policy");
}

async fn every_page_and_answer_carries_the_security_headers(app: TestApp) {
    app.set_role("alice", "wiki-queue", "coordinator").await.unwrap();
    let (id, token, _) = app.start("a conversation for the pages").await;
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    let (alice, _) = signed_in(&app, "alice").await;
    let signed_in_pages = [
        "/console".to_string(),
        "/console/settings".into(),
        format!("/console/conversations/{id}"),
        "/console/stats".into(),
        "/console/team".into(),
        "/console/sites/wiki".into(),
        "/console/apply".into(),
    ];
    for path in &signed_in_pages {
        let response = alice.get(format!("{}{path}", app.url)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_page_headers(path, response.headers());
    }
    let stranger = browser();
    for path in ["/console/signin", "/console/conversations/nonexistent"] {
        let response = stranger.get(format!("{}{path}", app.url)).send().await.unwrap();
        if response.status() == StatusCode::OK {
            assert_page_headers(path, response.headers());
        }
        assert_eq!(header(response.headers(), "x-content-type-options"), "nosniff", "{path}");
    }

    // Scripts, styles, JSON answers and errors: never sniffed, never framed.
    let others = [
        ("GET", "/widget/helpline.js".to_string()),
        ("GET", "/widget/helpline.css".into()),
        ("GET", "/console/assets/console.js".into()),
        ("GET", "/v1/openapi.json".into()),
        ("GET", "/v1/sites/wiki/widget".into()),
        ("GET", format!("/v1/conversations/{id}?after=0")),
        ("GET", "/v1/conversations/unknown?after=0".into()),
        ("POST", "/v1/conversations".into()),
        ("GET", "/healthz".into()),
    ];
    let client = reqwest::Client::new();
    for (method, path) in &others {
        let request = match *method {
            "POST" => {
                client.post(format!("{}{path}", app.url)).json(&json!({"site": "nowhere", "text": "x"}))
            }
            _ => client.get(format!("{}{path}", app.url)).bearer_auth(&token),
        };
        let response = request.send().await.unwrap();
        assert_eq!(header(response.headers(), "x-content-type-options"), "nosniff", "{method} {path}");
        assert_eq!(header(response.headers(), "x-frame-options"), "DENY", "{method} {path}");
    }
}

async fn a_session_cannot_be_fixed_before_sign_in(app: TestApp) {
    // An attacker plants a cookie of their choosing in the victim's browser, then the
    // victim signs in with their own link.
    let planted = "attacker-chosen-session-value";
    let victim = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let token = link_for(&app, "bob").await;
    let response = victim
        .post(format!("{}/console/signin/link", app.url))
        .header(COOKIE, format!("helpline_console={planted}"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let issued = session_cookie(&response);
    assert_ne!(issued, planted, "signing in issues a new session, never the one presented");
    // The planted value is worth nothing; the issued one works.
    let probe = |cookie: String| {
        reqwest::Client::new()
            .get(format!("{}/console/session", app.url))
            .header(COOKIE, format!("helpline_console={cookie}"))
            .send()
    };
    assert_eq!(probe(planted.to_string()).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(probe(issued.clone()).await.unwrap().status(), StatusCode::NO_CONTENT);

    // Signing in again while signed in gives yet another session, and ends nothing else.
    let again = browser();
    let first = redeem(&app, &again, &link_for(&app, "bob").await).await;
    let first = session_cookie(&first);
    let second = redeem(&app, &again, &link_for(&app, "bob").await).await;
    let second = session_cookie(&second);
    assert_ne!(first, second);
    let csrf = csrf_of(&page(&app, &again, "/console").await.1);
    assert!(!csrf.is_empty());
    assert_eq!(probe(issued).await.unwrap().status(), StatusCode::NO_CONTENT, "other sessions stay");
}
