//! The server's own OpenAPI document as the list of every API operation, so that a sweep
//! over "every route" cannot miss one added later; and the smallest body each operation
//! accepts by its schema (what a cross-site page could send).

use serde_json::{Map, Value, json};

use super::TestApp;

/// One operation of the API: `GET /v1/conversations/{id}`.
#[derive(Clone, Debug)]
pub struct Operation {
    pub method: String,
    pub path: String,
    pub tag: String,
    /// The smallest JSON body its schema accepts, when it takes a JSON body.
    pub body: Option<Value>,
    /// Whether it is a WebSocket (its path ends in `/live`).
    pub socket: bool,
}

impl Operation {
    /// The path with its parameters filled in.
    pub fn path_with(&self, id: &str, site: &str) -> String {
        self.path.replace("{id}", id).replace("{site}", site)
    }

    pub fn reqwest_method(&self) -> reqwest::Method {
        self.method.to_uppercase().parse().unwrap()
    }
}

/// Every operation of `/v1/openapi.json`, in the document's order.
pub async fn operations(app: &TestApp) -> Vec<Operation> {
    let doc: Value =
        app.client.get(format!("{}/v1/openapi.json", app.url)).send().await.unwrap().json().await.unwrap();
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().unwrap() {
            let body = operation["requestBody"]["content"]["application/json"]["schema"]
                .as_object()
                .map(|schema| smallest(&doc, &Value::Object(schema.clone())));
            found.push(Operation {
                method: method.clone(),
                path: path.clone(),
                tag: operation["tags"][0].as_str().unwrap_or("").to_string(),
                body,
                socket: path.ends_with("/live"),
            });
        }
    }
    assert!(found.len() > 20, "the document lists the API: {found:?}");
    found
}

/// The smallest value `schema` accepts: its required properties only, strings and
/// numbers of their first allowed value. A few names get a value the server knows
/// (`site`, `lang`), so that a request is judged by who sends it, not by its data.
fn smallest(doc: &Value, schema: &Value) -> Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        return smallest(doc, &doc["components"]["schemas"][name]);
    }
    for combined in ["allOf", "oneOf", "anyOf"] {
        if let Some(first) = schema[combined].as_array().and_then(|all| all.first()) {
            return smallest(doc, first);
        }
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds.iter().find(|k| *k != "null").cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    match kind.as_str() {
        Some("object") | None if schema["properties"].is_object() => {
            let mut object = Map::new();
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().unwrap();
                let value = match name {
                    "site" => json!("wiki"),
                    "lang" => json!("en"),
                    "text" => json!("words from another page"),
                    _ => smallest(doc, &schema["properties"][name]),
                };
                object.insert(name.to_string(), value);
            }
            Value::Object(object)
        }
        Some("string") => json!("x"),
        Some("integer") | Some("number") => json!(schema["minimum"].as_i64().unwrap_or(1)),
        Some("boolean") => json!(false),
        Some("array") => json!([]),
        _ => json!({}),
    }
}
