//! The requester's live socket. The first client frame is
//! `{"type":"hello","token":…,"after":SEQ}`; the server answers with every message
//! after SEQ, a `status` frame, then live frames. Messages sent on the socket are
//! acknowledged (`ack {client_id, seq}`) once committed. `"wire":2` in the hello asks
//! for the lean wire (`protocol::Wire`).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;

use super::protocol::{self, Order, Session, Wire, close_code, send_json};
use crate::config::OtherTeam;
use crate::conversations::{departures, requester, service};
use crate::domain::{
    Conversation, ConversationId, Message, Outcome, RequesterMessage, Role, SocketId, Status,
};
use crate::error::{AppError, AppPath};
use crate::extract::{RequestOrigin, RequesterNetwork, any_site_allows, check_origin};
use crate::hub::{ConversationEvent, QueueEvent, QueueEventKind, StatusChange};
use crate::secrets::hash_token;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Hello {
        token: String,
        #[serde(default)]
        after: i64,
        #[serde(default)]
        wire: Option<u8>,
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
        #[serde(skip_serializing_if = "Option::is_none")]
        duplicate: Option<bool>,
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
    /// The wire agreed on, on the first status frame of a lean socket only.
    #[serde(skip_serializing_if = "Option::is_none")]
    wire: Option<u8>,
}

/// The live socket of one conversation, for its requester.
#[utoipa::path(get, path = "/v1/conversations/{id}/live", tag = "requester", params(("id" = inline(ConversationId), Path)),
    responses((status = 101, description = "WebSocket; first frame {type: hello, token, after}"),
        (status = 403, body = crate::error::ErrorBody, description = "origin not allowed"),
        (status = 429, body = crate::error::ErrorBody)))]
pub async fn live(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    AppPath(id): AppPath<ConversationId>,
    RequestOrigin(origin): RequestOrigin,
    RequesterNetwork(network): RequesterNetwork,
) -> Response {
    if let Err(limited) = state.limits.request(&network) {
        return limited.into_response();
    }
    if let Some(o) = &origin
        && !any_site_allows(&state, o)
    {
        return AppError::Forbidden(format!("Origin {o} may not use this service.")).into_response();
    }
    protocol::configure(ws, &state)
        .on_upgrade(move |mut socket| async move {
            state.metrics.socket_opened("requester");
            if let Some(mut session) =
                RequesterSession::open(&state, &mut socket, &id, origin.as_deref()).await
            {
                departures::socket_opened(&state, &id).await;
                protocol::drive(&state, &mut socket, &mut session).await;
                departures::socket_closed(&state, &id).await;
            }
            state.metrics.socket_closed("requester");
        })
        .into_response()
}

/// A fresh position is sent at most this often, however busy the queue.
const POSITION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

struct RequesterSession<'a> {
    state: &'a AppState,
    conversation: Conversation,
    token_hash: String,
    subscription: crate::hub::Subscription,
    /// The highest `seq` accounted for on this socket.
    last: i64,
    waiting: bool,
    /// While waiting, queue events of the conversation's queue move its position.
    queue_events: Option<broadcast::Receiver<Arc<QueueEvent>>>,
    position_due: Option<tokio::time::Instant>,
    last_position: tokio::time::Instant,
    last_typing: Option<Instant>,
    wire: Wire,
    /// Not yet said in a status frame.
    wire_unannounced: bool,
    id: SocketId,
    /// Changes when events from other nodes may have been missed.
    resyncs: watch::Receiver<u64>,
}

enum Event {
    Conversation(Result<ConversationEvent, RecvError>),
    Queue(Result<Arc<QueueEvent>, RecvError>),
    PositionDue,
    Resync,
}

impl<'a> RequesterSession<'a> {
    /// Takes the hello, checks token and origin, sends the backlog and the status.
    async fn open(
        state: &'a AppState,
        socket: &mut WebSocket,
        id: &ConversationId,
        origin: Option<&str>,
    ) -> Option<Self> {
        let Handshake { conversation, after, token_hash, wire } =
            handshake(state, socket, id, origin).await?;
        // Subscribe first, then read: whatever commits in between arrives live (and is
        // deduplicated by seq) or is in what we read.
        let subscription = state.hub.subscribe(id);
        let mut session = Self {
            state,
            conversation,
            token_hash,
            subscription,
            last: after,
            waiting: false,
            queue_events: None,
            position_due: None,
            last_position: tokio::time::Instant::now(),
            last_typing: None,
            wire,
            wire_unannounced: wire.is_lean(),
            id: state.hub.socket_id(),
            resyncs: state.hub.subscribe_resyncs(),
        };
        session.deliver_stored(socket).await.ok()?;
        session.follow_queue();
        Some(session)
    }

    fn follow_queue(&mut self) {
        self.queue_events = if self.waiting {
            self.queue_events.take().or_else(|| Some(self.state.hub.subscribe_queues()))
        } else {
            None
        };
    }

    /// Sends the stored messages after `last`, then the current status.
    async fn deliver_stored(&mut self, socket: &mut WebSocket) -> anyhow::Result<()> {
        let id = &self.conversation.id;
        for message in service::messages_after(self.state, id, self.last).await? {
            self.last = message.seq;
            if let Some(view) = Message::for_requester(&message) {
                send_json(socket, &ServerFrame::Message(view)).await?;
            }
        }
        let now =
            service::find(self.state, id).await?.ok_or_else(|| anyhow::anyhow!("conversation vanished"))?;
        let view = requester::view(self.state, &now, now.last_seq).await?;
        self.waiting = view.status == Status::Waiting;
        let frame = StatusFrame {
            status: view.status,
            outcome: view.outcome,
            urgent: view.urgent,
            helper_name: view.helper_name,
            queue_position: view.queue_position,
            redirected_to: view.redirected_to,
            // What this socket has accounted for, not the conversation's: a message
            // committed since the messages above were read comes live, after this
            // frame, and a client resuming from here must not skip it.
            last_seq: self.last,
            read_seq: Some(view.read_seq),
            wire: std::mem::take(&mut self.wire_unannounced).then_some(Wire::LEAN_NUMBER),
        };
        Ok(send_json(socket, &ServerFrame::Status(frame)).await?)
    }

    async fn on_message(
        &mut self,
        socket: &mut WebSocket,
        message: Arc<Message>,
        received: Instant,
        origin: Option<SocketId>,
    ) -> anyhow::Result<()> {
        match protocol::order(self.last, message.seq) {
            Order::Seen => Ok(()),
            Order::Next => {
                self.last = message.seq;
                if self.wire.is_lean() && origin == Some(self.id) {
                    // Its `ack` said it all.
                    return Ok(());
                }
                let Some(view) = message.for_requester() else { return Ok(()) };
                send_json(socket, &ServerFrame::Message(view)).await?;
                if message.author_role != Role::Requester {
                    self.state.metrics.delivered(received.elapsed().as_secs_f64());
                }
                Ok(())
            }
            Order::Gap => self.deliver_stored(socket).await,
        }
    }

    /// A status frame from a published change; only a waiting conversation needs the
    /// store (for its queue position).
    async fn on_status(&mut self, socket: &mut WebSocket, change: &StatusChange) -> anyhow::Result<()> {
        self.waiting = change.status == Status::Waiting;
        if change.turn_only && self.wire.is_lean() {
            return Ok(());
        }
        let queue_position = match self.waiting {
            true => match service::find(self.state, &self.conversation.id).await? {
                Some(c) => service::queue_position(self.state, &c).await?,
                None => None,
            },
            false => None,
        };
        let redirected_to =
            requester::redirected_to(self.state, &self.conversation, change.redirected_team.as_deref())
                .await?;
        let frame = StatusFrame {
            status: change.status,
            outcome: change.outcome,
            urgent: change.urgent,
            helper_name: change.owner_name.clone(),
            queue_position,
            redirected_to,
            last_seq: self.last,
            read_seq: None,
            wire: None,
        };
        Ok(send_json(socket, &ServerFrame::Status(frame)).await?)
    }

    /// A fresh position when the queue moved around a waiting conversation.
    async fn send_position(&mut self, socket: &mut WebSocket) -> anyhow::Result<()> {
        let Some(c) = service::find(self.state, &self.conversation.id).await? else { return Ok(()) };
        let Some(queue_position) = service::queue_position(self.state, &c).await? else { return Ok(()) };
        let frame = StatusFrame {
            status: c.status,
            outcome: c.outcome,
            urgent: c.urgent,
            helper_name: None,
            queue_position: Some(queue_position),
            redirected_to: None,
            last_seq: self.last,
            read_seq: None,
            wire: None,
        };
        Ok(send_json(socket, &ServerFrame::Status(frame)).await?)
    }

    async fn on_conversation_event(
        &mut self,
        socket: &mut WebSocket,
        event: Result<ConversationEvent, RecvError>,
    ) -> anyhow::Result<()> {
        let sent = match event {
            Ok(ConversationEvent::Message { message, received, origin }) => {
                self.on_message(socket, message, received, origin).await
            }
            Ok(ConversationEvent::Status(change)) => self.on_status(socket, &change).await,
            Ok(ConversationEvent::Typing { role, .. }) if role != Role::Requester => {
                Ok(send_json(socket, &ServerFrame::Typing { role }).await?)
            }
            Ok(ConversationEvent::Read { role, seq }) if role != Role::Requester => {
                Ok(send_json(socket, &ServerFrame::Read { seq }).await?)
            }
            Ok(_) => Ok(()),
            // Fell behind: messages and the current status come from the store.
            Err(RecvError::Lagged(_)) => self.deliver_stored(socket).await,
            Err(RecvError::Closed) => Err(anyhow::anyhow!("the hub closed")),
        };
        self.follow_queue();
        sent
    }

    fn on_queue_event(&mut self, event: Result<Arc<QueueEvent>, RecvError>) {
        let moved = match event {
            Ok(event) => {
                event.item.queue == self.conversation.queue
                    && event.item.id != self.conversation.id
                    && may_move_position(&event)
            }
            Err(RecvError::Lagged(_)) => true,
            Err(RecvError::Closed) => false,
        };
        // Coalesced: at most one position update per interval, however busy the queue.
        if moved && self.waiting && self.position_due.is_none() {
            self.position_due = Some(self.last_position + POSITION_INTERVAL);
        }
    }
}

impl Session for RequesterSession<'_> {
    type Frame = ClientFrame;
    type Event = Event;

    async fn next_event(&mut self) -> Event {
        tokio::select! {
            event = self.subscription.receiver.recv() => Event::Conversation(event),
            event = next_queue_event(&mut self.queue_events) => Event::Queue(event),
            () = sleep_until_due(self.position_due) => Event::PositionDue,
            Ok(()) = self.resyncs.changed() => Event::Resync,
        }
    }

    async fn on_frame(&mut self, socket: &mut WebSocket, frame: ClientFrame) -> anyhow::Result<()> {
        let reply = match frame {
            ClientFrame::Hello { .. } => Some(ServerFrame::Error {
                code: "already_said_hello",
                message: "hello is only the first frame".into(),
                client_id: None,
                retry_after: None,
            }),
            ClientFrame::Message { client_id, text } => {
                let result = match self.state.limits.message(&self.token_hash) {
                    Ok(()) => {
                        requester::post(self.state, &self.conversation, &client_id, &text, Some(self.id))
                            .await
                    }
                    Err(e) => Err(e),
                };
                Some(match result {
                    Ok(a) => ServerFrame::Ack {
                        client_id,
                        seq: a.seq,
                        duplicate: self.wire.duplicate(a.duplicate),
                    },
                    Err(e) => error_frame(&e, Some(client_id)),
                })
            }
            ClientFrame::Typing => {
                if self.last_typing.is_none_or(|t| t.elapsed() >= protocol::TYPING_INTERVAL) {
                    self.last_typing = Some(Instant::now());
                    let typing = ConversationEvent::Typing { role: Role::Requester, name: None };
                    self.state.hub.publish(&self.conversation.id, typing);
                }
                None
            }
            ClientFrame::Read { seq } => {
                requester::read(self.state, &self.conversation, seq).await;
                None
            }
            ClientFrame::Ping => Some(ServerFrame::Pong),
        };
        if let Some(reply) = reply {
            send_json(socket, &reply).await?;
        }
        Ok(())
    }

    async fn on_event(&mut self, socket: &mut WebSocket, event: Event) -> anyhow::Result<()> {
        match event {
            Event::Conversation(event) => self.on_conversation_event(socket, event).await,
            Event::Queue(event) => {
                self.on_queue_event(event);
                Ok(())
            }
            Event::PositionDue => {
                self.position_due = None;
                self.last_position = tokio::time::Instant::now();
                if self.waiting { self.send_position(socket).await } else { Ok(()) }
            }
            // Events from other nodes may have been missed: the store says what is.
            Event::Resync => {
                let sent = self.deliver_stored(socket).await;
                self.follow_queue();
                sent
            }
        }
    }

    fn goodbye(&self) -> &'static str {
        "server restarting; resume with after"
    }
}

fn error_frame(e: &AppError, client_id: Option<String>) -> ServerFrame {
    let retry_after = match e {
        AppError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
        _ => None,
    };
    ServerFrame::Error { code: e.code(), message: e.public_message(), client_id, retry_after }
}

/// What a good hello gave.
struct Handshake {
    conversation: Conversation,
    after: i64,
    token_hash: String,
    wire: Wire,
}

/// Waits for the hello frame and checks the token and the origin.
async fn handshake(
    state: &AppState,
    socket: &mut WebSocket,
    id: &ConversationId,
    origin: Option<&str>,
) -> Option<Handshake> {
    let ClientFrame::Hello { token, after, wire } =
        protocol::hello::<ClientFrame>(socket, "{\"type\":\"hello\",\"token\":…}").await?
    else {
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
            protocol::close(socket, close_code::INTERNAL, "internal error").await;
            return None;
        }
    };
    if check_origin(state, &conversation.site, origin).is_err() {
        protocol::close(socket, close_code::FORBIDDEN_ORIGIN, "origin not allowed for this site").await;
        return None;
    }
    Some(Handshake {
        conversation,
        after: after.max(0),
        token_hash: hash_token(&token),
        wire: Wire::negotiate(wire),
    })
}

/// Waiting sockets hear every queue event of their queue; only some can change a
/// position: one ahead leaving the waiting line, or an urgent one arriving.
fn may_move_position(event: &QueueEvent) -> bool {
    use QueueEventKind::*;
    match event.kind {
        Claimed | Closed | Transferred | Left | Released | Reopened => true,
        New | Updated => event.item.urgent,
        Offered => false,
    }
}

async fn sleep_until_due(due: Option<tokio::time::Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn next_queue_event(
    receiver: &mut Option<broadcast::Receiver<Arc<QueueEvent>>>,
) -> Result<Arc<QueueEvent>, RecvError> {
    match receiver {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}
