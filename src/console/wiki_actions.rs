//! Console actions of the wiki panel: naming the account the requester has trouble
//! with, sending the evidence list into the chat, proposing the move to the talk page.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::actions::page_of;
use super::guard::{ConsoleForm, NoFields};
use crate::conversations::conflicts;
use crate::conversations::helper_ops;
use crate::conversations::service::Actor;
use crate::conversations::talk_page::{self, Proposal};
use crate::domain::ConversationId;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct TroubleForm {
    #[serde(default)]
    account: String,
}

/// A helper names the account, on the requester's word.
pub async fn trouble(
    State(state): State<AppState>,
    Path(id): Path<ConversationId>,
    action: ConsoleForm<TroubleForm>,
) -> Response {
    let helper = &action.session.helper;
    let result = async {
        let c = helper_ops::authorize(&state, helper, &id).await?;
        conflicts::name_trouble(&state, &c, &action.form.account, Actor::helper(&helper.id)).await
    }
    .await;
    action.reply.done(&state, result, &page_of(&id))
}

/// The owner sends the evidence list into the chat.
pub async fn send_evidence(
    State(state): State<AppState>,
    Path(id): Path<ConversationId>,
    action: ConsoleForm<NoFields>,
) -> Response {
    let helper = &action.session.helper;
    let result = async {
        let c = helper_ops::authorize(&state, helper, &id).await?;
        conflicts::send_evidence(&state, helper, &c).await.map(drop)
    }
    .await;
    action.reply.done(&state, result, &page_of(&id))
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    section_title: String,
    #[serde(default)]
    text: String,
}

/// The owner proposes the move; the requester sees the exact wikitext and answers.
pub async fn propose_move(
    State(state): State<AppState>,
    Path(id): Path<ConversationId>,
    action: ConsoleForm<MoveForm>,
) -> Response {
    let helper = &action.session.helper;
    let proposal =
        Proposal { section_title: action.form.section_title.clone(), text: action.form.text.clone() };
    let result = async {
        let c = helper_ops::authorize(&state, helper, &id).await?;
        talk_page::propose(&state, helper, &c, &proposal).await.map(drop)
    }
    .await;
    action.reply.done(&state, result, &page_of(&id))
}
