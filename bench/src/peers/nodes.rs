//! The section of docs/PERFORMANCE.md on several nodes: the peers' workloads on one
//! Helpline node on PostgreSQL and on two nodes of one database (requesters on one,
//! helpers on the other), with each node's CPU per delivered message.

use std::fmt::Write as _;

use crate::peers::workload::Workload;
use crate::peers::{Peer, Row, Settings, Skipped};
use crate::report::{Context, Section, grouped};
use crate::stats::ms;

pub fn section(context: &Context, s: &Settings, rows: &[Row], skipped: &[Skipped]) -> Section {
    let mut t = String::from("## Several nodes: one and two Helpline nodes on PostgreSQL\n\n");
    context.preamble(&mut t);
    let _ = writeln!(
        t,
        "- Nodes: `helpline demo` on one fresh PostgreSQL database (127.0.0.1:5432); with two, \
         both on that database with one secret, every requester socket on node A and every \
         helper socket on node B, so that each message is stored by one node and reaches the \
         other through PostgreSQL's `NOTIFY`. The machine's 2 cores are shared by both nodes, \
         PostgreSQL and the client\n\
         - The peers' client and workloads (bench/src/peers/): open loop, one message every {} s \
         per pair; ping-pong. {:?} warm-up, {:?} measured, fresh servers and database per row. \
         CPU per delivered message: each node process's CPU time in the window over the messages \
         delivered (PostgreSQL's own processes not included)\n",
        s.interval.as_secs_f64(),
        s.warmup,
        s.duration
    );
    t.push_str(
        "| Workload | Nodes | Delivered/s | Delivery p50 | Delivery p99 | CPU µs/msg, all nodes | Node A (requesters) | Node B (helpers) | Errors |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for r in rows {
        let m = &r.measured;
        let each = m.nodes_cpu_micros();
        let (all, _) = m.cpu_micros();
        let node = |i: usize| each.get(i).map_or_else(|| "—".to_string(), |us| format!("{us:.0}"));
        let (nodes, a, b) = match r.peer {
            Peer::HelplineTwoNodes => ("two", node(0), node(1)),
            _ => ("one", "—".to_string(), "—".to_string()),
        };
        let _ = writeln!(
            t,
            "| {} | {nodes} | {} | {} | {} | {all:.0} | {a} | {b} | {} |",
            r.workload.describe(),
            grouped(m.per_second),
            ms(m.delivery.p50),
            ms(m.delivery.p99),
            m.failures
        );
    }
    for s in skipped {
        let what = s.workload.map_or_else(|| "every workload".to_string(), Workload::describe);
        let _ = writeln!(t, "\nNot measured: {} — {what}: {}", s.peer.label(), s.reason);
    }
    let _ = writeln!(t);
    for one in rows.iter().filter(|r| r.peer == Peer::HelplinePostgres) {
        let Some(two) = rows
            .iter()
            .find(|r| r.peer == Peer::HelplineTwoNodes && r.workload.describe() == one.workload.describe())
        else {
            continue;
        };
        let (cpu_one, _) = one.measured.cpu_micros();
        let (cpu_two, _) = two.measured.cpu_micros();
        let _ = writeln!(
            t,
            "- {}: two nodes deliver {:.2}× the rate of one, at {:.0} µs of node CPU per message \
             against {:.0} µs ({:+.0} µs for the hop between nodes)",
            one.workload.describe(),
            two.measured.per_second / one.measured.per_second.max(f64::EPSILON),
            cpu_two,
            cpu_one,
            cpu_two - cpu_one
        );
    }
    Section::new("nodes", t)
}
