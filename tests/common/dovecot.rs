//! A real IMAP server for the mailbox tests: Debian's Dovecot (`dovecot-imapd`;
//! `scripts/test` installs it), started for one test in its own directory on a loopback
//! port, with one account whose Maildir the test fills by IMAP APPEND, as a mail system
//! delivering replies would.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use async_imap::Client;
use futures_util::TryStreamExt;
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use super::PATIENCE;

pub const USER: &str = "helpline";
pub const PASSWORD: &str = "mailbox-test-password";
const DOVECOT: &str = "/usr/sbin/dovecot";

pub struct Dovecot {
    child: Option<Child>,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Dovecot {
    /// A fresh server, or `None` (the test skips) when Dovecot is not installed and
    /// `HELPLINE_TEST_REQUIRE_IMAP` is not set.
    pub async fn start() -> Option<Self> {
        if !Path::new(DOVECOT).exists() {
            assert!(
                std::env::var("HELPLINE_TEST_REQUIRE_IMAP").is_err(),
                "HELPLINE_TEST_REQUIRE_IMAP is set but {DOVECOT} is missing"
            );
            eprintln!("skipped: no Dovecot (scripts/test rust installs dovecot-imapd)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut dovecot = Self { child: None, port: super::smtpd::free_port(), dir };
        dovecot.write_config();
        dovecot.run().await;
        Some(dovecot)
    }

    /// Stops the server (the mailbox stays on disk).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().unwrap().to_string();
            std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
            child.wait().await.unwrap();
        }
        // Its child processes hold the port a moment longer.
        let deadline = Instant::now() + PATIENCE;
        while TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
            assert!(Instant::now() < deadline, "Dovecot did not stop listening");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts it again on the same port and mailbox.
    pub async fn restart(&mut self) {
        self.run().await;
    }

    async fn run(&mut self) {
        let config = self.dir.path().join("dovecot.conf");
        let mut child = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("starting dovecot");
        let deadline = Instant::now() + PATIENCE;
        while TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
                panic!("dovecot exited ({status}): {log}");
            }
            assert!(Instant::now() < deadline, "dovecot did not start listening");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.child = Some(child);
    }

    /// As root, Dovecot's own unprivileged users serve the mail (it refuses root);
    /// otherwise everything runs as the test's user.
    fn write_config(&self) {
        let dir = self.dir.path();
        let home = dir.join("home");
        std::fs::create_dir_all(dir.join("run")).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(dir.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        let root = nix_uid() == 0;
        let (mail_user, extra) = if root {
            let status =
                std::process::Command::new("chown").arg("dovecot:dovecot").arg(&home).status().unwrap();
            assert!(status.success(), "chown of the test mailbox");
            ("dovecot".to_string(), String::new())
        } else {
            let me = String::from_utf8(std::process::Command::new("id").arg("-un").output().unwrap().stdout)
                .unwrap()
                .trim()
                .to_string();
            (me.clone(), format!("default_internal_user = {me}\ndefault_login_user = {me}\n"))
        };
        // Dovecot's processes must reach the directory tempfile made private.
        set_mode(dir, 0o755);
        let d = dir.display();
        let config = format!(
            "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {d}/run\nstate_dir = {d}/run\n\
             log_path = {d}/log\ninstance_name = helpline-test-{port}\nssl = no\n\
             disable_plaintext_auth = no\nauth_mechanisms = plain login\nfirst_valid_uid = 1\n{extra}\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={mail_user} gid={mail_user} home={d}/home/%u\n}}\n\
             mail_location = maildir:~/Maildir\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  \
             inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service auth {{\n  unix_listener auth-userdb {{\n    mode = 0666\n  }}\n}}\n",
            port = self.port
        );
        std::fs::write(dir.join("dovecot.conf"), config).unwrap();
    }

    async fn session(&self) -> async_imap::Session<TcpStream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let mut client = Client::new(tcp);
        client.read_response().await.unwrap().unwrap();
        let mut session = client.login(USER, PASSWORD).await.map_err(|(e, _)| e).unwrap();
        session.select("INBOX").await.unwrap();
        session
    }

    /// Puts one mail in the mailbox (CRLF line ends, as on the wire).
    pub async fn deliver(&self, raw: &str) {
        let mut session = self.session().await;
        let raw = raw.replace("\r\n", "\n").replace('\n', "\r\n");
        session.append("INBOX", None, None, raw.as_bytes()).await.unwrap();
        session.logout().await.unwrap();
    }

    /// The flags of every mail still in the mailbox (`Flagged`, `Seen`, … in order), oldest first.
    pub async fn remaining(&self) -> Vec<Vec<String>> {
        let mut session = self.session().await;
        let all = session.uid_search("ALL").await.unwrap();
        let mut flags = Vec::new();
        if !all.is_empty() {
            let mut uids: Vec<u32> = all.into_iter().collect();
            uids.sort_unstable();
            let set = uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            let fetches: Vec<_> = session.uid_fetch(set, "FLAGS").await.unwrap().try_collect().await.unwrap();
            for fetch in &fetches {
                let mut these: Vec<String> = fetch.flags().map(|f| format!("{f:?}")).collect();
                these.sort();
                flags.push(these);
            }
        }
        session.logout().await.unwrap();
        flags
    }
}

fn nix_uid() -> u32 {
    String::from_utf8(std::process::Command::new("id").arg("-u").output().unwrap().stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
