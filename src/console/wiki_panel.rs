//! The requester's wiki context beside a conversation: who is asking (claimed or
//! confirmed name, temporary account and when it expires, age, edits, groups, blocks,
//! links), the account they have trouble with and its evidence list, and the move to
//! their talk page. Fetched by the console script after the page is shown, so a slow
//! wiki never slows the page.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::Ui;
use super::guard::SignedIn;
use super::render::{error_page, render};
use crate::conversations::conflicts::{self, EvidenceView};
use crate::conversations::helper_ops;
use crate::conversations::talk_page::{self, MoveView};
use crate::domain::time::{DAY_MS, rfc3339};
use crate::domain::{ConversationId, Status};
use crate::state::AppState;
use crate::wiki::{self, WikiAccount, WikiLink};

pub enum Known {
    /// Logged out, or the widget was not told a name.
    NoName,
    /// The site has no `api_url`: only the claimed name.
    NoWiki,
    /// The wiki did not answer (or not as an Action API would).
    Unreachable,
    Found(WikiAccount),
}

#[derive(Template)]
#[template(path = "console/wiki_context.html")]
struct WikiPanel<'a> {
    ui: Ui<'a>,
    id: ConversationId,
    name: Option<String>,
    /// The name was confirmed through the wiki's OAuth ("Confirm it's you").
    verified: bool,
    temporary: bool,
    /// When a temporary account expires (with its talk page), if its start is known.
    expires: Option<String>,
    known: Known,
    links: Vec<WikiLink>,
    evidence: EvidenceView,
    owner: bool,
    open: bool,
    can_move: bool,
    talk_page: Option<MoveView>,
    now_ms: i64,
}

impl WikiPanel<'_> {
    fn link_label(&self, link: &WikiLink) -> String {
        self.ui.t(link.key)
    }

    /// `2024-05-01T10:00:00Z` → `2024-05-01`.
    fn day<'s>(&self, iso: &'s str) -> &'s str {
        iso.get(..10).unwrap_or(iso)
    }

    /// Whole days since an ISO 8601 time, for "registered 40 days ago".
    fn days_since(&self, iso: &str) -> i64 {
        parse_ms(iso).map_or(0, |at| (self.now_ms - at).max(0) / DAY_MS)
    }
}

fn parse_ms(iso: &str) -> Option<i64> {
    let at = time::OffsetDateTime::parse(iso, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    Path(id): Path<ConversationId>,
) -> Response {
    let ui = Ui::signed_in(&state, &headers, &session, None);
    let c = match helper_ops::authorize(&state, &session.helper, &id).await {
        Ok(c) => c,
        Err(e) => return error_page(&state, &headers, &e, Some("/console".into())),
    };
    let site = state.config.site(&c.site);
    let api_url = site.and_then(|s| s.api_url.clone());
    let verified_name = crate::store::talk_page::verified_name(&state.store, &c.id).await.ok().flatten();
    let name = verified_name.clone().or_else(|| c.username.clone());
    let (known, links) = match (&name, api_url) {
        (None, _) => (Known::NoName, Vec::new()),
        (Some(_), None) => (Known::NoWiki, Vec::new()),
        (Some(name), Some(api)) => {
            let known = match state.wiki.account(&api, name).await {
                Ok(account) => Known::Found(account),
                Err(error) => {
                    tracing::warn!(site = %c.site, %error, "the wiki did not answer about an account");
                    Known::Unreachable
                }
            };
            (known, wiki::links(&api, name))
        }
    };
    let days = site.map_or(90, |s| s.temporary_account_days);
    let expires = match (&known, c.username_temporary) {
        (Known::Found(account), true) => account
            .facts
            .as_ref()
            .and_then(|f| f.registered.as_deref())
            .and_then(parse_ms)
            .map(|at| rfc3339(at + i64::from(days) * DAY_MS)),
        _ => None,
    };
    let evidence = match conflicts::evidence(&state, &c).await {
        Ok(view) => view,
        Err(e) => return error_page(&state, &headers, &e, Some("/console".into())),
    };
    let talk_page = talk_page::view(&state, &c, true).await.ok().flatten();
    let panel = WikiPanel {
        ui,
        id: c.id.clone(),
        name,
        verified: verified_name.is_some(),
        temporary: c.username_temporary,
        expires,
        known,
        links,
        evidence,
        owner: c.is_owned_by(&session.helper.id),
        open: c.status != Status::Closed,
        can_move: site.is_some_and(|s| s.bot.is_some()),
        talk_page,
        now_ms: state.now_ms(),
    };
    render(&panel, StatusCode::OK)
}

trait WhyKey {
    fn why_key(&self) -> &'static str;
}

impl WhyKey for crate::conversations::conflicts::EvidenceLine {
    /// The label of why an edit is on the list.
    fn why_key(&self) -> &'static str {
        match self.edit.why {
            wiki::evidence::Why::UserPage => "helpline-console-evidence-user-page",
            wiki::evidence::Why::TalkPage => "helpline-console-evidence-talk-page",
            wiki::evidence::Why::AfterRequester => "helpline-console-evidence-after",
        }
    }
}
