//! Helpline: a "Get help" button on every page of a wiki that reaches a volunteer help
//! team in seconds, by live chat or by e-mail.
//!
//! Data flows one way: edge (HTTP handlers, sockets, console pages) → capability
//! service → store; real-time events flow store → hub → sockets. The modules form
//! layers, each using only those below it (docs/ARCHITECTURE.md, checked by
//! `tests/layering.rs`):
//!
//! 1. `domain` — the words of the design as types and rules;
//! 2. foundations: `error`, `clock`, `config`, `secrets`, `i18n`, `screening`, `metrics`,
//!    `rate_limit`, `proof_of_work`, `demo`;
//! 3. parts: `store` (all SQL), `hub` (fan-out, presence, viewers), `mail`, `wiki`, `stats`;
//! 4. `state` — what everything shares;
//! 5. capabilities: `extract`, `helpers`, `sites`, `blocks`, `thanks`, then `conversations`;
//! 6. edges: `live` (sockets), `console` (pages), `ops`, `widget`;
//! 7. `app` (the router and server), then `cli`.

/// Chooses the process's TLS implementation, rustls with *ring* (as the mail relay uses),
/// before any HTTPS client is built. Idempotent.
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub mod app;
pub mod blocks;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod console;
pub mod conversations;
pub mod demo;
pub mod domain;
pub mod eligibility;
pub mod error;
pub mod extract;
pub mod helpers;
pub mod hub;
pub mod i18n;
pub mod live;
pub mod mail;
pub mod metrics;
pub mod ops;
pub mod proof_of_work;
pub mod rate_limit;
pub mod screening;
pub mod secrets;
pub mod sites;
pub mod state;
pub mod stats;
pub mod store;
pub mod thanks;
pub mod widget;
pub mod wiki;
