//! One client connection of any of the servers compared, seen the same way: send a text
//! to the other side of its pair, take the next text the other side sent. Everything
//! else a server sends (acks, echoes, status frames, IRC pings, Matrix sync bodies) is
//! read, counted and skipped, so the cost of each protocol shows in frames and bytes.

use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::{AsyncWriteExt, BufReader, Lines};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_tungstenite::tungstenite::Message;

use crate::client::Ws;
use crate::peers::matrix::MatrixLink;
use crate::peers::traffic::Traffic;
use crate::stats::Window;

/// The two ends of one conversation (one channel of two on IRC, one room on Matrix).
pub struct Pair {
    pub requester: Link,
    pub helper: Link,
}

impl Pair {
    /// Two users of one Matrix room.
    pub fn matrix((requester, helper): (MatrixLink, MatrixLink)) -> Self {
        Self { requester: Link::Matrix(Box::new(requester)), helper: Link::Matrix(Box::new(helper)) }
    }
}

/// Which end of a conversation a link is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    Requester,
    Helper,
}

// One per connection, thousands at most: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Link {
    Helpline { ws: Ws, side: Side, conversation: String, sent: u64 },
    Irc { lines: Lines<BufReader<OwnedReadHalf>>, writer: OwnedWriteHalf, to: String },
    Matrix(Box<MatrixLink>),
}

impl Link {
    /// Sends `text` to the other side of the pair.
    pub async fn send(&mut self, text: &str, window: Window, traffic: &mut Traffic) -> anyhow::Result<()> {
        let bytes = match self {
            Self::Helpline { ws, side, conversation, sent } => {
                *sent += 1;
                let frame = match side {
                    Side::Requester => json!({ "type": "message", "client_id": format!("m{sent}"), "text": text }),
                    Side::Helper => json!({
                        "type": "message", "conversation": conversation, "client_id": format!("a{sent}"), "text": text
                    }),
                }
                .to_string();
                let len = frame.len();
                ws.send(Message::text(frame)).await.context("sending a frame")?;
                len
            }
            Self::Irc { writer, to, .. } => {
                let line = format!("PRIVMSG {to} :{text}\r\n");
                writer.write_all(line.as_bytes()).await.context("writing to the IRC server")?;
                line.len()
            }
            Self::Matrix(link) => link.send(text).await?,
        };
        if window.contains(Instant::now()) {
            traffic.add(Traffic { frames: 1, bytes: bytes as u64 });
        }
        Ok(())
    }

    /// The next text the other side sent; `None` once the server closed the connection.
    /// Cancel-safe between frames.
    pub async fn receive(&mut self, window: Window, traffic: &mut Traffic) -> anyhow::Result<Option<String>> {
        loop {
            let (frame, bytes) = match self {
                Self::Helpline { ws, side, .. } => match ws.next().await {
                    None => return Ok(None),
                    Some(message) => match message? {
                        Message::Text(text) => (helpline_text(text.as_str(), *side)?, text.len()),
                        Message::Close(_) => return Ok(None),
                        other => (None, other.len()),
                    },
                },
                Self::Irc { lines, writer, .. } => {
                    let Some(line) = lines.next_line().await? else { return Ok(None) };
                    let len = line.len() + 2;
                    if let Some(token) = line.strip_prefix("PING ") {
                        writer.write_all(format!("PONG {token}\r\n").as_bytes()).await?;
                    }
                    (irc_text(&line), len)
                }
                Self::Matrix(link) => return link.receive(window, traffic).await,
            };
            if window.contains(Instant::now()) {
                traffic.add(Traffic { frames: 1, bytes: bytes as u64 });
            }
            if let Some(text) = frame {
                return Ok(Some(text));
            }
        }
    }
}

/// The text of a Helpline `message` frame from the other side (`None` for everything
/// else: acks, one's own echo on v1, status, read, typing).
fn helpline_text(frame: &str, side: Side) -> anyhow::Result<Option<String>> {
    let value: serde_json::Value =
        serde_json::from_str(frame).with_context(|| format!("unexpected frame {frame}"))?;
    match value["type"].as_str() {
        Some("message") => {
            let other = match side {
                Side::Requester => "helper",
                Side::Helper => "requester",
            };
            Ok((value["author_role"] == other)
                .then(|| value["text"].as_str().unwrap_or_default().to_string()))
        }
        Some("error") => bail!("the server refused a frame: {frame}"),
        _ => Ok(None),
    }
}

/// The text of `:nick!user@host PRIVMSG target :text`.
fn irc_text(line: &str) -> Option<String> {
    let rest = line.strip_prefix(':')?;
    let (_, rest) = rest.split_once(' ')?;
    let rest = rest.strip_prefix("PRIVMSG ")?;
    let (_, text) = rest.split_once(" :")?;
    Some(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_of_each_protocol() {
        assert_eq!(irc_text(":r1!r1@127.0.0.1 PRIVMSG h1 :ping-c1-n0-t5").as_deref(), Some("ping-c1-n0-t5"));
        assert_eq!(irc_text(":bench.invalid 001 r1 :Welcome"), None);
        let echo = r#"{"type":"message","seq":3,"author_role":"requester","text":"mine"}"#;
        assert_eq!(helpline_text(echo, Side::Requester).unwrap(), None);
        assert_eq!(helpline_text(echo, Side::Helper).unwrap().as_deref(), Some("mine"));
        assert_eq!(
            helpline_text(r#"{"type":"ack","client_id":"m1","seq":3}"#, Side::Requester).unwrap(),
            None
        );
        assert!(helpline_text(r#"{"type":"error","code":"x","message":"y"}"#, Side::Helper).is_err());
    }
}
