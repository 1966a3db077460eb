//! The helper's live socket: queue events of their queues, and the events of the
//! conversations they open on it. Authenticated by `Authorization: Bearer` at the
//! upgrade, by the console's session cookie on an upgrade from the console's own pages,
//! or (for other browser clients, which cannot set headers on sockets) by a first frame
//! `{"type":"hello","token":…}`. A helper is online while a socket of theirs is open.

use std::collections::HashMap;
use std::pin::Pin;
use std::time::Instant;

use axum::extract::State;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::stream::FuturesOrdered;
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::hub::{ConversationEvent, QueueEventKind};
use super::protocol::{self, Order, close_code, send_json};
use crate::app::AppState;
use crate::conversations::appender::Appended;
use crate::conversations::helper_ops::{self, HelperMessageInput};
use crate::conversations::model::{HelperMessage, Outcome, Role, Status};
use crate::conversations::queries::{self, QueueItem};
use crate::error::{AppError, AppResult};
use crate::helpers::{self, Helper};

/// Messages of one socket queued for commit and not yet answered. A helper answering
/// several conversations at once does not wait for each commit before the next message
/// is read; the answers (`ack` or `error`) still go out in the order the frames came.
/// With this many waiting, the socket reads no further frames until one is answered.
const MAX_IN_FLIGHT: usize = 64;

/// A message frame's answer to come: conversation, client id, and the commit's result.
type PendingAnswer = Pin<Box<dyn Future<Output = (String, String, AppResult<Appended>)> + Send>>;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Hello {
        token: String,
    },
    /// Follow a conversation: its messages after `after`, then live events.
    Open {
        conversation: String,
        #[serde(default)]
        after: i64,
    },
    /// Stop following it.
    Close {
        conversation: String,
    },
    Message {
        conversation: String,
        client_id: String,
        text: String,
        #[serde(default)]
        internal: bool,
    },
    Typing {
        conversation: String,
    },
    Read {
        conversation: String,
        seq: i64,
    },
    Presence {
        status: crate::helpers::routes::PresenceStatus,
    },
    Ping,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ServerFrame<'a> {
    Ready {
        helper: &'a str,
    },
    Queue {
        event: QueueEventKind,
        conversation: &'a QueueItem,
    },
    /// Queue events were missed; fetch `/v1/helper/queue` again.
    Resync,
    Message {
        conversation: &'a str,
        #[serde(flatten)]
        message: HelperMessage,
    },
    Status {
        conversation: &'a str,
        status: Status,
        #[serde(skip_serializing_if = "Option::is_none")]
        outcome: Option<Outcome>,
        urgent: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
        queue: &'a str,
    },
    /// The conversation left your queues.
    Gone {
        conversation: &'a str,
    },
    Typing {
        conversation: &'a str,
        role: Role,
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    Read {
        conversation: &'a str,
        role: Role,
        seq: i64,
    },
    /// The helpers following the conversation now (you included).
    Viewers {
        conversation: &'a str,
        helpers: &'a [String],
    },
    Ack {
        conversation: &'a str,
        client_id: &'a str,
        seq: i64,
        duplicate: bool,
    },
    Error {
        code: &'static str,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        conversation: Option<&'a str>,
    },
    Pong,
}

/// Live queue and conversation events for a helper.
#[utoipa::path(get, path = "/v1/helper/live", tag = "helper",
    responses((status = 101, description = "WebSocket of queue and conversation events"),
        (status = 401, body = crate::error::ErrorBody)),
    security(("helper_token" = [])))]
pub async fn live(ws: WebSocketUpgrade, State(state): State<AppState>, headers: HeaderMap) -> Response {
    let helper = match crate::helpers::auth::bearer_from(&headers) {
        Some(token) => match helpers::find_by_token(&state.store, token).await {
            Ok(Some(h)) => Some(h),
            Ok(None) => return AppError::Unauthorized("invalid_token").into_response(),
            Err(e) => return AppError::from(e).into_response(),
        },
        // The console's pages: the session cookie, only from this server's own pages
        // (browsers send cookies on cross-site WebSocket upgrades too).
        None => match crate::console::session::cookie_value(&headers) {
            Some(value)
                if crate::console::session::same_origin(&headers, state.config.public_url.as_deref()) =>
            {
                match crate::console::session::find(&state.store, value).await {
                    Ok(session) => session.map(|s| s.helper),
                    Err(e) => return AppError::from(e).into_response(),
                }
            }
            _ => None,
        },
    };
    protocol::configure(ws, &state)
        .on_upgrade(move |mut socket| async move {
            let helper = match helper {
                Some(h) => h,
                None => match hello(&state, &mut socket).await {
                    Some(h) => h,
                    None => return,
                },
            };
            state.metrics.socket_opened("helper");
            state.presence.connected(&helper);
            session(&state, socket, &helper).await;
            state.presence.disconnected(&helper.id);
            state.metrics.socket_closed("helper");
        })
        .into_response()
}

async fn hello(state: &AppState, socket: &mut WebSocket) -> Option<Helper> {
    let text = protocol::first_text_frame(socket).await?;
    let Ok(ClientFrame::Hello { token }) = serde_json::from_str::<ClientFrame>(&text) else {
        protocol::close(
            socket,
            close_code::BAD_FRAME,
            "the first frame must be {\"type\":\"hello\",\"token\":…}",
        )
        .await;
        return None;
    };
    match helpers::find_by_token(&state.store, &token).await {
        Ok(Some(h)) => Some(h),
        Ok(None) => {
            protocol::close(socket, close_code::UNAUTHORIZED, "invalid token").await;
            None
        }
        Err(error) => {
            tracing::error!(%error, "checking a helper token");
            protocol::close(socket, 1011, "internal error").await;
            None
        }
    }
}

/// Conversations one socket may follow at once; bounds the tasks a socket can start.
const MAX_FOLLOWED: usize = 500;

enum Forwarded {
    Event(ConversationEvent),
    Lagged,
}

struct Followed {
    last: i64,
    task: JoinHandle<()>,
    /// When this helper's last typing notice for the conversation went out.
    last_typing: Option<Instant>,
}

async fn session(state: &AppState, mut socket: WebSocket, helper: &Helper) {
    let mut queue_events = state.hub.subscribe_queues();
    let (forward_tx, mut forwarded) = mpsc::channel::<(String, Forwarded)>(256);
    let mut followed: HashMap<String, Followed> = HashMap::new();
    let mut ping = tokio::time::interval(protocol::PING_EVERY);
    ping.tick().await;
    let mut last_heard = Instant::now();
    let mut answers: FuturesOrdered<PendingAnswer> = FuturesOrdered::new();
    if send_json(&mut socket, &ServerFrame::Ready { helper: &helper.name }).await.is_err() {
        return;
    }
    // Turns since frames were last written (see `protocol::send_json`); `ready` is queued.
    let mut busy_turns = 1;
    loop {
        // A busy socket still writes what it queued every few turns.
        if busy_turns >= protocol::FLUSH_AFTER_TURNS {
            busy_turns = 0;
            if socket.flush().await.is_err() {
                break;
            }
        }
        let ok = tokio::select! {
            biased;
            incoming = socket.recv(), if answers.len() < MAX_IN_FLIGHT => {
                let frame = match incoming {
                    Some(Ok(frame)) => frame,
                    Some(Err(e)) => {
                        protocol::close_after_read_error(&mut socket, e).await;
                        break;
                    }
                    None => break,
                };
                last_heard = Instant::now();
                let text = match frame {
                    WsMessage::Text(text) => text,
                    WsMessage::Binary(_) => {
                        protocol::close(&mut socket, close_code::BAD_FRAME, "binary frames are not supported").await;
                        break;
                    }
                    WsMessage::Close(_) => break,
                    WsMessage::Ping(_) | WsMessage::Pong(_) => continue,
                };
                let frame: ClientFrame = match serde_json::from_str(&text) {
                    Ok(f) => f,
                    Err(e) => {
                        protocol::close(&mut socket, close_code::BAD_FRAME, &format!("bad frame: {e}")).await;
                        break;
                    }
                };
                handle_frame(state, &mut socket, helper, frame, &mut followed, &forward_tx, &mut answers).await
            }
            Some((conversation, client_id, result)) = answers.next(), if !answers.is_empty() => {
                answer_message(&mut socket, &conversation, &client_id, result).await.map_err(anyhow::Error::from)
            }
            event = queue_events.recv() => match event {
                Ok(event) if event.offered_to.as_ref().is_some_and(|to| *to != helper.id) => Ok(()),
                Ok(event) if helper.is_member(&event.item.queue) => {
                    send_json(&mut socket, &ServerFrame::Queue { event: event.kind, conversation: &event.item }).await.map_err(anyhow::Error::from)
                }
                Ok(_) => Ok(()),
                Err(RecvError::Lagged(_)) => send_json(&mut socket, &ServerFrame::Resync).await.map_err(anyhow::Error::from),
                Err(RecvError::Closed) => break,
            },
            Some((id, event)) = forwarded.recv() => {
                forward(state, &mut socket, helper, &id, event, &mut followed).await
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > protocol::SILENCE_LIMIT {
                    protocol::close(&mut socket, close_code::TIMEOUT, "no answer to pings").await;
                    break;
                }
                socket.send(WsMessage::Ping(Default::default())).await.map_err(anyhow::Error::from)
            }
            () = state.shutdown.cancelled() => {
                protocol::close(&mut socket, close_code::GOING_AWAY, "server restarting").await;
                break;
            }
            // Nothing else ready: write what was queued.
            () = std::future::ready(()), if busy_turns > 0 => {
                busy_turns = 0;
                if socket.flush().await.is_err() {
                    break;
                }
                continue;
            }
        };
        if ok.is_err() {
            break;
        }
        busy_turns += 1;
    }
    for (id, f) in followed {
        f.task.abort();
        state.viewers.closed(&state.hub, &id, &helper.name);
    }
}

async fn handle_frame(
    state: &AppState,
    socket: &mut WebSocket,
    helper: &Helper,
    frame: ClientFrame,
    followed: &mut HashMap<String, Followed>,
    forward_tx: &mpsc::Sender<(String, Forwarded)>,
    answers: &mut FuturesOrdered<PendingAnswer>,
) -> anyhow::Result<()> {
    match frame {
        ClientFrame::Hello { .. } => Ok(()),
        ClientFrame::Ping => Ok(send_json(socket, &ServerFrame::Pong).await?),
        ClientFrame::Presence { status } => {
            let away = matches!(status, crate::helpers::routes::PresenceStatus::Away);
            helpers::set_away(&state.store, &helper.id, away).await?;
            state.presence.set_away(&helper.id, away);
            Ok(())
        }
        ClientFrame::Open { conversation, after } => {
            let c = match helper_ops::authorize(state, helper, &conversation).await {
                Ok(c) => c,
                Err(e) => return Ok(send_error(socket, &e, Some(&conversation)).await?),
            };
            let reopened = followed.remove(&conversation);
            if let Some(old) = &reopened {
                old.task.abort();
            } else if followed.len() >= MAX_FOLLOWED {
                let e = AppError::bad_request(
                    "too_many_open",
                    format!("Follow at most {MAX_FOLLOWED} conversations per socket."),
                );
                return Ok(send_error(socket, &e, Some(&conversation)).await?);
            }
            let mut subscription = state.hub.subscribe(&conversation);
            let tx = forward_tx.clone();
            let id = conversation.clone();
            let task = tokio::spawn(async move {
                loop {
                    let item = match subscription.receiver.recv().await {
                        Ok(event) => Forwarded::Event(event),
                        Err(RecvError::Lagged(_)) => Forwarded::Lagged,
                        Err(RecvError::Closed) => return,
                    };
                    if tx.send((id.clone(), item)).await.is_err() {
                        return;
                    }
                }
            });
            let mut last = after.max(0);
            deliver_stored(state, socket, helper, &conversation, &mut last).await?;
            followed.insert(conversation.clone(), Followed { last, task, last_typing: None });
            if reopened.is_none() {
                state.viewers.opened(&state.hub, &conversation, &helper.name);
            }
            send_status(state, socket, &c.id).await
        }
        ClientFrame::Close { conversation } => {
            if let Some(f) = followed.remove(&conversation) {
                f.task.abort();
                state.viewers.closed(&state.hub, &conversation, &helper.name);
            }
            Ok(())
        }
        ClientFrame::Message { conversation, client_id, text, internal } => {
            let input = HelperMessageInput { client_id: client_id.clone(), text, internal };
            let queued = helper_ops::submit_post(state, helper, &conversation, &input).await;
            // Refusals wait their turn too, so answers keep the frames' order.
            answers.push_back(match queued {
                Ok(committed) => Box::pin(async move { (conversation, client_id, committed.await) }),
                Err(e) => Box::pin(std::future::ready((conversation, client_id, Err(e)))),
            });
            Ok(())
        }
        ClientFrame::Typing { conversation } => {
            if let Some(f) = followed.get_mut(&conversation)
                && f.last_typing.is_none_or(|t| t.elapsed() >= protocol::TYPING_INTERVAL)
            {
                f.last_typing = Some(Instant::now());
                state.hub.publish(
                    &conversation,
                    ConversationEvent::Typing { role: Role::Helper, name: Some(helper.shown_name()) },
                );
            }
            Ok(())
        }
        ClientFrame::Read { conversation, seq } => {
            if followed.contains_key(&conversation) {
                let mut conn = state.store.write.acquire().await?;
                if queries::set_read(&mut conn, &conversation, Role::Helper, seq).await? {
                    state.hub.publish(&conversation, ConversationEvent::Read { role: Role::Helper, seq });
                }
            }
            Ok(())
        }
    }
}

async fn answer_message(
    socket: &mut WebSocket,
    conversation: &str,
    client_id: &str,
    result: AppResult<Appended>,
) -> Result<(), axum::Error> {
    match result {
        Ok(a) => {
            let ack = ServerFrame::Ack { conversation, client_id, seq: a.seq, duplicate: a.duplicate };
            send_json(socket, &ack).await
        }
        Err(e) => send_error(socket, &e, Some(conversation)).await,
    }
}

async fn send_error(
    socket: &mut WebSocket,
    e: &AppError,
    conversation: Option<&str>,
) -> Result<(), axum::Error> {
    send_json(socket, &ServerFrame::Error { code: e.code(), message: e.public_message(), conversation }).await
}

async fn forward(
    state: &AppState,
    socket: &mut WebSocket,
    helper: &Helper,
    id: &str,
    event: Forwarded,
    followed: &mut HashMap<String, Followed>,
) -> anyhow::Result<()> {
    let Some(entry) = followed.get_mut(id) else { return Ok(()) };
    match event {
        Forwarded::Lagged => {
            let mut last = entry.last;
            deliver_stored(state, socket, helper, id, &mut last).await?;
            if let Some(entry) = followed.get_mut(id) {
                entry.last = last;
            }
            Ok(())
        }
        Forwarded::Event(ConversationEvent::Message { message, received }) => {
            match protocol::order(entry.last, message.seq) {
                Order::Seen => Ok(()),
                Order::Next => {
                    entry.last = message.seq;
                    send_json(
                        socket,
                        &ServerFrame::Message { conversation: id, message: message.for_helper(&helper.id) },
                    )
                    .await?;
                    if message.author_role == Role::Requester {
                        state.metrics.delivered(received.elapsed().as_secs_f64());
                    }
                    Ok(())
                }
                Order::Gap => {
                    let mut last = entry.last;
                    deliver_stored(state, socket, helper, id, &mut last).await?;
                    if let Some(entry) = followed.get_mut(id) {
                        entry.last = last;
                    }
                    Ok(())
                }
            }
        }
        Forwarded::Event(ConversationEvent::Status(change)) => {
            if !helper.is_member(&change.queue) {
                if let Some(f) = followed.remove(id) {
                    f.task.abort();
                    state.viewers.closed(&state.hub, id, &helper.name);
                }
                return Ok(send_json(socket, &ServerFrame::Gone { conversation: id }).await?);
            }
            let frame = ServerFrame::Status {
                conversation: id,
                status: change.status,
                outcome: change.outcome,
                urgent: change.urgent,
                owner: change.owner_name.clone(),
                queue: &change.queue,
            };
            Ok(send_json(socket, &frame).await?)
        }
        Forwarded::Event(ConversationEvent::Typing { role, name }) => {
            if role == Role::Requester {
                send_json(socket, &ServerFrame::Typing { conversation: id, role, name }).await?;
            }
            Ok(())
        }
        Forwarded::Event(ConversationEvent::Read { role, seq }) => {
            send_json(socket, &ServerFrame::Read { conversation: id, role, seq }).await?;
            Ok(())
        }
        Forwarded::Event(ConversationEvent::Viewers(helpers)) => {
            send_json(socket, &ServerFrame::Viewers { conversation: id, helpers: &helpers }).await?;
            Ok(())
        }
    }
}

async fn deliver_stored(
    state: &AppState,
    socket: &mut WebSocket,
    helper: &Helper,
    id: &str,
    last: &mut i64,
) -> anyhow::Result<()> {
    for message in protocol::load_after(state, id, *last).await? {
        *last = message.seq;
        send_json(
            socket,
            &ServerFrame::Message { conversation: id, message: message.for_helper(&helper.id) },
        )
        .await?;
    }
    Ok(())
}

async fn send_status(state: &AppState, socket: &mut WebSocket, id: &str) -> anyhow::Result<()> {
    let mut conn = state.store.read.acquire().await?;
    let Some(c) = queries::find(&mut conn, id).await? else { return Ok(()) };
    let owner = match &c.owner_id {
        Some(owner) => helpers::find_by_id(&mut conn, owner).await?.map(|h| h.name),
        None => None,
    };
    drop(conn);
    send_json(
        socket,
        &ServerFrame::Status {
            conversation: id,
            status: c.status,
            outcome: c.outcome,
            urgent: c.urgent,
            owner,
            queue: &c.queue,
        },
    )
    .await?;
    Ok(())
}
