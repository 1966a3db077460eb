//! The HTTP/1.1 server loop: `axum::serve` with what it lacks against slow clients.
//!
//! A button on every page of every wiki is a target. `axum::serve` gives hyper no timer,
//! so a client that sends its request head one byte a minute (slowloris) holds a
//! connection, a task and a file descriptor for ever. Here every connection must finish
//! its request head within `header_read` (hyper's own timeout, which also closes a
//! keep-alive connection idle that long), and every request, body included, is answered
//! within `request` (the router's timeout layer, see [`super::router`]). Upgraded
//! connections (WebSockets) leave hyper and keep the socket's own heartbeats.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Extension, Request};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::{Layer as _, ServiceExt as _};

/// How long a connection may take over its request head, and how long a response may
/// take once the head is read.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub header_read: Duration,
}

/// Serves `app` on `listener` until `shutdown`, then stops accepting, lets every open
/// connection finish its request in flight and waits for them.
pub async fn serve(listener: TcpListener, app: Router, timeouts: Timeouts, shutdown: CancellationToken) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(timeouts.header_read);
    let connections = TaskTracker::new();
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before accept: wait a
                    // moment rather than spin, and keep serving the connections we have.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                        () = shutdown.cancelled() => break,
                    }
                }
            },
            () = shutdown.cancelled() => break,
        };
        // Chat frames are small: without TCP_NODELAY, Nagle's algorithm and delayed ACKs
        // hold some of them back for 40 ms.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        let service = Extension(ConnectInfo::<SocketAddr>(remote))
            .layer(app.clone())
            .map_request(|request: Request<Incoming>| request.map(Body::new));
        let connection = http.serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service));
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let mut connection = std::pin::pin!(connection.with_upgrades());
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::trace!(%error, %remote, "connection ended with an error");
                    }
                    return;
                }
                () = shutdown.cancelled() => connection.as_mut().graceful_shutdown(),
            }
            if let Err(error) = connection.await {
                tracing::trace!(%error, %remote, "connection ended with an error");
            }
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}
