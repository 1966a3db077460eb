//! Outbound mail: answers to requesters who chose the e-mail channel, and helpers'
//! sign-in links (`console::email_link`).
//!
//! The conversation row is its own outbox (see `migrations/*/0002_mail.sql`): the
//! mailer looks at conversations on the e-mail channel with messages it has not seen,
//! sends one mail with what is new, then records how far it got. Nothing is queued in
//! memory, so a crash or a relay that is down loses no answer: the next round picks it
//! up. The price is at-least-once delivery: a crash between the relay's "250 OK" and
//! the update sends that mail again.

mod compose;
mod dispatch;

use std::time::Duration;

use anyhow::{Context, bail};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

pub use dispatch::{MailState, run};

use crate::config::MailConfig;

/// Fails at start on a sender or relay address that could never work.
pub fn check_config(config: &MailConfig) -> anyhow::Result<()> {
    let from: Mailbox =
        config.from.parse().context("mail.from must be an address like Helpline <help@example.org>")?;
    if from.email.domain().is_empty() {
        bail!("mail.from needs a domain");
    }
    AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.smtp_url)
        .context("mail.smtp_url must look like smtp://host:25 or smtps://user:password@host:465")?;
    if config.poll_ms == 0 || config.max_attempts == 0 {
        bail!("mail.poll_ms and mail.max_attempts must be positive");
    }
    Ok(())
}

/// The relay connection and the sender identity.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    pub config: MailConfig,
}

/// Why a mail did not go out. Only the SMTP code is kept: a relay's error text often
/// repeats the recipient's address, which must not reach logs or helpers.
#[derive(Debug)]
pub struct SendError {
    /// The relay refused it for good (5xx), or the mail could not be built; otherwise it
    /// is worth trying again later (relay down, 4xx, timeout).
    pub permanent: bool,
    /// The SMTP reply code, e.g. `550`, or a word for what failed (`connection`).
    pub code: String,
}

impl Mailer {
    pub fn new(config: &MailConfig) -> anyhow::Result<Self> {
        check_config(config)?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.smtp_url)?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        Ok(Self { transport, from: config.from.parse()?, config: config.clone() })
    }

    /// The domain of message ids, so that threads group in the requester's mail program.
    fn domain(&self) -> &str {
        self.from.email.domain()
    }

    /// A plain-text mail from the configured sender.
    pub fn letter(&self, to: &str, subject: String, body: String) -> Result<lettre::Message, SendError> {
        let refused = |code: &str| SendError { permanent: true, code: code.into() };
        let to: Mailbox = to.parse().map_err(|_| refused("address"))?;
        lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .date_now()
            .body(body)
            .map_err(|_| refused("build"))
    }

    pub async fn send(&self, mail: lettre::Message) -> Result<(), SendError> {
        match self.transport.send(mail).await {
            Ok(_) => Ok(()),
            Err(error) => {
                let code = match error.status() {
                    Some(code) => code.to_string(),
                    None if error.is_timeout() => "timeout".into(),
                    None if error.is_tls() => "tls".into(),
                    None => "connection".into(),
                };
                Err(SendError { permanent: error.is_permanent(), code })
            }
        }
    }
}
