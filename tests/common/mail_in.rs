//! The server's mail-in key, as `helpline mail-in` derives it from the data directory;
//! and the two steps the reply tests share: a request answered by e-mail, and what its
//! requester has written so far.

use serde_json::{Value, json};

use super::TestApp;

/// The address the mail tests' requester gives.
pub const READER: &str = "reader@example.org";

impl TestApp {
    pub fn mail_in_key(&self) -> String {
        self.state().secrets.mail_in_key()
    }

    /// A request on site `wiki` to be answered by e-mail at `READER`; its id.
    pub async fn email_request(&self, text: &str) -> String {
        let response = self
            .create(json!({"site": "wiki", "lang": "en", "text": text, "channel": "email", "email": READER}))
            .await;
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
    }

    /// The requester's words in the conversation, in order, as alice sees them.
    pub async fn requester_words(&self, id: &str) -> Vec<String> {
        let view = self.helper_json("alice", &format!("/v1/helper/conversations/{id}")).await;
        view["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["author_role"] == "requester")
            .map(|m| m["text"].as_str().unwrap().to_string())
            .collect()
    }
}
