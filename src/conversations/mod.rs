//! Conversations: one request and everything after it — messages, status, owner, audit.
//!
//! `service` is the step every change goes through (lock, change, audit, commit,
//! publish); `requester` and `helper_ops` are what each side may do; `appender` commits
//! new messages in groups; `routing`, `offers`, `retention` and `outbox` run in the
//! background. `public_routes` and `helper_routes` are their HTTP edge.

pub mod appender;
pub mod conflict_routes;
pub mod conflicts;
pub mod departures;
pub mod helper_ops;
pub mod helper_routes;
pub mod inbound;
pub mod inbound_routes;
pub mod mailbox;
pub mod offers;
pub mod outbox;
pub mod proof_of_work;
pub mod public_routes;
pub mod requester;
pub mod retention;
pub mod routing;
pub mod service;
pub mod talk_page;
pub mod talk_page_routes;
pub mod transcripts;
pub mod verify;
pub mod wiki_mail;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// The requester API and the helper API on conversations.
pub fn routes() -> OpenApiRouter<AppState> {
    public_routes::routes()
        .merge(helper_routes::routes())
        .merge(talk_page_routes::routes())
        .merge(conflict_routes::routes())
        .merge(inbound_routes::routes())
}
