//! The real MediaWiki the wiki tests run against: Debian's MediaWiki 1.39 on SQLite,
//! made by `e2e/mediawiki/setup.sh` and served by `start.sh`. `scripts/test rust` starts a
//! fresh one and names its directory in `HELPLINE_TEST_WIKI_DIR`; its `wiki.env` holds
//! the URL and the accounts. Users are made with the wiki's maintenance scripts, edits and
//! blocks through its API, as a wiki's own people would make them.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

const MW_HOME: &str = "/usr/share/mediawiki";

pub struct TestWiki {
    pub url: String,
    pub dir: PathBuf,
    env: HashMap<String, String>,
}

pub struct WikiUser {
    pub name: String,
    pub password: String,
}

impl TestWiki {
    /// The wiki `scripts/test` started; `None` (the test says it skips) when run
    /// without it, as a plain `cargo test` is. `scripts/test` sets
    /// `HELPLINE_TEST_REQUIRE_WIKI=1`, and then a missing wiki fails the test.
    pub fn get() -> Option<Self> {
        Self::from_env("HELPLINE_TEST_WIKI_DIR")
    }

    /// The second wiki `scripts/test` started: another wiki of the same farm.
    pub fn second() -> Option<Self> {
        Self::from_env("HELPLINE_TEST_WIKI2_DIR")
    }

    fn from_env(variable: &str) -> Option<Self> {
        let Ok(dir) = std::env::var(variable) else {
            assert!(
                std::env::var("HELPLINE_TEST_REQUIRE_WIKI").is_err(),
                "HELPLINE_TEST_REQUIRE_WIKI is set but {variable} is not"
            );
            eprintln!("skipped: no test wiki (scripts/test rust starts one; or set HELPLINE_TEST_WIKI_DIR)");
            return None;
        };
        let dir = PathBuf::from(dir);
        let text = std::fs::read_to_string(dir.join("wiki.env"))
            .unwrap_or_else(|e| panic!("{}/wiki.env: {e} (made by e2e/mediawiki/setup.sh)", dir.display()));
        let env: HashMap<String, String> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Some(Self { url: env["MW_URL"].clone(), dir, env })
    }

    pub fn api(&self) -> String {
        format!("{}/api.php", self.url)
    }

    pub fn value(&self, key: &str) -> &str {
        &self.env[key]
    }

    /// Runs a maintenance script on this wiki; panics with its output if it fails.
    pub fn maintenance(&self, script: &str, args: &[&str]) -> String {
        let output = Command::new("php")
            .arg(format!("{MW_HOME}/maintenance/{script}"))
            .args(args)
            .env("MW_CONFIG_FILE", self.dir.join("LocalSettings.php"))
            .env("MW_INSTALL_PATH", MW_HOME)
            .output()
            .expect("php runs");
        let text =
            String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{script} {args:?} failed: {text}");
        text
    }

    /// A new account of a name no other test uses (`Prefix` + a number), in `groups`.
    pub fn new_user(&self, prefix: &str, groups: &[&str]) -> WikiUser {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}{}x{n}", stamp % 100_000_000);
        let password = format!("Helpline-test-{name}-2024");
        let custom = groups.join(",");
        let mut args = vec!["--force"];
        if !groups.is_empty() {
            args.extend(["--custom-groups", &custom]);
        }
        args.extend([name.as_str(), password.as_str()]);
        self.maintenance("createAndPromote.php", &args);
        WikiUser { name, password }
    }

    /// Gives the account an e-mail address (no confirmation needed on the test wiki).
    pub fn set_email(&self, user: &WikiUser, address: &str) {
        self.maintenance("resetUserEmail.php", &["--no-reset-password", &user.name, address]);
    }

    /// The mails the wiki has sent (its sendmail delivers into `MW_DIR/mail`), decoded.
    pub fn mails(&self) -> Vec<serde_json::Value> {
        let maildir = self.dir.join("mail");
        if !maildir.join("new").exists() {
            return Vec::new();
        }
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/read_maildir.py");
        let output = Command::new("python3").arg(script).arg(maildir).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// A logged-in session of the wiki's administrator (a sysop).
    pub async fn admin(&self) -> WikiSession {
        self.log_in(&WikiUser {
            name: self.value("MW_ADMIN_USER").to_string(),
            password: self.value("MW_ADMIN_PASS").to_string(),
        })
        .await
    }

    pub async fn log_in(&self, user: &WikiUser) -> WikiSession {
        helpline::install_tls();
        let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let session = WikiSession { client, api: self.api() };
        let tokens = session.get(&[("action", "query"), ("meta", "tokens"), ("type", "login")]).await;
        let token = tokens["query"]["tokens"]["logintoken"].as_str().unwrap().to_string();
        let answer = session
            .post(&[
                ("action", "clientlogin"),
                ("username", &user.name),
                ("password", &user.password),
                ("logintoken", &token),
                ("loginreturnurl", &self.url),
            ])
            .await;
        assert_eq!(answer["clientlogin"]["status"], "PASS", "log-in of {}: {answer}", user.name);
        session
    }
}

/// A logged-in person on the wiki, through its API.
pub struct WikiSession {
    client: reqwest::Client,
    api: String,
}

impl WikiSession {
    pub async fn get(&self, params: &[(&str, &str)]) -> Value {
        let mut all = params.to_vec();
        all.extend([("format", "json"), ("formatversion", "2")]);
        self.client.get(&self.api).query(&all).send().await.unwrap().json().await.unwrap()
    }

    pub async fn post(&self, params: &[(&str, &str)]) -> Value {
        let mut all = params.to_vec();
        all.extend([("format", "json"), ("formatversion", "2")]);
        self.client.post(&self.api).form(&all).send().await.unwrap().json().await.unwrap()
    }

    async fn csrf(&self) -> String {
        let tokens = self.get(&[("action", "query"), ("meta", "tokens")]).await;
        tokens["query"]["tokens"]["csrftoken"].as_str().unwrap().to_string()
    }

    /// Writes a page; the new revision's id.
    pub async fn edit(&self, title: &str, text: &str) -> i64 {
        self.edit_saying(title, text, "test").await
    }

    /// Writes a page with this edit summary (anyone's words: the summary is shown to helpers).
    pub async fn edit_saying(&self, title: &str, text: &str, summary: &str) -> i64 {
        let token = self.csrf().await;
        let answer = self
            .post(&[
                ("action", "edit"),
                ("title", title),
                ("text", text),
                ("summary", summary),
                ("token", &token),
            ])
            .await;
        assert_eq!(answer["edit"]["result"], "Success", "edit of {title}: {answer}");
        answer["edit"]["newrevid"].as_i64().unwrap_or_default()
    }

    /// Blocks an account (as an administrator does), for a week.
    pub async fn block(&self, user: &str, reason: &str) {
        let token = self.csrf().await;
        let answer = self
            .post(&[
                ("action", "block"),
                ("user", user),
                ("expiry", "1 week"),
                ("reason", reason),
                ("token", &token),
            ])
            .await;
        assert!(answer.get("block").is_some(), "block of {user}: {answer}");
    }

    /// Lets only administrators create (or edit) a page.
    pub async fn protect(&self, title: &str) {
        let token = self.csrf().await;
        let answer = self
            .post(&[
                ("action", "protect"),
                ("title", title),
                ("protections", "create=sysop"),
                ("expiry", "1 week"),
                ("reason", "test"),
                ("token", &token),
            ])
            .await;
        assert!(answer.get("protect").is_some(), "protect {title}: {answer}");
    }

    pub async fn unblock(&self, user: &str) {
        let token = self.csrf().await;
        let answer = self.post(&[("action", "unblock"), ("user", user), ("token", &token)]).await;
        assert!(answer.get("unblock").is_some(), "unblock of {user}: {answer}");
    }
}
