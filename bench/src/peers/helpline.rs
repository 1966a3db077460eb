//! Helpline as a peer: `helpline demo` on SQLite (or on PostgreSQL), each pair one
//! conversation with its requester socket and one helper socket following it alone —
//! two connections per pair, as on IRC — on the wire asked for.

use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt, stream};

use crate::client::{self, Api, Wire};
use crate::peers::link::{Link, Pair, Side};
use crate::server::Server;

const SETUP_CONCURRENCY: usize = 32;

pub async fn pairs(server: &Server, count: usize, wire: Wire) -> anyhow::Result<Vec<Pair>> {
    let api = Api::new(server)?;
    let conversations = api.start_conversations(count).await?;
    api.claim_all(&conversations).await?;
    stream::iter(conversations)
        .map(|c| async move {
            let helper = client::helper_socket(server, std::slice::from_ref(&c), wire).await?;
            let requester = client::requester_socket(server, &c, wire).await?;
            Ok::<_, anyhow::Error>(Pair {
                requester: Link::Helpline {
                    ws: requester,
                    side: Side::Requester,
                    conversation: c.id.clone(),
                    sent: 0,
                },
                helper: Link::Helpline { ws: helper, side: Side::Helper, conversation: c.id, sent: 0 },
            })
        })
        .buffered(SETUP_CONCURRENCY)
        .try_collect()
        .await
}

/// As `pairs`, with the conversations on node `a` and their helpers on node `b`: each
/// requester socket on `a`, each helper socket on `b` (the same database, so the same
/// tokens): every message goes from one node to the other.
pub async fn pairs_across(a: &Server, b: &Server, count: usize, wire: Wire) -> anyhow::Result<Vec<Pair>> {
    let api = Api::new(a)?;
    let conversations = api.start_conversations(count).await?;
    api.claim_all(&conversations).await?;
    stream::iter(conversations)
        .map(|c| async move {
            let helper =
                client::helper_socket_with(b, &a.helper_token, std::slice::from_ref(&c), wire).await?;
            let requester = client::requester_socket(a, &c, wire).await?;
            Ok::<_, anyhow::Error>(Pair {
                requester: Link::Helpline {
                    ws: requester,
                    side: Side::Requester,
                    conversation: c.id.clone(),
                    sent: 0,
                },
                helper: Link::Helpline { ws: helper, side: Side::Helper, conversation: c.id, sent: 0 },
            })
        })
        .buffered(SETUP_CONCURRENCY)
        .try_collect()
        .await
}

/// A fresh, empty PostgreSQL database for one run, by `psql` on the server given.
pub async fn fresh_postgres(admin_url: &str, name: &str) -> anyhow::Result<String> {
    for sql in [format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), format!("CREATE DATABASE {name}")] {
        let output = tokio::process::Command::new("psql")
            .args([admin_url, "-v", "ON_ERROR_STOP=1", "-q", "-c", &sql])
            .output()
            .await
            .context("running psql (the PostgreSQL client)")?;
        if !output.status.success() {
            bail!("psql {sql}: {}", String::from_utf8_lossy(&output.stderr));
        }
    }
    let base = admin_url.rsplit_once('/').map_or(admin_url, |(base, _)| base);
    Ok(format!("{base}/{name}"))
}
