//! The Markdown report: one section per scenario, each between its own markers in
//! `docs/PERFORMANCE.md`, so that a run replaces its sections and leaves the rest of
//! the file alone.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;

use crate::console;
use crate::cpu::Usage;
use crate::idle;
use crate::latency;
use crate::machine::{self, Machine};
use crate::pingpong;
use crate::server::ServerOptions;
use crate::stats::{Summary, ms};
use crate::storm;

/// Targets the figures are compared with.
const TARGET_P99_MS: f64 = 2.0;
const TARGET_RATE: f64 = 20_000.0;
const TARGET_KIB_PER_SOCKET: f64 = 15.0;
const TARGET_PAGE_MS: f64 = 50.0;
const TARGET_UPDATE_MS: f64 = 100.0;

/// What every section says about the run.
pub struct Context {
    date: String,
    pub machine: Machine,
    command: String,
    synchronous: &'static str,
    /// The source the server binary was presumably built from, and when it was built.
    source: String,
}

impl Context {
    pub fn capture(options: &ServerOptions) -> Self {
        Self {
            date: machine::today(),
            machine: Machine::read(),
            command: command_line(),
            synchronous: options.synchronous.as_str(),
            source: source(&options.bin),
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "helpline-bench {}: {}; server SQLite synchronous = {}",
            self.date,
            self.machine.describe(),
            self.synchronous
        )
    }

    pub fn preamble(&self, out: &mut String) {
        let _ = writeln!(out, "- Date: {} (UTC)", self.date);
        let _ = writeln!(
            out,
            "- Machine: {}; the server and the load generator share it and talk over loopback",
            self.machine.describe()
        );
        let _ = writeln!(out, "- Command: `{}`", self.command);
        let _ = writeln!(
            out,
            "- Server: `helpline demo` (release build {}), on SQLite with `synchronous = {}` where a \
             row does not say PostgreSQL, a fresh data directory under {} per server, rate limits \
             raised",
            self.source,
            self.synchronous,
            std::env::temp_dir().display()
        );
    }
}

/// `of 8f207bb + changes, built 16:45 UTC`: the workspace's commit (and whether `src/`
/// differs from it) and the binary's build time, as far as they can be known.
fn source(bin: &Path) -> String {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(workspace)
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let commit = match (git(&["rev-parse", "--short", "HEAD"]), git(&["status", "--porcelain", "--", "src"]))
    {
        (Some(commit), Some(changes)) if !changes.is_empty() => {
            format!("of {commit} + uncommitted changes to src/")
        }
        (Some(commit), _) => format!("of {commit}"),
        (None, _) => "of an unknown commit".to_string(),
    };
    let built = std::fs::metadata(bin)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| machine::time_of_day(d.as_secs()));
    match built {
        Some(time) => format!("{commit}, built {time} UTC"),
        None => commit,
    }
}

/// How this process was started, as a command to copy.
fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).map(|a| quote(&a)).collect();
    let program = if std::env::var_os("CARGO").is_some() {
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(|dir| format!("CARGO_TARGET_DIR={dir} "))
            .unwrap_or_default();
        format!("{target}cargo run --release -p helpline-bench --")
    } else {
        std::env::args().next().unwrap_or_else(|| "helpline-bench".into())
    };
    std::iter::once(program).chain(args).collect::<Vec<_>>().join(" ")
}

fn quote(arg: &str) -> String {
    if arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=,:".contains(c)) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "not met" }
}

pub fn grouped(n: f64) -> String {
    let digits = format!("{n:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn cpu_shares(usage: &Usage) -> String {
    format!("{:.0} % / {:.0} % / {:.0} %", usage.server * 100.0, usage.bench * 100.0, usage.other * 100.0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// A section of the report, named by its markers.
pub struct Section {
    key: &'static str,
    pub text: String,
}

impl Section {
    pub fn new(key: &'static str, text: String) -> Self {
        Self { key, text }
    }

    fn start_marker(&self) -> String {
        format!("<!-- bench:load-{}:start -->", self.key)
    }

    fn end_marker(&self) -> String {
        format!("<!-- bench:load-{}:end -->", self.key)
    }
}

pub fn latency(context: &Context, s: &latency::Settings, o: &latency::Outcome) -> Section {
    let mut t = String::from(match o.seeded {
        None => "## Load: delivery latency, requester → helper\n\n",
        Some(_) => "## Load: delivery latency, requester → helper, with a big database\n\n",
    });
    context.preamble(&mut t);
    if let Some(seeded) = &o.seeded {
        let _ = writeln!(
            t,
            "- Data: `helpline seed --conversations {}` first: {} conversations and {} messages stored \
             (seeded in {:.0} s; database {}), the load's conversations on top",
            seeded.conversations,
            grouped(seeded.conversations as f64),
            grouped(seeded.messages as f64),
            seeded.seconds,
            mib(seeded.database_bytes / 1024)
        );
    }
    let rate = s.conversations as f64 / s.interval.as_secs_f64();
    let _ = writeln!(
        t,
        "- Load: {} conversations, each with a requester socket sending one message every {:?} \
         (phases spread evenly: {rate:.0} messages/s in all), followed by {} helper sockets of {} \
         conversations each; {:?} warm-up, {:?} measured",
        s.conversations, s.interval, o.helper_sockets, s.convs_per_helper, s.warmup, s.duration
    );
    let _ = writeln!(
        t,
        "- Latency: from the requester's client sending the frame to the helper's client \
         receiving the `message` frame for it (matched by a marker in the text)\n"
    );
    let p99_ms = o.delivery.p99.as_secs_f64() * 1000.0;
    t.push_str("| Figure | Measured | Target |\n| --- | --- | --- |\n");
    let _ = writeln!(t, "| Delivery p50 | {} | |", ms(o.delivery.p50));
    let _ = writeln!(
        t,
        "| Delivery p99 | {} | ≤ {TARGET_P99_MS} ms at 1,000 conversations: {} |",
        ms(o.delivery.p99),
        verdict(p99_ms <= TARGET_P99_MS)
    );
    let _ = writeln!(t, "| Delivery p99.9 / max | {} / {} | |", ms(o.delivery.p999), ms(o.delivery.max));
    let _ = writeln!(t, "| Ack (durable commit) p50 / p99 | {} / {} | |", ms(o.ack.p50), ms(o.ack.p99));
    let _ = writeln!(
        t,
        "| Messages sent / delivered in the window | {} / {} ({:.0}/s) | |",
        o.sent,
        o.delivered,
        o.sent as f64 / o.window_seconds
    );
    let _ = writeln!(t, "| Error frames / failed sockets | {} / {} | |", o.error_frames, o.failed_sockets);
    let _ = writeln!(t, "| Server RSS with all sockets open | {} | |", mib(o.server_rss_kib));
    let _ = writeln!(
        t,
        "| CPU in the window: server / bench / other (100 % = one core of the {}) | {} | |",
        context.machine.cpus,
        cpu_shares(&o.cpu)
    );
    Section { key: if o.seeded.is_some() { "latency-stored" } else { "latency" }, text: t }
}

pub fn pingpong(context: &Context, s: &pingpong::Settings, levels: &[pingpong::Level]) -> Section {
    let mut t = String::from("## Load: sustained durable message rate (ping-pong)\n\n");
    context.preamble(&mut t);
    let _ = writeln!(
        t,
        "- Load: C conversations (claimed by the demo helper), each ping-ponging as fast as the \
         server answers: the requester sends, the helper's client answers on receipt, the \
         requester sends again on receipt. Helper sockets follow {} conversations each. Every \
         message is acknowledged only after its commit. {:?} warm-up, {:?} measured, a fresh \
         server per C",
        s.convs_per_helper, s.warmup, s.duration
    );
    let _ = writeln!(
        t,
        "- Delivered: messages received by the other side in the window, both directions; \
         delivery latency from the sender's client sending to the other client receiving; \
         server commits from its `/metrics`, CPU of the server, of the bench and of everything \
         else from `/proc` (100 % = one core of the {}), both at the window's start and end\n",
        context.machine.cpus
    );
    t.push_str(
        "| Conversations | Helper sockets | Delivered | Delivered messages/s | Delivery p50 | Delivery p99 | \
         Requester → helper p50 / p99 | Helper → requester p50 / p99 | Round trip p50 / p99 | \
         Server commits/s (messages each) | CPU: server / bench / other | Errors |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for l in levels {
        let pair = |s: &Summary| format!("{} / {}", ms(s.p50), ms(s.p99));
        let commits_per_second = l.commits.commits / s.duration.as_secs_f64();
        let per_commit = l.commits.messages / l.commits.commits.max(1.0);
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} ({per_commit:.1}) | {} | {} |",
            l.concurrency,
            l.helper_sockets,
            l.delivered,
            grouped(l.per_second),
            ms(l.delivery.p50),
            ms(l.delivery.p99),
            pair(&l.requester_to_helper),
            pair(&l.helper_to_requester),
            pair(&l.round_trip),
            grouped(commits_per_second),
            cpu_shares(&l.cpu),
            l.error_frames + l.failed_sockets as u64,
        );
    }
    let best = levels.iter().map(|l| l.per_second).fold(0.0, f64::max);
    let _ = writeln!(
        t,
        "\nHighest sustained rate: **{} delivered messages/s**; target ≥ {}: {}.",
        grouped(best),
        grouped(TARGET_RATE),
        verdict(best >= TARGET_RATE)
    );
    Section { key: "pingpong", text: t }
}

pub fn idle(context: &Context, sockets: usize, o: &idle::Outcome) -> Section {
    let mut t = String::from("## Load: memory per idle socket\n\n");
    context.preamble(&mut t);
    let _ = writeln!(
        t,
        "- Load: {sockets} conversations started, then one requester socket each opened and \
         left idle after its `hello` (and the status frame); server RSS (`VmRSS`) read before, \
         after half, and after all were open, 3 s after each step\n"
    );
    let per_socket = o.per_socket_kib();
    t.push_str("| Figure | Measured | Target |\n| --- | --- | --- |\n");
    let _ = writeln!(
        t,
        "| RSS before / half / after | {} / {} / {} | |",
        mib(o.rss_before_kib),
        mib(o.rss_half_kib),
        mib(o.rss_after_kib)
    );
    let _ = writeln!(
        t,
        "| Per idle socket, (after − before) / {sockets} | {per_socket:.1} KiB | ≤ {TARGET_KIB_PER_SOCKET} KiB: {} |",
        verdict(per_socket <= TARGET_KIB_PER_SOCKET)
    );
    let _ = writeln!(t, "| Per socket, second half only | {:.1} KiB | |", o.marginal_kib());
    let _ = writeln!(t, "| Sockets still open at the last reading | {} of {sockets} | |", o.open_at_end);
    Section { key: "idle", text: t }
}

pub fn storm(context: &Context, s: &storm::Settings, o: &storm::Outcome) -> Section {
    let mut t = String::from(if s.claimed {
        "## Load: reconnect storm (claimed conversations)\n\n"
    } else {
        "## Load: reconnect storm (waiting conversations)\n\n"
    });
    context.preamble(&mut t);
    let _ = writeln!(
        t,
        "- Load: {} requester sockets open (past their backlog), all dropped at once, one message \
         stored in each conversation over HTTP while they are away, then all {} reconnect with \
         `after` = the last `seq` they had (lean wire), their connects spread evenly over {:?}; the \
         conversations {}. Caught up = the missed message received, then the status frame; checked: each client got \
         exactly the message it missed, once\n",
        o.clients,
        o.clients,
        s.spread,
        if s.claimed {
            "claimed by the demo helper first (active)"
        } else {
            "all waiting in one queue (each reconnect works out its queue position)"
        }
    );
    t.push_str("| Figure | Measured | Target |\n| --- | --- | --- |\n");
    let _ = writeln!(
        t,
        "| Connect → caught up, p50 / p99 / max | {} / {} / {} | p99 ≤ 1 s: {} |",
        ms(o.caught_up.p50),
        ms(o.caught_up.p99),
        ms(o.caught_up.max),
        verdict(o.caught_up.p99 <= std::time::Duration::from_secs(1) && o.wrong == 0)
    );
    let _ = writeln!(t, "| Storm start → last client caught up | {} | |", ms(o.last_caught_up));
    let _ = writeln!(t, "| Clients caught up | {} of {} | all |", o.caught_up.count, o.clients);
    let _ =
        writeln!(t, "| Clients missing, doubling or failing | {} | 0: {} |", o.wrong, verdict(o.wrong == 0));
    for failure in o.failures.iter().take(3) {
        let _ = writeln!(t, "\nA failure: {failure}");
    }
    Section { key: if s.claimed { "storm-claimed" } else { "storm" }, text: t }
}

pub fn console(context: &Context, s: &console::Settings, o: &console::Outcome) -> Section {
    let mut t = String::from("## Console: pages and live updates with many stored conversations\n\n");
    context.preamble(&mut t);
    let _ = writeln!(
        t,
        "- Data: `helpline seed --conversations {}`: {} conversations and {} messages (150 waiting, \
         50 open, the rest closed over 60 days), seeded in {:.0} s; database {}",
        s.conversations,
        grouped(o.seeded.conversations as f64),
        grouped(o.seeded.messages as f64),
        o.seeded.seconds,
        mib(o.seeded.database_bytes / 1024)
    );
    let _ = writeln!(
        t,
        "- Pages: {} sequential requests each, signed in as the demo helper (its dashboard lists every \
         open conversation of the queue), timed at the client over loopback (server time plus one \
         loopback round trip), after 20 warm-up requests",
        s.requests
    );
    let _ = writeln!(
        t,
        "- Live update: {} new requests, one at a time: from `POST /v1/conversations` to the `queue` \
         frame on a helper socket, and on to the dashboard fetched again showing it (what the console's \
         script does on that frame)\n",
        s.updates
    );
    let page_met = |summary: &Summary| verdict(summary.p99.as_secs_f64() * 1000.0 <= TARGET_PAGE_MS);
    t.push_str("| Figure | p50 | p99 | max | Target |\n| --- | --- | --- | --- | --- |\n");
    let _ = writeln!(
        t,
        "| Dashboard | {} | {} | {} | ≤ {TARGET_PAGE_MS} ms: {} |",
        ms(o.dashboard.p50),
        ms(o.dashboard.p99),
        ms(o.dashboard.max),
        page_met(&o.dashboard)
    );
    let _ = writeln!(
        t,
        "| Conversation page | {} | {} | {} | ≤ {TARGET_PAGE_MS} ms: {} |",
        ms(o.conversation.p50),
        ms(o.conversation.p99),
        ms(o.conversation.max),
        page_met(&o.conversation)
    );
    let _ = writeln!(
        t,
        "| Statistics, 30 days (10 requests) | {} | {} | {} | |",
        ms(o.stats.p50),
        ms(o.stats.p99),
        ms(o.stats.max)
    );
    let _ = writeln!(
        t,
        "| New request → `queue` frame | {} | {} | {} | |",
        ms(o.update_frame.p50),
        ms(o.update_frame.p99),
        ms(o.update_frame.max)
    );
    let _ = writeln!(
        t,
        "| New request → dashboard showing it | {} | {} | {} | ≤ {TARGET_UPDATE_MS} ms: {} |",
        ms(o.update_dashboard.p50),
        ms(o.update_dashboard.p99),
        ms(o.update_dashboard.max),
        verdict(o.update_dashboard.p99.as_secs_f64() * 1000.0 <= TARGET_UPDATE_MS)
    );
    Section { key: "console", text: t }
}

/// Replaces the section between its markers, or appends it; creates the file if needed.
pub fn write_section(path: &Path, section: &Section) -> anyhow::Result<()> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "# Performance\n".to_string(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let updated = replace_section(&existing, section);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, updated).with_context(|| format!("writing {}", path.display()))
}

fn replace_section(existing: &str, section: &Section) -> String {
    let (start, end) = (section.start_marker(), section.end_marker());
    let block = format!("{start}\n{}{end}", section.text);
    if let Some(from) = existing.find(&start)
        && let Some(to) = existing[from..].find(&end).map(|i| from + i + end.len())
    {
        return format!("{}{block}{}", &existing[..from], &existing[to..]);
    }
    let mut out = existing.trim_end().to_string();
    out.push_str("\n\n");
    out.push_str(&block);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_replaced_in_place_or_appended() {
        let section = Section { key: "idle", text: "new\n".into() };
        let other = "<!-- bench:core:start -->\ncore\n<!-- bench:core:end -->";
        let appended = replace_section(&format!("# Performance\n\n{other}\n"), &section);
        assert_eq!(
            appended,
            format!(
                "# Performance\n\n{other}\n\n<!-- bench:load-idle:start -->\nnew\n<!-- bench:load-idle:end -->\n"
            )
        );
        let again = replace_section(&appended, &Section { key: "idle", text: "newer\n".into() });
        assert!(again.contains("newer") && !again.contains("new\n<!--") && again.contains(other), "{again}");
        assert_eq!(grouped(21234.4), "21,234");
        assert_eq!(grouped(950.0), "950");
    }
}
