//! The helper console at scale: a database seeded with many conversations (`helpline
//! seed`), then the time to serve the dashboard, a conversation page and the statistics
//! (measured at the client over loopback: server time plus a loopback round trip), and the
//! time from a new request to the dashboard showing it (the `queue` frame on the helper
//! socket, then the dashboard fetched again, as the console's script does).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use crate::client::Ws;
use crate::server::{Seeded, Server, ServerOptions};
use crate::stats::{Latencies, Summary};

pub struct Settings {
    pub conversations: u64,
    pub requests: usize,
    pub updates: usize,
}

pub struct Outcome {
    pub seeded: Seeded,
    pub dashboard: Summary,
    pub conversation: Summary,
    pub stats: Summary,
    pub update_frame: Summary,
    pub update_dashboard: Summary,
}

pub async fn run(options: &ServerOptions, settings: &Settings) -> anyhow::Result<Outcome> {
    println!("seeding {} conversations…", settings.conversations);
    let (server, seeded) = Server::start_seeded(options, settings.conversations).await?;
    println!("seeded in {:.1} s; measuring", seeded.seconds);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?;
    let cookie = sign_in(&http, &server).await?;
    let base = server.http_url();
    let get = |path: String| {
        let request = http.get(format!("{base}{path}")).header("cookie", &cookie);
        async move {
            let started = Instant::now();
            let response = request.send().await?;
            let status = response.status();
            let body = response.text().await?;
            if !status.is_success() {
                bail!("GET: {status}");
            }
            Ok::<_, anyhow::Error>((started.elapsed(), body))
        }
    };

    let queue: Value = http
        .get(format!("{base}/v1/helper/queue"))
        .bearer_auth(&server.helper_token)
        .send()
        .await?
        .json()
        .await?;
    let ids: Vec<String> = queue["conversations"]
        .as_array()
        .context("queue listing")?
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_string))
        .collect();
    anyhow::ensure!(!ids.is_empty(), "the seeded queue is empty");

    for _ in 0..20 {
        get("/console".into()).await?;
    }
    let mut dashboard = Latencies::new();
    for _ in 0..settings.requests {
        let (took, body) = get("/console".into()).await?;
        anyhow::ensure!(body.contains("Waiting ("), "not the dashboard");
        dashboard.record(took);
    }
    let mut conversation = Latencies::new();
    for i in 0..settings.requests {
        let (took, _) = get(format!("/console/conversations/{}", ids[i % ids.len()])).await?;
        conversation.record(took);
    }
    let mut stats = Latencies::new();
    for _ in 0..10 {
        let (took, _) = get("/console/stats?days=30".into()).await?;
        stats.record(took);
    }

    let mut socket = helper_socket(&server).await?;
    let mut update_frame = Latencies::new();
    let mut update_dashboard = Latencies::new();
    for k in 0..settings.updates {
        let marker = format!("live-update-{k}-{}", std::process::id());
        let started = Instant::now();
        let response = http
            .post(format!("{base}/v1/conversations"))
            .json(&json!({ "site": "demo", "text": format!("Bench {marker}") }))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("POST /v1/conversations: {}", response.status());
        }
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), next_json(&mut socket))
                .await
                .context("no queue event within 10 s")??;
            if frame["type"] == "queue"
                && frame["event"] == "new"
                && frame["conversation"]["preview"].as_str().is_some_and(|p| p.contains(&marker))
            {
                break;
            }
        }
        update_frame.record(started.elapsed());
        let (_, body) = get("/console".into()).await?;
        anyhow::ensure!(body.contains(&marker), "the dashboard does not show the new request");
        update_dashboard.record(started.elapsed());
    }
    server.stop().await?;
    Ok(Outcome {
        seeded,
        dashboard: dashboard.summary(),
        conversation: conversation.summary(),
        stats: stats.summary(),
        update_frame: update_frame.summary(),
        update_dashboard: update_dashboard.summary(),
    })
}

/// Uses the demo's one-time link and returns the session cookie (`name=value`).
async fn sign_in(http: &reqwest::Client, server: &Server) -> anyhow::Result<String> {
    let link = server.console_link.as_deref().context("the demo printed no console link")?;
    let token = link.split("token=").nth(1).context("no token in the console link")?;
    let response = http
        .post(format!("{}/console/signin/link", server.http_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await?;
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("signing in gave no session cookie")?;
    Ok(cookie.to_string())
}

async fn helper_socket(server: &Server) -> anyhow::Result<Ws> {
    let mut request = format!("{}/v1/helper/live", server.ws_url()).into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", HeaderValue::from_str(&format!("Bearer {}", server.helper_token))?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    loop {
        if next_json(&mut ws).await?["type"] == "ready" {
            return Ok(ws);
        }
    }
}

/// The next text frame as JSON.
async fn next_json(ws: &mut Ws) -> anyhow::Result<Value> {
    while let Some(message) = ws.next().await {
        if let Message::Text(text) = message? {
            return Ok(serde_json::from_str(text.as_str())?);
        }
    }
    bail!("the helper socket closed")
}
