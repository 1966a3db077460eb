//! The evidence list: what the account a requester has trouble with did, lately, where
//! it touches them — on their user and talk pages, and on pages where it edited right
//! after them — with diff links, from the wiki's public record only. Also who else
//! edited those pages meanwhile, for the conflicts of interest.
//!
//! Bounded: the account's last `MAX_CONTRIBUTIONS` edits in the window, the editors of
//! at most `MAX_PAGES` pages.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::api::{Api, WikiError};
use crate::domain::name_key;

pub const WINDOW_DAYS: i64 = 30;
const MAX_CONTRIBUTIONS: &str = "500";
const MAX_PAGES: usize = 20;
/// `revids` takes 50 at a time for everyone (500 only for bots).
const REVIDS_PER_CALL: usize = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// On the requester's user page (or a subpage).
    UserPage,
    /// On the requester's talk page (or a subpage).
    TalkPage,
    /// The edit right before it, on that page, was the requester's.
    AfterRequester,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct EvidenceEdit {
    pub title: String,
    pub revid: i64,
    /// RFC 3339, as the wiki gave it.
    pub timestamp: String,
    /// The edit summary, as public on the wiki.
    pub comment: String,
    pub why: Why,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
pub struct Evidence {
    /// Newest first.
    pub edits: Vec<EvidenceEdit>,
    /// The account made more edits in the window than were read.
    pub truncated: bool,
    /// Everyone who edited the pages of `edits` in the window (name keys), the account
    /// and the requester included: the candidates for conflicts of interest.
    #[serde(skip)]
    pub editors: BTreeSet<String>,
}

/// A contribution of the account, as `list=usercontribs` gives it.
#[derive(Clone, Debug, PartialEq)]
struct Contribution {
    ns: i64,
    title: String,
    revid: i64,
    parentid: i64,
    timestamp: String,
    comment: String,
}

/// Gathers the evidence of `account` towards `requester` since `since` (RFC 3339).
pub async fn gather(
    api: &Api<'_>,
    requester: &str,
    account: &str,
    since: &str,
) -> Result<Evidence, WikiError> {
    let answer = api
        .get(&[
            ("action", "query"),
            ("list", "usercontribs"),
            ("ucuser", account),
            ("ucend", since),
            ("uclimit", MAX_CONTRIBUTIONS),
            ("ucprop", "ids|title|timestamp|comment"),
        ])
        .await?;
    let (contributions, truncated) = parse_contributions(&answer)?;
    let requester_key = name_key(requester);
    let mut edits = Vec::new();
    let mut others = Vec::new();
    for c in contributions {
        match own_page(&c, &requester_key) {
            Some(why) => edits.push(edit(c, why)),
            None if c.parentid > 0 => others.push(c),
            None => {}
        }
    }
    let parents: Vec<i64> = others.iter().map(|c| c.parentid).collect();
    let authors = parent_authors(api, &parents).await?;
    for c in others {
        if authors.get(&c.parentid).is_some_and(|a| name_key(a) == requester_key) {
            edits.push(edit(c, Why::AfterRequester));
        }
    }
    edits.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then(b.revid.cmp(&a.revid)));
    let mut editors = BTreeSet::new();
    let titles: BTreeSet<&str> = edits.iter().map(|e| e.title.as_str()).collect();
    for title in titles.into_iter().take(MAX_PAGES) {
        editors.extend(page_editors(api, title, since).await?);
    }
    Ok(Evidence { edits, truncated, editors })
}

fn edit(c: Contribution, why: Why) -> EvidenceEdit {
    EvidenceEdit { title: c.title, revid: c.revid, timestamp: c.timestamp, comment: c.comment, why }
}

/// Whether the contribution is on the requester's user or talk page (or a subpage):
/// by namespace number, so that a wiki's own namespace names do not matter.
fn own_page(c: &Contribution, requester_key: &str) -> Option<Why> {
    let why = match c.ns {
        2 => Why::UserPage,
        3 => Why::TalkPage,
        _ => return None,
    };
    let name = c.title.split_once(':').map_or(c.title.as_str(), |(_, n)| n);
    let owner = name.split('/').next().unwrap_or(name);
    (name_key(owner) == requester_key).then_some(why)
}

fn parse_contributions(answer: &Value) -> Result<(Vec<Contribution>, bool), WikiError> {
    let list = answer
        .pointer("/query/usercontribs")
        .and_then(Value::as_array)
        .ok_or_else(|| WikiError::BadAnswer("no usercontribs in the answer".into()))?;
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let number = |v: &Value, k: &str| v.get(k).and_then(Value::as_i64).unwrap_or_default();
    let contributions = list
        .iter()
        .map(|v| Contribution {
            ns: number(v, "ns"),
            title: text(v, "title"),
            revid: number(v, "revid"),
            parentid: number(v, "parentid"),
            timestamp: text(v, "timestamp"),
            comment: text(v, "comment"),
        })
        .collect();
    Ok((contributions, answer.get("continue").is_some()))
}

/// Who made each of these revisions (hidden users and deleted revisions are left out).
async fn parent_authors(api: &Api<'_>, revids: &[i64]) -> Result<HashMap<i64, String>, WikiError> {
    let mut authors = HashMap::new();
    for chunk in revids.chunks(REVIDS_PER_CALL) {
        let ids: Vec<String> = chunk.iter().map(i64::to_string).collect();
        let joined = ids.join("|");
        let answer = api
            .get(&[("action", "query"), ("prop", "revisions"), ("revids", &joined), ("rvprop", "ids|user")])
            .await?;
        authors.extend(parse_revision_users(&answer).into_iter().map(|(id, _, user)| (id, user)));
    }
    Ok(authors)
}

/// `(revid, title, user)` of every revision in a `prop=revisions` answer.
fn parse_revision_users(answer: &Value) -> Vec<(i64, String, String)> {
    let mut found = Vec::new();
    for page in answer.pointer("/query/pages").and_then(Value::as_array).into_iter().flatten() {
        let title = page.get("title").and_then(Value::as_str).unwrap_or_default();
        for rev in page.get("revisions").and_then(Value::as_array).into_iter().flatten() {
            let (Some(id), Some(user)) =
                (rev.get("revid").and_then(Value::as_i64), rev.get("user").and_then(Value::as_str))
            else {
                continue;
            };
            found.push((id, title.to_string(), user.to_string()));
        }
    }
    found
}

/// Everyone who edited `title` since `since` (its last 500 revisions at most).
async fn page_editors(api: &Api<'_>, title: &str, since: &str) -> Result<BTreeSet<String>, WikiError> {
    let answer = api
        .get(&[
            ("action", "query"),
            ("prop", "revisions"),
            ("titles", title),
            ("rvprop", "ids|user"),
            ("rvend", since),
            ("rvlimit", "max"),
        ])
        .await?;
    Ok(parse_revision_users(&answer).into_iter().map(|(_, _, user)| name_key(&user)).collect())
}

/// The edits as wikitext lines, ready for a noticeboard post: `[[Special:Diff/N]]`
/// works on every wiki, whatever its language.
pub fn as_wikitext(edits: &[EvidenceEdit]) -> String {
    edits
        .iter()
        .map(|e| {
            let when = e.timestamp.replace('T', " ").trim_end_matches('Z').to_string();
            let comment = if e.comment.is_empty() {
                String::new()
            } else {
                // A summary could close the nowiki or open a template; it is shown, not run.
                format!(" <nowiki>{}</nowiki>", e.comment.replace('<', "&lt;"))
            };
            format!(
                "* [[Special:Diff/{}]] [[:{}]] {} UTC{comment}",
                e.revid,
                e.title,
                when.get(..16).unwrap_or(&when)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Recorded from MediaWiki 1.39's `list=usercontribs` (formatversion 2), cut down.
    fn contributions() -> Value {
        json!({"batchcomplete":true,"continue":{"uccontinue":"20261130100000|41","continue":"-||"},
        "query":{"usercontribs":[
          {"userid":7,"user":"Mallory","pageid":12,"revid":44,"parentid":43,"ns":3,"title":"User talk:Alice","timestamp":"2026-11-30T10:05:00Z","comment":"you again"},
          {"userid":7,"user":"Mallory","pageid":13,"revid":42,"parentid":0,"ns":2,"title":"User:Alice/Drafts","timestamp":"2026-11-30T10:03:00Z","comment":""},
          {"userid":7,"user":"Mallory","pageid":14,"revid":41,"parentid":40,"ns":0,"title":"Rivers","timestamp":"2026-11-30T10:00:00Z","comment":"revert"},
          {"userid":7,"user":"Mallory","pageid":15,"revid":39,"parentid":0,"ns":0,"title":"Lakes","timestamp":"2026-11-29T10:00:00Z","comment":"new"}
        ]}})
    }

    #[test]
    fn sorts_contributions_by_where_they_touch_the_requester() {
        let (list, truncated) = parse_contributions(&contributions()).unwrap();
        assert!(truncated, "a continue means more edits than were read");
        let whys: Vec<Option<Why>> = list.iter().map(|c| own_page(c, "Alice")).collect();
        assert_eq!(whys, [Some(Why::TalkPage), Some(Why::UserPage), None, None]);
        assert_eq!(own_page(&list[0], "Alicia"), None, "someone else's talk page");
        assert!(parse_contributions(&json!({"error":{}})).is_err());
    }

    #[test]
    fn reads_revision_authors_and_skips_hidden_ones() {
        let answer = json!({"query":{"pages":[{"pageid":14,"ns":0,"title":"Rivers","revisions":[
            {"revid":40,"parentid":38,"user":"Alice"},{"revid":38,"parentid":0,"userhidden":true}]}]}});
        assert_eq!(parse_revision_users(&answer), vec![(40, "Rivers".to_string(), "Alice".to_string())]);
    }

    #[test]
    fn wikitext_keeps_summaries_inert() {
        let edits = [EvidenceEdit {
            title: "User talk:Alice".into(),
            revid: 44,
            timestamp: "2026-11-30T10:05:00Z".into(),
            comment: "{{die}} </nowiki><script>".into(),
            why: Why::TalkPage,
        }];
        assert_eq!(
            as_wikitext(&edits),
            "* [[Special:Diff/44]] [[:User talk:Alice]] 2026-11-30 10:05 UTC <nowiki>{{die}} &lt;/nowiki>&lt;script></nowiki>"
        );
    }
}
