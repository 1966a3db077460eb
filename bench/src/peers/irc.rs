//! InspIRCd as a peer: Debian's `inspircd`, memory only, on a free loopback port with a
//! configuration that lifts its flood limits (as the Helpline server's are lifted). Each
//! pair is two clients, `rN` and `hN`, writing to each other by `PRIVMSG`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::peers::link::{Link, Pair};

pub const BINARY: &str = "/usr/sbin/inspircd";
const START_TIMEOUT: Duration = Duration::from_secs(30);
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// InspIRCd answers a registration about a second after it (its own pace, whatever the
/// load): many at once keep 20,000 registrations within half a minute.
const SETUP_CONCURRENCY: usize = 1000;

pub struct Inspircd {
    child: Child,
    pid: u32,
    port: u16,
    dir: PathBuf,
}

impl Inspircd {
    pub async fn start() -> anyhow::Result<Self> {
        if !Path::new(BINARY).is_file() {
            bail!("{BINARY} is missing: apt-get install inspircd (or run scripts/bench-peers)");
        }
        let port = free_port()?;
        let dir = std::env::temp_dir().join(format!("helpline-bench-inspircd-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let config = dir.join("inspircd.conf");
        std::fs::write(&config, configuration(port, &dir))?;
        let child = Command::new(BINARY)
            .args(["--nofork", "--runasroot", "--nopid"])
            .arg(format!("--config={}", config.display()))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting inspircd")?;
        let pid = child.id().context("inspircd exited at once")?;
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if tokio::time::Instant::now() > deadline {
                bail!("inspircd did not listen on 127.0.0.1:{port} in time (see {})", dir.display());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Self { child, pid, port, dir })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub async fn pairs(&self, count: usize) -> anyhow::Result<Vec<Pair>> {
        stream::iter(0..count)
            .map(|i| async move {
                let helper = self.client(&format!("h{i}"), &format!("r{i}")).await?;
                let requester = self.client(&format!("r{i}"), &format!("h{i}")).await?;
                Ok::<_, anyhow::Error>(Pair { requester, helper })
            })
            .buffered(SETUP_CONCURRENCY)
            .try_collect()
            .await
    }

    /// A registered client `nick`, writing to `to`.
    async fn client(&self, nick: &str, to: &str) -> anyhow::Result<Link> {
        tokio::time::timeout(STEP_TIMEOUT, async {
            let stream = TcpStream::connect(("127.0.0.1", self.port)).await?;
            stream.set_nodelay(true)?;
            let (read, mut writer) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            writer.write_all(format!("NICK {nick}\r\nUSER {nick} 0 * :bench\r\n").as_bytes()).await?;
            while let Some(line) = lines.next_line().await? {
                if let Some(token) = line.strip_prefix("PING ") {
                    writer.write_all(format!("PONG {token}\r\n").as_bytes()).await?;
                }
                // 001 RPL_WELCOME: registered.
                if line.split(' ').nth(1) == Some("001") {
                    return Ok(Link::Irc { lines, writer, to: to.to_string() });
                }
                if line.starts_with("ERROR") {
                    bail!("inspircd refused {nick}: {line}");
                }
            }
            bail!("inspircd closed the connection of {nick} before registering it")
        })
        .await
        .context("IRC registration timed out")?
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.child.kill().await;
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(())
    }
}

/// Flood protection off (threshold, command rate, fake lag), connection limits far
/// above the run's, no DNS or ident lookups: only the server's own speed counts.
fn configuration(port: u16, dir: &Path) -> String {
    format!(
        r#"<server name="bench.invalid" description="helpline-bench peer" network="bench">
<admin name="bench" nick="bench" email="bench@bench.invalid">
<bind address="127.0.0.1" port="{port}" type="clients">
<connect name="bench" allow="127.0.0.1" maxchans="20" timeout="120" pingfreq="600"
  hardsendq="16777216" softsendq="1048576" recvq="1048576" threshold="100000000"
  commandrate="100000000" fakelag="no" localmax="1000000" globalmax="1000000"
  resolvehostnames="no" useident="no" limit="1000000" uniqueusername="no">
<performance softlimit="65000" somaxconn="4096">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="{log}">
<options defaultmodes="n">
<dns timeout="1">
"#,
        log = dir.join("inspircd.log").display()
    )
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
