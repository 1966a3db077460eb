//! What both live sockets share: close codes, the hello frame, sending JSON, and the
//! loop every socket runs — read a client frame, or take the session's next event, ping
//! a quiet peer, say goodbye at shutdown, and write queued frames once nothing else is
//! ready. Each socket is a [`Session`]: its frames, its events, what it does with each.

use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade};
use futures_util::SinkExt;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::state::AppState;

/// Close codes (4000–4999 are for applications).
pub mod close_code {
    /// A frame that is not JSON, of an unknown type, or binary.
    pub const BAD_FRAME: u16 = 4400;
    /// No valid token in the hello frame.
    pub const UNAUTHORIZED: u16 = 4401;
    /// The page's origin may not use this site.
    pub const FORBIDDEN_ORIGIN: u16 = 4403;
    /// No hello frame in time, or the peer went silent.
    pub const TIMEOUT: u16 = 4408;
    /// A frame over the size limit (the standard "message too big").
    pub const TOO_BIG: u16 = 1009;
    /// The server is shutting down; reconnect and resume.
    pub const GOING_AWAY: u16 = 1001;
    /// Something failed on our side.
    pub const INTERNAL: u16 = 1011;
}

pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
pub const PING_EVERY: Duration = Duration::from_secs(25);
pub const SILENCE_LIMIT: Duration = Duration::from_secs(70);
/// At most one typing notice per socket per this interval is passed on.
pub const TYPING_INTERVAL: Duration = Duration::from_millis(1500);
/// Turns of a socket loop after which queued frames are written even if more work is
/// ready, so a busy socket's frames are not held back.
const FLUSH_AFTER_TURNS: u32 = 16;
const WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// Small buffers: most sockets are idle most of the time. Queued frames are written at
/// a flush, or once they pass `WRITE_BUFFER_BYTES`.
pub fn configure(ws: WebSocketUpgrade, state: &AppState) -> WebSocketUpgrade {
    let frame = state.config.limits.frame_bytes;
    ws.max_message_size(frame)
        .max_frame_size(frame)
        .read_buffer_size(4096)
        .write_buffer_size(WRITE_BUFFER_BYTES)
}

/// Queues a frame on the socket. It is written with the next flush: the loop flushes
/// once nothing else is ready (or after a few busy turns), so an `ack`, the message it
/// stored and the status change it made leave in one write.
pub async fn send_json<T: Serialize>(socket: &mut WebSocket, frame: &T) -> Result<(), axum::Error> {
    let text = serde_json::to_string(frame).map_err(axum::Error::new)?;
    socket.feed(WsMessage::Text(text.into())).await
}

pub async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let mut reason = reason.to_string();
    while reason.len() > 120 {
        reason.pop();
    }
    let _ = socket.send(WsMessage::Close(Some(CloseFrame { code, reason: Utf8Bytes::from(reason) }))).await;
}

/// The first frame (the hello), decoded; `None` once the socket is closed with the
/// reason: not the hello, nothing in time, or the peer left.
pub async fn hello<F: DeserializeOwned>(socket: &mut WebSocket, expected: &str) -> Option<F> {
    let text = match tokio::time::timeout(HELLO_TIMEOUT, socket.recv()).await {
        Ok(Some(Ok(WsMessage::Text(text)))) => text,
        Ok(Some(Ok(_))) => {
            close(socket, close_code::BAD_FRAME, "the first frame must be a JSON hello").await;
            return None;
        }
        Ok(_) => return None,
        Err(_) => {
            close(socket, close_code::TIMEOUT, "no hello frame").await;
            return None;
        }
    };
    match serde_json::from_str(&text) {
        Ok(frame) => Some(frame),
        Err(_) => {
            close(socket, close_code::BAD_FRAME, &format!("the first frame must be {expected}")).await;
            None
        }
    }
}

/// The wire a socket speaks, negotiated by `"wire"` in its hello (docs/PROTOCOL.md).
/// `V1` is what every client gets that does not ask; `Lean` spares the common path of a
/// message every frame the client can do without: no echo of its own message to the
/// socket that sent it, no `status` for a turn change the message itself implies, no
/// `read` of one's own side, no `"duplicate": false` in an `ack`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    V1,
    Lean,
}

impl Wire {
    /// The highest wire this server speaks.
    pub const LEAN_NUMBER: u8 = 2;

    /// The wire for a client that speaks up to `asked` (absent: v1). A client asking for
    /// more than this server knows gets the most it has, and sees the number it got.
    pub fn negotiate(asked: Option<u8>) -> Self {
        match asked {
            Some(n) if n >= Self::LEAN_NUMBER => Self::Lean,
            _ => Self::V1,
        }
    }

    pub fn is_lean(self) -> bool {
        self == Self::Lean
    }

    /// The number echoed to the client: only on the lean wire (v1 frames stay as they were).
    pub fn announced(self) -> Option<u8> {
        self.is_lean().then_some(Self::LEAN_NUMBER)
    }

    /// An ack's `duplicate`: v1 always says it; the lean wire only when true.
    pub fn duplicate(self, duplicate: bool) -> Option<bool> {
        (duplicate || !self.is_lean()).then_some(duplicate)
    }
}

/// Whether a live message can be sent as is (`Next`), is already sent (`Seen`), or
/// comes after a gap that must be filled from the store first (`Gap`).
pub enum Order {
    Seen,
    Next,
    Gap,
}

pub fn order(last: i64, seq: i64) -> Order {
    if seq <= last {
        Order::Seen
    } else if seq == last + 1 {
        Order::Next
    } else {
        Order::Gap
    }
}

/// One socket's side of the protocol, driven by [`drive`].
pub trait Session {
    /// What the client sends (after the hello).
    type Frame: DeserializeOwned;
    /// What the session waits for besides client frames: hub events, commits, timers.
    type Event;

    /// Whether to read client frames now (`false` holds a fast client back).
    fn accepting(&self) -> bool {
        true
    }

    /// The next event; pending forever when there is none to wait for.
    fn next_event(&mut self) -> impl Future<Output = Self::Event> + Send;

    fn on_frame(
        &mut self,
        socket: &mut WebSocket,
        frame: Self::Frame,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// `Err` ends the socket (quietly: the peer is gone, or a read failed).
    fn on_event(
        &mut self,
        socket: &mut WebSocket,
        event: Self::Event,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// What the close frame says when the server shuts down.
    fn goodbye(&self) -> &'static str {
        "server restarting"
    }
}

/// A client frame, or why there is none.
enum Incoming<F> {
    Frame(F),
    /// A ping or pong: the peer is alive, nothing to do.
    Alive,
    /// The socket is closed (with a reason sent, where one is due).
    End,
}

async fn decode<F: DeserializeOwned>(
    socket: &mut WebSocket,
    incoming: Option<Result<WsMessage, axum::Error>>,
) -> Incoming<F> {
    let text = match incoming {
        Some(Ok(WsMessage::Text(text))) => text,
        Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => return Incoming::Alive,
        Some(Ok(WsMessage::Binary(_))) => {
            close(socket, close_code::BAD_FRAME, "binary frames are not supported").await;
            return Incoming::End;
        }
        Some(Ok(WsMessage::Close(_))) | None => return Incoming::End,
        Some(Err(error)) => {
            // A frame over the size limit gets `1009`; otherwise nothing more can be said.
            let inner = error.into_inner();
            if let Some(tungstenite::Error::Capacity(_)) = inner.downcast_ref::<tungstenite::Error>() {
                close(socket, close_code::TOO_BIG, "frame too large").await;
            }
            return Incoming::End;
        }
    };
    match serde_json::from_str(&text) {
        Ok(frame) => Incoming::Frame(frame),
        Err(e) => {
            close(socket, close_code::BAD_FRAME, &format!("bad frame: {e}")).await;
            Incoming::End
        }
    }
}

/// Runs a session until the peer leaves, a send fails, the peer goes silent, or the
/// server shuts down. Frames the session queues are written when nothing else is ready,
/// or every `FLUSH_AFTER_TURNS` busy turns.
pub async fn drive<S: Session>(state: &AppState, socket: &mut WebSocket, session: &mut S) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut last_heard = Instant::now();
    // Turns since frames were last written; whatever was queued before the loop
    // (a backlog, `ready`) goes out at the first quiet moment.
    let mut busy_turns = 1;
    loop {
        if busy_turns >= FLUSH_AFTER_TURNS {
            busy_turns = 0;
            if socket.flush().await.is_err() {
                return;
            }
        }
        let accepting = session.accepting();
        let step = tokio::select! {
            biased;
            incoming = socket.recv(), if accepting => match decode::<S::Frame>(socket, incoming).await {
                Incoming::Frame(frame) => {
                    last_heard = Instant::now();
                    session.on_frame(socket, frame).await
                }
                Incoming::Alive => {
                    last_heard = Instant::now();
                    continue;
                }
                Incoming::End => return,
            },
            event = session.next_event() => session.on_event(socket, event).await,
            _ = ping.tick() => {
                if last_heard.elapsed() > SILENCE_LIMIT {
                    close(socket, close_code::TIMEOUT, "no answer to pings").await;
                    return;
                }
                socket.send(WsMessage::Ping(Default::default())).await.map_err(anyhow::Error::from)
            }
            () = state.shutdown.cancelled() => {
                close(socket, close_code::GOING_AWAY, session.goodbye()).await;
                return;
            }
            // Nothing else ready: write what was queued.
            () = std::future::ready(()), if busy_turns > 0 => {
                busy_turns = 0;
                if socket.flush().await.is_err() {
                    return;
                }
                continue;
            }
        };
        if step.is_err() {
            return;
        }
        busy_turns += 1;
    }
}
