//! Frames of the live protocols and what both sockets share: close codes, sending
//! JSON, and delivering stored messages in order without gaps or repeats.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade};
use futures_util::SinkExt;
use serde::Serialize;

use crate::app::AppState;
use crate::conversations::model::Message;
use crate::conversations::queries;

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
}

/// Closes the socket after a failed read: `1009` when the peer sent a frame over the
/// size limit, otherwise nothing more can be said.
pub async fn close_after_read_error(socket: &mut WebSocket, error: axum::Error) {
    let inner = error.into_inner();
    if let Some(tungstenite::Error::Capacity(_)) = inner.downcast_ref::<tungstenite::Error>() {
        close(socket, close_code::TOO_BIG, "frame too large").await;
    }
}

/// The text of the first frame (the hello), or `None` once the socket is closed with
/// the reason: not text, nothing in time, or the peer left.
pub async fn first_text_frame(socket: &mut WebSocket) -> Option<Utf8Bytes> {
    match tokio::time::timeout(HELLO_TIMEOUT, socket.recv()).await {
        Ok(Some(Ok(WsMessage::Text(text)))) => Some(text),
        Ok(Some(Ok(_))) => {
            close(socket, close_code::BAD_FRAME, "the first frame must be a JSON hello").await;
            None
        }
        Ok(_) => None,
        Err(_) => {
            close(socket, close_code::TIMEOUT, "no hello frame").await;
            None
        }
    }
}

pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
pub const PING_EVERY: Duration = Duration::from_secs(25);
pub const SILENCE_LIMIT: Duration = Duration::from_secs(70);
/// At most one typing notice per socket per this interval is passed on.
pub const TYPING_INTERVAL: Duration = Duration::from_millis(1500);
const PAGE: i64 = 500;

/// Small buffers: most sockets are idle most of the time. Queued frames are written at
/// a flush, or once they pass `WRITE_BUFFER_BYTES`.
pub fn configure(ws: WebSocketUpgrade, state: &AppState) -> WebSocketUpgrade {
    let frame = state.config.limits.frame_bytes;
    ws.max_message_size(frame)
        .max_frame_size(frame)
        .read_buffer_size(4096)
        .write_buffer_size(WRITE_BUFFER_BYTES)
}

const WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// Queues a frame on the socket. It is written with the next flush: the socket loops
/// flush once nothing else is ready (or after `FLUSH_AFTER_TURNS` busy turns), so an
/// `ack`, the message it stored and the status change it made leave in one write.
pub async fn send_json<T: Serialize>(socket: &mut WebSocket, frame: &T) -> Result<(), axum::Error> {
    let text = serde_json::to_string(frame).map_err(axum::Error::new)?;
    socket.feed(WsMessage::Text(text.into())).await
}

/// Turns of a socket loop after which queued frames are written even if more work is
/// ready, so a busy socket's frames are not held back.
pub const FLUSH_AFTER_TURNS: u32 = 16;

pub async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let mut reason = reason.to_string();
    while reason.len() > 120 {
        reason.pop();
    }
    let _ = socket.send(WsMessage::Close(Some(CloseFrame { code, reason: Utf8Bytes::from(reason) }))).await;
}

/// Every stored message after `last`, in order (conversations are short; pages keep
/// each query bounded).
pub async fn load_after(state: &AppState, conversation_id: &str, last: i64) -> anyhow::Result<Vec<Message>> {
    let mut out = Vec::new();
    let mut cursor = last;
    let mut conn = state.store.read.acquire().await?;
    loop {
        let page = queries::messages_after(&mut conn, conversation_id, cursor, PAGE).await?;
        let full = page.len() as i64 == PAGE;
        if let Some(m) = page.last() {
            cursor = m.seq;
        }
        out.extend(page);
        if !full {
            return Ok(out);
        }
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
