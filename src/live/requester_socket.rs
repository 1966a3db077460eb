//! The requester's live socket. The first client frame is
//! `{"type":"hello","token":…,"after":SEQ}`; the server answers with every message
//! after SEQ, a `status` frame, then live frames. Messages sent on the socket are
//! acknowledged (`ack {client_id, seq}`) once committed.

use std::time::Instant;

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;

use std::sync::Arc;

use super::hub::{ConversationEvent, QueueEvent, StatusChange};
use super::protocol::{self, Order, close_code, send_json};
use crate::app::AppState;
use crate::config::OtherTeam;
use crate::conversations::model::{Conversation, Message, Outcome, RequesterMessage, Role, Status};
use crate::conversations::public_routes::{RequestOrigin, check_origin};
use crate::conversations::{queries, requester};
use crate::error::AppError;
use crate::rate_limit::RequesterNetwork;
use crate::secrets::hash_token;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Hello {
        token: String,
        #[serde(default)]
        after: i64,
    },
    Message {
        client_id: String,
        text: String,
    },
    Typing,
    Read {
        seq: i64,
    },
    Ping,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ServerFrame {
    Message(RequesterMessage),
    Ack {
        client_id: String,
        seq: i64,
        duplicate: bool,
    },
    Status(StatusFrame),
    Typing {
        role: Role,
    },
    Read {
        seq: i64,
    },
    Error {
        code: &'static str,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
    Pong,
}

#[derive(Serialize)]
struct StatusFrame {
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<Outcome>,
    urgent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    helper_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_position: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirected_to: Option<OtherTeam>,
    /// The highest `seq` accounted for on this socket.
    last_seq: i64,
    /// The highest `seq` the helper has read (on the first status frame; later, `read` frames).
    #[serde(skip_serializing_if = "Option::is_none")]
    read_seq: Option<i64>,
}

/// The live socket of one conversation, for its requester.
#[utoipa::path(get, path = "/v1/conversations/{id}/live", tag = "requester", params(("id" = String, Path)),
    responses((status = 101, description = "WebSocket; first frame {type: hello, token, after}"),
        (status = 403, body = crate::error::ErrorBody, description = "origin not allowed"),
        (status = 429, body = crate::error::ErrorBody)))]
pub async fn live(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    Path(id): Path<String>,
    RequestOrigin(origin): RequestOrigin,
    RequesterNetwork(network): RequesterNetwork,
) -> Response {
    if let Err(limited) = state.limits.request(&network) {
        return limited.into_response();
    }
    if let Some(o) = &origin
        && !state.config.sites.iter().any(|s| s.allowed_origins.iter().any(|a| a == o))
    {
        return AppError::Forbidden(format!("Origin {o} may not use this service.")).into_response();
    }
    protocol::configure(ws, &state)
        .on_upgrade(move |socket| async move {
            state.metrics.socket_opened("requester");
            session(&state, socket, &id, origin.as_deref()).await;
            state.metrics.socket_closed("requester");
        })
        .into_response()
}

fn error_frame(e: &AppError, client_id: Option<String>) -> ServerFrame {
    let retry_after = match e {
        AppError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
        _ => None,
    };
    ServerFrame::Error { code: e.code(), message: e.public_message(), client_id, retry_after }
}

async fn session(state: &AppState, mut socket: WebSocket, id: &str, origin: Option<&str>) {
    let Some((conversation, after, token_hash)) = handshake(state, &mut socket, id, origin).await else {
        return;
    };
    // Subscribe first, then read: whatever commits in between arrives live (and is
    // deduplicated by seq) or is in what we read.
    let mut subscription = state.hub.subscribe(id);
    let mut last = after;
    let Ok(mut waiting) = deliver_stored(state, &mut socket, id, &mut last).await else { return };
    // While waiting, queue events of the conversation's queue move its position.
    let mut queue_events = waiting.then(|| state.hub.subscribe_queues());
    let mut position_due: Option<tokio::time::Instant> = None;
    let mut last_position = tokio::time::Instant::now();
    let mut ping = tokio::time::interval(protocol::PING_EVERY);
    ping.tick().await;
    let mut last_heard = Instant::now();
    let mut last_typing: Option<Instant> = None;
    // Turns since frames were last written (see `protocol::send_json`); the backlog
    // above is queued, so the first quiet moment writes it.
    let mut busy_turns = 1;
    loop {
        // A busy socket still writes what it queued every few turns.
        if busy_turns >= protocol::FLUSH_AFTER_TURNS {
            busy_turns = 0;
            if socket.flush().await.is_err() {
                return;
            }
        }
        tokio::select! {
            biased;
            incoming = socket.recv() => {
                let frame = match incoming {
                    Some(Ok(frame)) => frame,
                    Some(Err(e)) => {
                        protocol::close_after_read_error(&mut socket, e).await;
                        return;
                    }
                    None => return,
                };
                last_heard = Instant::now();
                let text = match frame {
                    WsMessage::Text(text) => text,
                    WsMessage::Binary(_) => {
                        protocol::close(&mut socket, close_code::BAD_FRAME, "binary frames are not supported").await;
                        return;
                    }
                    WsMessage::Close(_) => return,
                    WsMessage::Ping(_) | WsMessage::Pong(_) => continue,
                };
                let frame: ClientFrame = match serde_json::from_str(&text) {
                    Ok(f) => f,
                    Err(e) => {
                        protocol::close(&mut socket, close_code::BAD_FRAME, &format!("bad frame: {e}")).await;
                        return;
                    }
                };
                let reply = match frame {
                    ClientFrame::Hello { .. } => Some(ServerFrame::Error {
                        code: "already_said_hello", message: "hello is only the first frame".into(), client_id: None, retry_after: None,
                    }),
                    ClientFrame::Message { client_id, text } => {
                        let result = match state.limits.message(&token_hash) {
                            Ok(()) => requester::post(state, &conversation, &client_id, &text).await,
                            Err(e) => Err(e),
                        };
                        Some(match result {
                            Ok(a) => ServerFrame::Ack { client_id, seq: a.seq, duplicate: a.duplicate },
                            Err(e) => error_frame(&e, Some(client_id)),
                        })
                    }
                    ClientFrame::Typing => {
                        if last_typing.is_none_or(|t| t.elapsed() >= protocol::TYPING_INTERVAL) {
                            last_typing = Some(Instant::now());
                            state.hub.publish(id, ConversationEvent::Typing { role: Role::Requester, name: None });
                        }
                        None
                    }
                    ClientFrame::Read { seq } => {
                        if let Ok(mut conn) = state.store.write.acquire().await
                            && let Ok(true) = queries::set_read(&mut conn, id, Role::Requester, seq).await
                        {
                            state.hub.publish(id, ConversationEvent::Read { role: Role::Requester, seq });
                        }
                        None
                    }
                    ClientFrame::Ping => Some(ServerFrame::Pong),
                };
                if let Some(reply) = reply && send_json(&mut socket, &reply).await.is_err() {
                    return;
                }
            }
            event = subscription.receiver.recv() => {
                let sent = match event {
                    Ok(ConversationEvent::Message { message, received }) => match protocol::order(last, message.seq) {
                        Order::Seen => Ok(()),
                        Order::Next => {
                            last = message.seq;
                            match message.for_requester() {
                                Some(view) => {
                                    let r = send_json(&mut socket, &ServerFrame::Message(view)).await;
                                    if message.author_role != Role::Requester {
                                        state.metrics.delivered(received.elapsed().as_secs_f64());
                                    }
                                    r.map_err(anyhow::Error::from)
                                }
                                None => Ok(()),
                            }
                        }
                        Order::Gap => deliver_stored(state, &mut socket, id, &mut last).await.map(|w| waiting = w),
                    },
                    Ok(ConversationEvent::Status(change)) => {
                        waiting = change.status == Status::Waiting;
                        send_change(state, &mut socket, &conversation.site, id, &change, last).await
                    }
                    Ok(ConversationEvent::Typing { role, .. }) if role != Role::Requester => {
                        send_json(&mut socket, &ServerFrame::Typing { role }).await.map_err(anyhow::Error::from)
                    }
                    Ok(ConversationEvent::Read { role, seq }) if role != Role::Requester => {
                        send_json(&mut socket, &ServerFrame::Read { seq }).await.map_err(anyhow::Error::from)
                    }
                    Ok(_) => Ok(()),
                    // Fell behind: messages and the current status come from the store.
                    Err(RecvError::Lagged(_)) => deliver_stored(state, &mut socket, id, &mut last).await.map(|w| waiting = w),
                    Err(RecvError::Closed) => return,
                };
                if sent.is_err() {
                    return;
                }
                queue_events = if waiting { queue_events.or_else(|| Some(state.hub.subscribe_queues())) } else { None };
            }
            event = next_queue_event(&mut queue_events) => {
                let moved = match event {
                    Ok(event) => event.item.queue == conversation.queue && event.item.id != id && may_move_position(&event),
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => false,
                };
                // Coalesced: at most one position update per interval, however busy the queue.
                if moved && waiting && position_due.is_none() {
                    position_due = Some(last_position + POSITION_INTERVAL);
                }
            }
            () = sleep_until_due(position_due) => {
                position_due = None;
                last_position = tokio::time::Instant::now();
                if waiting && send_position(state, &mut socket, id, last).await.is_err() {
                    return;
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > protocol::SILENCE_LIMIT {
                    protocol::close(&mut socket, close_code::TIMEOUT, "no answer to pings").await;
                    return;
                }
                if socket.send(WsMessage::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
            () = state.shutdown.cancelled() => {
                protocol::close(&mut socket, close_code::GOING_AWAY, "server restarting; resume with after").await;
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
        }
        busy_turns += 1;
    }
}

/// Waits for the hello frame and checks the token and the origin.
async fn handshake(
    state: &AppState,
    socket: &mut WebSocket,
    id: &str,
    origin: Option<&str>,
) -> Option<(Conversation, i64, String)> {
    let text = protocol::first_text_frame(socket).await?;
    let Ok(ClientFrame::Hello { token, after }) = serde_json::from_str::<ClientFrame>(&text) else {
        protocol::close(
            socket,
            close_code::BAD_FRAME,
            "the first frame must be {\"type\":\"hello\",\"token\":…}",
        )
        .await;
        return None;
    };
    let conversation = match requester::authorize(state, id, &token).await {
        Ok(c) => c,
        Err(AppError::NotFound(_)) => {
            protocol::close(socket, close_code::UNAUTHORIZED, "no conversation with this id for this token")
                .await;
            return None;
        }
        Err(_) => {
            protocol::close(socket, 1011, "internal error").await;
            return None;
        }
    };
    if check_origin(state, &conversation.site, origin).is_err() {
        protocol::close(socket, close_code::FORBIDDEN_ORIGIN, "origin not allowed for this site").await;
        return None;
    }
    Some((conversation, after.max(0), hash_token(&token)))
}

/// Sends the stored messages after `*last`, then the current status; returns whether
/// the conversation is waiting.
async fn deliver_stored(
    state: &AppState,
    socket: &mut WebSocket,
    id: &str,
    last: &mut i64,
) -> anyhow::Result<bool> {
    for message in protocol::load_after(state, id, *last).await? {
        *last = message.seq;
        if let Some(view) = Message::for_requester(&message) {
            send_json(socket, &ServerFrame::Message(view)).await?;
        }
    }
    let conversation = {
        let mut conn = state.store.read.acquire().await?;
        queries::find(&mut conn, id).await?.ok_or_else(|| anyhow::anyhow!("conversation vanished"))?
    };
    send_status(state, socket, &conversation).await?;
    Ok(conversation.status == Status::Waiting)
}

/// Waiting sockets hear every queue event of their queue; only some can change a
/// position: one ahead leaving the waiting line, or an urgent one arriving.
fn may_move_position(event: &QueueEvent) -> bool {
    use super::hub::QueueEventKind::*;
    match event.kind {
        Claimed | Closed | Transferred | Left | Released | Reopened => true,
        New | Updated => event.item.urgent,
        Offered => false,
    }
}

const POSITION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

async fn sleep_until_due(due: Option<tokio::time::Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn next_queue_event(
    receiver: &mut Option<tokio::sync::broadcast::Receiver<Arc<QueueEvent>>>,
) -> Result<Arc<QueueEvent>, RecvError> {
    match receiver {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// A fresh status frame when the queue moved around a waiting conversation.
async fn send_position(state: &AppState, socket: &mut WebSocket, id: &str, last: i64) -> anyhow::Result<()> {
    let mut conn = state.store.read.acquire().await?;
    let Some(c) = queries::find(&mut conn, id).await? else { return Ok(()) };
    if c.status != Status::Waiting {
        return Ok(());
    }
    let queue_position = Some(queries::queue_position(&mut conn, &c).await?);
    drop(conn);
    let frame = ServerFrame::Status(StatusFrame {
        status: c.status,
        outcome: c.outcome,
        urgent: c.urgent,
        helper_name: None,
        queue_position,
        redirected_to: None,
        last_seq: last,
        read_seq: None,
    });
    send_json(socket, &frame).await?;
    Ok(())
}

/// A status frame from a published change; only a waiting conversation needs the
/// store (for its queue position).
async fn send_change(
    state: &AppState,
    socket: &mut WebSocket,
    site: &str,
    id: &str,
    change: &StatusChange,
    last: i64,
) -> anyhow::Result<()> {
    let queue_position = match change.status {
        Status::Waiting => {
            let mut conn = state.store.read.acquire().await?;
            match queries::find(&mut conn, id).await? {
                Some(c) => Some(queries::queue_position(&mut conn, &c).await?),
                None => None,
            }
        }
        _ => None,
    };
    let redirected_to = match &change.redirected_team {
        Some(team) => crate::sites::catalog::other_team(&state.store, &state.config, site, team).await?,
        None => None,
    };
    let frame = ServerFrame::Status(StatusFrame {
        status: change.status,
        outcome: change.outcome,
        urgent: change.urgent,
        helper_name: change.owner_name.clone(),
        queue_position,
        redirected_to,
        last_seq: last,
        read_seq: None,
    });
    send_json(socket, &frame).await?;
    Ok(())
}

async fn send_status(state: &AppState, socket: &mut WebSocket, c: &Conversation) -> anyhow::Result<()> {
    let view = requester::view(state, c, c.last_seq).await?;
    let frame = ServerFrame::Status(StatusFrame {
        status: view.status,
        outcome: view.outcome,
        urgent: view.urgent,
        helper_name: view.helper_name,
        queue_position: view.queue_position,
        redirected_to: view.redirected_to,
        last_seq: view.last_seq,
        read_seq: Some(view.read_seq),
    });
    send_json(socket, &frame).await?;
    Ok(())
}
