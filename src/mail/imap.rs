//! A mailbox of replies, read over IMAP (async-imap on tokio): connect with TLS, STARTTLS
//! or — only to this machine — plain, log in, select the mailbox, list what is new, fetch
//! a mail without marking it read, mark it once handled, and wait for more with IDLE
//! where the server offers it. What to do with each mail is decided above, by
//! `conversations::mailbox`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use async_imap::extensions::idle::IdleResponse;
use async_imap::{Client, Session};
use futures_util::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::config::{ImapConfig, ImapSecurity};

/// Connecting, logging in or one command taking longer than this is a failure.
const PATIENCE: Duration = Duration::from_secs(60);

/// The connection, plain or encrypted, behind one type.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Io for T {}

/// A logged-in session with the mailbox selected.
pub struct Mailbox {
    session: Session<Box<dyn Io>>,
    idle: bool,
    uidplus: bool,
}

impl Mailbox {
    /// Connects, logs in and selects `config.mailbox`. Errors say which step failed and
    /// never repeat the password.
    pub async fn open(config: &ImapConfig) -> anyhow::Result<Self> {
        let password = config.password()?;
        let address = (config.host.as_str(), config.port());
        let tcp = tokio::time::timeout(PATIENCE, TcpStream::connect(address))
            .await
            .context("connecting to the IMAP server timed out")?
            .with_context(|| format!("connecting to the IMAP server {}:{}", config.host, config.port()))?;
        let client = match config.security {
            ImapSecurity::Plain => greeted(Client::new(Box::new(tcp) as Box<dyn Io>)).await?,
            ImapSecurity::Tls => {
                greeted(Client::new(Box::new(tls(&config.host, tcp).await?) as Box<dyn Io>)).await?
            }
            ImapSecurity::Starttls => {
                let mut client = greeted(Client::new(tcp)).await?;
                within(client.run_command_and_check_ok("STARTTLS", None)).await.context("STARTTLS")?;
                // No greeting after STARTTLS; whatever came before it is not trusted.
                let upgraded = tls(&config.host, client.into_inner()).await?;
                Client::new(Box::new(upgraded) as Box<dyn Io>)
            }
        };
        let mut session = match tokio::time::timeout(PATIENCE, client.login(&config.user, &password)).await {
            Err(_) => bail!("logging in to the IMAP server timed out"),
            Ok(Err((error, _))) => bail!("the IMAP server refused the log-in of {}: {error}", config.user),
            Ok(Ok(session)) => session,
        };
        let capabilities =
            within(session.capabilities()).await.context("asking the IMAP server's capabilities")?;
        let idle = capabilities.has_str("IDLE");
        let uidplus = capabilities.has_str("UIDPLUS");
        drop(capabilities);
        within(session.select(&config.mailbox))
            .await
            .with_context(|| format!("selecting {}", config.mailbox))?;
        Ok(Self { session, idle, uidplus })
    }

    /// The mails not yet handled (neither read nor deleted), oldest first.
    pub async fn unseen(&mut self) -> anyhow::Result<Vec<u32>> {
        let mut uids: Vec<u32> = within(self.session.uid_search("UNSEEN UNDELETED"))
            .await
            .context("searching")?
            .into_iter()
            .collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// One mail as it arrived, without marking it read (so a crash leaves it new).
    pub async fn fetch(&mut self, uid: u32) -> anyhow::Result<Option<Vec<u8>>> {
        let fetches: Vec<_> = within(async {
            let stream = self.session.uid_fetch(uid.to_string(), "BODY.PEEK[]").await?;
            stream.try_collect().await
        })
        .await
        .context("fetching")?;
        Ok(fetches.iter().find_map(|f| f.body().map(<[u8]>::to_vec)))
    }

    /// Handled: deleted (expunged by `finish`), or only marked read when kept.
    pub async fn handled(&mut self, uid: u32, keep: bool) -> anyhow::Result<()> {
        self.flag(uid, if keep { "(\\Seen)" } else { "(\\Seen \\Deleted)" }).await
    }

    /// Not a mail Helpline can read: left in the mailbox, read and flagged, for the operator.
    pub async fn refused(&mut self, uid: u32) -> anyhow::Result<()> {
        self.flag(uid, "(\\Seen \\Flagged)").await
    }

    async fn flag(&mut self, uid: u32, flags: &str) -> anyhow::Result<()> {
        within(async {
            let stream = self.session.uid_store(uid.to_string(), format!("+FLAGS.SILENT {flags}")).await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await
        .context("marking a mail")?;
        Ok(())
    }

    /// Removes the mails marked deleted: only those named, where the server can.
    pub async fn finish(&mut self, deleted: &[u32]) -> anyhow::Result<()> {
        if deleted.is_empty() {
            return Ok(());
        }
        within(async {
            if self.uidplus {
                let set = deleted.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
                self.session.uid_expunge(set).await?.try_collect::<Vec<_>>().await
            } else {
                self.session.expunge().await?.try_collect::<Vec<_>>().await
            }
        })
        .await
        .context("expunging")?;
        Ok(())
    }

    /// Waits until something may have arrived: the server says so during IDLE, or `most`
    /// has passed (then the caller looks anyway). `None` at shutdown.
    pub async fn wait(self, most: Duration, shutdown: &CancellationToken) -> anyhow::Result<Option<Self>> {
        let Self { session, idle, uidplus } = self;
        if !idle {
            tokio::select! {
                () = tokio::time::sleep(most) => return Ok(Some(Self { session, idle, uidplus })),
                () = shutdown.cancelled() => return Ok(None),
            }
        }
        let mut handle = session.idle();
        within(handle.init()).await.context("starting IDLE")?;
        let (waiting, _stop) = handle.wait_with_timeout(most);
        let response = tokio::select! {
            response = waiting => response.context("during IDLE")?,
            () = shutdown.cancelled() => return Ok(None),
        };
        if let IdleResponse::NewData(data) = &response {
            tracing::debug!(response = ?data.parsed(), "mailbox changed");
        }
        let session = within(handle.done()).await.context("ending IDLE")?;
        Ok(Some(Self { session, idle, uidplus }))
    }

    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.logout()).await;
    }
}

async fn greeted<T: Io>(mut client: Client<T>) -> anyhow::Result<Client<T>> {
    match tokio::time::timeout(PATIENCE, client.read_response()).await {
        Err(_) => bail!("the IMAP server sent no greeting"),
        Ok(Err(error)) => Err(error).context("reading the IMAP server's greeting"),
        Ok(Ok(None)) => bail!("the IMAP server closed the connection before its greeting"),
        Ok(Ok(Some(_))) => Ok(client),
    }
}

/// TLS to `host`, its certificate checked against the system's roots.
async fn tls(host: &str, tcp: TcpStream) -> anyhow::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    use rustls_platform_verifier::ConfigVerifierExt;
    let config =
        rustls::ClientConfig::with_platform_verifier().context("loading the system's certificate roots")?;
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .with_context(|| format!("{host} is not a name TLS can check"))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    tokio::time::timeout(PATIENCE, connector.connect(name, tcp))
        .await
        .context("the TLS handshake with the IMAP server timed out")?
        .with_context(|| format!("TLS with the IMAP server {host}"))
}

async fn within<T>(work: impl Future<Output = async_imap::error::Result<T>>) -> anyhow::Result<T> {
    match tokio::time::timeout(PATIENCE, work).await {
        Err(_) => bail!("the IMAP server did not answer within {} s", PATIENCE.as_secs()),
        Ok(result) => Ok(result?),
    }
}
