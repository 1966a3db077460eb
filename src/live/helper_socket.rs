//! The helper's live socket: queue events of their queues, and the events of the
//! conversations they open on it. A helper proves who they are the one way
//! (`helpers::auth`): a bearer token or the console's cookie at the upgrade, or else the
//! token of a first frame `{"type":"hello","token":…}` (browser clients cannot set
//! headers on sockets). A helper is online while a socket of theirs is open. A hello
//! with `"wire":2` (the first frame, or a later one on a socket signed in at the
//! upgrade) asks for the lean wire (`protocol::Wire`), answered by `ready` with `"wire":2`.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::helper_frames::{ClientFrame, ServerFrame};
use super::protocol::{self, Order, Session, Wire, close_code, send_json};
use crate::conversations::helper_ops::{self, HelperMessageInput};
use crate::conversations::service;
use crate::domain::{Appended, ConversationId, Helper, HelperId, QueueId, Role, SocketId};
use crate::error::{AppError, AppResult};
use crate::helpers::auth::{self, MaybeIdentity};
use crate::hub::{ConversationEvent, QueueEvent, QueueEventKind};
use crate::state::AppState;

/// Messages of one socket queued for commit and not yet answered. A helper answering
/// several conversations at once does not wait for each commit before the next message
/// is read; the answers (`ack` or `error`) still go out in the order the frames came.
/// With this many waiting, the socket reads no further frames until one is answered.
const MAX_IN_FLIGHT: usize = 64;
/// Conversations one socket may follow at once; bounds the tasks a socket can start.
const MAX_FOLLOWED: usize = 500;

/// A message frame's answer to come: conversation, client id, and the commit's result.
type PendingAnswer = Pin<Box<dyn Future<Output = (ConversationId, String, AppResult<Appended>)> + Send>>;

/// Live queue and conversation events for a helper.
#[utoipa::path(get, path = "/v1/helper/live", tag = "helper",
    responses((status = 101, description = "WebSocket of queue and conversation events"),
        (status = 401, body = crate::error::ErrorBody)),
    security(("helper_token" = [])))]
pub async fn live(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    MaybeIdentity(identity): MaybeIdentity,
) -> Response {
    protocol::configure(ws, &state)
        .on_upgrade(move |mut socket| async move {
            let (helper, wire) = match identity {
                Some(identity) => (identity.helper, Wire::V1),
                None => match hello(&state, &mut socket).await {
                    Some(signed_in) => signed_in,
                    None => return,
                },
            };
            state.metrics.socket_opened("helper");
            state.presence.connected(&helper);
            let mut session = HelperSession::new(&state, helper, wire);
            if session.send_ready(&mut socket).await.is_ok() {
                protocol::drive(&state, &mut socket, &mut session).await;
            }
            session.stop_following();
            state.presence.disconnected(&session.helper.id);
            state.metrics.socket_closed("helper");
        })
        .into_response()
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Hello {
    Hello {
        token: String,
        #[serde(default)]
        wire: Option<u8>,
    },
}

/// The first frame's token, for clients that could not send credentials at the upgrade.
async fn hello(state: &AppState, socket: &mut WebSocket) -> Option<(Helper, Wire)> {
    let Hello::Hello { token, wire } =
        protocol::hello::<Hello>(socket, "{\"type\":\"hello\",\"token\":…}").await?;
    match auth::by_token(state, &token).await {
        Ok(Some(h)) => Some((h, Wire::negotiate(wire))),
        Ok(None) => {
            protocol::close(socket, close_code::UNAUTHORIZED, "invalid token").await;
            None
        }
        Err(error) => {
            tracing::error!(%error, "checking a helper token");
            protocol::close(socket, close_code::INTERNAL, "internal error").await;
            None
        }
    }
}

enum Forwarded {
    Event(ConversationEvent),
    Lagged,
}

struct Followed {
    /// Its queue: a helper suspended from the queue stops following it.
    queue: QueueId,
    last: i64,
    task: JoinHandle<()>,
    /// When this helper's last typing notice for the conversation went out.
    last_typing: Option<Instant>,
}

struct HelperSession<'a> {
    state: &'a AppState,
    helper: Helper,
    queue_events: broadcast::Receiver<Arc<QueueEvent>>,
    memberships: broadcast::Receiver<HelperId>,
    /// Changes when events from other nodes may have been missed.
    resyncs: watch::Receiver<u64>,
    forward_tx: mpsc::Sender<(ConversationId, Forwarded)>,
    forwarded: mpsc::Receiver<(ConversationId, Forwarded)>,
    followed: HashMap<ConversationId, Followed>,
    answers: FuturesOrdered<PendingAnswer>,
    wire: Wire,
    id: SocketId,
}

enum Event {
    Answer((ConversationId, String, AppResult<Appended>)),
    Queue(Result<Arc<QueueEvent>, RecvError>),
    Membership(Result<HelperId, RecvError>),
    Forwarded(ConversationId, Forwarded),
    Resync,
}

impl<'a> HelperSession<'a> {
    fn new(state: &'a AppState, helper: Helper, wire: Wire) -> Self {
        let (forward_tx, forwarded) = mpsc::channel(256);
        Self {
            state,
            helper,
            queue_events: state.hub.subscribe_queues(),
            memberships: state.hub.subscribe_memberships(),
            resyncs: state.hub.subscribe_resyncs(),
            forward_tx,
            forwarded,
            followed: HashMap::new(),
            answers: FuturesOrdered::new(),
            wire,
            id: state.hub.socket_id(),
        }
    }

    async fn send_ready(&mut self, socket: &mut WebSocket) -> Result<(), axum::Error> {
        send_json(socket, &ServerFrame::Ready { helper: &self.helper.name, wire: self.wire.announced() })
            .await
    }

    /// A hello after `ready` (a socket signed in at the upgrade): the lean wire, if asked
    /// for, answered by a second `ready`; otherwise nothing changes.
    async fn hello_again(&mut self, socket: &mut WebSocket, wire: Option<u8>) -> anyhow::Result<()> {
        let asked = Wire::negotiate(wire);
        if asked.is_lean() && !self.wire.is_lean() {
            self.wire = asked;
            self.send_ready(socket).await?;
        }
        Ok(())
    }

    fn stop_following(&mut self) {
        for (id, f) in self.followed.drain() {
            f.task.abort();
            self.state.viewers.closed(&self.state.hub, &id, &self.helper.name);
        }
    }

    fn unfollow(&mut self, id: &ConversationId) {
        if let Some(f) = self.followed.remove(id) {
            f.task.abort();
            self.state.viewers.closed(&self.state.hub, id, &self.helper.name);
        }
    }

    /// The helper's queues changed (suspended from one, or back): read them again, stop
    /// following what they may no longer see, and have the client read its queue again.
    async fn memberships_changed(&mut self, socket: &mut WebSocket) -> anyhow::Result<()> {
        let Some(helper) = crate::helpers::by_id(&self.state.store, &self.helper.id).await? else {
            return Err(anyhow::anyhow!("the helper was removed"));
        };
        self.helper = helper;
        let lost: Vec<ConversationId> = self
            .followed
            .iter()
            .filter(|(_, f)| !self.helper.is_member(&f.queue))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &lost {
            self.unfollow(id);
        }
        Ok(send_json(socket, &ServerFrame::Resync).await?)
    }

    /// Follows a conversation: its messages after `after`, then live events.
    async fn open(&mut self, socket: &mut WebSocket, id: ConversationId, after: i64) -> anyhow::Result<()> {
        let c = match helper_ops::authorize(self.state, &self.helper, &id).await {
            Ok(c) => c,
            Err(e) => return Ok(send_error(socket, &e, Some(&id)).await?),
        };
        let reopened = self.followed.remove(&id);
        if let Some(old) = &reopened {
            old.task.abort();
        } else if self.followed.len() >= MAX_FOLLOWED {
            let e = AppError::bad_request(
                "too_many_open",
                format!("Follow at most {MAX_FOLLOWED} conversations per socket."),
            );
            return Ok(send_error(socket, &e, Some(&id)).await?);
        }
        let task = self.forward(&id);
        let mut last = after.max(0);
        self.deliver_stored(socket, &id, &mut last).await?;
        self.followed.insert(id.clone(), Followed { queue: c.queue.clone(), last, task, last_typing: None });
        if reopened.is_none() {
            self.state.viewers.opened(&self.state.hub, &id, &self.helper.name);
        }
        self.send_status(socket, &c.id).await
    }

    /// A task passing the conversation's hub events into this socket's loop.
    fn forward(&self, id: &ConversationId) -> JoinHandle<()> {
        let mut subscription = self.state.hub.subscribe(id);
        let tx = self.forward_tx.clone();
        let id = id.clone();
        tokio::spawn(async move {
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
        })
    }

    /// Queues the message with the appender now, in frame order, and its answer to come;
    /// refusals wait their turn too, so answers keep the frames' order.
    async fn queue_message(
        &mut self,
        conversation: ConversationId,
        client_id: String,
        text: String,
        internal: bool,
    ) {
        let input = HelperMessageInput { client_id: client_id.clone(), text, internal };
        let queued =
            helper_ops::submit_post(self.state, &self.helper, &conversation, &input, Some(self.id)).await;
        let answer: PendingAnswer = match queued {
            Ok(committed) => Box::pin(async move { (conversation, client_id, committed.await) }),
            Err(e) => Box::pin(std::future::ready((conversation, client_id, Err(e)))),
        };
        self.answers.push_back(answer);
    }

    async fn on_forwarded(
        &mut self,
        socket: &mut WebSocket,
        id: &ConversationId,
        event: Forwarded,
    ) -> anyhow::Result<()> {
        let Some(last) = self.followed.get(id).map(|f| f.last) else { return Ok(()) };
        match event {
            Forwarded::Lagged => self.catch_up(socket, id, last).await,
            Forwarded::Event(ConversationEvent::Message { message, received, origin }) => {
                match protocol::order(last, message.seq) {
                    Order::Seen => Ok(()),
                    Order::Next => {
                        if let Some(f) = self.followed.get_mut(id) {
                            f.last = message.seq;
                        }
                        if self.wire.is_lean() && origin == Some(self.id) {
                            return Ok(());
                        }
                        let frame = ServerFrame::Message {
                            conversation: id,
                            message: message.for_helper(&self.helper.id),
                        };
                        send_json(socket, &frame).await?;
                        if message.author_role == Role::Requester {
                            self.state.metrics.delivered(received.elapsed().as_secs_f64());
                        }
                        Ok(())
                    }
                    Order::Gap => self.catch_up(socket, id, last).await,
                }
            }
            Forwarded::Event(ConversationEvent::Status(change)) => {
                if !self.helper.is_member(&change.queue) {
                    self.unfollow(id);
                    return Ok(send_json(socket, &ServerFrame::Gone { conversation: id }).await?);
                }
                if change.turn_only && self.wire.is_lean() {
                    return Ok(());
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
            // On the lean wire a helper hears the requester's read marks, not the helpers'.
            Forwarded::Event(ConversationEvent::Read { role, .. })
                if self.wire.is_lean() && role != Role::Requester =>
            {
                Ok(())
            }
            Forwarded::Event(ConversationEvent::Read { role, seq }) => {
                Ok(send_json(socket, &ServerFrame::Read { conversation: id, role, seq }).await?)
            }
            Forwarded::Event(ConversationEvent::Viewers(helpers)) => {
                Ok(send_json(socket, &ServerFrame::Viewers { conversation: id, helpers: &helpers }).await?)
            }
            Forwarded::Event(ConversationEvent::Conflicts(conflicts)) => {
                if self.helper.is_kept_away(&conflicts) {
                    self.unfollow(id);
                    return Ok(send_json(socket, &ServerFrame::Gone { conversation: id }).await?);
                }
                Ok(())
            }
        }
    }

    /// Fills a gap from the store (or after falling behind).
    async fn catch_up(
        &mut self,
        socket: &mut WebSocket,
        id: &ConversationId,
        mut last: i64,
    ) -> anyhow::Result<()> {
        self.deliver_stored(socket, id, &mut last).await?;
        if let Some(f) = self.followed.get_mut(id) {
            f.last = last;
        }
        Ok(())
    }

    async fn deliver_stored(
        &mut self,
        socket: &mut WebSocket,
        id: &ConversationId,
        last: &mut i64,
    ) -> anyhow::Result<()> {
        for message in service::messages_after(self.state, id, *last).await? {
            *last = message.seq;
            let frame =
                ServerFrame::Message { conversation: id, message: message.for_helper(&self.helper.id) };
            send_json(socket, &frame).await?;
        }
        Ok(())
    }

    async fn send_status(&mut self, socket: &mut WebSocket, id: &ConversationId) -> anyhow::Result<()> {
        let Some(c) = service::find(self.state, id).await? else { return Ok(()) };
        let owner = match &c.owner_id {
            Some(owner) => crate::helpers::by_id(&self.state.store, owner).await?.map(|h| h.name),
            None => None,
        };
        let frame = ServerFrame::Status {
            conversation: id,
            status: c.status,
            outcome: c.outcome,
            urgent: c.urgent,
            owner,
            queue: &c.queue,
        };
        Ok(send_json(socket, &frame).await?)
    }

    fn typing(&mut self, conversation: &ConversationId) {
        if let Some(f) = self.followed.get_mut(conversation)
            && f.last_typing.is_none_or(|t| t.elapsed() >= protocol::TYPING_INTERVAL)
        {
            f.last_typing = Some(Instant::now());
            let typing =
                ConversationEvent::Typing { role: Role::Helper, name: Some(self.helper.shown_name()) };
            self.state.hub.publish(conversation, typing);
        }
    }
}

impl Session for HelperSession<'_> {
    type Frame = ClientFrame;
    type Event = Event;

    fn accepting(&self) -> bool {
        self.answers.len() < MAX_IN_FLIGHT
    }

    async fn next_event(&mut self) -> Event {
        tokio::select! {
            biased;
            Some(answer) = self.answers.next(), if !self.answers.is_empty() => Event::Answer(answer),
            event = self.queue_events.recv() => Event::Queue(event),
            changed = self.memberships.recv() => Event::Membership(changed),
            Some((id, event)) = self.forwarded.recv() => Event::Forwarded(id, event),
            Ok(()) = self.resyncs.changed() => Event::Resync,
        }
    }

    async fn on_frame(&mut self, socket: &mut WebSocket, frame: ClientFrame) -> anyhow::Result<()> {
        match frame {
            ClientFrame::Hello { wire } => self.hello_again(socket, wire).await,
            ClientFrame::Ping => Ok(send_json(socket, &ServerFrame::Pong).await?),
            ClientFrame::Presence { status } => {
                Ok(crate::helpers::set_presence(self.state, &self.helper.id, status).await?)
            }
            ClientFrame::Open { conversation, after } => self.open(socket, conversation, after).await,
            ClientFrame::Close { conversation } => {
                self.unfollow(&conversation);
                Ok(())
            }
            ClientFrame::Message { conversation, client_id, text, internal } => {
                self.queue_message(conversation, client_id, text, internal).await;
                Ok(())
            }
            ClientFrame::Typing { conversation } => {
                self.typing(&conversation);
                Ok(())
            }
            ClientFrame::Read { conversation, seq } => {
                if self.followed.contains_key(&conversation) {
                    helper_ops::read(self.state, &conversation, seq).await;
                }
                Ok(())
            }
        }
    }

    async fn on_event(&mut self, socket: &mut WebSocket, event: Event) -> anyhow::Result<()> {
        match event {
            Event::Answer((conversation, client_id, result)) => {
                Ok(answer_message(socket, self.wire, &conversation, &client_id, result).await?)
            }
            Event::Queue(Ok(event)) if event.offered_to.as_ref().is_some_and(|to| *to != self.helper.id) => {
                Ok(())
            }
            Event::Queue(Ok(event)) if self.helper.is_member(&event.item.queue) => {
                if event.item.visible_to(&self.helper) {
                    return Ok(send_json(
                        socket,
                        &ServerFrame::Queue { event: event.kind, conversation: &event.item },
                    )
                    .await?);
                }
                // Kept away (or held back): the row leaves their dashboard, its text unsent.
                let mut gone = event.item.clone();
                gone.preview.clear();
                gone.topic.clear();
                Ok(send_json(
                    socket,
                    &ServerFrame::Queue { event: QueueEventKind::Left, conversation: &gone },
                )
                .await?)
            }
            Event::Queue(Ok(_)) => Ok(()),
            Event::Queue(Err(RecvError::Lagged(_))) => Ok(send_json(socket, &ServerFrame::Resync).await?),
            Event::Queue(Err(RecvError::Closed)) => Err(anyhow::anyhow!("the hub closed")),
            Event::Membership(Ok(id)) if id != self.helper.id => Ok(()),
            Event::Membership(Err(RecvError::Closed)) => Err(anyhow::anyhow!("the hub closed")),
            Event::Membership(_) => self.memberships_changed(socket).await,
            Event::Forwarded(id, event) => self.on_forwarded(socket, &id, event).await,
            Event::Resync => self.resync(socket).await,
        }
    }
}

impl HelperSession<'_> {
    /// Events may have been missed: every followed conversation's messages and status
    /// from the store, and the dashboard told to read its rows again.
    async fn resync(&mut self, socket: &mut WebSocket) -> anyhow::Result<()> {
        let followed: Vec<(ConversationId, i64)> =
            self.followed.iter().map(|(id, f)| (id.clone(), f.last)).collect();
        for (id, last) in followed {
            self.catch_up(socket, &id, last).await?;
            self.send_status(socket, &id).await?;
        }
        self.memberships_changed(socket).await?;
        Ok(send_json(socket, &ServerFrame::Resync).await?)
    }
}

async fn answer_message(
    socket: &mut WebSocket,
    wire: Wire,
    conversation: &ConversationId,
    client_id: &str,
    result: AppResult<Appended>,
) -> Result<(), axum::Error> {
    match result {
        Ok(a) => {
            let duplicate = wire.duplicate(a.duplicate);
            let ack = ServerFrame::Ack { conversation, client_id, seq: a.seq, duplicate };
            send_json(socket, &ack).await
        }
        Err(e) => send_error(socket, &e, Some(conversation)).await,
    }
}

async fn send_error(
    socket: &mut WebSocket,
    e: &AppError,
    conversation: Option<&ConversationId>,
) -> Result<(), axum::Error> {
    send_json(socket, &ServerFrame::Error { code: e.code(), message: e.public_message(), conversation }).await
}
