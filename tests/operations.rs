//! Operations: the OpenAPI document matches the routes; health, readiness, metrics.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestApp, next_of_type, send};
use serde_json::{Value, json};

on_both_backends!(openapi_matches_the_routes, health_readiness_and_metrics);

async fn openapi_matches_the_routes(app: TestApp) {
    let spec: Value =
        app.client.get(format!("{}/v1/openapi.json", app.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(spec["openapi"].as_str().map(|v| v.starts_with("3.")), Some(true));
    let paths = spec["paths"].as_object().unwrap();
    // Every call of the v1 protocol in DESIGN.md is documented.
    for (method, path) in [
        ("get", "/v1/sites/{site}/widget"),
        ("post", "/v1/conversations"),
        ("get", "/v1/conversations/{id}"),
        ("post", "/v1/conversations/{id}/messages"),
        ("post", "/v1/conversations/{id}/close"),
        ("get", "/v1/conversations/{id}/live"),
        ("get", "/v1/helper/queue"),
        ("get", "/v1/helper/conversations/{id}"),
        ("post", "/v1/helper/conversations/{id}/claim"),
        ("post", "/v1/helper/conversations/{id}/release"),
        ("post", "/v1/helper/conversations/{id}/transfer"),
        ("post", "/v1/helper/conversations/{id}/messages"),
        ("post", "/v1/helper/conversations/{id}/redirect"),
        ("post", "/v1/helper/conversations/{id}/close"),
        ("get", "/v1/helper/live"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/metrics"),
    ] {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is not documented");
    }
    // Every documented operation is served: the router answers neither 405 nor its
    // own empty 404 (a handler's 404 carries the JSON error shape).
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace("{id}", "no-such-id").replace("{site}", "wiki");
            let url = format!("{}{concrete}", app.url);
            let request = match method.as_str() {
                "get" => app.client.get(&url),
                "post" => app.client.post(&url).json(&json!({})),
                other => panic!("unexpected method {other} for {path}"),
            };
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            assert_ne!(status, 405, "{method} {path}");
            assert!(status != 404 || body.contains("\"error\""), "{method} {path} is not routed");
        }
    }
    // Every conversation id in a path says the form the server reads (others are 404),
    // and a real id has it.
    let pattern = regex::Regex::new("^[A-Za-z0-9_-]{1,64}$").unwrap();
    let (real, _, _) = app.start("an id of the documented form").await;
    assert!(pattern.is_match(&real), "{real}");
    for (path, item) in paths.iter().filter(|(path, _)| path.contains("{id}")) {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "id").unwrap();
            assert_eq!(id["in"], "path");
            assert_eq!(id["schema"]["pattern"], pattern.as_str(), "{method} {path}");
        }
    }
    // Schemas of the main bodies are present.
    for schema in
        ["NewConversation", "CreatedConversation", "RequesterView", "QueueItem", "ErrorBody", "HelperView"]
    {
        assert!(spec["components"]["schemas"].get(schema).is_some(), "schema {schema}");
    }
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no metric {name} in\n{text}"))
}

async fn health_readiness_and_metrics(app: TestApp) {
    assert_eq!(app.client.get(format!("{}/healthz", app.url)).send().await.unwrap().status(), 200);
    assert_eq!(app.client.get(format!("{}/readyz", app.url)).send().await.unwrap().status(), 200);

    let (id, token, _) = app.start("help").await;
    app.start("help again").await;
    let mut alice = app.helper_socket("alice").await;
    send(&mut alice, json!({"type": "open", "conversation": id})).await;
    next_of_type(&mut alice, "status").await;
    assert_eq!(
        app.requester_post(&id, &token, json!({"client_id": "x", "text": "are you there?"})).await.status(),
        201
    );
    let delivered = next_of_type(&mut alice, "message").await;
    assert_eq!(delivered["text"], "are you there?");

    let text = app.client.get(format!("{}/metrics", app.url)).send().await.unwrap().text().await.unwrap();
    assert_eq!(metric(&text, "helpline_waiting_conversations"), 2.0);
    assert_eq!(metric(&text, "helpline_conversations_total"), 2.0);
    assert_eq!(metric(&text, "helpline_messages_total{role=\"requester\"}"), 3.0);
    assert_eq!(metric(&text, "helpline_live_sockets{kind=\"helper\"}"), 1.0);
    assert_eq!(metric(&text, "helpline_helpers_online"), 1.0);
    assert!(metric(&text, "helpline_delivery_latency_seconds_count") >= 1.0, "{text}");
}
