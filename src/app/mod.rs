//! The application: every capability's routes composed into one router (with the
//! OpenAPI document built from the same annotated handlers), the background tasks, and
//! a server that starts on any port (port 0 in tests) and shuts down gracefully.

mod openapi;
mod serve;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, StatusCode, header};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::clock::Clock;
use crate::config::Config;
use crate::state::AppState;
use crate::{console, conversations, helpers, live, ops, sites, widget};

#[derive(OpenApi)]
#[openapi(
    info(title = "Helpline", description = "Get help from a volunteer team: the v1 protocol of the widget and the helper API."),
    modifiers(&SecuritySchemes),
    tags((name = "requester", description = "The person asking for help"),
         (name = "helper", description = "Volunteer helpers"),
         (name = "operations", description = "Health and metrics"))
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for name in ["requester_token", "helper_token"] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The API routes of every capability and the OpenAPI document describing them.
pub fn api_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (routes, api) = sites::routes::routes()
        .merge(conversations::routes())
        .merge(helpers::routes::routes())
        .merge(live::routes())
        .merge(ops::routes())
        .split_for_parts();
    let mut doc = ApiDoc::openapi();
    doc.merge(api);
    openapi::document_edge_answers(&mut doc);
    (routes, doc)
}

pub fn router(state: AppState) -> Router {
    let (routes, api) = api_routes();
    let api_json = Arc::new(serde_json::to_string_pretty(&api).unwrap_or_default());
    let body_limit = state.config.limits.body_bytes;
    let request_time = Duration::from_secs(state.config.limits.request_seconds);
    routes
        .merge(widget::routes())
        .merge(console::routes())
        .route(
            "/v1/openapi.json",
            axum::routing::get(move || {
                let json = Arc::clone(&api_json);
                async move { ([(header::CONTENT_TYPE, "application/json")], json.as_str().to_string()) }
            }),
        )
        .layer(DefaultBodyLimit::max(body_limit))
        // A request, its body included, is answered within this time (a client that
        // sends its body slowly gets 408); sockets leave this layer once upgraded.
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, request_time))
        .layer(cors(&state.config))
        // On every answer, pages, scripts, JSON and errors alike, unless a route set its
        // own: no guessing of types, no framing.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// What the widget calls from a site's pages. Nothing else — the helper API, the
/// console, health, metrics, mail — is granted to any other origin.
const REQUESTER_PATHS: &[&str] = &["/v1/conversations", "/v1/sites/", "/v1/challenge"];

/// Browsers may call the requester API from the sites' pages, and nothing else.
fn cors(config: &Config) -> CorsLayer {
    let origins: Vec<HeaderValue> = config
        .sites
        .iter()
        .flat_map(|s| s.allowed_origins.iter())
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, parts| {
            let path = parts.uri.path();
            REQUESTER_PATHS.iter().any(|p| path.starts_with(p)) && origins.contains(origin)
        }))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .expose_headers([header::RETRY_AFTER])
        .max_age(Duration::from_secs(3600))
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub state: AppState,
    task: JoinHandle<()>,
}

impl Server {
    /// Binds `config.listen` (port 0 picks a free port) and serves in the background.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        Self::start_with_clock(config, Clock::system()).await
    }

    /// [`Server::start`] on a clock of the caller's (tests move it forward).
    pub async fn start_with_clock(config: Config, clock: Clock) -> anyhow::Result<Self> {
        let listen = config.listen;
        let listener = TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
        Self::start_on(config, clock, listener).await
    }

    /// Serves on a listener bound beforehand (when the port must be known first).
    pub async fn start_on(mut config: Config, clock: Clock, listener: TcpListener) -> anyhow::Result<Self> {
        let addr = listener.local_addr()?;
        // Port 0 asked for any port: links this server prints must name the real one.
        config.listen = addr;
        let (state, ends) = AppState::build(config, clock).await?;
        conversations::appender::start(state.clone(), ends.appends)?;
        crate::cluster::start(&state, ends.relayed);
        spawn_background(&state);
        let app = router(state.clone());
        let timeouts =
            serve::Timeouts { header_read: Duration::from_secs(state.config.limits.header_read_seconds) };
        let task = tokio::spawn(serve::serve(listener, app, timeouts, state.shutdown.clone()));
        Ok(Self { addr, state, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, tells live sockets to resume elsewhere, waits for requests to end.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.state.shutdown.cancel();
        self.task.await?;
        self.state.store.close().await;
        Ok(())
    }

    /// Serves until Ctrl-C or SIGTERM, then stops gracefully.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.stop().await
    }
}

/// What runs beside the requests until shutdown: housekeeping, SQLite checkpoints,
/// returning conversations of absent owners, auto-offers, the mail outbox, the mailbox
/// of replies, helpers' mail alerts, chats left for e-mail.
fn spawn_background(state: &AppState) {
    let shutdown = state.shutdown.clone();
    tokio::spawn(housekeeping(state.clone()));
    tokio::spawn(state.store.clone().checkpoints(shutdown.clone()));
    tokio::spawn(conversations::routing::run(state.clone(), shutdown.clone()));
    tokio::spawn(conversations::offers::run(state.clone(), shutdown.clone()));
    tokio::spawn(crate::eligibility::run(state.clone(), shutdown.clone()));
    tokio::spawn(conversations::conflicts::run(state.clone(), shutdown.clone()));
    tokio::spawn(conversations::mailbox::run(state.clone(), shutdown.clone()));
    tokio::spawn(crate::helpers::alerts::run(state.clone(), shutdown.clone()));
    tokio::spawn(conversations::departures::run(state.clone(), shutdown.clone()));
    tokio::spawn(conversations::proof_of_work::run(state.clone(), shutdown.clone()));
    tokio::spawn(conversations::outbox::run(state.clone(), shutdown));
}

/// Every minute: forget idle rate-limit keys. Every hour (and at start, or once this
/// node runs the background jobs): purge closed conversations past retention.
async fn housekeeping(state: AppState) {
    const PURGE_EVERY: Duration = Duration::from_secs(3600);
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    let mut leads = state.leadership.subscribe();
    let mut last_purge: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            // Taking over the jobs is a moment to purge too.
            Ok(()) = leads.changed() => {}
            () = state.shutdown.cancelled() => return,
        }
        state.limits.forget_idle();
        let due = last_purge.is_none_or(|t| t.elapsed() >= PURGE_EVERY);
        if due && state.leadership.leads() {
            last_purge = Some(tokio::time::Instant::now());
            match conversations::retention::purge_expired(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "purged closed conversations past retention"),
                Err(error) => tracing::warn!(%error, "purging past retention failed; will retry"),
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
