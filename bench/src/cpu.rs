//! CPU time from /proc: the server's, this load generator's, and the whole machine's,
//! so that a report can tell what else was running while it measured.

use anyhow::Context;

/// /proc reports CPU time in USER_HZ ticks, 100 per second on Linux's ABI.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU-seconds used so far.
#[derive(Clone, Debug)]
pub struct Sample {
    /// The server processes' together.
    server: f64,
    /// Each server process's, in the order given.
    each: Vec<f64>,
    bench: f64,
    /// Every CPU's busy time (not idle, not waiting for I/O).
    machine: f64,
}

/// Shares of one core (1.0 = one core busy all the time) over an interval.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    pub server: f64,
    pub bench: f64,
    /// Everything else on the machine: other processes, and the kernel's own work.
    pub other: f64,
}

impl Sample {
    pub fn take(server_pid: u32) -> anyhow::Result<Self> {
        Self::take_all(&[server_pid])
    }

    /// With several server processes (nodes): their sum is the server's.
    pub fn take_all(server_pids: &[u32]) -> anyhow::Result<Self> {
        let each =
            server_pids.iter().map(|&pid| process_seconds(pid)).collect::<anyhow::Result<Vec<f64>>>()?;
        Ok(Self {
            server: each.iter().sum(),
            each,
            bench: process_seconds(std::process::id())?,
            machine: machine_busy_seconds()?,
        })
    }

    /// Each server process's share of one core since `earlier`, `seconds` apart.
    pub fn each_since(&self, earlier: &Self, seconds: f64) -> Vec<f64> {
        self.each
            .iter()
            .zip(&earlier.each)
            .map(|(now, then)| (now - then) / seconds.max(f64::EPSILON))
            .collect()
    }

    /// Average usage between `earlier` and this sample, `seconds` apart.
    pub fn since(&self, earlier: &Self, seconds: f64) -> Usage {
        let rate = |now: f64, then: f64| (now - then) / seconds.max(f64::EPSILON);
        let server = rate(self.server, earlier.server);
        let bench = rate(self.bench, earlier.bench);
        let machine = rate(self.machine, earlier.machine);
        Usage { server, bench, other: (machine - server - bench).max(0.0) }
    }
}

impl Usage {
    /// `server 97 %, bench 24 %, other 3 %` (100 % = one core).
    pub fn describe(&self) -> String {
        format!(
            "server {:.0} %, bench {:.0} %, other {:.0} %",
            self.server * 100.0,
            self.bench * 100.0,
            self.other * 100.0
        )
    }
}

/// CPU time a process has used (all threads, user and system).
fn process_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).context("reading /proc/PID/stat")?;
    // Fields after the command name, which is in parentheses and may hold spaces:
    // state is the first, utime the 12th and stime the 13th.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks =
        |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).context("malformed /proc/PID/stat");
    Ok((ticks(11)? + ticks(12)?) / TICKS_PER_SECOND)
}

/// Busy time of all CPUs together: the first line of /proc/stat less idle and iowait.
fn machine_busy_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("cpu "))
        .context("no cpu line in /proc/stat")?
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is within user).
    let total: f64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3).copied().unwrap_or(0.0) + ticks.get(4).copied().unwrap_or(0.0);
    Ok((total - idle) / TICKS_PER_SECOND)
}
