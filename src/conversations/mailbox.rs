//! Replies read from a mailbox (`mail.imap`): every new mail goes through the same
//! reading as `helpline mail-in` (`inbound::receive`), and only once it is stored — or
//! known to be nothing to store — is it deleted from the mailbox (or marked read, with
//! `keep`). A crash in between reads it again, which `receive` recognises by its
//! Message-ID: nothing is stored twice. The connection is kept, waiting with IDLE, and
//! made again with a growing pause when it fails.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::inbound::{self, Received};
use crate::config::ImapConfig;
use crate::error::AppError;
use crate::mail::imap::Mailbox;
use crate::state::AppState;

const LONGEST_PAUSE: Duration = Duration::from_secs(300);

/// Runs until shutdown when a mailbox is configured, while this node runs the
/// background jobs (one node reads the mailbox).
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let Some(imap) = state.mailer.as_ref().and_then(|m| m.config.imap.clone()) else { return };
    while let Some(term) = state.leadership.term(&shutdown).await {
        read_while(&state, &imap, &term).await;
        term.cancel();
    }
}

async fn read_while(state: &AppState, imap: &ImapConfig, shutdown: &CancellationToken) {
    let mut pause = Duration::from_secs(1);
    while !shutdown.is_cancelled() {
        match watch(state, imap, shutdown, &mut pause).await {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    pause_s = pause.as_secs(),
                    "reading the mailbox failed; will connect again"
                );
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = shutdown.cancelled() => return,
                }
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
        }
    }
}

async fn watch(
    state: &AppState,
    imap: &ImapConfig,
    shutdown: &CancellationToken,
    pause: &mut Duration,
) -> anyhow::Result<()> {
    let mut mailbox = Mailbox::open(imap).await?;
    tracing::info!(host = %imap.host, mailbox = %imap.mailbox, "reading replies from the mailbox");
    *pause = Duration::from_secs(1);
    loop {
        read_new(state, &mut mailbox, imap.keep).await?;
        match mailbox.wait(Duration::from_secs(imap.poll_seconds), shutdown).await? {
            Some(open) => mailbox = open,
            None => return Ok(()),
        }
    }
}

/// Hands every new mail to `receive`. A mail the requester's rate does not allow yet
/// stays new for a later look; a failing store ends the round (the mail stays new).
/// Returns how many mails were handled.
pub async fn read_new(state: &AppState, mailbox: &mut Mailbox, keep: bool) -> anyhow::Result<usize> {
    let mut deleted = Vec::new();
    let mut handled = 0;
    for uid in mailbox.unseen().await? {
        let Some(raw) = mailbox.fetch(uid).await? else { continue };
        match inbound::receive(state, &raw).await {
            Ok(received) => {
                log(&received);
                mailbox.handled(uid, keep).await?;
                if !keep {
                    deleted.push(uid);
                }
                handled += 1;
            }
            Err(AppError::BadRequest { code: "not_a_mail", message }) => {
                tracing::warn!(uid, reason = %message, "a mail in the mailbox is not one Helpline can read; flagged and kept");
                mailbox.refused(uid).await?;
                handled += 1;
            }
            Err(AppError::RateLimited { .. }) => {
                tracing::info!(uid, "a reply over its sender's rate; left for later");
            }
            Err(error) => {
                mailbox.finish(&deleted).await?;
                return Err(anyhow::anyhow!("storing a mail from the mailbox: {error}"));
            }
        }
    }
    mailbox.finish(&deleted).await?;
    Ok(handled)
}

fn log(received: &Received) {
    match received {
        Received::Stored { conversation, duplicate, .. } => {
            tracing::info!(%conversation, duplicate, "a reply from the mailbox");
        }
        Received::Opened { conversation } => {
            tracing::info!(%conversation, "a new conversation from the mailbox")
        }
        Received::Bounced { conversation } => tracing::info!(%conversation, "a bounce from the mailbox"),
        Received::Ignored { reason } => tracing::info!(reason, "a mail from the mailbox, ignored"),
    }
}
