//! Ids and tokens of others: every operation of the API (from the server's own OpenAPI
//! document), every console page and form about a conversation, and both sockets, tried
//! with another conversation's token, a helper outside the conversation's queue, a helper
//! the requester asked not to be helped by, forged and malformed ids and tokens. None may
//! answer with what belongs to the other (0 leaks), and nothing stored may change.
#![allow(clippy::unwrap_used)]

mod common;

use common::console::{act, page, signed_in, spawn};
use common::openapi::{self, Operation};
use common::{ORIGIN, TestApp, fingerprint, send};
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    spawn = spawn;
    nobody_reaches_what_is_not_theirs,
);

/// Words only conversation A's requester, its helpers and its note hold.
const SECRET_WORDS: &str = "my-address-is-7-elm-street";
const SECRET_NOTE: &str = "note-about-the-harasser";
/// Words of K, whose requester asked not to be helped by bob.
const K_WORDS: &str = "the-one-i-fear-is-bob";

/// What must not reach whom: bob is in A's queue and may see A, never K; everyone
/// else (another requester, carol of another queue) neither.
struct Secrets {
    of_a: Vec<String>,
    of_k: Vec<String>,
}

impl Secrets {
    fn hidden_from(&self, who: &str) -> Vec<&str> {
        let k = self.of_k.iter().map(String::as_str);
        if who.starts_with("bob") {
            k.collect()
        } else {
            self.of_a.iter().map(String::as_str).chain(k).collect()
        }
    }
}

/// What a refusal may be: unknown, not allowed, or not signed in. Never found, never
/// a server error.
fn refused(status: StatusCode) -> bool {
    matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND)
}

struct Leaks {
    tried: usize,
    found: Vec<String>,
}

impl Leaks {
    /// Counts one try; records it when it was answered as if allowed, or with what
    /// belongs to another.
    fn check(&mut self, what: &str, status: StatusCode, body: &str, secrets: &[&str]) {
        self.tried += 1;
        if !refused(status) {
            self.found.push(format!("{what}: answered {status}"));
        }
        for secret in secrets {
            if body.contains(secret) {
                self.found.push(format!("{what}: the answer holds {secret:?}"));
            }
        }
    }
}

async fn nobody_reaches_what_is_not_theirs(app: TestApp) {
    // A: on wiki-queue, claimed by alice, with the requester's words, a reply, a note.
    let (a, a_token, _) = app.start(&format!("please help, {SECRET_WORDS}")).await;
    assert_eq!(app.claim("alice", &a).await.status(), 200);
    assert_eq!(app.helper_says("alice", &a, "r1", "I am here.", false).await.status(), 201);
    assert_eq!(app.helper_says("alice", &a, "n1", SECRET_NOTE, true).await.status(), 201);
    // B: another requester of the same site. K: a requester who asked not to be helped by bob.
    let (_, b_token, _) = app.start("another person's request").await;
    let (k, k_token, _) = app.start(&format!("about bob: {K_WORDS}")).await;
    let asked = app
        .client
        .post(format!("{}/v1/conversations/{k}/not-helped-by", app.url))
        .bearer_auth(&k_token)
        .json(&json!({"helper": "bob"}))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 204);
    // Positive controls: the owners see their own (else every refusal below is vacuous).
    assert!(app.requester_view(&a, &a_token).await.to_string().contains(SECRET_WORDS));
    assert!(
        app.helper_json("alice", &format!("/v1/helper/conversations/{a}"))
            .await
            .to_string()
            .contains(SECRET_NOTE)
    );
    assert!(
        app.helper_json("alice", &format!("/v1/helper/conversations/{k}"))
            .await
            .to_string()
            .contains(K_WORDS)
    );

    let secrets = Secrets {
        of_a: vec![SECRET_WORDS.into(), SECRET_NOTE.into(), a_token.clone()],
        of_k: vec![K_WORDS.into(), k_token.clone()],
    };
    // Signed in to the console before the sweep (signing in is a change of its own).
    let consoles = [("carol", signed_in(&app, "carol").await), ("bob", signed_in(&app, "bob").await)];
    let before = fingerprint::of(&app).await;
    let mut leaks = Leaks { tried: 0, found: Vec::new() };
    let operations = openapi::operations(&app).await;
    let with_id: Vec<&Operation> =
        operations.iter().filter(|o| o.path.contains("{id}") && !o.socket).collect();
    assert!(with_id.len() > 20, "{with_id:?}");

    let long = "a".repeat(5000);
    let helper_token = app.tokens["carol"].clone();
    for operation in &with_id {
        let call = |id: &str, bearer: Option<&str>| {
            let url = format!("{}{}", app.url, operation.path_with(id, "wiki"));
            let mut request = app.client.request(operation.reqwest_method(), url).header("origin", ORIGIN);
            if let Some(bearer) = bearer {
                request = request.bearer_auth(bearer);
            }
            if let Some(body) = &operation.body {
                request = request.json(body);
            }
            request.send()
        };
        let mut tries: Vec<(String, String, Option<String>)> = Vec::new();
        if operation.tag == "requester" {
            for (who, token) in [
                ("B's token", Some(b_token.clone())),
                ("a made-up token", Some("x".repeat(43))),
                ("a helper's API token", Some(helper_token.clone())),
                ("no token", None),
            ] {
                tries.push((who.to_string(), a.clone(), token.clone()));
                tries.push((format!("{who} on K"), k.clone(), token));
            }
        } else {
            // carol is not in wiki-queue; bob is, but K's requester asked not to have him.
            tries.push(("carol".into(), a.clone(), Some(app.tokens["carol"].clone())));
            tries.push(("bob on K".into(), k.clone(), Some(app.tokens["bob"].clone())));
            tries.push(("A's requester token".into(), a.clone(), Some(a_token.clone())));
            tries.push(("no token".into(), a.clone(), None));
        }
        // Ids that cannot be ours, with credentials that would reach the conversation's
        // lookup: refused like an unknown id, never a server error.
        let own = if operation.tag == "requester" { a_token.clone() } else { app.tokens["alice"].clone() };
        for id in ["../../v1/helper/queue", "%00", "%0A", "a%2Fb", long.as_str()] {
            tries.push((format!("the id {id:.20}"), id.to_string(), Some(own.clone())));
        }
        for (who, id, token) in tries {
            let response = call(&id, token.as_deref()).await.unwrap();
            let status = response.status();
            let body = response.text().await.unwrap();
            let what = format!("{} {} as {who}", operation.method, operation.path);
            leaks.check(&what, status, &body, &secrets.hidden_from(&who));
        }
    }

    // Listings: neither carol's queue nor bob's may show A's words or K.
    for (helper, hidden) in [("carol", a.as_str()), ("carol", k.as_str()), ("bob", k.as_str())] {
        for path in ["/v1/helper/queue", "/v1/helper/queue?queue=wiki-queue", "/v1/helper/me"] {
            let response = app.helper_get(helper, path).await;
            let body = response.text().await.unwrap();
            leaks.tried += 1;
            if body.contains(hidden) || secrets.hidden_from(helper).iter().any(|s| body.contains(s)) {
                leaks.found.push(format!("GET {path} as {helper} shows {hidden}: {body:.600}"));
            }
        }
    }
    console_pages_and_forms(&app, &consoles, &a, &k, &secrets, &mut leaks).await;
    sockets(&app, &a, &b_token, &k, &secrets, &mut leaks).await;
    println!("IDOR sweep: {} tries, {} leaks", leaks.tried, leaks.found.len());
    assert!(leaks.found.is_empty(), "leaks:\n{}", leaks.found.join("\n"));
    fingerprint::assert_same(&before, &fingerprint::of(&app).await, "the sweep");
    // Still theirs, still whole.
    let view = app.requester_view(&a, &a_token).await;
    let texts: Vec<&str> =
        view["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert!(texts[0].contains(SECRET_WORDS) && texts[2] == "I am here.", "{texts:?}");
}

/// carol (another queue) and bob (kept away from K) in the console: pages and forms of
/// A and K are refused like an id that does not exist.
async fn console_pages_and_forms(
    app: &TestApp,
    consoles: &[(&str, (reqwest::Client, String)); 2],
    a: &str,
    k: &str,
    secrets: &Secrets,
    leaks: &mut Leaks,
) {
    let forms = [
        "claim",
        "release",
        "reply",
        "note",
        "transfer",
        "redirect",
        "block",
        "unblock",
        "close",
        "trouble",
        "evidence",
        "talk-page",
    ];
    for ((helper, (browser, csrf)), id) in consoles.iter().zip([a, k]) {
        for path in [format!("/console/conversations/{id}"), format!("/console/conversations/{id}/context")] {
            let (status, html) = page(app, browser, &path).await;
            leaks.check(&format!("GET {path} as {helper}"), status, &html, &secrets.hidden_from(helper));
        }
        let (_, dashboard) = page(app, browser, "/console").await;
        leaks.tried += 1;
        if dashboard.contains(id) {
            leaks.found.push(format!("{helper}'s dashboard lists {id}"));
        }
        for form in forms {
            let path = format!("/console/conversations/{id}/{form}");
            let fields = [
                ("csrf", csrf.as_str()),
                ("text", "x"),
                ("to_queue", "other-queue"),
                ("team", "oversight"),
                ("account", "Someone"),
                ("outcome", "resolved"),
            ];
            let response = act(app, browser, &path, &fields).await;
            let status = response.status();
            let body = response.text().await.unwrap();
            leaks.check(&format!("POST {path} as {helper}"), status, &body, &secrets.hidden_from(helper));
        }
        let response = act(app, browser, &format!("/console/offers/{id}/decline"), &[("csrf", csrf)]).await;
        let status = response.status();
        // Declining what was never offered is harmless and may say so; it must not leak.
        let body = response.text().await.unwrap();
        let status = if status.is_success() { StatusCode::NOT_FOUND } else { status };
        leaks.check(
            &format!("POST /console/offers/{id}/decline as {helper}"),
            status,
            &body,
            &secrets.hidden_from(helper),
        );
    }
    // carol coordinates nothing of wiki-queue: its site's replies and teams are not hers.
    let (carol, csrf) = &consoles[0].1;
    for path in ["/console/sites/wiki", "/console/stats.csv?queue=wiki-queue"] {
        let (status, body) = page(app, carol, path).await;
        leaks.check(&format!("GET {path} as carol"), status, &body, &secrets.hidden_from("carol"));
    }
    for path in ["/console/sites/wiki/reply-save", "/console/sites/wiki/team-remove", "/console/team/remove"]
    {
        let fields =
            [("csrf", csrf.as_str()), ("id", "welcome"), ("queue", "wiki-queue"), ("helper", "alice")];
        let response = act(app, carol, path, &fields).await;
        let status = response.status();
        let body = response.text().await.unwrap();
        leaks.check(&format!("POST {path} as carol"), status, &body, &secrets.hidden_from("carol"));
    }
}

/// The sockets: A's live socket with B's token; carol and bob opening what is not theirs.
async fn sockets(app: &TestApp, a: &str, b_token: &str, k: &str, secrets: &Secrets, leaks: &mut Leaks) {
    let mut ws = app.requester_socket(a, b_token, 0).await;
    let (code, reason) = common::closed_with(&mut ws).await;
    leaks.tried += 1;
    if code != 4401 {
        leaks.found.push(format!("A's socket with B's token closed with {code} {reason}"));
    }
    for (helper, id) in [("carol", a), ("bob", k)] {
        let mut ws = app.helper_socket(helper).await;
        send(&mut ws, json!({"type": "open", "conversation": id, "after": 0})).await;
        // The answer to the open, whatever it is, comes before the answer to the ping.
        send(&mut ws, json!({"type": "ping"})).await;
        let mut seen: Vec<Value> = Vec::new();
        loop {
            let frame = common::next_json(&mut ws).await;
            if frame["type"] == "pong" {
                break;
            }
            seen.push(frame);
        }
        leaks.tried += 1;
        let text = serde_json::to_string(&seen).unwrap();
        if seen.iter().any(|f| f["type"] == "status" || f["type"] == "message")
            || secrets.hidden_from(helper).iter().any(|s| text.contains(s))
        {
            leaks.found.push(format!("{helper} opening {id} on the socket got {text}"));
        }
    }
}
