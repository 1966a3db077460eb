//! Several nodes on one PostgreSQL as one service. Each node tells the others, through
//! PostgreSQL's `NOTIFY` on the schema's channel, what its sockets' listeners elsewhere
//! need (`send`): committed messages, and the status and queue events they cause, inside
//! the transaction that stores them (the appender calls [`notify`]), everything else
//! right after its commit, and every
//! few seconds which helpers are online on it and who is looking at what. Each node
//! `LISTEN`s (`listen`) and publishes what the others said to its own sockets; when its
//! listening connection is lost it listens again, then has every socket read its state
//! from the store (nothing said meanwhile is missed for good). One node at a time holds
//! the cluster's advisory lock and runs the background jobs (`leader`).
//!
//! No broker besides PostgreSQL; on SQLite (one node) none of this runs.

mod leader;
mod listen;
mod send;
pub mod wire;

use std::time::Duration;

use sqlx::AnyConnection;

use crate::hub::Relayed;
use crate::state::AppState;
use crate::store;

/// How often a node says it is alive, with its online helpers and viewers.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// What another node said of its helpers and viewers holds this long unless repeated.
const REMEMBERED: Duration = Duration::from_secs(15);

/// Starts the cluster's tasks when the store is shared (PostgreSQL): sending, listening,
/// and contending for the background jobs.
pub fn start(state: &AppState, relayed: Option<tokio::sync::mpsc::Receiver<Relayed>>) {
    let (Some(names), Some(relayed)) = (state.store.cluster.clone(), relayed) else { return };
    tokio::spawn(send::run(state.clone(), names.channel.clone(), relayed));
    tokio::spawn(listen::run(state.clone(), names.channel));
    tokio::spawn(leader::run(state.clone(), names.lock_key));
}

/// Tells the other nodes these items when `conn`'s transaction commits (and never if it
/// does not). Nothing on one node (SQLite).
pub async fn notify(
    state: &AppState,
    conn: &mut AnyConnection,
    items: impl IntoIterator<Item = wire::Item>,
) -> sqlx::Result<()> {
    let Some(names) = &state.store.cluster else { return Ok(()) };
    let payloads = wire::payloads(state.node, items);
    store::cluster::notify(conn, &names.channel, &payloads).await
}
