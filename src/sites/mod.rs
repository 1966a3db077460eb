//! Sites (wikis showing the button): what the widget's dialog needs, with honest
//! availability (`routes`), and each site's canned replies and other teams as the
//! configuration and the coordinators made them (`catalog`).

pub mod catalog;
pub mod routes;
