//! The command line as scripts use it: `demo` prints its URLs and, last, a helper
//! token; running it again on the same data keeps what is there; `helper remove`.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_helpline");

/// Starts `demo`; returns the child, its URL and the token (the last printed line).
/// (On a panic the test fails and the child dies with the test process group.)
#[allow(clippy::zombie_processes)]
fn demo(data_dir: &std::path::Path) -> (Child, String, String) {
    let mut child = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("HELPLINE_LOG", "warn")
        .env_remove("HELPLINE_DATABASE_URL")
        .current_dir(data_dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.strip_prefix("Helpline demo listening on ").unwrap().to_string();
    let mut previous = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if previous.starts_with("Helper DemoHelper API token") {
            return (child, url, line);
        }
        previous = line;
    }
    panic!("demo printed no token");
}

/// Runs a command on the SQLite database in `dir`, as an operator would.
fn helpline_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(["--data-dir"])
        .arg(dir)
        .args(args)
        .env_remove("HELPLINE_DATABASE_URL")
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stop(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn demo_runs_and_keeps_its_data_on_a_second_run() {
    let dir = tempfile::tempdir().unwrap();
    helpline::install_tls();
    let http = reqwest::Client::new();
    let (child, url, token) = demo(dir.path());
    assert!(token.starts_with("hlp_"), "{token}");
    let me: Value = http
        .get(format!("{url}/v1/helper/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "DemoHelper");
    // The demo page's own origin is allowed for the demo site.
    let created = http
        .post(format!("{url}/v1/conversations"))
        .header("origin", url.as_str())
        .json(&json!({"site": "demo", "topic": "harassment", "text": "Someone follows me around the wiki"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let settings: Value =
        http.get(format!("{url}/v1/sites/demo/widget")).send().await.unwrap().json().await.unwrap();
    assert_eq!(settings["other_teams"].as_array().unwrap().len(), 4);
    stop(child);

    let (child, url, second_token) = demo(dir.path());
    assert_ne!(token, second_token, "a new token each run");
    let queue: Value = http
        .get(format!("{url}/v1/helper/queue"))
        .bearer_auth(&second_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(queue["conversations"].as_array().unwrap().len(), 1, "the request is still there");
    let old = http.get(format!("{url}/v1/helper/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(old.status(), 200, "earlier tokens stay valid");
    stop(child);
}

/// A sign-in link printed beside a running server reaches that server: `helper link`
/// takes the address the demo recorded, or `--listen` given to it.
#[test]
fn links_printed_beside_a_server_name_its_address() {
    let dir = tempfile::tempdir().unwrap();
    let (child, url, _) = demo(dir.path());
    assert!(!url.ends_with(":8080"), "the demo listens on a port of its own: {url}");
    let printed = helpline_in(dir.path(), &["helper", "link", "DemoHelper"]);
    assert!(printed.status.success(), "{}", String::from_utf8_lossy(&printed.stderr));
    let link = String::from_utf8_lossy(&printed.stdout).lines().last().unwrap().to_string();
    assert!(link.starts_with(&format!("{url}/console/signin/link?token=mlk_")), "{link} is not on {url}");
    let given = helpline_in(dir.path(), &["--listen", "127.0.0.1:9999", "helper", "link", "DemoHelper"]);
    let link = String::from_utf8_lossy(&given.stdout).lines().last().unwrap().to_string();
    assert!(link.starts_with("http://127.0.0.1:9999/console/signin/link?token="), "{link}");
    stop(child);
}

#[test]
fn helper_commands_report_mistakes_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| helpline_in(dir.path(), args);
    let unknown_queue = run(&["helper", "add", "Zoe", "--queue", "nowhere"]);
    assert!(!unknown_queue.status.success());
    assert!(String::from_utf8_lossy(&unknown_queue.stderr).contains("no queue \"nowhere\""));
    assert!(run(&["helper", "add", "Zoe"]).status.success());
    let twice = run(&["helper", "add", "Zoe"]);
    assert!(!twice.status.success());
    assert!(String::from_utf8_lossy(&twice.stderr).contains("already exists"));
    let bad_name = run(&["helper", "add", "Zo<e>"]);
    assert!(!bad_name.status.success());
    assert!(run(&["helper", "remove", "Zoe"]).status.success());
    let gone = run(&["helper", "token", "Zoe"]);
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("no helper named Zoe"));
    let listed = run(&["helper", "list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).trim().is_empty());
    // An address that is not one is refused before anyone is added.
    let bad_mail = run(&["helper", "add", "Yan", "--email", "yan-at-example"]);
    assert!(!bad_mail.status.success());
    assert!(String::from_utf8_lossy(&bad_mail.stderr).contains("does not look like an e-mail address"));
    assert!(!run(&["helper", "token", "Yan"]).status.success(), "Yan was not added");
    assert!(run(&["helper", "add", "Yan", "--email", "yan@example.org"]).status.success());
    let taken = run(&["helper", "add", "Xia"]);
    assert!(taken.status.success());
    let same = run(&["helper", "email", "Xia", "YAN@example.org"]);
    assert!(String::from_utf8_lossy(&same.stderr).contains("another helper has this e-mail address"));
    let cleared = run(&["helper", "email", "Yan"]);
    assert!(String::from_utf8_lossy(&cleared.stdout).contains("No e-mail address is kept for Yan"));
    assert!(run(&["helper", "email", "Xia", "yan@example.org"]).status.success(), "free again");
    for name in ["Yan", "Xia"] {
        assert!(run(&["helper", "remove", name]).status.success());
    }
    let missing_config = run(&["--config", "/nonexistent.toml", "helper", "list"]);
    assert!(String::from_utf8_lossy(&missing_config.stderr).contains("does not exist"));
}

#[test]
fn seed_and_sign_in_links_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| helpline_in(dir.path(), args);
    let seeded = run(&["seed", "--conversations", "400"]);
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let out = String::from_utf8_lossy(&seeded.stdout);
    assert!(out.starts_with("Seeded 400 conversations ("), "{out}");
    // The demo helper exists now and coordinates the demo queue.
    let listed = run(&["helper", "list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("DemoHelper\tqueues: demo (coordinator)"));

    let link = run(&["helper", "link", "DemoHelper"]);
    let out = String::from_utf8_lossy(&link.stdout);
    let last = out.lines().last().unwrap();
    assert!(last.starts_with("http://127.0.0.1:8080/console/signin/link?token=mlk_"), "{out}");
    let nobody = run(&["helper", "link", "Nobody"]);
    assert!(!nobody.status.success());
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("no helper named Nobody"));
    let added = run(&["helper", "add", "Cora", "--queue", "demo", "--coordinator"]);
    let out = String::from_utf8_lossy(&added.stdout);
    assert!(
        out.contains("Added helper Cora (queues: demo (coordinator))") && out.contains("token=mlk_"),
        "{out}"
    );

    // Removing the demo helper returns the seeded open conversations they owned, each
    // with a word to its requester.
    let removed = run(&["helper", "remove", "DemoHelper"]);
    let out = String::from_utf8_lossy(&removed.stdout);
    let returned: u64 = regex::Regex::new(r"Removed helper DemoHelper; (\d+) open conversations went back")
        .unwrap()
        .captures(&out)
        .unwrap_or_else(|| panic!("{out}"))[1]
        .parse()
        .unwrap();
    assert!(returned > 0, "{out}");
}
