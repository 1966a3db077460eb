//! Operations: health, readiness, Prometheus metrics, the OpenAPI document.

pub mod metrics;
pub mod routes;
