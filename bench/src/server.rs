//! The server under test: `helpline demo` on 127.0.0.1, a fresh data directory each
//! time, rate limits raised so that only the server's speed limits the load.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::Synchronous;

const START_TIMEOUT: Duration = Duration::from_secs(60);
const TOKEN_HEADING: &str = "Helper DemoHelper API token:";
const LISTENING: &str = "Helpline demo listening on http://";

/// Environment given to the server: limits far above what the bench sends.
const RAISED_LIMITS: &[(&str, &str)] = &[
    ("HELPLINE_LIMITS__CONVERSATIONS_PER_HOUR_PER_NETWORK", "1000000"),
    ("HELPLINE_LIMITS__MESSAGES_PER_MINUTE_PER_TOKEN", "1000000"),
    ("HELPLINE_LIMITS__REQUESTS_PER_MINUTE_PER_NETWORK", "100000000"),
    // One load generator asks for help thousands of times: no proof of work either.
    ("HELPLINE_PROOF_OF_WORK__MODE", "off"),
];

#[derive(Clone)]
pub struct ServerOptions {
    pub bin: PathBuf,
    pub synchronous: Synchronous,
    /// A PostgreSQL database to serve from instead of the SQLite one in the data directory.
    pub database_url: Option<String>,
    /// The server secret (hex), for several nodes that must share one.
    pub secret_key: Option<String>,
    /// Keep the server's default rate limits (the flood); otherwise they are raised so
    /// that one load generator's address is not limited as one network.
    pub default_limits: bool,
}

/// The `helpline` binary: `--server-bin`, else the one built next to this binary (the
/// same target directory), else `$CARGO_TARGET_DIR/release/helpline`, else
/// `target/release/helpline`.
pub fn binary(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let candidates = explicit
        .into_iter()
        .chain(std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join("helpline"))));
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let mut tried = Vec::new();
    for path in candidates.chain([target_dir.join("release").join("helpline")]) {
        if path.is_file() {
            return Ok(path);
        }
        tried.push(path.display().to_string());
    }
    bail!(
        "no helpline binary (tried {}); build it with `cargo build --release -p helpline` or pass --server-bin",
        tried.join(", ")
    )
}

/// A running server; killed and its data directory removed when dropped.
pub struct Server {
    child: Child,
    pid: u32,
    addr: String,
    pub helper_token: String,
    /// The one-time console sign-in link the demo printed.
    pub console_link: Option<String>,
    data_dir: PathBuf,
}

/// What `helpline seed` reported.
pub struct Seeded {
    pub conversations: u64,
    pub messages: u64,
    pub seconds: f64,
    pub database_bytes: u64,
}

impl Server {
    pub async fn start(options: &ServerOptions) -> anyhow::Result<Self> {
        Self::start_in(options, fresh_data_dir()?).await
    }

    /// Seeds a fresh data directory with `conversations` (`helpline seed`), then serves it.
    pub async fn start_seeded(options: &ServerOptions, conversations: u64) -> anyhow::Result<(Self, Seeded)> {
        let data_dir = fresh_data_dir()?;
        let output = Command::new(&options.bin)
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["seed", "--conversations", &conversations.to_string()])
            .env("HELPLINE_SQLITE_SYNCHRONOUS", "normal")
            .output()
            .await
            .context("running helpline seed")?;
        if !output.status.success() {
            bail!("helpline seed failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        // "Seeded N conversations (M messages) in S s"
        let words: Vec<&str> = text.split_whitespace().collect();
        let number =
            |i: usize| words.get(i).map(|w| w.trim_matches(|c: char| !c.is_ascii_digit() && c != '.'));
        let seeded = Seeded {
            conversations: number(1).and_then(|n| n.parse().ok()).context("seed output")?,
            messages: number(3).and_then(|n| n.parse().ok()).context("seed output")?,
            seconds: number(6).and_then(|n| n.parse().ok()).context("seed output")?,
            database_bytes: std::fs::metadata(data_dir.join("helpline.db")).map(|m| m.len()).unwrap_or(0),
        };
        Ok((Self::start_in(options, data_dir).await?, seeded))
    }

    async fn start_in(options: &ServerOptions, data_dir: PathBuf) -> anyhow::Result<Self> {
        let mut child = Command::new(&options.bin)
            .arg("demo")
            .args(["--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(&data_dir)
            .envs(RAISED_LIMITS.iter().copied().filter(|_| !options.default_limits))
            .env("HELPLINE_SQLITE_SYNCHRONOUS", options.synchronous.as_str())
            .envs(options.database_url.iter().map(|url| ("HELPLINE_DATABASE_URL", url)))
            .envs(options.secret_key.iter().map(|key| ("HELPLINE_SECRET_KEY", key)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", options.bin.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let mut lines = BufReader::new(stdout).lines();
        let (addr, helper_token, console_link) = tokio::time::timeout(START_TIMEOUT, read_banner(&mut lines))
            .await
            .context("the server did not print its address and token in time")??;
        // The server may still print; keep its pipe open and drained.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self { child, pid, addr, helper_token, console_link, data_dir })
    }

    /// `http://127.0.0.1:PORT`
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://127.0.0.1:PORT`
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Resident set size of the server process, in KiB (`VmRSS` of /proc/PID/status).
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .context("reading the server's /proc status")?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS in the server's /proc status")
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Kills the server and removes its data directory.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.child.kill().await.context("stopping the server")?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// The demo prints its address first and the helper's token last.
async fn read_banner(
    lines: &mut Lines<BufReader<ChildStdout>>,
) -> anyhow::Result<(String, String, Option<String>)> {
    let mut addr = None;
    let mut console_link = None;
    while let Some(line) = lines.next_line().await? {
        if let Some(rest) = line.strip_prefix(LISTENING) {
            addr = Some(rest.trim().to_string());
        } else if let Some(rest) = line.trim_start().strip_prefix("helper console:") {
            console_link = rest.split_whitespace().next().map(str::to_string);
        } else if line.trim() == TOKEN_HEADING {
            let token = lines.next_line().await?.context("no token after its heading")?;
            let addr = addr.context("the server printed no address")?;
            return Ok((addr, token.trim().to_string(), console_link));
        }
    }
    bail!("the server exited before printing its helper token")
}

fn fresh_data_dir() -> anyhow::Result<PathBuf> {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("helpline-bench-{}-{n}", std::process::id()));
    remove_if_present(&dir)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn remove_if_present(dir: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}
