//! The application: shared state, the router, and a server that starts on any port
//! (port 0 in tests) and shuts down gracefully.

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, header};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
use crate::conversations::appender::Appender;
use crate::conversations::service::Services;
use crate::conversations::{helper_routes, public_routes};
use crate::helpers::presence::Presence;
use crate::i18n::I18n;
use crate::live::hub::Hub;
use crate::live::{helper_socket, requester_socket};
use crate::ops::metrics::Metrics;
use crate::rate_limit::RateLimits;
use crate::screening::Screener;
use crate::secrets::Secrets;
use crate::store::Store;
use crate::{helpers, ops, sites};

/// What every handler gets: the shared services, the message appender, rate limits
/// and the shutdown signal.
#[derive(Clone)]
pub struct AppState {
    pub services: Arc<Services>,
    pub appender: Appender,
    pub limits: Arc<RateLimits>,
    pub shutdown: CancellationToken,
}

impl Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.services
    }
}

impl AppState {
    /// Opens the store (applying migrations) and builds every service.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let secret = config.load_or_create_secret()?;
        let store = Store::connect(&config.database_url(), &config.sqlite_synchronous).await?;
        let block_horizon = crate::blocks::BlockHorizon::load(&store).await?;
        crate::install_tls();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("Helpline/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let limits = Arc::new(RateLimits::new(&config.limits));
        let mailer = config.mail.as_ref().map(crate::mail::Mailer::new).transpose()?.map(Arc::new);
        let services = Arc::new(Services {
            config: Arc::new(config),
            store,
            hub: Arc::new(Hub::new()),
            presence: Presence::default(),
            viewers: crate::live::viewers::Viewers::default(),
            block_horizon,
            reports: crate::stats::ReportCache::default(),
            http,
            screener: Screener::load()?,
            i18n: I18n::load()?,
            secrets: Secrets::new(secret),
            metrics: Metrics::new(),
            waits: sites::WaitCache::default(),
            wiki_accounts: sites::wiki_context::WikiContextCache::default(),
            mailer,
        });
        let appender = Appender::start(Arc::clone(&services))?;
        Ok(Self { services, appender, limits, shutdown: CancellationToken::new() })
    }
}

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

/// The routes and the OpenAPI document, built from the same annotated handlers.
pub fn api_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let public = OpenApiRouter::new()
        .routes(routes!(sites::routes::widget_settings))
        .routes(routes!(public_routes::create))
        .routes(routes!(public_routes::read))
        .routes(routes!(public_routes::post_message))
        .routes(routes!(public_routes::close))
        .routes(routes!(public_routes::thanks))
        .routes(routes!(requester_socket::live));
    let helper = OpenApiRouter::new()
        .routes(routes!(helpers::routes::me))
        .routes(routes!(helpers::routes::set_presence))
        .routes(routes!(helper_routes::queue))
        .routes(routes!(helper_routes::read))
        .routes(routes!(helper_routes::events))
        .routes(routes!(helper_routes::claim))
        .routes(routes!(helper_routes::release))
        .routes(routes!(helper_routes::transfer))
        .routes(routes!(helper_routes::redirect))
        .routes(routes!(helper_routes::close))
        .routes(routes!(helper_routes::post_message))
        .routes(routes!(helper_socket::live));
    let operations = OpenApiRouter::new()
        .routes(routes!(ops::routes::healthz))
        .routes(routes!(ops::routes::readyz))
        .routes(routes!(ops::routes::metrics));
    let (public, public_api) = public.split_for_parts();
    let (helper, helper_api) = helper.split_for_parts();
    let (operations, operations_api) = operations.split_for_parts();
    let mut api = ApiDoc::openapi();
    api.merge(public_api);
    api.merge(helper_api);
    api.merge(operations_api);
    (public.merge(helper).merge(operations), api)
}

pub fn router(state: AppState) -> Router {
    let (routes, api) = api_routes();
    let api_json = Arc::new(serde_json::to_string_pretty(&api).unwrap_or_default());
    let origins: Vec<HeaderValue> = state
        .config
        .sites
        .iter()
        .flat_map(|s| s.allowed_origins.iter())
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    // Browsers may call the requester API from the sites' pages; the helper API and the
    // console are not for other origins.
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, parts| {
            let path = parts.uri.path();
            !path.starts_with("/v1/helper") && !path.starts_with("/console") && origins.contains(origin)
        }))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .expose_headers([header::RETRY_AFTER])
        .max_age(Duration::from_secs(3600));
    routes
        .route("/widget.js", axum::routing::get(crate::widget::loader))
        .route("/widget/helpline.js", axum::routing::get(crate::widget::widget_js))
        .route("/widget/helpline.css", axum::routing::get(crate::widget::widget_css))
        .route("/demo", axum::routing::get(crate::widget::demo_page))
        .route("/demo/demo.css", axum::routing::get(crate::widget::demo_css))
        .merge(crate::console::routes())
        .route(
            "/v1/openapi.json",
            axum::routing::get(move || {
                let json = Arc::clone(&api_json);
                async move { ([(header::CONTENT_TYPE, "application/json")], json.as_str().to_string()) }
            }),
        )
        .layer(DefaultBodyLimit::max(state.config.limits.body_bytes))
        .layer(cors)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub state: AppState,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Binds `config.listen` (port 0 picks a free port) and serves in the background.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let listen = config.listen;
        let listener = TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
        Self::start_on(config, listener).await
    }

    /// Serves on a listener bound beforehand (when the port must be known first).
    pub async fn start_on(mut config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        let addr = listener.local_addr()?;
        // Port 0 asked for any port: links this server prints must name the real one.
        config.listen = addr;
        let state = AppState::build(config).await?;
        let app = router(state.clone());
        let shutdown = state.shutdown.clone();
        tokio::spawn(housekeeping(state.clone()));
        tokio::spawn(state.store.clone().checkpoints(shutdown.clone()));
        tokio::spawn(crate::conversations::routing::run(state.clone(), shutdown.clone()));
        tokio::spawn(crate::conversations::offers::run(state.clone(), shutdown.clone()));
        if let Some(mailer) = &state.mailer {
            tokio::spawn(crate::mail::run(Arc::clone(&state.services), Arc::clone(mailer), shutdown.clone()));
        }
        // Chat frames are small: without TCP_NODELAY, Nagle's algorithm and delayed ACKs
        // hold some of them back for 40 ms.
        let listener = listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY");
            }
        });
        let task = tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await
        });
        Ok(Self { addr, state, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, tells live sockets to resume elsewhere, waits for requests to end.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.state.shutdown.cancel();
        self.task.await??;
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

/// Every minute: forget idle rate-limit keys. Every hour (and at start): purge closed
/// conversations past retention.
async fn housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    let mut minutes = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = state.shutdown.cancelled() => return,
        }
        state.limits.forget_idle();
        if minutes.is_multiple_of(60) {
            match crate::conversations::retention::purge_expired(&state.store, state.config.retention_days)
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "purged closed conversations past retention"),
                Err(error) => tracing::warn!(%error, "purging past retention failed; will retry"),
            }
        }
        minutes += 1;
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
