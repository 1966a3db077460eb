//! The real binary as an operator runs it: one data directory with its `helpline.toml`,
//! CLI commands run against it, and `serve` started as a child process (to be killed).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_helpline");

/// A node's data directory `dir/data` and configuration `dir/helpline.toml`.
pub struct Node {
    pub dir: std::path::PathBuf,
    pub database_url: Option<String>,
}

impl Node {
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .arg("--config")
            .arg(self.dir.join("helpline.toml"))
            .arg("--data-dir")
            .arg(self.dir.join("data"))
            .args(args)
            .env_remove("HELPLINE_DATABASE_URL")
            .env("HELPLINE_LOG", std::env::var("HELPLINE_TEST_SERVER_LOG").unwrap_or_else(|_| "warn".into()));
        if let Some(url) = &self.database_url {
            command.env("HELPLINE_DATABASE_URL", url);
        }
        command
    }

    /// Runs a CLI command; returns its stdout lines.
    pub fn run(&self, args: &[&str]) -> Vec<String> {
        let output = self.command(args).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().lines().map(str::to_string).collect()
    }

    /// Starts `serve` on a free port; returns the child and its base URL.
    pub fn serve(&self) -> (Child, String) {
        let mut child = self
            .command(&["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        let url = first
            .trim()
            .strip_prefix("Helpline listening on ")
            .unwrap_or_else(|| panic!("{first:?}"))
            .to_string();
        (child, url)
    }
}

/// A `serve` process that is killed when this value goes, also when a test fails.
pub struct Running {
    pub child: Child,
    pub url: String,
}

impl Running {
    /// `kill -9`, waiting for it to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process still runs.
    pub fn runs(&mut self) -> bool {
        self.child.try_wait().is_ok_and(|status| status.is_none())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Node {
    /// `serve` on a free port, killed when the value goes.
    pub fn start(&self) -> Running {
        let (child, url) = self.serve();
        Running { child, url }
    }
}
