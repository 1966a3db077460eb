//! Mail itself: the relay that sends for us (SMTP, by lettre) and the letters we write.
//! Who gets what and when is decided above: answers to requesters on the e-mail channel
//! by `conversations::outbox`, helpers' sign-in links by `helpers::signin`.

mod compose;
pub mod imap;
pub mod inbound;
pub mod reply_address;

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

pub use compose::{Letter, worth_sending};

use crate::config::MailConfig;

/// The relay connection and the sender identity.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    pub from: Mailbox,
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
        config.check()?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.smtp_url)?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        Ok(Self { transport, from: config.from.parse()?, config: config.clone() })
    }

    /// The domain of message ids, so that threads group in the requester's mail program.
    pub fn domain(&self) -> &str {
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
