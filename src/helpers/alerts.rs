//! Mail alerts helpers opt into (console settings): "requests are waiting" when a request
//! of one of their queues has waited longer than the queue's `alert_after_minutes` and
//! nobody of that queue is online to take it — once per request, nothing when someone is
//! on it — or one summary a day at `mail.digest_hour_utc`. The mails say how many and
//! where, never a word of any request: a helper's mailbox is not the console.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::domain::{HelperId, MailAlerts};
use crate::mail::Mailer;
use crate::state::AppState;
use crate::store::{self, alerts};

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// Looks every minute, when mail is configured.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let Some(mailer) = &state.mailer else { return };
    let state = &state;
    crate::clock::every(Duration::from_secs(60), &shutdown, || async move {
        if !state.leadership.leads() {
            return;
        }
        if let Err(error) = round(state, mailer).await {
            tracing::warn!(%error, "helper alerts failed; will retry");
        }
    })
    .await;
}

/// One look: alerts for requests waiting too long, then the digests that are due.
/// Returns how many mails went out.
pub async fn round(state: &AppState, mailer: &Mailer) -> anyhow::Result<usize> {
    Ok(waiting(state, mailer).await? + digests(state, mailer).await?)
}

async fn waiting(state: &AppState, mailer: &Mailer) -> anyhow::Result<usize> {
    let mut sent = 0;
    let now = state.now_ms();
    for queue in state.config.queues.iter().filter(|q| q.alert_after_minutes > 0) {
        if !state.presence.available_in(&queue.id).is_empty() {
            continue; // someone is on it
        }
        let minutes = i64::from(queue.alert_after_minutes);
        let overdue = alerts::overdue(&state.store, &queue.id, now - minutes * 60_000).await?;
        if overdue.is_empty() {
            continue;
        }
        let console = format!("{}/console", state.config.public_url());
        let (count, minutes) = (overdue.len().to_string(), minutes.to_string());
        let recipients = alerts::recipients(&state.store, &queue.id, MailAlerts::Waiting).await?;
        let mut reached = recipients.is_empty();
        for helper in recipients {
            let lang = language_of(&helper);
            let subject = state.i18n.format(lang, "helpline-mail-alert-subject", &[&queue.name]);
            let body = state.i18n.format(
                lang,
                "helpline-mail-alert-body",
                &[&helper.name, &queue.name, &count, &minutes, &console],
            );
            if send(state, mailer, &helper, subject, body).await {
                sent += 1;
                reached = true;
            }
        }
        // Each request is alerted about once; tried again next minute while the relay
        // reaches nobody.
        if reached {
            alerts::mark_alerted(&state.store, &overdue, now).await?;
        }
    }
    Ok(sent)
}

async fn digests(state: &AppState, mailer: &Mailer) -> anyhow::Result<usize> {
    let now = state.now_ms();
    let (day, hour) = (now / DAY_MS, (now % DAY_MS) / HOUR_MS);
    if hour < i64::from(mailer.config.digest_hour_utc) {
        return Ok(0);
    }
    let mut sent = 0;
    let console = format!("{}/console", state.config.public_url());
    for helper in alerts::digest_due(&state.store, day).await? {
        let Some(fresh) = super::by_id(&state.store, &helper.id).await? else { continue };
        let mut lines = Vec::new();
        let lang = language_of(&helper);
        for queue in fresh.queue_ids() {
            let name = state.config.queue(&queue).map_or(queue.as_str(), |q| q.name.as_str());
            let counts = alerts::queue_day(&state.store, &queue, now - DAY_MS).await?;
            let numbers = [counts.waiting, counts.opened, counts.closed].map(|n| n.to_string());
            lines.push(state.i18n.format(
                lang,
                "helpline-mail-digest-line",
                &[name, &numbers[0], &numbers[1], &numbers[2]],
            ));
        }
        let subject = state.i18n.format(lang, "helpline-mail-digest-subject", &[]);
        let body = state.i18n.format(
            lang,
            "helpline-mail-digest-body",
            &[&helper.name, &lines.join("\n"), &console],
        );
        // Marked first: a relay that is down costs one day's digest, never a flood.
        alerts::mark_digest(&state.store, &helper.id, day).await?;
        if send(state, mailer, &helper, subject, body).await {
            sent += 1;
        }
    }
    Ok(sent)
}

fn language_of(helper: &alerts::Recipient) -> &str {
    helper.languages.split(',').map(str::trim).find(|l| !l.is_empty()).unwrap_or("en")
}

async fn send(
    state: &AppState,
    mailer: &Mailer,
    helper: &alerts::Recipient,
    subject: String,
    body: String,
) -> bool {
    let Some(address) = state.secrets.open(&helper.email_sealed) else { return false };
    let result = match mailer.letter(&address, subject, body) {
        Ok(mail) => mailer.send(mail).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => {
            state.metrics.mail_sent();
            true
        }
        Err(error) => {
            tracing::warn!(helper = %helper.name, code = %error.code, "alert mail not sent");
            state.metrics.mail_failed();
            false
        }
    }
}

/// The helper's choice and whether they have an address, for the settings page; `None`
/// where the server sends no mail.
pub async fn choice(state: &AppState, helper: &HelperId) -> sqlx::Result<Option<(MailAlerts, bool)>> {
    if state.mailer.is_none() {
        return Ok(None);
    }
    alerts::choice(&state.store, helper).await.map(Some)
}

pub async fn choose(state: &AppState, helper: &HelperId, choice: MailAlerts) -> sqlx::Result<()> {
    store::alerts::set_choice(&state.store, helper, choice).await
}
