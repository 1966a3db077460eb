//! Conversations: one request and everything after it — messages, status, owner, audit.

pub mod appender;
pub mod helper_ops;
pub mod helper_routes;
pub mod model;
pub mod offers;
pub mod public_routes;
pub mod queries;
pub mod requester;
pub mod retention;
pub mod routing;
pub mod service;
pub mod text;
