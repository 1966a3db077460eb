//! A PostgreSQL server of the test's own — `initdb` in a temporary directory, its own
//! port on 127.0.0.1, trust authentication — for tests that stop and restart it without
//! touching the machine's. Debian's server binaries (`/usr/lib/postgresql/N/bin`); run
//! as the `postgres` user when the test runs as root (PostgreSQL refuses root).

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct OwnPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

fn server_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|bin| bin.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

impl OwnPostgres {
    /// A new server, started; `None` when the machine has no PostgreSQL server binaries.
    pub fn start() -> Option<Self> {
        let bin = server_bin()?;
        let dir = tempfile::Builder::new().prefix("helpline-pg-").tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let own = Self { dir, bin, port };
        if is_root() {
            let status =
                Command::new("chown").args(["-R", "postgres:"]).arg(own.dir.path()).status().unwrap();
            assert!(status.success(), "chown the PostgreSQL directory");
        }
        own.run(
            "initdb",
            &["-D", own.data().to_str().unwrap(), "--auth=trust", "-U", "postgres", "-E", "UTF8"],
        );
        own.pg_ctl("start");
        Some(own)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let output = command.args(args).current_dir(Path::new("/")).output().unwrap();
        assert!(
            output.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// `pg_ctl start|stop|restart`, waiting until it is done (stop: fast shutdown,
    /// which ends every session as a restart by an operator would).
    pub fn pg_ctl(&self, action: &str) {
        let data = self.data();
        let log = self.dir.path().join("log");
        let options =
            format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.dir.path().display());
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "-m",
                "fast",
                "-w",
                action,
            ],
        );
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let data = self.data();
        let path = self.bin.join("pg_ctl");
        let args = ["-D", data.to_str().unwrap_or(""), "-m", "immediate", "stop"];
        let _ = if is_root() {
            Command::new("runuser").args(["-u", "postgres", "--"]).arg(&path).args(args).output()
        } else {
            Command::new(&path).args(args).output()
        };
    }
}
