//! Prometheus metrics. Counters and histograms are updated where things happen; the
//! number of waiting conversations is read from the store at scrape time.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::domain::Role;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RoleLabel {
    pub role: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SocketLabel {
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

pub struct Metrics {
    registry: Registry,
    messages: Family<RoleLabel, Counter>,
    conversations: Counter,
    live_sockets: Family<SocketLabel, Gauge>,
    delivery_latency: Histogram,
    append_batch: Histogram,
    waiting: Gauge,
    helpers_online: Gauge,
    mails: Family<OutcomeLabel, Counter>,
    resyncs: Counter,
    leads: Gauge,
    relay_dropped: Gauge,
    proof_of_work: Gauge,
}

/// What `/metrics` reads at scrape time.
pub struct Readings {
    pub waiting: i64,
    pub helpers_online: usize,
    pub leads: bool,
    pub relay_dropped: u64,
    pub proof_of_work: bool,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("helpline");
        let messages = Family::<RoleLabel, Counter>::default();
        registry.register("messages", "Messages stored, by author role", messages.clone());
        let conversations = Counter::default();
        registry.register("conversations", "Conversations started", conversations.clone());
        let live_sockets = Family::<SocketLabel, Gauge>::default();
        registry.register("live_sockets", "Open live WebSockets, by kind", live_sockets.clone());
        let buckets = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];
        let delivery_latency = Histogram::new(buckets);
        registry.register(
            "delivery_latency_seconds",
            "From a message's arrival at the server to its sending on a recipient's socket",
            delivery_latency.clone(),
        );
        let append_batch = Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0]);
        registry.register("append_batch_size", "Messages committed per transaction", append_batch.clone());
        let waiting = Gauge::default();
        registry.register("waiting_conversations", "Conversations waiting for a helper", waiting.clone());
        let helpers_online = Gauge::default();
        registry.register("helpers_online", "Helpers with a live socket on any node", helpers_online.clone());
        let mails = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "mails",
            "Mails: to requesters sent, to retry, given up; helpers' sign-in links (signin_link)",
            mails.clone(),
        );
        let resyncs = Counter::default();
        registry.register(
            "cluster_resyncs",
            "Times this node listened to the other nodes again and had its sockets read the store",
            resyncs.clone(),
        );
        let leads = Gauge::default();
        registry.register(
            "runs_background_jobs",
            "1 on the node that runs the background jobs",
            leads.clone(),
        );
        let relay_dropped = Gauge::default();
        registry.register(
            "cluster_events_dropped",
            "Events for the other nodes dropped because sending fell behind",
            relay_dropped.clone(),
        );
        let proof_of_work = Gauge::default();
        registry.register(
            "proof_of_work_required",
            "1 while new requests must carry a proof of work",
            proof_of_work.clone(),
        );
        Self {
            proof_of_work,
            registry,
            messages,
            conversations,
            live_sockets,
            delivery_latency,
            append_batch,
            waiting,
            helpers_online,
            mails,
            resyncs,
            leads,
            relay_dropped,
        }
    }

    pub fn cluster_resync(&self) {
        self.resyncs.inc();
    }

    pub fn mail_sent(&self) {
        self.mails.get_or_create(&OutcomeLabel { outcome: "sent" }).inc();
    }

    pub fn signin_link_mailed(&self) {
        self.mails.get_or_create(&OutcomeLabel { outcome: "signin_link" }).inc();
    }

    pub fn mail_retried(&self) {
        self.mails.get_or_create(&OutcomeLabel { outcome: "retry" }).inc();
    }

    pub fn mail_failed(&self) {
        self.mails.get_or_create(&OutcomeLabel { outcome: "failed" }).inc();
    }

    pub fn message_stored(&self, role: Role) {
        self.messages.get_or_create(&RoleLabel { role: role.as_str() }).inc();
    }

    pub fn conversation_created(&self) {
        self.conversations.inc();
    }

    pub fn socket_opened(&self, kind: &'static str) {
        self.live_sockets.get_or_create(&SocketLabel { kind }).inc();
    }

    pub fn socket_closed(&self, kind: &'static str) {
        self.live_sockets.get_or_create(&SocketLabel { kind }).dec();
    }

    pub fn delivered(&self, seconds: f64) {
        self.delivery_latency.observe(seconds);
    }

    pub fn append_batch(&self, size: usize) {
        self.append_batch.observe(size as f64);
    }

    /// The text exposition, with the gauges read now.
    pub fn render(&self, now: &Readings) -> String {
        self.waiting.set(now.waiting);
        self.helpers_online.set(i64::try_from(now.helpers_online).unwrap_or(i64::MAX));
        self.leads.set(i64::from(now.leads));
        self.relay_dropped.set(i64::try_from(now.relay_dropped).unwrap_or(i64::MAX));
        self.proof_of_work.set(i64::from(now.proof_of_work));
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
