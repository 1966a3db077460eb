//! A conversation's page: its messages and notes as a helper sees them, and what the
//! helper can do — claim, answer with canned replies, note, hand over, redirect to
//! another team, block, close.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::Ui;
use super::guard::SignedIn;
use super::render::{LangQuery, error_page, render};
use crate::config::{CannedReply, OtherTeam};
use crate::conversations::helper_ops::{self, HelperView};
use crate::domain::time::rfc3339;
use crate::domain::{Conversation, ConversationId, Helper, HelperMessage, QueueId, Role, Status};
use crate::error::AppError;
use crate::sites::catalog;
use crate::state::AppState;
use crate::store::outbox::MailState;

#[derive(Template)]
#[template(path = "console/conversation.html")]
struct ConversationPage<'a> {
    ui: Ui<'a>,
    config: &'a crate::config::Config,
    c: HelperView,
    site_name: String,
    mine: bool,
    owned_by_other: bool,
    closed: bool,
    client_id: String,
    colleagues: Vec<String>,
    other_queues: Vec<(QueueId, String)>,
    teams: Vec<OtherTeam>,
    replies: Vec<CannedReply>,
    /// Other helpers with this conversation open now.
    viewers: Vec<String>,
    /// When the block on this requester ends (RFC 3339), if one is in force.
    blocked_until: Option<String>,
}

/// What the page shows besides the conversation's own view.
struct Loaded {
    c: Conversation,
    view: HelperView,
    colleagues: Vec<String>,
    blocked_until: Option<i64>,
    teams: Vec<OtherTeam>,
    replies: Vec<CannedReply>,
}

async fn load(state: &AppState, helper: &Helper, id: &ConversationId) -> Result<Loaded, AppError> {
    let c = helper_ops::authorize(state, helper, id).await?;
    let view = helper_ops::view(state, helper, &c, 0).await?;
    let blocked_until = crate::blocks::blocked_until(state, &c).await?;
    let colleagues = crate::helpers::list(&state.store)
        .await?
        .into_iter()
        .filter(|h| h.is_member(&c.queue) && h.id != helper.id)
        .map(|h| h.name)
        .collect();
    let teams = catalog::other_teams(state, &c.site).await?;
    let replies = catalog::replies_for(state, &c.site, &c.lang).await?;
    Ok(Loaded { c, view, colleagues, blocked_until, teams, replies })
}

pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    Path(id): Path<ConversationId>,
    Query(q): Query<LangQuery>,
) -> Response {
    let ui = Ui::signed_in(&state, &headers, &session, q.uselang.as_deref());
    let helper = &session.helper;
    let Loaded { c, view, colleagues, blocked_until, teams, replies } = match load(&state, helper, &id).await
    {
        Ok(loaded) => loaded,
        Err(e) => return error_page(&state, &headers, &e, Some("/console".into())),
    };
    let page = ConversationPage {
        config: &state.config,
        site_name: state.config.site(&c.site).map_or_else(|| c.site.to_string(), |s| s.name.clone()),
        mine: c.is_owned_by(&helper.id),
        owned_by_other: c.owner_id.as_ref().is_some_and(|o| *o != helper.id),
        closed: c.status == Status::Closed,
        client_id: crate::secrets::new_id(),
        colleagues,
        other_queues: state
            .config
            .queues
            .iter()
            .filter(|q| q.id != c.queue)
            .map(|q| (q.id.clone(), q.name.clone()))
            .collect(),
        teams,
        replies,
        viewers: state.viewers.of(&c.id).into_iter().filter(|name| *name != helper.name).collect(),
        blocked_until: blocked_until.map(rfc3339),
        c: view,
        ui,
    };
    render(&page, StatusCode::OK)
}

impl ConversationPage<'_> {
    /// How a message's author is labelled: internal notes say so in their label too, not
    /// only in their colour.
    fn label(&self, m: &HelperMessage) -> String {
        let name = m.author_name.as_deref().unwrap_or("");
        match (m.author_role, m.internal) {
            (Role::Requester, _) => self.ui.t("helpline-console-requester"),
            (Role::System, _) => self.ui.t("helpline-console-system"),
            (Role::Helper, true) => self.ui.t1("helpline-console-note-by", name),
            (Role::Helper, false) => name.to_string(),
        }
    }

    fn status_label(&self) -> String {
        self.ui.t(&format!("helpline-console-status-{}", self.c.status.as_str()))
    }

    fn mail_label(&self, state: &MailState) -> String {
        self.ui.t(match state {
            MailState::Sent => "helpline-console-mail-sent",
            MailState::Pending => "helpline-console-mail-pending",
            MailState::Failed => "helpline-console-mail-failed",
        })
    }
}
