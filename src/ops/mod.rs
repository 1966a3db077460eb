//! Operations, the edge: `/healthz` (the process runs), `/readyz` (the database
//! answers), `/metrics` (Prometheus).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz)).routes(routes!(metrics))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "alive")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "ready"), (status = 503, description = "database unavailable")))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "metrics")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let waiting = crate::conversations::service::waiting_now(&state).await.unwrap_or(-1);
    let body = state.metrics.render(&crate::metrics::Readings {
        waiting,
        helpers_online: state.presence.online_count(),
        leads: state.leadership.leads(),
        relay_dropped: state.hub.relay().dropped(),
        proof_of_work: state.proof_of_work.required(),
    });
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body)
}
