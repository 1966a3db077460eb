//! A real SMTP server for the mail tests: aiosmtpd (from PyPI; `scripts/test`
//! installs it) on loopback, delivering into a Maildir the tests read back.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::process::{Child, Command};

use super::PATIENCE;

/// A real SMTP server on loopback that keeps every mail it accepts.
pub struct Smtpd {
    child: Child,
    maildir: tempfile::TempDir,
}

impl Smtpd {
    pub async fn start(port: u16) -> Self {
        let maildir = tempfile::tempdir().unwrap();
        let mut command = Command::new("python3");
        command
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(maildir.path().join("mail"));
        Self::run(command, port, maildir).await
    }

    /// One that, while `hold()` is on, keeps the sender waiting after a mail's data
    /// (already kept) before its 250 (`tests/support/holding_smtpd.py`).
    pub async fn holding(port: u16) -> Self {
        let maildir = tempfile::tempdir().unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/holding_smtpd.py");
        let mut command = Command::new("python3");
        command
            .arg(script)
            .args(["127.0.0.1", &port.to_string()])
            .arg(maildir.path().join("mail"))
            .arg(maildir.path().join("hold"));
        Self::run(command, port, maildir).await
    }

    pub fn hold(&self) {
        std::fs::write(self.maildir.path().join("hold"), "").unwrap();
    }

    pub fn release(&self) {
        std::fs::remove_file(self.maildir.path().join("hold")).unwrap();
    }

    async fn run(mut command: Command, port: u16, maildir: tempfile::TempDir) -> Self {
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 is needed for the mail tests");
        let mut smtpd = Self { child, maildir };
        // Its own loop rather than `eventually`: a server that exits says why at once.
        let deadline = Instant::now() + PATIENCE;
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if let Some(status) = smtpd.child.try_wait().unwrap() {
                let output = smtpd.child.wait_with_output().await.unwrap();
                panic!(
                    "the SMTP server exited ({status}): is aiosmtpd installed (scripts/test installs it)? {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            assert!(Instant::now() < deadline, "the SMTP server did not start listening");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        smtpd
    }

    /// Every mail received so far, decoded.
    pub async fn mails(&self) -> Vec<Value> {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/read_maildir.py");
        let output =
            Command::new("python3").arg(script).arg(self.maildir.path().join("mail")).output().await.unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let mut mails: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
        mails.sort_by_key(|m| sequence_of(&m["message_id"]));
        mails
    }

    /// Waits until at least `count` mails have arrived.
    pub async fn wait_for(&self, count: usize) -> Vec<Value> {
        let what = format!("{count} mails arrive");
        super::eventually(&what, || async {
            let mails = self.mails().await;
            (mails.len() >= count).then_some(mails)
        })
        .await
    }
}

/// The number in a message id `<CONVERSATION.SEQ@domain>`: mails of a thread in order.
fn sequence_of(message_id: &Value) -> i64 {
    let id = message_id.as_str().unwrap_or_default();
    id.split('@').next().and_then(|left| left.rsplit('.').next()).and_then(|n| n.parse().ok()).unwrap_or(0)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Mail through the test SMTP server on `port`, looked at often and retried soon.
pub fn mail_config(port: u16) -> helpline::config::MailConfig {
    helpline::config::MailConfig {
        poll_ms: 50,
        retry_ms: 100,
        ..helpline::config::MailConfig::new(
            format!("smtp://127.0.0.1:{port}"),
            "Helpline <help@helpline.test>",
        )
    }
}
