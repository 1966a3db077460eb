//! Mail settings: the relay answers go out through, and where replies come in from
//! (`helpline mail-in` from the operator's mail system, or a mailbox read over IMAP).

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// How answers reach requesters who chose e-mail.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MailConfig {
    /// The relay that sends for us: `smtp://host:25` (plain, a relay on this machine),
    /// `smtp://user:password@host:587?tls=required` (STARTTLS), or `smtps://…:465`.
    pub smtp_url: String,
    /// Sender of every mail, e.g. `Helpline <help@example.org>`.
    pub from: String,
    /// How often the mailer looks for answers to send, in milliseconds.
    #[serde(default = "default_mail_poll_ms")]
    pub poll_ms: u64,
    /// A mail that keeps failing is given up after this many attempts (the helper sees it).
    #[serde(default = "default_mail_attempts")]
    pub max_attempts: u32,
    /// Wait before the first retry, in milliseconds; it doubles each time, up to an hour.
    #[serde(default = "default_mail_retry_ms")]
    pub retry_ms: u64,
    /// Replies are read: the operator's mail system hands `reply+…@` mail to
    /// `helpline mail-in`, or puts it in the `imap` mailbox (docs/OPERATIONS.md). Then
    /// every answer carries its conversation's reply address, and says one may reply.
    #[serde(default)]
    pub replies: bool,
    /// Mail that answers no conversation opens one on this site (else it is ignored).
    #[serde(default)]
    pub inbound_site: Option<crate::domain::SiteId>,
    /// A mailbox the server reads replies from itself.
    #[serde(default)]
    pub imap: Option<ImapConfig>,
    /// Helpers who chose a daily digest get it at this hour (UTC, 0–23).
    #[serde(default = "default_digest_hour")]
    pub digest_hour_utc: u8,
}

fn default_digest_hour() -> u8 {
    7
}

impl MailConfig {
    /// How long to wait before attempt `attempts + 1` of a mail that did not go out:
    /// `retry_ms`, doubling, up to an hour. One policy for answers and transcripts alike.
    pub fn retry_wait_ms(&self, attempts: i64) -> i64 {
        const LONGEST_MS: i64 = 3_600_000;
        let first = i64::try_from(self.retry_ms).unwrap_or(LONGEST_MS);
        first.saturating_mul(1 << (attempts - 1).clamp(0, 20)).min(LONGEST_MS)
    }

    /// A relay and a sender, everything else as by default.
    pub fn new(smtp_url: impl Into<String>, from: impl Into<String>) -> Self {
        Self {
            smtp_url: smtp_url.into(),
            from: from.into(),
            poll_ms: default_mail_poll_ms(),
            max_attempts: default_mail_attempts(),
            retry_ms: default_mail_retry_ms(),
            replies: false,
            inbound_site: None,
            imap: None,
            digest_hour_utc: default_digest_hour(),
        }
    }

    /// Fails at start on a sender or relay address that could never work.
    pub fn check(&self) -> anyhow::Result<()> {
        use lettre::message::Mailbox;
        let from: Mailbox =
            self.from.parse().context("mail.from must be an address like Helpline <help@example.org>")?;
        if from.email.domain().is_empty() {
            bail!("mail.from needs a domain");
        }
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&self.smtp_url)
            .context("mail.smtp_url must look like smtp://host:25 or smtps://user:password@host:465")?;
        if self.poll_ms == 0 || self.max_attempts == 0 {
            bail!("mail.poll_ms and mail.max_attempts must be positive");
        }
        if let Some(imap) = &self.imap {
            imap.check()?;
        }
        if self.digest_hour_utc > 23 {
            bail!("mail.digest_hour_utc must be an hour from 0 to 23");
        }
        Ok(())
    }
}

fn default_mail_retry_ms() -> u64 {
    30_000
}

fn default_mail_poll_ms() -> u64 {
    2000
}

fn default_mail_attempts() -> u32 {
    8
}

/// How the IMAP connection is protected.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ImapSecurity {
    /// TLS from the first byte (port 993).
    #[default]
    Tls,
    /// Plain, upgraded with STARTTLS before logging in (port 143).
    Starttls,
    /// No encryption at all: only to a server on this machine (127.0.0.1, ::1, localhost).
    Plain,
}

/// A mailbox of replies, read over IMAP: every new mail in it is handed to the same
/// reading as `helpline mail-in`, then deleted (or, with `keep`, marked read). The server
/// waits with IDLE where the server offers it, else looks every `poll_seconds`.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct ImapConfig {
    pub host: String,
    /// 993 for `tls`, 143 otherwise, when not given.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub security: ImapSecurity,
    pub user: String,
    /// The password itself, or
    #[serde(default)]
    pub password: Option<String>,
    /// a file holding it (kept out of the configuration file).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default = "default_mailbox")]
    pub mailbox: String,
    /// Without IDLE, look this often; with it, renew the IDLE this often (servers drop an
    /// IDLE after 30 minutes).
    #[serde(default = "default_imap_poll_seconds")]
    pub poll_seconds: u64,
    /// Keep handled mail in the mailbox, marked read, instead of deleting it. The
    /// requester's words then live on in the mailbox past the conversation's retention.
    #[serde(default)]
    pub keep: bool,
}

impl std::fmt::Debug for ImapConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapConfig")
            .field("host", &self.host)
            .field("port", &self.port())
            .field("security", &self.security)
            .field("user", &self.user)
            .field("mailbox", &self.mailbox)
            .finish_non_exhaustive()
    }
}

fn default_mailbox() -> String {
    "INBOX".into()
}

fn default_imap_poll_seconds() -> u64 {
    60
}

impl ImapConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(if self.security == ImapSecurity::Tls { 993 } else { 143 })
    }

    pub fn password(&self) -> anyhow::Result<String> {
        match (&self.password, &self.password_file) {
            (Some(password), _) => Ok(password.clone()),
            (None, Some(file)) => Ok(std::fs::read_to_string(file)
                .with_context(|| format!("the IMAP password file {}", file.display()))?
                .trim_end_matches(['\r', '\n'])
                .to_string()),
            (None, None) => bail!("mail.imap needs password or password_file"),
        }
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.host.trim().is_empty() || self.user.trim().is_empty() || self.mailbox.trim().is_empty() {
            bail!("mail.imap needs host, user and mailbox");
        }
        if self.security == ImapSecurity::Plain && !is_loopback(&self.host) {
            bail!(
                "mail.imap.security = \"plain\" sends the password and the requesters' mail unencrypted; \
                 it is only allowed to a server on this machine (127.0.0.1, ::1, localhost), not {}",
                self.host
            );
        }
        if self.poll_seconds == 0 || self.poll_seconds > 29 * 60 {
            bail!("mail.imap.poll_seconds must be between 1 and 1740 (IDLE ends after 30 minutes)");
        }
        if self.password.is_none() && self.password_file.is_none() {
            bail!("mail.imap needs password or password_file");
        }
        Ok(())
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imap(host: &str, security: ImapSecurity) -> ImapConfig {
        ImapConfig {
            host: host.into(),
            port: None,
            security,
            user: "helpline".into(),
            password: Some("secret".into()),
            password_file: None,
            mailbox: default_mailbox(),
            poll_seconds: 60,
            keep: false,
        }
    }

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_an_hour() {
        let config = MailConfig { retry_ms: 1_000, ..MailConfig::new("smtp://127.0.0.1:25", "a@b.example") };
        let waits: Vec<i64> = [0, 1, 2, 3, 12, 13, 100].map(|a| config.retry_wait_ms(a)).to_vec();
        assert_eq!(waits, [1_000, 1_000, 2_000, 4_000, 2_048_000, 3_600_000, 3_600_000]);
        let huge = MailConfig { retry_ms: u64::MAX, ..config };
        assert_eq!(huge.retry_wait_ms(1), 3_600_000);
    }

    #[test]
    fn plain_imap_only_on_this_machine() {
        assert!(imap("127.0.0.1", ImapSecurity::Plain).check().is_ok());
        assert!(imap("[::1]", ImapSecurity::Plain).check().is_ok());
        assert!(imap("localhost", ImapSecurity::Plain).check().is_ok());
        let error = imap("mail.example.org", ImapSecurity::Plain).check().unwrap_err().to_string();
        assert!(error.contains("only allowed to a server on this machine"), "{error}");
        assert!(imap("mail.example.org", ImapSecurity::Starttls).check().is_ok());
    }

    #[test]
    fn ports_follow_the_security() {
        assert_eq!(imap("h", ImapSecurity::Tls).port(), 993);
        assert_eq!(imap("h", ImapSecurity::Starttls).port(), 143);
        assert_eq!(ImapConfig { port: Some(1143), ..imap("h", ImapSecurity::Tls) }.port(), 1143);
    }

    #[test]
    fn a_password_is_needed_and_never_shown() {
        let without = ImapConfig { password: None, ..imap("h", ImapSecurity::Tls) };
        assert!(without.check().is_err());
        let shown = format!("{:?}", imap("h", ImapSecurity::Tls));
        assert!(!shown.contains("secret"), "{shown}");
    }
}
