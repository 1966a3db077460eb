//! Who may help, as each community decides: a queue's `eligibility` rules read on its
//! wiki (groups, edits, account age, blocks, a members page) and/or a coordinator's
//! approval of an application. Checked when a helper signs in and every
//! `wiki.recheck_minutes` for every member: one who no longer meets the rules is
//! suspended from the queue (their conversations of it go back to it, their sockets stop
//! seeing it) and restored when they meet them again.
//!
//! When the wiki cannot be asked, what was decided last stands: a wiki outage neither
//! lets a suspended helper in nor locks the whole team out; the next check decides.

pub mod applications;
pub mod judge;

use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use judge::{Known, Verdict};

use crate::config::{Approval, EligibilityRules, QueueConfig};
use crate::conversations::routing;
use crate::domain::{Helper, QueueId, SiteId, name_key};
use crate::error::AppResult;
use crate::state::AppState;
use crate::store::eligibility as store;
use crate::wiki::{WikiAccount, WikiError};

/// What could not be decided, and why.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{0}")]
    Wiki(#[from] WikiError),
    #[error("the store failed: {0}")]
    Store(#[from] sqlx::Error),
    #[error("{0}")]
    Config(String),
}

fn api_url<'s>(state_config: &'s crate::config::Config, site: &SiteId) -> Result<&'s str, CheckError> {
    state_config
        .site(site)
        .and_then(|s| s.api_url.as_deref())
        .ok_or_else(|| CheckError::Config(format!("site {site} has no api_url")))
}

/// The verdicts on `names` for one queue: on each wiki the rules are read on (the
/// accounts looked up 50 a call, the members page read once), and the farm's global
/// accounts when there is a global rule.
pub async fn verdicts(
    state: &AppState,
    queue: &QueueConfig,
    rules: &EligibilityRules,
    names: &[&str],
) -> Result<Vec<Verdict>, CheckError> {
    let mut approved = Vec::with_capacity(names.len());
    for name in names {
        approved
            .push(rules.approval != Approval::None && store::approved(&state.store, &queue.id, name).await?);
    }
    let members = match &rules.listed_on {
        Some(title) => {
            Some(state.wiki.user_links(api_url(&state.config, &rules.site)?, title).await?.ok_or_else(
                || CheckError::Config(format!("the members page {title} does not exist on the wiki")),
            )?)
        }
        None => None,
    };
    let shared = Shared { members: members.as_deref(), approved: &approved };
    let mut per_site = Vec::new();
    for site in std::iter::once(&rules.site).chain(&rules.also_sites) {
        per_site.push((site.as_str(), site_verdicts(state, rules, site, names, &shared).await?));
    }
    let mut globals = Vec::with_capacity(names.len());
    if !rules.global_groups_any.is_empty() {
        let central = match &rules.central_api_url {
            Some(url) => url.as_str(),
            None => api_url(&state.config, &rules.site)?,
        };
        for name in names {
            globals.push(state.wiki.global_account(central, name).await?);
        }
    }
    let mut found = Vec::with_capacity(names.len());
    for i in 0..names.len() {
        let on_sites: Vec<judge::OnSite<'_>> = per_site
            .iter()
            .map(|(site, verdicts)| judge::OnSite { site, account: &verdicts[i].0, verdict: &verdicts[i].1 })
            .collect();
        found.push(judge::combine(rules, globals.get(i).and_then(Option::as_ref), approved[i], &on_sites));
    }
    Ok(found)
}

/// The account and the verdict on one wiki, for each of `names`.
async fn site_verdicts(
    state: &AppState,
    rules: &EligibilityRules,
    site: &SiteId,
    names: &[&str],
    known: &Shared<'_>,
) -> Result<Vec<(WikiAccount, Verdict)>, CheckError> {
    let api = api_url(&state.config, site)?;
    let accounts = state.wiki.accounts(api, names).await?;
    let mut found = Vec::with_capacity(names.len());
    for (i, account) in accounts.into_iter().enumerate() {
        let listed = known.members.map(|members| {
            // By the name asked, as the members page names the helper.
            let key = name_key(names[i]);
            members.iter().any(|m| name_key(m) == key)
        });
        let approved = known.approved[i];
        let verdict =
            judge::judge(rules, &Known { account: &account, listed, approved, now_ms: state.now_ms() });
        found.push((account, verdict));
    }
    Ok(found)
}

/// What is the same on every wiki: the members page (read on the queue's `site`, where
/// the team keeps it) and coordinators' approvals.
struct Shared<'a> {
    members: Option<&'a [String]>,
    approved: &'a [bool],
}

/// The verdict on one account for a queue (the `wiki check-helper` command).
pub async fn verdict(state: &AppState, queue: &QueueConfig, name: &str) -> Result<Verdict, CheckError> {
    let Some(rules) = &queue.eligibility else {
        return Ok(Verdict::Eligible(format!("queue {} has no eligibility rules", queue.id)));
    };
    let mut verdicts = verdicts(state, queue, rules, &[name]).await?;
    verdicts.pop().ok_or_else(|| CheckError::Config("no verdict".into()))
}

/// Applies a verdict to a member: suspended (their conversations of the queue go back
/// first) or restored. Whether it changed anything.
async fn apply(
    state: &AppState,
    helper: &crate::domain::HelperId,
    queue: &QueueId,
    verdict: &Verdict,
) -> AppResult<bool> {
    let reason = (!verdict.eligible()).then(|| verdict.reason());
    if reason.is_some() {
        routing::return_owned(state, helper, Some(queue), None, "helper no longer eligible").await?;
    }
    let changed = store::set_suspended(&state.store, helper, queue, reason, state.now_ms()).await?;
    if changed {
        tracing::info!(%helper, %queue, eligible = verdict.eligible(), reason = verdict.reason(), "eligibility changed");
        state.hub.publish_membership(helper);
    }
    Ok(changed)
}

/// Checks every member of every queue with rules; how many memberships changed.
pub async fn recheck_all(state: &AppState) -> AppResult<usize> {
    let mut changed = 0;
    for queue in state.config.queues.iter().filter(|q| q.eligibility.is_some()) {
        changed += recheck_queue(state, queue).await?;
    }
    Ok(changed)
}

async fn recheck_queue(state: &AppState, queue: &QueueConfig) -> AppResult<usize> {
    let Some(rules) = &queue.eligibility else { return Ok(0) };
    let members = store::members(&state.store, &queue.id).await?;
    if members.is_empty() {
        return Ok(0);
    }
    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    let verdicts = match verdicts(state, queue, rules, &names).await {
        Ok(verdicts) => verdicts,
        Err(error) => {
            tracing::warn!(queue = %queue.id, %error, "eligibility not checked; the last decisions stand");
            return Ok(0);
        }
    };
    let mut changed = 0;
    for (member, verdict) in members.iter().zip(&verdicts) {
        if apply(state, &member.helper, &queue.id, verdict).await? {
            changed += 1;
        }
    }
    Ok(changed)
}

/// Checks one helper's queues (at sign-in). A wiki that does not answer leaves them as
/// they were.
pub async fn recheck_helper(state: &AppState, helper: &Helper) -> AppResult<()> {
    let member_of = helper.queues.iter().map(|m| &m.queue).chain(helper.suspended.iter().map(|s| &s.queue));
    for queue_id in member_of {
        let Some(queue) = state.config.queue(queue_id) else { continue };
        if queue.eligibility.is_none() {
            continue;
        }
        match verdict(state, queue, &helper.name).await {
            Ok(verdict) => {
                apply(state, &helper.id, queue_id, &verdict).await?;
            }
            Err(error) => tracing::warn!(queue = %queue_id, %error, "eligibility not checked at sign-in"),
        }
    }
    Ok(())
}

/// Checks every `wiki.recheck_minutes` until shutdown.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    if !state.config.queues.iter().any(|q| q.eligibility.is_some()) {
        return;
    }
    let period = Duration::from_secs(u64::from(state.config.wiki.recheck_minutes) * 60);
    let state = &state;
    crate::clock::every(period, &shutdown, || async move {
        if !state.leadership.leads() {
            return;
        }
        if let Err(error) = recheck_all(state).await {
            tracing::warn!(%error, "eligibility check failed; will retry");
        }
    })
    .await;
}
