//! What the OpenAPI document says of every operation beyond its own handler: the answers
//! the shared edge gives to any of them — for credentials, origins, bodies and rates — so
//! that a client meets no status its document does not name (`scripts/api-fuzz` checks
//! it with schemathesis).

use utoipa::openapi::path::Operation;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, ResponseBuilder};

/// Adds to every operation the answers the edge may give it, where its annotation has
/// not described them already.
pub fn document_edge_answers(doc: &mut OpenApi) {
    for (path, item) in &mut doc.paths.paths {
        let socket = path.ends_with("/live");
        for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
            for (status, description) in edge_answers(operation, socket) {
                let error = ResponseBuilder::new()
                    .description(description)
                    .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorBody"))));
                operation.responses.responses.entry(status.to_string()).or_insert_with(|| error.into());
            }
        }
    }
}

fn edge_answers(operation: &Operation, socket: bool) -> Vec<(u16, &'static str)> {
    let tagged = |tag: &str| operation.tags.iter().flatten().any(|t| t == tag);
    let credentials = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let mut answers = Vec::new();
    if credentials && !socket {
        answers.push((401, "no valid credentials: missing, unknown, or another conversation's token"));
    }
    if credentials && tagged("requester") {
        answers.push((403, "from a page of an origin the conversation's site does not allow"));
    }
    if credentials && tagged("helper") {
        answers.push((403, "with the console's cookie: not from the console, or without its CSRF token"));
    }
    if tagged("requester") {
        answers.push((
            429,
            "too many requests from this network or token; `Retry-After` says when to try again",
        ));
    }
    let json_body = matches!(&operation.request_body, Some(RefOr::T(body)) if body.content.contains_key("application/json"));
    if json_body {
        answers.push((400, "a body that is not the JSON described (`malformed_json`)"));
        answers.push((408, "a body sent too slowly (`limits.request_seconds`)"));
        answers.push((413, "a body larger than the server takes"));
        answers.push((415, "a body not sent as `application/json`"));
    }
    answers
}
