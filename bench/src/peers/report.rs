//! The peers' section of docs/PERFORMANCE.md: one table for every workload and server,
//! the targets of the speed work checked against it, and an SVG chart beside it.

use std::fmt::Write as _;
use std::path::Path;

use crate::peers::workload::Workload;
use crate::peers::{Peer, Row, Settings, Skipped};
use crate::report::{Context, Section, grouped, verdict};
use crate::stats::ms;

pub const CHART_FILE: &str = "performance-peers.svg";

pub fn section(context: &Context, s: &Settings, rows: &[Row], skipped: &[Skipped]) -> Section {
    let mut t = String::from("## Side by side: Helpline, InspIRCd and Synapse\n\n");
    context.preamble(&mut t);
    let _ = writeln!(
        t,
        "- Peers: InspIRCd 3 (Debian's `inspircd`, memory only, flood limits lifted), Matrix Synapse \
         (`matrix-synapse` from PyPI, SQLite, rate limits lifted, presence off), Helpline on SQLite \
         (`synchronous = full`: every message committed before its `ack` or anyone sees it) with \
         clients on the v1 and on the lean wire, and on PostgreSQL (127.0.0.1:5432)"
    );
    let _ = writeln!(
        t,
        "- One client for all (bench/src/peers/): each pair is two connections — requester and \
         helper socket of one conversation, two IRC clients writing to each other, two users of \
         one Matrix room (`/send`, and `/sync` long polls). Open loop: each requester sends one \
         message every {} s, phases spread evenly; closed loop (ping-pong): each side answers on \
         receipt. {:?} warm-up, {:?} measured, a fresh server per row; Synapse at its own smaller \
         sizes",
        s.interval.as_secs_f64(),
        s.warmup,
        s.duration
    );
    let _ = writeln!(
        t,
        "- Delivery: from the sending client's send to the other client's receipt. CPU per \
         delivered message: the server process's CPU time in the window (PostgreSQL's own \
         processes not included) and the client's, over the messages delivered; frames (WebSocket \
         messages, IRC lines, HTTP exchanges) and bytes both ways at the clients, per delivered \
         message\n"
    );
    t.push_str(
        "| Workload | Server | Delivered/s | Delivery p50 | Delivery p99 | Server CPU µs/msg | Client CPU µs/msg | Frames/msg | Bytes/msg | Errors |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for r in rows {
        let m = &r.measured;
        let (server_us, client_us) = m.cpu_micros();
        let per = |n: u64| n as f64 / m.delivered.max(1) as f64;
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {server_us:.0} | {client_us:.0} | {:.1} | {:.0} | {} |",
            r.workload.describe(),
            r.peer.label(),
            grouped(m.per_second),
            ms(m.delivery.p50),
            ms(m.delivery.p99),
            per(m.traffic.frames),
            per(m.traffic.bytes),
            m.failures
        );
    }
    for s in skipped {
        let what = s.workload.map_or_else(|| "every workload".to_string(), Workload::describe);
        let _ = writeln!(t, "\nNot measured: {} — {what}: {}", s.peer.label(), s.reason);
    }
    targets(&mut t, rows);
    let _ = writeln!(t, "\n![Delivered messages per second, ping-pong, by server]({CHART_FILE})");
    Section::new("peers", t)
}

fn find(rows: &[Row], peer: Peer, pred: impl Fn(Workload) -> bool) -> Option<&Row> {
    rows.iter().find(|r| r.peer == peer && pred(r.workload))
}

fn pingpong_at(pairs: usize) -> impl Fn(Workload) -> bool {
    move |w| matches!(w, Workload::Pingpong { pairs: p } if p == pairs)
}

fn latency_at(pairs: usize) -> impl Fn(Workload) -> bool {
    move |w| matches!(w, Workload::Latency { pairs: p, .. } if p == pairs)
}

fn targets(t: &mut String, rows: &[Row]) {
    t.push_str("\n### Targets (Helpline on SQLite, lean wire)\n\n");
    let lean = Peer::Helpline;
    let line = |t: &mut String, what: &str, figure: Option<(String, bool)>| {
        let _ = match figure {
            Some((said, met)) => writeln!(t, "- {what}: {said} — **{}**", verdict(met)),
            None => writeln!(t, "- {what}: not measured in this run"),
        };
    };
    let rate =
        find(rows, lean, pingpong_at(200)).zip(find(rows, Peer::Inspircd, pingpong_at(200))).map(|(h, i)| {
            let ratio = h.measured.per_second / i.measured.per_second.max(f64::EPSILON);
            (
                format!(
                    "{} vs {}/s = {ratio:.2}×",
                    grouped(h.measured.per_second),
                    grouped(i.measured.per_second)
                ),
                ratio >= 0.5,
            )
        });
    line(t, "Ping-pong at 200 pairs ≥ 0.5× InspIRCd's rate", rate);
    let p99 =
        find(rows, lean, latency_at(1000)).zip(find(rows, Peer::Inspircd, latency_at(1000))).map(|(h, i)| {
            let ratio =
                h.measured.delivery.p99.as_secs_f64() / i.measured.delivery.p99.as_secs_f64().max(1e-9);
            (
                format!("{} vs {} = {ratio:.1}×", ms(h.measured.delivery.p99), ms(i.measured.delivery.p99)),
                ratio <= 3.0,
            )
        });
    line(t, "Delivery p99 at 1,000 pairs ≤ 3× InspIRCd's", p99);
    let best = |peer: Peer| {
        rows.iter()
            .filter(|r| r.peer == peer && matches!(r.workload, Workload::Pingpong { .. }))
            .max_by(|a, b| a.measured.per_second.total_cmp(&b.measured.per_second))
    };
    let synapse = best(lean).zip(best(Peer::Synapse)).map(|(h, s)| {
        let ratio = h.measured.per_second / s.measured.per_second.max(f64::EPSILON);
        (
            format!(
                "best ping-pong {}/s ({}) vs {}/s ({}) = {}×",
                grouped(h.measured.per_second),
                h.workload.describe(),
                grouped(s.measured.per_second),
                s.workload.describe(),
                grouped(ratio)
            ),
            ratio >= 100.0,
        )
    });
    line(t, "≥ 100× Synapse's rate", synapse);
    let cpu = best(lean).map(|h| {
        let (server_us, _) = h.measured.cpu_micros();
        (format!("{server_us:.0} µs at {}", h.workload.describe()), server_us <= 40.0)
    });
    line(t, "Server CPU ≤ 40 µs per delivered message", cpu);
}

/// Grouped bars: delivered messages/s of each server at each ping-pong size, on a
/// logarithmic axis (Synapse and InspIRCd differ by three orders of magnitude).
pub fn chart(rows: &[Row]) -> String {
    let peers: Vec<Peer> = {
        let mut p: Vec<Peer> = rows.iter().map(|r| r.peer).collect();
        p.dedup();
        p
    };
    let mut sizes: Vec<usize> = rows
        .iter()
        .filter_map(|r| match r.workload {
            Workload::Pingpong { pairs } => Some(pairs),
            Workload::Latency { .. } => None,
        })
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    let colours = ["#8da0cb", "#1b7837", "#5aae61", "#d95f02", "#7570b3"];
    let (width, height, left, bottom, top) = (760.0, 360.0, 70.0, 300.0, 40.0);
    let max = rows.iter().map(|r| r.measured.per_second).fold(10.0_f64, f64::max);
    let decades = max.log10().ceil().max(1.0);
    let y = |v: f64| bottom - (v.max(1.0).log10() / decades) * (bottom - top);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <text x=\"{left}\" y=\"20\" font-size=\"14\">Ping-pong: delivered messages per second (log scale), by pairs</text>\n"
    );
    for d in 0..=(decades as i32) {
        let v = 10f64.powi(d);
        let _ = writeln!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            width - 20.0,
            left - 6.0,
            y(v) + 4.0,
            grouped(v),
            y = y(v)
        );
    }
    let group = (width - left - 20.0) / sizes.len().max(1) as f64;
    let bar = group / (peers.len() as f64 + 1.0);
    for (g, &pairs) in sizes.iter().enumerate() {
        let x0 = left + g as f64 * group;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{pairs} pairs</text>",
            x0 + group / 2.0,
            bottom + 18.0
        );
        for (i, &peer) in peers.iter().enumerate() {
            let Some(r) = find(rows, peer, pingpong_at(pairs)) else { continue };
            let x = x0 + bar * (i as f64 + 0.5);
            let top_y = y(r.measured.per_second);
            let _ = writeln!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{top_y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {}/s</title></rect>",
                bar * 0.9,
                bottom - top_y,
                colours[i % colours.len()],
                peer.label(),
                grouped(r.measured.per_second)
            );
        }
    }
    for (i, &peer) in peers.iter().enumerate() {
        let x = left + (i % 3) as f64 * 220.0;
        let yy = bottom + 36.0 + (i / 3) as f64 * 16.0;
        let _ = writeln!(
            svg,
            "<rect x=\"{x}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"{yy:.1}\">{}</text>",
            yy - 9.0,
            colours[i % colours.len()],
            x + 14.0,
            peer.label()
        );
    }
    svg.push_str("</svg>\n");
    svg
}

pub fn write_chart(report: &Path, rows: &[Row]) -> anyhow::Result<std::path::PathBuf> {
    let path = report.parent().unwrap_or(Path::new(".")).join(CHART_FILE);
    std::fs::write(&path, chart(rows))?;
    Ok(path)
}
