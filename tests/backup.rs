//! Operators' commands on the real binary: `helpline backup` copies the SQLite database
//! while the server runs and writes (and the secret key beside it), and the copy serves
//! as it was; it never overwrites a file. `helpline purge --dry-run` counts what the
//! purge would delete and deletes nothing.
#![allow(clippy::unwrap_used)]

mod common;

use common::node::Node;
use serde_json::{Value, json};

const CONFIG: &str = r#"
retention_days = 0
reopen_days = 0

[limits]
messages_per_minute_per_token = 1000000
conversations_per_hour_per_network = 100000
requests_per_minute_per_network = 1000000

# One load generator asks for help many times: no proof of work.
[proof_of_work]
mode = "off"

[[queues]]
id = "wiki-queue"
name = "Wiki helpers"

[[sites]]
id = "wiki"
name = "Test Wiki"
language = "en"
queue = "wiki-queue"
emergency_contact = "emergency@wiki.example"
"#;

fn node(dir: &std::path::Path) -> Node {
    std::fs::write(dir.join("helpline.toml"), CONFIG).unwrap();
    Node { dir: dir.to_path_buf(), database_url: None }
}

async fn start(http: &reqwest::Client, url: &str, text: &str) -> (String, String) {
    let body = json!({"site": "wiki", "text": text});
    let created: Value =
        http.post(format!("{url}/v1/conversations")).json(&body).send().await.unwrap().json().await.unwrap();
    (created["id"].as_str().unwrap().to_string(), created["token"].as_str().unwrap().to_string())
}

async fn texts(http: &reqwest::Client, url: &str, id: &str, token: &str) -> Option<Vec<String>> {
    let response = http.get(format!("{url}/v1/conversations/{id}")).bearer_auth(token).send().await.unwrap();
    if response.status() == 404 {
        return None;
    }
    let view: Value = response.json().await.unwrap();
    Some(
        view["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap().to_string())
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores() {
    let dir = tempfile::tempdir().unwrap();
    let node = node(dir.path());
    let server = node.start();
    let url = server.url.clone();
    helpline::install_tls();
    let http = reqwest::Client::new();
    let (id, token) = start(&http, &url, "kept in the backup").await;
    for n in 0..20 {
        let posted = http
            .post(format!("{url}/v1/conversations/{id}/messages"))
            .bearer_auth(&token)
            .json(&json!({"client_id": format!("m{n}"), "text": format!("message {n}")}))
            .send()
            .await
            .unwrap();
        assert!(posted.status().is_success());
    }
    let before = texts(&http, &url, &id, &token).await.unwrap();

    // Writers keep going while the copy is taken.
    let writer = {
        let (http, url) = (http.clone(), url.clone());
        tokio::spawn(async move {
            for n in 0..200 {
                start(&http, &url, &format!("written during the backup {n}")).await;
            }
        })
    };
    let file = dir.path().join("backup.db");
    let printed = node.run(&["backup", file.to_str().unwrap()]);
    writer.await.unwrap();
    assert!(printed.iter().any(|l| l.contains("Database copied")), "{printed:?}");
    let key_copy = dir.path().join("backup.db.secret.key");
    assert_eq!(std::fs::read(&key_copy).unwrap(), std::fs::read(dir.path().join("data/secret.key")).unwrap());

    // Never over an existing file: refused, and the file is as it was.
    let again = node.command(&["backup", file.to_str().unwrap()]).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"), "{again:?}");
    let copied = std::fs::read(&file).unwrap();

    // Restored into a new data directory, it serves what was there.
    let restored = tempfile::tempdir().unwrap();
    let restored_node = self::node(restored.path());
    std::fs::create_dir_all(restored.path().join("data")).unwrap();
    std::fs::write(restored.path().join("data/helpline.db"), &copied).unwrap();
    std::fs::copy(&key_copy, restored.path().join("data/secret.key")).unwrap();
    let restored_server = restored_node.start();
    assert_eq!(texts(&http, &restored_server.url, &id, &token).await.unwrap(), before);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_dry_run_counts_and_deletes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = node(dir.path());
    let server = node.start();
    let url = server.url.clone();
    helpline::install_tls();
    let http = reqwest::Client::new();
    let (closed, closed_token) = start(&http, &url, "solved, thanks").await;
    let (open, open_token) = start(&http, &url, "still open").await;
    let ended = http
        .post(format!("{url}/v1/conversations/{closed}/close"))
        .bearer_auth(&closed_token)
        .send()
        .await
        .unwrap();
    assert!(ended.status().is_success());
    let stored = texts(&http, &url, &closed, &closed_token).await.unwrap().len();
    // retention_days = 0: closed a moment ago is past retention.
    std::thread::sleep(std::time::Duration::from_millis(5));

    let counted = node.run(&["purge", "--dry-run"]);
    assert!(
        counted
            .iter()
            .any(|l| l.starts_with(&format!("Would purge 1 closed conversations ({stored} messages)"))),
        "{counted:?}"
    );
    assert_eq!(texts(&http, &url, &closed, &closed_token).await.unwrap().len(), stored, "nothing deleted");

    let purged = node.run(&["purge"]);
    assert!(purged.iter().any(|l| l.starts_with("Purged 1 closed conversations")), "{purged:?}");
    assert_eq!(texts(&http, &url, &closed, &closed_token).await, None);
    assert!(texts(&http, &url, &open, &open_token).await.is_some(), "open conversations stay");
    drop(server);
}
