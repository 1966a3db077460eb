//! Cross-site requests against every route and every socket. The routes come from the
//! server itself — the API's operations from its OpenAPI document, the console's forms
//! from its router — so a route added later without protection fails here rather than
//! slipping past a hand-kept list.
//!
//! What a page on another site can make a helper's or a requester's browser send:
//! requests with that site's `Origin`, carrying the console's cookie (the only ambient
//! credential), but never its CSRF token nor a bearer token it does not know.
#![allow(clippy::unwrap_used)]

mod common;

use common::console::{browser, csrf_of, link_for, page, redeem, session_cookie, signed_in, spawn};
use common::openapi::{self, Operation};
use common::{ORIGIN, OTHER_ORIGIN, TestApp, fingerprint};
use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, ORIGIN as ORIGIN_HEADER};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

on_both_backends!(
    spawn = spawn;
    every_console_form_refuses_other_sites_and_stale_tokens,
    every_api_operation_refuses_other_sites,
);

const EVIL: &str = "https://evil.example";

/// The console's forms (every `post(` of its router), with their path parameters.
fn console_forms() -> Vec<String> {
    let source = include_str!("../src/console/mod.rs");
    let route =
        regex::Regex::new(r#"\.route\((?:"([^"]+)"|&action\("([^"]+)"\)|&site\("([^"]+)"\)),(.*)$"#).unwrap();
    let forms: Vec<String> = source
        .lines()
        .filter_map(|line| route.captures(line.trim()))
        .filter(|c| c[4].contains("post("))
        .map(|c| match (c.get(1), c.get(2), c.get(3)) {
            (Some(path), _, _) => path.as_str().to_string(),
            (_, Some(action), _) => format!("/console/conversations/{{id}}/{}", action.as_str()),
            (_, _, Some(site)) => format!("/console/sites/{{site}}/{}", site.as_str()),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        forms.len(),
        source.matches("post(").count(),
        "every form of src/console/mod.rs is read: {forms:?}"
    );
    assert!(forms.len() > 30, "{forms:?}");
    forms
}

/// Forms sent before anyone is signed in (no session, so no CSRF token yet): they are
/// refused from any other origin instead.
const BEFORE_SIGN_IN: &[&str] = &["/console/signin/link", "/console/signin/email", "/console/apply/wiki"];

async fn every_console_form_refuses_other_sites_and_stale_tokens(app: TestApp) {
    app.set_role("alice", "wiki-queue", "coordinator").await.unwrap();
    let (id, _, _) = app.start("a request nobody may touch from elsewhere").await;
    let (alice, csrf) = signed_in(&app, "alice").await;
    let (_bob, bobs_csrf) = signed_in(&app, "bob").await;
    let own_origin = app.url.clone();
    let unsigned = browser();
    let before = fingerprint::of(&app).await;

    let forms = console_forms();
    for form in &forms {
        let url = format!("{}{}", app.url, form.replace("{id}", &id).replace("{site}", "wiki"));
        let send = |client: &reqwest::Client, origin: &str, token: Option<&str>, json: bool| {
            let mut fields = vec![("queue", "wiki-queue"), ("statement", "x"), ("email", "a@b.example")];
            fields.extend(token.map(|t| ("csrf", t)));
            let mut request = client.post(&url).header(ORIGIN_HEADER, origin).form(&fields);
            if json {
                request = request.header(ACCEPT, "application/json");
            }
            request.send()
        };
        // From another site, even with the right token (read off a page somehow).
        for json in [true, false] {
            let response = send(&alice, EVIL, Some(&csrf), json).await.unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{form} from {EVIL} (json: {json})");
        }
        if BEFORE_SIGN_IN.contains(&form.as_str()) {
            continue;
        }
        // From the console itself, with no token, another session's token, or no session.
        for (what, token) in
            [("no token", None), ("bob's token", Some(bobs_csrf.as_str())), ("empty", Some(""))]
        {
            for json in [true, false] {
                let response = send(&alice, &own_origin, token, json).await.unwrap();
                assert_eq!(response.status(), StatusCode::FORBIDDEN, "{form} with {what} (json: {json})");
            }
        }
        let response = send(&unsigned, &own_origin, Some(&csrf), true).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{form} without a session");
        let response = send(&unsigned, &own_origin, Some(&csrf), false).await.unwrap();
        assert_eq!(response.headers()["location"], "/console/signin", "{form} without a session, as a page");
    }
    fingerprint::assert_same(&before, &fingerprint::of(&app).await, "a refused console form");

    // Alice is still signed in (the sign-out form was among them), and a sign-in link
    // sent from elsewhere was not spent: it still works from the console.
    let (status, html) = page(&app, &alice, "/console").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&csrf), "the same session");
    let link = link_for(&app, "carol").await;
    let carol = browser();
    let stolen = carol.post(format!("{}/console/signin/link", app.url)).header(ORIGIN_HEADER, EVIL);
    assert_eq!(stolen.form(&[("token", &link)]).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(redeem(&app, &carol, &link).await.status(), StatusCode::SEE_OTHER);
    // And the same forms work from the console with the right token (so the refusals
    // above are the guard's, not a form's own error).
    let (status, _) = page(&app, &carol, "/console").await;
    assert_eq!(status, StatusCode::OK);
    let claimed = alice
        .post(format!("{}/console/conversations/{id}/claim", app.url))
        .header(ORIGIN_HEADER, &own_origin)
        .header(ACCEPT, "application/json")
        .form(&[("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(claimed.status(), StatusCode::OK);
}

/// How each API operation is kept from other sites; an operation not named here fails
/// the sweep until someone says how it is protected.
#[derive(Debug, PartialEq)]
enum Guard {
    /// A requester's call: only from the site's allowed origins.
    SiteOrigins,
    /// A helper's call: a bearer token, or the console cookie from the console itself
    /// (and then the CSRF header for anything but reading).
    HelperCredentials,
    /// No credential, reads only what any visitor may: no cross-site harm.
    Public,
    /// The server's mail-in key, which no browser holds.
    MailInKey,
    /// The wiki's OAuth server sends the browser here; one-time `state` checked.
    OAuthState,
}

fn guard_of(operation: &Operation) -> Guard {
    match (operation.method.as_str(), operation.path.as_str()) {
        ("get", "/healthz" | "/readyz" | "/metrics" | "/v1/challenge") => Guard::Public,
        ("post", "/v1/mail/inbound") => Guard::MailInKey,
        ("get", "/v1/verify/callback") => Guard::OAuthState,
        _ if operation.tag == "requester" => Guard::SiteOrigins,
        _ if operation.tag == "helper" => Guard::HelperCredentials,
        _ => panic!("{operation:?}: say how it is kept from other sites"),
    }
}

async fn every_api_operation_refuses_other_sites(app: TestApp) {
    let (id, token, _) = app.start("a request another site must not reach").await;
    let alice = browser();
    let signed = redeem(&app, &alice, &link_for(&app, "alice").await).await;
    let cookie = session_cookie(&signed);
    let csrf = csrf_of(&page(&app, &alice, "/console").await.1);
    assert_eq!(app.claim("alice", &id).await.status(), 200);
    let before = fingerprint::of(&app).await;
    let operations = openapi::operations(&app).await;

    for operation in &operations {
        let guard = guard_of(operation);
        let path = operation.path_with(&id, "wiki");
        let url = format!("{}{path}", app.url);
        let what = format!("{} {}", operation.method, operation.path);

        // No CORS grant to another site, on any operation; a site's own origin is granted
        // the requester's calls only.
        for origin in [EVIL, ORIGIN] {
            let preflight = app
                .client
                .request(reqwest::Method::OPTIONS, &url)
                .header(ORIGIN_HEADER, origin)
                .header("access-control-request-method", operation.method.to_uppercase())
                .header("access-control-request-headers", "authorization,content-type")
                .send()
                .await
                .unwrap();
            let granted = preflight
                .headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap().to_string());
            // What the widget calls: the requester's operations but the OAuth return.
            let widget_calls = operation.tag == "requester" && guard != Guard::OAuthState;
            let expected = (origin == ORIGIN && widget_calls).then(|| origin.to_string());
            assert_eq!(granted, expected, "{what}: CORS for {origin}");
        }
        if operation.socket {
            continue; // the sockets: below
        }

        let request = |client: &reqwest::Client, origin: &str| {
            let mut request = client.request(operation.reqwest_method(), &url).header(ORIGIN_HEADER, origin);
            if let Some(body) = &operation.body {
                request = request.json(body);
            }
            request
        };
        match guard {
            Guard::SiteOrigins => {
                for origin in [EVIL, OTHER_ORIGIN] {
                    let response = request(&app.client, origin).bearer_auth(&token).send().await.unwrap();
                    assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what} from {origin}");
                }
            }
            Guard::HelperCredentials => {
                // The console's cookie from another site counts for nothing, token or not.
                let response = request(&alice, EVIL).header("x-csrf-token", &csrf).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what} with the cookie from {EVIL}");
                // From the console itself, changing anything needs the CSRF header.
                if operation.method != "get" {
                    let response = request(&alice, &app.url).send().await.unwrap();
                    assert_eq!(
                        response.status(),
                        StatusCode::FORBIDDEN,
                        "{what} with the cookie, no CSRF header"
                    );
                    let response =
                        request(&alice, &app.url).header("x-csrf-token", "forged").send().await.unwrap();
                    assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what} with a forged CSRF header");
                }
            }
            Guard::MailInKey => {
                let response = request(&alice, EVIL).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what} without the key");
            }
            Guard::OAuthState => {
                let response =
                    request(&alice, EVIL).query(&[("state", "made-up"), ("code", "x")]).send().await.unwrap();
                assert!(
                    response.status().is_client_error(),
                    "{what} with a made-up state: {}",
                    response.status()
                );
            }
            Guard::Public => {
                let response = request(&app.client, EVIL).send().await.unwrap();
                assert!(response.status().is_success(), "{what} is public: {}", response.status());
            }
        }
    }
    fingerprint::assert_same(&before, &fingerprint::of(&app).await, "a refused API call");

    // The sockets of the document: the requester's from another site is refused at the
    // upgrade; the helper's takes the console cookie only from the console itself.
    let sockets: Vec<&Operation> = operations.iter().filter(|o| o.socket).collect();
    assert_eq!(sockets.len(), 2, "{sockets:?}");
    for socket in sockets {
        let refused = connect(&app, &socket.path_with(&id, "wiki"), EVIL, &cookie).await;
        match guard_of(socket) {
            Guard::SiteOrigins => assert_eq!(refused.err(), Some(403), "{socket:?}"),
            Guard::HelperCredentials => {
                let mut ws = refused.expect("the upgrade; the hello decides");
                // Not ready: the first thing it hears is that a hello is missing.
                ws_send(&mut ws, json!({"type": "ping"})).await;
                let first = ws.next().await.unwrap().unwrap();
                match first {
                    WsMessage::Close(Some(close)) => assert_eq!(u16::from(close.code), 4400, "{close:?}"),
                    other => panic!("the cookie from {EVIL} made a helper: {other:?}"),
                }
                let mut ws = connect(&app, &socket.path, &app.url, &cookie).await.expect("from the console");
                assert_eq!(common::next_of_type(&mut ws, "ready").await["helper"], "alice");
            }
            other => panic!("{socket:?}: {other:?}"),
        }
    }
    let mut ws = connect(&app, &format!("/v1/conversations/{id}/live"), OTHER_ORIGIN, "").await.unwrap();
    ws_send(&mut ws, json!({"type": "hello", "token": token})).await;
    assert_eq!(common::closed_with(&mut ws).await.0, 4403, "another site's page");
}

type Socket = common::Ws;

async fn connect(app: &TestApp, path: &str, origin: &str, cookie: &str) -> Result<Socket, u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = app.ws_url(path).into_client_request().unwrap();
    request.headers_mut().insert("origin", origin.parse().unwrap());
    if !cookie.is_empty() {
        request.headers_mut().insert("cookie", format!("helpline_console={cookie}").parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(other) => panic!("{path}: {other}"),
    }
}

async fn ws_send(ws: &mut Socket, frame: Value) {
    common::send(ws, frame).await;
}
