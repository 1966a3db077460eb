//! Helpline as a peer: `helpline demo` on SQLite (or on PostgreSQL), each pair one
//! conversation with its requester socket and one helper socket following it alone —
//! two connections per pair, as on IRC — on the wire asked for.

use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::client::{self, Api, Frame, Ws, next_frame, send_json};
use crate::peers::link::{Link, Side};
use crate::peers::workload::Pair;
use crate::server::Server;

const STEP_TIMEOUT: Duration = Duration::from_secs(60);
const SETUP_CONCURRENCY: usize = 32;

/// Which wire the clients ask for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Wire {
    V1,
    Lean,
}

pub async fn pairs(server: &Server, count: usize, wire: Wire) -> anyhow::Result<Vec<Pair>> {
    let api = Api::new(server)?;
    let conversations = api.start_conversations(count).await?;
    api.claim_all(&conversations).await?;
    stream::iter(conversations)
        .map(|c| async move {
            let helper = helper_socket(server, &c.id, wire).await?;
            let requester = requester_socket(server, &c, wire).await?;
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

async fn requester_socket(server: &Server, c: &client::Conversation, wire: Wire) -> anyhow::Result<Ws> {
    tokio::time::timeout(STEP_TIMEOUT, async {
        let url = format!("{}/v1/conversations/{}/live", server.ws_url(), c.id);
        let mut ws = client::connect(url.into_client_request()?).await?;
        let mut hello = json!({ "type": "hello", "token": c.token, "after": 0 });
        if wire == Wire::Lean {
            hello["wire"] = json!(2);
        }
        send_json(&mut ws, &hello).await?;
        loop {
            match next_frame(&mut ws).await? {
                Some(Frame::Status { .. }) => return Ok(ws),
                Some(Frame::Error { code, message }) => bail!("hello refused: {code}: {message}"),
                Some(_) => {}
                None => bail!("the server closed the requester socket after hello"),
            }
        }
    })
    .await
    .context("requester socket handshake timed out")?
}

async fn helper_socket(server: &Server, conversation: &str, wire: Wire) -> anyhow::Result<Ws> {
    tokio::time::timeout(STEP_TIMEOUT, async {
        let mut request = format!("{}/v1/helper/live", server.ws_url()).into_client_request()?;
        let bearer = HeaderValue::from_str(&format!("Bearer {}", server.helper_token))?;
        request.headers_mut().insert("authorization", bearer);
        let mut ws = client::connect(request).await?;
        if wire == Wire::Lean {
            send_json(&mut ws, &json!({ "type": "hello", "wire": 2 })).await?;
        }
        send_json(&mut ws, &json!({ "type": "open", "conversation": conversation, "after": 0 })).await?;
        loop {
            match next_frame(&mut ws).await? {
                Some(Frame::Status { conversation: Some(_) }) => return Ok(ws),
                Some(Frame::Error { code, message }) => bail!("open refused: {code}: {message}"),
                Some(_) => {}
                None => bail!("the server closed the helper socket while opening"),
            }
        }
    })
    .await
    .context("helper socket setup timed out")?
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
