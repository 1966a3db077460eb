//! Abuse: a flood from one network, the proof of work while many wait (solved with
//! ALTCHA's own library), oversized bodies and frames refused before they are read
//! whole, and slow clients that cannot hold the server. Loopback only, bounded.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::IpAddr;
use std::time::Instant;

use common::{Backend, PATIENCE, TestApp, error_code, eventually};
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

on_both_backends!(
    spawn = spawn_with_default_limits;
    a_flood_from_one_network_leaves_the_others_served,
);

on_both_backends!(
    spawn = spawn_asking_proof_from_four_waiting;
    the_proof_of_work_is_asked_while_many_wait_and_holds_once,
);

on_both_backends!(
    spawn = spawn_with_short_timeouts;
    oversized_bodies_and_frames_are_refused_before_they_are_read_whole,
    slow_clients_are_cut_off_and_others_still_served,
);

/// The limits a deployment starts with (the other tests raise them).
async fn spawn_with_default_limits(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |config| {
        config.limits = helpline::config::Limits::default();
        config.proof_of_work = helpline::config::ProofOfWorkConfig::default();
    })
    .await
}

async fn spawn_asking_proof_from_four_waiting(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |config| {
        config.proof_of_work.mode = helpline::config::ProofOfWorkMode::Auto;
        config.proof_of_work.waiting_above = 4;
        config.proof_of_work.max_number = 20_000;
    })
    .await
}

async fn spawn_with_short_timeouts(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |config| {
        config.limits.header_read_seconds = 1;
        config.limits.request_seconds = 2;
    })
    .await
}

/// A client whose requests come from `ip` (any of 127.0.0.0/8 reaches the server).
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder().local_address(IpAddr::from(ip)).build().unwrap()
}

/// Normal load: ten networks, each asking for help and reading its conversation eleven
/// times (12 requests). The flood: one network sending ten times all of that (1,200
/// requests, 50 at a time) meanwhile. Every request of the ten is served; the flood's
/// beyond its network's limits is refused with 429 and stores nothing.
async fn a_flood_from_one_network_leaves_the_others_served(app: TestApp) {
    const NETWORKS: u8 = 10;
    const READS: usize = 11;
    let limits = helpline::config::Limits::default();
    let flooder = client_from([127, 0, 0, 2]);
    let began = Instant::now();
    let flood = {
        let url = app.url.clone();
        tokio::spawn(async move {
            let body = json!({ "site": "wiki", "lang": "en", "text": "flood" });
            let mut statuses = Vec::new();
            let requests = (0..1_200).map(|i| {
                let (client, url, body) = (flooder.clone(), url.clone(), body.clone());
                async move {
                    let request = if i % 2 == 0 {
                        client.post(format!("{url}/v1/conversations")).json(&body)
                    } else {
                        client.get(format!("{url}/v1/sites/wiki/widget"))
                    };
                    request.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
                }
            });
            let mut pending = futures_util::stream::iter(requests).buffer_unordered(50);
            while let Some(status) = pending.next().await {
                statuses.push(status);
            }
            statuses
        })
    };
    let mut others = Vec::new();
    for n in 0..NETWORKS {
        let client = client_from([127, 0, 1, 10 + n]);
        let url = app.url.clone();
        let app_url = app.url.clone();
        others.push(tokio::spawn(async move {
            let body = json!({ "site": "wiki", "lang": "en", "text": format!("help from network {n}") });
            let created = client.post(format!("{url}/v1/conversations")).json(&body).send().await.unwrap();
            assert_eq!(created.status(), 201, "network {n} asks for help during the flood");
            let created: Value = created.json().await.unwrap();
            let (id, token) = (created["id"].as_str().unwrap(), created["token"].as_str().unwrap());
            for _ in 0..READS {
                let read = client
                    .get(format!("{app_url}/v1/conversations/{id}?after=0"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(read.status(), 200, "network {n} reads its conversation during the flood");
            }
        }));
    }
    for other in others {
        other.await.unwrap();
    }
    let statuses = flood.await.unwrap();
    let served = statuses.iter().filter(|s| **s == 200 || **s == 201).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(served + refused, statuses.len(), "only served or rate-limited: {statuses:?}");
    // The minute's budget at once, then one more every 60/limit seconds.
    let per_minute = u64::from(limits.requests_per_minute_per_network);
    let allowed = usize::try_from(per_minute + began.elapsed().as_secs() * per_minute / 60 + 1).unwrap();
    assert!(served <= allowed, "the flood got {served} answers, its network's limit allows {allowed}");
    assert!(refused >= 1_200 - allowed, "{refused} refused");
    eprintln!("flood: {served} served, {refused} refused in {:?}", began.elapsed());
    let flooded = app.stored_count("SELECT COUNT(*) FROM conversations WHERE status = 'waiting'", &[]).await;
    let most = i64::from(limits.conversations_per_hour_per_network) + i64::from(NETWORKS);
    assert!(flooded <= most, "{flooded} conversations stored; at most {most} may be");
    let healthy = reqwest::get(format!("{}/healthz", app.url)).await.unwrap();
    assert_eq!(healthy.status(), 200);
}

async fn widget_asks_proof(app: &TestApp) -> bool {
    let settings: Value =
        reqwest::get(format!("{}/v1/sites/wiki/widget", app.url)).await.unwrap().json().await.unwrap();
    settings["proof_of_work"].as_bool().unwrap()
}

/// Solves one of the server's challenges with ALTCHA's Python library (its v1 API):
/// the payload any ALTCHA client would send.
fn solved_by_altcha(challenge: &Value) -> String {
    let script = r#"
import json, sys, altcha
c = json.load(sys.stdin)
s = altcha.solve_challenge_v1(c["challenge"], c["salt"], c["algorithm"], c["maxnumber"])
print(altcha.PayloadV1(c["algorithm"], c["challenge"], s.number, c["salt"], c["signature"]).to_base64())
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), challenge.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "ALTCHA's Python library solves the challenge (scripts/test installs altcha==2.3.0)"
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

async fn the_proof_of_work_is_asked_while_many_wait_and_holds_once(app: TestApp) {
    assert!(!widget_asks_proof(&app).await, "nobody waits yet");
    let mut waiting = Vec::new();
    for n in 0..4 {
        waiting.push(app.start(&format!("request {n}")).await.0);
    }
    eventually("the proof of work switched on at four waiting", || async {
        widget_asks_proof(&app).await.then_some(())
    })
    .await;
    let count = || app.stored_count("SELECT COUNT(*) FROM conversations", &[]);
    assert_eq!(count().await, 4);

    // Without a proof, or with one that does not hold: refused, nothing stored.
    let ask = |proof: Option<&str>| {
        let mut body = json!({ "site": "wiki", "lang": "en", "text": "please help" });
        if let Some(p) = proof {
            body["proof_of_work"] = json!(p);
        }
        app.create(body)
    };
    assert_eq!(error_code(ask(None).await).await, (400, "proof_of_work_required".into()));
    for junk in ["", "bm90IGpzb24=", "!!"] {
        let expected = if junk.is_empty() { "proof_of_work_required" } else { "proof_of_work_invalid" };
        assert_eq!(error_code(ask(Some(junk)).await).await, (400, expected.into()), "{junk:?}");
    }
    let challenge: Value =
        reqwest::get(format!("{}/v1/challenge", app.url)).await.unwrap().json().await.unwrap();
    assert_eq!(challenge["algorithm"], "SHA-256");
    assert_eq!(challenge["maxnumber"], 20_000);
    // A solution for someone else's challenge: the signature does not match.
    let mut forged = challenge.clone();
    forged["signature"] = json!("00".repeat(32));
    assert_eq!(error_code(ask(Some(&solved_by_altcha(&forged))).await).await.1, "proof_of_work_invalid");
    assert_eq!(count().await, 4);

    // Solved by ALTCHA's library: accepted once.
    let proof = solved_by_altcha(&challenge);
    assert_eq!(ask(Some(&proof)).await.status(), 201);
    assert_eq!(error_code(ask(Some(&proof)).await).await, (400, "proof_of_work_invalid".into()), "used once");
    assert_eq!(count().await, 5);
    let metrics = reqwest::get(format!("{}/metrics", app.url)).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("helpline_proof_of_work_required 1"), "{metrics}");

    // Helpers take all but one: fewer than half of four wait, so it is off again.
    for id in &waiting {
        assert_eq!(app.claim("alice", id).await.status(), 200);
    }
    eventually("the proof of work switched off below two waiting", || async {
        (!widget_asks_proof(&app).await).then_some(())
    })
    .await;
    assert_eq!(ask(None).await.status(), 201);
}

/// Reads what the server sends until it closes the connection (or the test's patience
/// runs out, which fails it).
async fn read_until_closed(tcp: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(PATIENCE, tcp.read(&mut buf)).await.expect("the server closes in time") {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

fn host_port(app: &TestApp) -> String {
    app.url.trim_start_matches("http://").to_string()
}

async fn oversized_bodies_and_frames_are_refused_before_they_are_read_whole(app: TestApp) {
    // A body declared as 50 MB: the server answers 413 after reading past its limit
    // (32 KiB), while the client has sent 64 KiB and will send nothing more.
    let mut tcp = TcpStream::connect(host_port(&app)).await.unwrap();
    let head = format!(
        "POST /v1/conversations HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n",
        host_port(&app)
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&vec![b' '; 64 * 1024]).await.unwrap();
    let answer = String::from_utf8_lossy(&read_until_closed(&mut tcp).await).to_string();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");

    // A WebSocket frame declared as 64 MiB: the socket is closed after its header.
    let (id, token, _) = app.start("a conversation to open a socket on").await;
    let mut tcp = TcpStream::connect(host_port(&app)).await.unwrap();
    let upgrade = format!(
        "GET /v1/conversations/{id}/live HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        host_port(&app)
    );
    tcp.write_all(upgrade.as_bytes()).await.unwrap();
    let mut buf = [0u8; 1024];
    let n = tcp.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 101"), "upgraded");
    let mut frame = vec![0x81, 0x80 | 127];
    frame.extend_from_slice(&(64u64 << 20).to_be_bytes());
    frame.extend_from_slice(&[1, 2, 3, 4]);
    frame.extend_from_slice(&[b'x'; 1024]);
    tcp.write_all(&frame).await.unwrap();
    let rest = read_until_closed(&mut tcp).await;
    // A close frame (0x88) with 1009, or the connection simply ended.
    if let Some(close) = rest.windows(4).find(|w| w[0] == 0x88) {
        assert_eq!(u16::from_be_bytes([close[2], close[3]]), 1009, "{rest:?}");
    }
    // Nothing of it was stored, and the conversation still works.
    assert_eq!(app.requester_view(&id, &token).await["last_seq"], 1);
}

async fn slow_clients_are_cut_off_and_others_still_served(app: TestApp) {
    // 200 connections sending a request head they never finish (slowloris), and one
    // sending a body it never finishes.
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut tcp = TcpStream::connect(host_port(&app)).await.unwrap();
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
        slow.push(tcp);
    }
    let mut slow_body = TcpStream::connect(host_port(&app)).await.unwrap();
    let head = format!(
        "POST /v1/conversations HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"site\":",
        host_port(&app)
    );
    slow_body.write_all(head.as_bytes()).await.unwrap();

    // Others are served meanwhile.
    let (id, token, _) = app.start("served while others dawdle").await;
    assert_eq!(app.requester_get(&id, &token, 0).await.status(), 200);

    // The server ends every unfinished head (header_read_seconds = 1) and answers the
    // unfinished body with 408 (request_seconds = 2).
    for mut tcp in slow {
        let got = read_until_closed(&mut tcp).await;
        let text = String::from_utf8_lossy(&got);
        assert!(got.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    }
    let answer = String::from_utf8_lossy(&read_until_closed(&mut slow_body).await).to_string();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(app.create(json!({"site": "wiki", "text": "still here"})).await.status(), 201);
}
