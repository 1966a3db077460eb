//! The requester's wiki context beside a conversation (`wiki`): fetched
//! by the console script after the page is shown, so a slow wiki never slows the page.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::Ui;
use super::guard::SignedIn;
use super::render::{error_page, render};
use crate::conversations::helper_ops;
use crate::domain::ConversationId;
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
    name: Option<String>,
    temporary: bool,
    known: Known,
    links: Vec<WikiLink>,
}

impl WikiPanel<'_> {
    fn link_label(&self, link: &WikiLink) -> String {
        self.ui.t(link.key)
    }

    /// `2024-05-01T10:00:00Z` → `2024-05-01`.
    fn day<'s>(&self, iso: &'s str) -> &'s str {
        iso.get(..10).unwrap_or(iso)
    }
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
    let api_url = state.config.site(&c.site).and_then(|s| s.api_url.clone());
    let (known, links) = match (&c.username, api_url) {
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
    let panel = WikiPanel { ui, name: c.username.clone(), temporary: c.username_temporary, known, links };
    render(&panel, StatusCode::OK)
}
