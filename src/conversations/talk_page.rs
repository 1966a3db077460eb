//! The move to the requester's talk page, for when help turns interventional and should
//! happen in the open: the owner drafts the opening; the requester sees the exact
//! wikitext in the chat and accepts or declines; only on acceptance does the site's bot
//! post it as a new section of `User talk:NAME`, naming the helper who continues there,
//! and the conversation closes as moved, with the link.
//!
//! Refused, with a reason the requester understands, where a talk page would not be
//! theirs or would not last: a logged-out reader, a name only claimed (not confirmed
//! through the wiki), a temporary account (its talk page expires with it).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::service::{Actor, Change, change_conversation};
use crate::domain::{Conversation, Helper, Outcome, Status};
use crate::error::{AppError, AppResult};
use crate::hub::QueueEventKind;
use crate::state::AppState;
use crate::store::talk_page::{self as store, Move};
use crate::wiki::{Edit, page_url};

const SECTION_CHARS: usize = 120;
const TEXT_CHARS: usize = 4000;

#[derive(Deserialize, ToSchema)]
pub struct Proposal {
    /// The new section's heading.
    pub section_title: String,
    /// The opening, in wikitext; the helper's signature line is added.
    pub text: String,
}

/// A move as each side sees it.
#[derive(Serialize, ToSchema)]
pub struct MoveView {
    /// `proposed`, `declined`, `posting`, `posted` or `failed`.
    pub status: String,
    pub page: String,
    pub section_title: String,
    /// Exactly what will be (or was) posted.
    pub wikitext: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Why posting failed, in the wiki's words (helpers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl MoveView {
    fn of(m: Move, for_helper: bool) -> Self {
        Self {
            status: m.status,
            page: m.page,
            section_title: m.section_title,
            wikitext: m.wikitext,
            url: m.url,
            error: m.error.filter(|_| for_helper),
        }
    }
}

/// Whose talk page it would be: the confirmed name, or why there is none.
async fn talk_page_owner(state: &AppState, c: &Conversation) -> AppResult<String> {
    let refuse =
        |code: &'static str, key: &str| AppError::conflict(code, state.i18n.format(&c.lang, key, &[]));
    let Some(_) = &c.username else { return Err(refuse("logged_out", "helpline-talk-page-logged-out")) };
    if c.username_temporary {
        return Err(refuse("temporary_account", "helpline-talk-page-temporary"));
    }
    match store::verified_name(&state.store, &c.id).await? {
        Some(name) if name.starts_with('~') => {
            Err(refuse("temporary_account", "helpline-talk-page-temporary"))
        }
        Some(name) => Ok(name),
        None => Err(refuse("unverified", "helpline-talk-page-unverified")),
    }
}

/// The owner proposes the move; the requester is shown the exact text.
pub async fn propose(
    state: &AppState,
    helper: &Helper,
    c: &Conversation,
    input: &Proposal,
) -> AppResult<MoveView> {
    if c.status == Status::Closed {
        return Err(AppError::conflict("closed", "This conversation is closed."));
    }
    if c.owner_id.as_ref() != Some(&helper.id) {
        return Err(AppError::conflict("not_owner", "Only the conversation's owner proposes the move."));
    }
    let site = state.config.site(&c.site).ok_or(AppError::NotFound("No such site."))?;
    if site.bot.is_none() {
        return Err(AppError::conflict(
            "no_bot",
            format!("Site {} has no bot account to post with.", site.id),
        ));
    }
    let name = talk_page_owner(state, c).await?;
    let section_title = input.section_title.trim();
    if section_title.is_empty()
        || section_title.chars().count() > SECTION_CHARS
        || section_title.contains(['\n', '\r'])
    {
        return Err(AppError::bad_request(
            "bad_section_title",
            format!("Give a heading of 1 to {SECTION_CHARS} characters on one line."),
        ));
    }
    let text = input.text.trim();
    if text.is_empty() || text.chars().count() > TEXT_CHARS {
        return Err(AppError::bad_request(
            "bad_text",
            format!("Give an opening of 1 to {TEXT_CHARS} characters."),
        ));
    }
    let signature = state.i18n.format(&c.lang, "helpline-talk-page-signature", &[&helper.name]);
    let proposal = Move {
        helper: Some(helper.id.clone()),
        page: format!("User talk:{name}"),
        section_title: section_title.to_string(),
        wikitext: format!("{text}\n\n{signature} ~~~~"),
        status: "proposed".into(),
        url: None,
        error: None,
    };
    if !store::propose(&state.store, &c.id, &proposal, state.now_ms()).await? {
        return Err(AppError::conflict(
            "already_proposed",
            "A move is waiting for the requester's answer, or was made.",
        ));
    }
    let shown = state.i18n.format(
        &c.lang,
        "helpline-system-talk-page-proposed",
        &[&proposal.page, &proposal.section_title, &proposal.wikitext],
    );
    system_message(state, c, Actor::helper(&helper.id), shown, "talk_page_proposed").await?;
    Ok(MoveView::of(proposal, true))
}

async fn system_message(
    state: &AppState,
    c: &Conversation,
    actor: Actor<'_>,
    text: String,
    action: &'static str,
) -> AppResult<Conversation> {
    change_conversation(state, &c.id, actor, |_, _| {
        Ok(Change {
            system_messages: vec![text],
            action,
            detail: serde_json::json!({}),
            queue_event: QueueEventKind::Updated,
        })
    })
    .await
}

/// The proposal as the requester or the helper sees it.
pub async fn view(state: &AppState, c: &Conversation, for_helper: bool) -> AppResult<Option<MoveView>> {
    Ok(store::find_move(&state.store, &c.id).await?.map(|m| MoveView::of(m, for_helper)))
}

/// The requester answers. On acceptance the bot posts the section; the conversation
/// closes as moved to the talk page with its link. A wiki error leaves the conversation
/// open and is shown to the helper; nothing is posted twice.
pub async fn answer(state: &AppState, c: &Conversation, accept: bool) -> AppResult<MoveView> {
    let proposal = store::find_move(&state.store, &c.id).await?.filter(|m| m.status == "proposed");
    let Some(proposal) = proposal else {
        return Err(AppError::conflict("no_proposal", "There is no move waiting for your answer."));
    };
    let now = state.now_ms();
    if !accept {
        if store::answer(&state.store, &c.id, "proposed", "declined", None, None, now).await? {
            let text = state.i18n.format(&c.lang, "helpline-system-talk-page-declined", &[]);
            system_message(state, c, Actor::REQUESTER, text, "talk_page_declined").await?;
        }
        return Ok(MoveView { status: "declined".into(), ..MoveView::of(proposal, false) });
    }
    // Still theirs, and still confirmed: checked again at the moment of posting.
    talk_page_owner(state, c).await?;
    if !store::answer(&state.store, &c.id, "proposed", "posting", None, None, now).await? {
        return Err(AppError::conflict("no_proposal", "There is no move waiting for your answer."));
    }
    let site = state.config.site(&c.site).ok_or(AppError::NotFound("No such site."))?;
    let posted = match state.wiki.bot(site) {
        Ok(bot) => {
            let summary = state.i18n.format(&c.lang, "helpline-talk-page-summary", &[]);
            bot.edit(&Edit {
                title: &proposal.page,
                text: &proposal.wikitext,
                summary: &summary,
                section_title: Some(&proposal.section_title),
                base_revid: None,
            })
            .await
        }
        Err(error) => Err(error),
    };
    let api = site.api_url.as_deref().unwrap_or_default();
    match posted {
        Ok(edited) => {
            let url = page_url(api, &edited.title, Some(&proposal.section_title)).unwrap_or_default();
            store::answer(&state.store, &c.id, "posting", "posted", Some(&url), None, state.now_ms()).await?;
            let text = state.i18n.format(&c.lang, "helpline-system-talk-page-moved", &[&url]);
            let actor = proposal.helper.as_ref().map_or(Actor::SYSTEM, Actor::helper);
            change_conversation(state, &c.id, actor, |c, now| {
                c.close(Outcome::MovedToTalkPage, now);
                Ok(Change {
                    system_messages: vec![text],
                    action: "moved_to_talk_page",
                    detail: serde_json::json!({ "url": url }),
                    queue_event: QueueEventKind::Closed,
                })
            })
            .await?;
            Ok(MoveView { status: "posted".into(), url: Some(url.clone()), ..MoveView::of(proposal, false) })
        }
        Err(error) => {
            tracing::warn!(conversation = %c.id, %error, "the move to the talk page was not posted");
            let words = error.to_string();
            store::answer(&state.store, &c.id, "posting", "failed", None, Some(&words), state.now_ms())
                .await?;
            let text = state.i18n.format(&c.lang, "helpline-system-talk-page-failed", &[]);
            system_message(state, c, Actor::SYSTEM, text, "talk_page_failed").await?;
            Ok(MoveView { status: "failed".into(), ..MoveView::of(proposal, false) })
        }
    }
}
