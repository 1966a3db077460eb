//! What every capability and edge shares, built once at start and passed by reference:
//! the configuration, the store, the clock, the hub and what is live on this node, the
//! caches, and the queue of new messages waiting for the group commit.
//!
//! This module sits below every capability: it holds their shared parts, never their
//! logic. The one piece it holds for a capability is the appender's queue, whose other
//! end `conversations::appender` takes when the server starts.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::Config;
use crate::domain::{AppendRequest, Appended, Channel};
use crate::error::{AppError, AppResult};
use crate::hub::{Hub, Leadership, NodeId, Presence, Relay, Relayed, Viewers};
use crate::i18n::I18n;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::proof_of_work::Gate;
use crate::rate_limit::RateLimits;
use crate::screening::Screener;
use crate::secrets::Secrets;
use crate::stats::{ReportCache, WaitCache};
use crate::store::Store;
use crate::store::blocks::BlockHorizon;
use crate::wiki::WikiClient;

/// Cheap to clone: every handler and task gets one.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub config: Config,
    pub store: Store,
    /// The time every rule reads (tests move it forward).
    pub clock: Clock,
    pub hub: Arc<Hub>,
    pub presence: Presence,
    pub viewers: Viewers,
    /// This process among the nodes on one database (random at start).
    pub node: NodeId,
    /// Whether this node runs the jobs that run once for all nodes.
    pub leadership: Leadership,
    pub block_horizon: BlockHorizon,
    pub reports: ReportCache,
    pub waits: WaitCache,
    /// The sites' wikis (MediaWiki Action API), with a short cache.
    pub wiki: WikiClient,
    /// For calls to other servers (the OAuth provider).
    pub http: reqwest::Client,
    pub screener: Screener,
    pub i18n: I18n,
    pub secrets: Secrets,
    pub metrics: Metrics,
    pub limits: RateLimits,
    /// Whether new requests must carry a proof of work now.
    pub proof_of_work: Gate,
    /// Outbound mail, when configured: it makes the e-mail channel available.
    pub mailer: Option<Mailer>,
    pub appender: Appender,
    pub shutdown: CancellationToken,
}

impl AppState {
    /// Opens the store (applying migrations) and builds every shared part, with the
    /// other ends of the queues it feeds (see [`Ends`]).
    pub async fn build(config: Config, clock: Clock) -> anyhow::Result<(Self, Ends)> {
        let secret = config.load_or_create_secret()?;
        let store = Store::connect(&config.database_url(), &config.sqlite_synchronous).await?;
        let block_horizon = BlockHorizon::load(&store).await?;
        crate::install_tls();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("Helpline/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let mailer = config.mail.as_ref().map(Mailer::new).transpose()?;
        let (appender, queue) = Appender::channel();
        // Several nodes share a PostgreSQL database; SQLite has one.
        let (relay, relayed, leadership) = match store.cluster {
            Some(_) => {
                let (relay, relayed) = Relay::channel();
                (relay, Some(relayed), Leadership::contested())
            }
            None => (Relay::default(), None, Leadership::alone()),
        };
        let shared = Shared {
            limits: RateLimits::new(&config.limits),
            proof_of_work: Gate::new(&config.proof_of_work),
            store,
            presence: Presence::new(clock.clone(), relay.clone()),
            clock,
            hub: Arc::new(Hub::new(relay.clone())),
            viewers: Viewers::new(relay),
            node: NodeId(rand::random()),
            leadership,
            block_horizon,
            reports: ReportCache::default(),
            waits: WaitCache::default(),
            wiki: WikiClient::new(crate::wiki::user_agent(&config))?,
            http,
            screener: Screener::load()?,
            i18n: I18n::load()?,
            secrets: Secrets::new(secret),
            metrics: Metrics::new(),
            mailer,
            appender,
            shutdown: CancellationToken::new(),
            config,
        };
        Ok((Self(Arc::new(shared)), Ends { appends: queue, relayed }))
    }

    /// The channels this server can honour. Answers by e-mail need outbound mail:
    /// without it, offering e-mail would promise an answer that never comes.
    pub fn channels(&self) -> Vec<Channel> {
        if self.mailer.is_some() { vec![Channel::Chat, Channel::Email] } else { vec![Channel::Chat] }
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// The ends of the queues `AppState` feeds, for the tasks that empty them: the new
/// messages (`conversations::appender`) and, with several nodes, what to tell the
/// others (`cluster`).
pub struct Ends {
    pub appends: AppendQueue,
    pub relayed: Option<mpsc::Receiver<Relayed>>,
}

/// A new message and where its answer goes once it is committed (or refused).
pub struct AppendJob {
    pub request: AppendRequest,
    pub reply: oneshot::Sender<AppResult<Appended>>,
}

/// The appender's end of the queue.
pub type AppendQueue = mpsc::Receiver<AppendJob>;

/// The queue of new messages waiting for the group commit. Messages one caller queues
/// one after another are committed in that order.
#[derive(Clone)]
pub struct Appender {
    sender: mpsc::Sender<AppendJob>,
}

/// Messages waiting at most; a full queue holds senders back.
const QUEUE_LENGTH: usize = 32 * 1024;

impl Appender {
    fn channel() -> (Self, AppendQueue) {
        let (sender, receiver) = mpsc::channel(QUEUE_LENGTH);
        (Self { sender }, receiver)
    }

    /// Stores the message; returns once it is committed.
    pub async fn append(&self, request: AppendRequest) -> AppResult<Appended> {
        self.submit(request).await?.await
    }

    /// Queues the message and returns once it is queued; the future it gives resolves
    /// once the message is committed, so a socket can have several in flight.
    pub async fn submit(
        &self,
        request: AppendRequest,
    ) -> AppResult<impl Future<Output = AppResult<Appended>> + Send + 'static> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(AppendJob { request, reply })
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the message appender has stopped")))?;
        Ok(async move {
            answer
                .await
                .map_err(|_| AppError::Internal(anyhow::anyhow!("the message appender dropped a message")))?
        })
    }
}
