//! Conflicts of interest and the evidence list. The requester (or a helper, on their
//! word) names the account they have trouble with: at once that account is kept away
//! and the conversation is held back from everyone but its owner while the wiki is
//! asked who else edited with it where it touched the requester; those editors are kept
//! away too. A requester may also ask not to be helped by a named helper. A helper kept
//! away who owned the conversation loses it (it goes back to the queue).
//!
//! If the wiki cannot be asked, the conversation is not held back longer: a person
//! waiting matters more; the failure is in the audit trail and on the evidence panel.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use super::helper_ops::{self, HelperMessageInput};
use super::service::{self, Actor, Change, change_conversation};
use crate::domain::time::{DAY_MS, rfc3339};
use crate::domain::{Appended, Conversation, ConversationId, Helper, Role, Status, Username, name_key};
use crate::error::{AppError, AppResult};
use crate::hub::QueueEventKind;
use crate::state::AppState;
use crate::store::{self, trouble};
use crate::wiki::diff_url;
use crate::wiki::evidence::{self, EvidenceEdit, WINDOW_DAYS};

#[derive(Deserialize, ToSchema)]
pub struct TroubleInput {
    /// The wiki account the requester has trouble with.
    pub account: String,
}

#[derive(Deserialize, ToSchema)]
pub struct NotHelpedByInput {
    /// The helper's name as the requester saw it.
    pub helper: String,
}

/// The evidence list as a helper sees it.
#[derive(Serialize, ToSchema)]
pub struct EvidenceView {
    /// The account named; none yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Whose user and talk pages: the verified name, else the claimed one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    pub requester_verified: bool,
    /// The start of the window (RFC 3339).
    pub since: String,
    pub edits: Vec<EvidenceLine>,
    pub truncated: bool,
    /// What the wiki said when it could not be asked (the list is then empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wiki_error: Option<String>,
    /// The conflict check: `checking`, `done` or `failed`.
    pub conflict_check: &'static str,
    /// How many helpers' names are kept away.
    pub kept_away: usize,
    /// The list in wikitext, ready for a noticeboard post.
    pub wikitext: String,
}

#[derive(Serialize, ToSchema)]
pub struct EvidenceLine {
    #[serde(flatten)]
    pub edit: EvidenceEdit,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_url: Option<String>,
}

/// The requester names the account they have trouble with (or a helper does, who can
/// see the conversation, on their word).
pub async fn name_trouble(state: &AppState, c: &Conversation, account: &str, by: Actor<'_>) -> AppResult<()> {
    let account = Username::parse(account)?.into_string();
    if c.status == Status::Closed {
        return Err(AppError::conflict("closed", "This conversation is closed."));
    }
    let named_by = if by.role == Role::Requester { "requester" } else { "helper" };
    if by.role == Role::Requester {
        // Each naming asks the wiki and adds a line to the chat: as often as messages.
        state.limits.message(&c.token_hash)?;
    }
    {
        let mut conn = state.store.write.acquire().await?;
        trouble::name(&mut conn, &c.id, &account, named_by, state.now_ms()).await?;
    }
    let owner = owner_of(state, c).await?;
    change_conversation(state, &c.id, by, |c, _now| {
        c.conflicts.add(&account);
        c.conflicts.set_pending(true);
        let mut messages = vec![state.i18n.format(&c.lang, "helpline-system-trouble-noted", &[&account])];
        let released = release_if_kept_away(state, c, owner.as_ref(), &mut messages);
        Ok(Change {
            system_messages: messages,
            action: "trouble_named",
            detail: serde_json::json!({ "account": account, "by": named_by }),
            queue_event: if released { QueueEventKind::Released } else { QueueEventKind::Updated },
        })
    })
    .await?;
    spawn_check(state, c.id.clone());
    Ok(())
}

/// The requester asks not to be helped by `helper` (as they saw the name).
pub async fn not_helped_by(state: &AppState, c: &Conversation, helper: &str) -> AppResult<()> {
    let name = Username::parse(helper)?.into_string();
    state.limits.message(&c.token_hash)?;
    let owner = owner_of(state, c).await?;
    change_conversation(state, &c.id, Actor::REQUESTER, |c, _now| {
        if c.status == Status::Closed {
            return Err(AppError::conflict("closed", "This conversation is closed."));
        }
        c.conflicts.add(&name);
        let mut messages = vec![state.i18n.format(&c.lang, "helpline-system-not-helped-by", &[&name])];
        let released = release_if_kept_away(state, c, owner.as_ref(), &mut messages);
        Ok(Change {
            system_messages: messages,
            action: "not_helped_by",
            detail: serde_json::json!({ "helper": name }),
            queue_event: if released { QueueEventKind::Released } else { QueueEventKind::Updated },
        })
    })
    .await?;
    Ok(())
}

async fn owner_of(state: &AppState, c: &Conversation) -> AppResult<Option<Helper>> {
    let Some(id) = &c.owner_id else { return Ok(None) };
    let mut conn = state.store.read.acquire().await?;
    Ok(store::helpers::find_by_id(&mut conn, id).await?)
}

/// Back to the queue when its owner is now kept away (checked on the locked row).
fn release_if_kept_away(
    state: &AppState,
    c: &mut Conversation,
    owner: Option<&Helper>,
    messages: &mut Vec<String>,
) -> bool {
    let Some(owner) = owner.filter(|o| c.is_owned_by(&o.id) && o.is_kept_away(&c.conflicts)) else {
        return false;
    };
    tracing::info!(conversation = %c.id, helper = %owner.name, "owner kept away by a conflict of interest");
    c.owner_id = None;
    c.status = Status::Waiting;
    messages.push(state.i18n.format(&c.lang, "helpline-system-returned-conflict", &[]));
    true
}

pub fn spawn_check(state: &AppState, id: ConversationId) {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(error) = check(&state, &id).await {
            tracing::warn!(conversation = %id, %error, "the conflict-of-interest check failed; will retry");
        }
    });
}

/// Asks the wiki who edited with the named account on the pages of the trouble, keeps
/// them away, and lets the conversation be seen again.
pub async fn check(state: &AppState, id: &ConversationId) -> AppResult<()> {
    let Some(named) = trouble::find(&state.store, id).await? else { return Ok(()) };
    let Some(c) = service::find(state, id).await? else { return Ok(()) };
    let (requester, _) = requester_name(state, &c).await?;
    let api_url = state.config.site(&c.site).and_then(|s| s.api_url.clone());
    let found: Result<BTreeSet<String>, String> = match (&api_url, &requester) {
        (None, _) => Err("the site has no wiki API".into()),
        // A logged-out reader has no pages of their own: only the account itself.
        (Some(_), None) => Ok(BTreeSet::new()),
        (Some(api), Some(requester)) => state
            .wiki
            .evidence(api, requester, &named.account, &since(state))
            .await
            .map(|e| e.editors)
            .map_err(|e| e.to_string()),
    };
    let requester_key = requester.as_deref().map(name_key);
    let owner = owner_of(state, &c).await?;
    let error = found.as_ref().err().cloned();
    change_conversation(state, id, Actor::SYSTEM, |c, _now| {
        let mut added = 0;
        for editor in found.iter().flatten() {
            if Some(editor) != requester_key.as_ref() && c.conflicts.add(editor) {
                added += 1;
            }
        }
        let was_held_back = c.conflicts.pending();
        c.conflicts.set_pending(false);
        let mut messages = Vec::new();
        let released = release_if_kept_away(state, c, owner.as_ref(), &mut messages);
        // For the helpers who may see it, a request held back is new now (their ring).
        let queue_event = match (released, was_held_back && c.status == Status::Waiting) {
            (true, _) => QueueEventKind::Released,
            (false, true) => QueueEventKind::New,
            (false, false) => QueueEventKind::Updated,
        };
        Ok(Change {
            system_messages: messages,
            action: if error.is_some() { "conflict_check_failed" } else { "conflict_checked" },
            detail: serde_json::json!({ "account": named.account, "kept_away": added, "error": error }),
            queue_event,
        })
    })
    .await?;
    let mut conn = state.store.write.acquire().await?;
    trouble::checked(&mut conn, id, &named.account, state.now_ms(), error.as_deref()).await?;
    Ok(())
}

/// Runs the checks a stopped server left unfinished, each minute until shutdown.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let state = &state;
    crate::clock::every(Duration::from_secs(60), &shutdown, || async move {
        if !state.leadership.leads() {
            return;
        }
        let stale = trouble::unchecked_before(&state.store, state.now_ms() - 60_000).await;
        for id in stale.unwrap_or_default() {
            if let Err(error) = check(state, &id).await {
                tracing::warn!(conversation = %id, %error, "the conflict-of-interest check failed; will retry");
            }
        }
    })
    .await;
}

fn since(state: &AppState) -> String {
    let from = state.now_ms() - WINDOW_DAYS * DAY_MS;
    rfc3339(from - from.rem_euclid(1000))
}

/// The verified name, else the claimed one; and whether it is verified.
async fn requester_name(state: &AppState, c: &Conversation) -> AppResult<(Option<String>, bool)> {
    Ok(match store::talk_page::verified_name(&state.store, &c.id).await? {
        Some(name) => (Some(name), true),
        None => (c.username.clone(), false),
    })
}

/// The evidence list for the helper, asked of the wiki now.
pub async fn evidence(state: &AppState, c: &Conversation) -> AppResult<EvidenceView> {
    let named = trouble::find(&state.store, &c.id).await?;
    let (requester, requester_verified) = requester_name(state, c).await?;
    let since = since(state);
    let api_url = state.config.site(&c.site).and_then(|s| s.api_url.clone());
    let conflict_check = match &named {
        Some(t) if t.check_error.is_some() => "failed",
        Some(t) if t.checked_at.is_some() => "done",
        Some(_) => "checking",
        None => "done",
    };
    let mut view = EvidenceView {
        account: named.as_ref().map(|t| t.account.clone()),
        requester: requester.clone(),
        requester_verified,
        since: since.clone(),
        edits: Vec::new(),
        truncated: false,
        wiki_error: None,
        conflict_check,
        kept_away: c.conflicts.len(),
        wikitext: String::new(),
    };
    let (Some(named), Some(requester)) = (named, requester) else { return Ok(view) };
    let Some(api) = api_url else {
        view.wiki_error = Some("This site has no wiki API configured.".into());
        return Ok(view);
    };
    match state.wiki.evidence(&api, &requester, &named.account, &since).await {
        Ok(found) => {
            view.wikitext = evidence::as_wikitext(&found.edits);
            view.truncated = found.truncated;
            view.edits = found
                .edits
                .into_iter()
                .map(|edit| EvidenceLine { diff_url: diff_url(&api, edit.revid), edit })
                .collect();
        }
        Err(error) => view.wiki_error = Some(error.to_string()),
    }
    Ok(view)
}

/// Sends the evidence list into the chat, as the helper's message, for the requester
/// to keep or post on a noticeboard.
pub async fn send_evidence(state: &AppState, helper: &Helper, c: &Conversation) -> AppResult<Appended> {
    if !c.is_owned_by(&helper.id) {
        return Err(AppError::conflict(
            "not_owner",
            "Only the helper who owns the conversation sends into it.",
        ));
    }
    let view = evidence(state, c).await?;
    if let Some(error) = view.wiki_error {
        return Err(AppError::conflict("wiki_unavailable", error));
    }
    let account = view.account.ok_or_else(|| AppError::conflict("no_account", "No account was named."))?;
    if view.edits.is_empty() {
        return Err(AppError::conflict("no_evidence", "The wiki shows no such edits in the window."));
    }
    let day = view.since.get(..10).unwrap_or(&view.since);
    let mut text = state.i18n.format(&c.lang, "helpline-evidence-intro", &[&account, day]);
    // As many lines as one message holds, newest first.
    let room = state.config.limits.message_chars;
    for line in view.wikitext.lines() {
        if text.chars().count() + 1 + line.chars().count() > room {
            break;
        }
        text.push('\n');
        text.push_str(line);
    }
    let client_id = format!("evidence-{}", &crate::secrets::new_id()[..12]);
    helper_ops::post(state, helper, c, &HelperMessageInput { client_id, text, internal: false }).await
}
