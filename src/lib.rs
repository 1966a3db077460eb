//! Helpline: a "Get help" button on every page of a wiki that reaches a volunteer help
//! team in seconds, by live chat or by e-mail.
//!
//! Data flows one way: HTTP/WebSocket edge → capability service → store; real-time
//! events flow store → hub → sockets. See docs/ARCHITECTURE.md.

/// Chooses the process's TLS implementation, rustls with *ring* (as the mail relay uses),
/// before any HTTPS client is built. Idempotent.
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub mod app;
pub mod blocks;
pub mod cli;
pub mod config;
pub mod console;
pub mod conversations;
pub mod demo;
pub mod error;
pub mod helpers;
pub mod i18n;
pub mod live;
pub mod mail;
pub mod ops;
pub mod rate_limit;
pub mod screening;
pub mod secrets;
pub mod seed;
pub mod sites;
pub mod stats;
pub mod store;
pub mod thanks;
pub mod widget;
