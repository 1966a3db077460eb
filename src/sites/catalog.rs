//! A site's canned replies and other teams: the configuration file gives the starting
//! set, and coordinators change it in the console. A change is stored as a row that
//! replaces the file's entry of the same id (and language), adds one, or hides one; the
//! file stays the admin's default, and "restore" drops the row. Read on every use (one
//! indexed query), so every server of a PostgreSQL deployment sees a change at once.

use crate::config::{CannedReply, Config, OtherTeam};
use crate::domain::{Helper, SiteId};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::catalog::{self as rows, Edit};

/// An entry as the coordinators' page lists it.
pub struct Entry<T> {
    pub item: T,
    /// The configuration file has an entry of this id (and language).
    pub in_file: bool,
    /// Changed or added in the console.
    pub edited: bool,
}

/// Lays the console's edits over the file's entries: same key replaced (or hidden), new
/// keys appended in the order they were added.
fn overlay<T: Clone, K: PartialEq>(file: &[T], edits: Vec<Edit<T>>, key: impl Fn(&T) -> K) -> Vec<Entry<T>> {
    let mut entries: Vec<Entry<T>> =
        file.iter().map(|item| Entry { item: item.clone(), in_file: true, edited: false }).collect();
    for edit in edits {
        let k = key(&edit.item);
        match entries.iter().position(|e| key(&e.item) == k) {
            Some(i) if edit.removed => {
                entries.remove(i);
            }
            Some(i) => {
                entries[i].item = edit.item;
                entries[i].edited = true;
            }
            None if edit.removed => {}
            None => entries.push(Entry { item: edit.item, in_file: false, edited: true }),
        }
    }
    entries
}

fn file_replies<'a>(config: &'a Config, site: &SiteId) -> &'a [CannedReply] {
    config.site(site).map_or(&[], |s| s.canned_replies.as_slice())
}

fn file_teams<'a>(config: &'a Config, site: &SiteId) -> &'a [OtherTeam] {
    config.site(site).map_or(&[], |s| s.other_teams.as_slice())
}

/// Every canned reply of a site in every language, for the coordinators' page.
pub async fn all_replies(state: &AppState, site: &SiteId) -> AppResult<Vec<Entry<CannedReply>>> {
    let edits = rows::reply_edits(&state.store, site).await?;
    let mut entries = overlay(file_replies(&state.config, site), edits, |r| (r.id.clone(), r.lang.clone()));
    entries.sort_by(|a, b| (&a.item.id, &a.item.lang).cmp(&(&b.item.id, &b.item.lang)));
    Ok(entries)
}

/// A site's canned replies for a conversation in `lang`: each reply once, in `lang`
/// where it exists, else in the site's language, else in the first language it has.
pub async fn replies_for(state: &AppState, site: &SiteId, lang: &str) -> AppResult<Vec<CannedReply>> {
    let site_lang = state.config.site(site).map_or("en", |s| s.language.as_str());
    let edits = rows::reply_edits(&state.store, site).await?;
    let all = overlay(file_replies(&state.config, site), edits, |r| (r.id.clone(), r.lang.clone()));
    let mut chosen = choose_language(all.into_iter().map(|e| e.item), lang, site_lang);
    if let Some(config) = state.config.site(site) {
        for reply in &mut chosen {
            reply.text = fill_policies(&reply.text, config);
        }
    }
    Ok(chosen)
}

/// `{{policy:KEY}}` in a canned reply becomes the address of this wiki's own page of
/// that policy (`policies.KEY`), so one reply serves every wiki of a farm. A key the
/// site does not map stays as written: the helper sees what is missing.
pub fn fill_policies(text: &str, site: &crate::config::SiteConfig) -> String {
    const OPEN: &str = "{{policy:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let key = after[..end].trim();
        let filled = site.policies.get(key).map(|title| match &site.api_url {
            Some(api) => crate::wiki::page_url(api, title, None).unwrap_or_else(|| title.clone()),
            None => title.clone(),
        });
        match filled {
            Some(link) => out.push_str(&link),
            None => out.push_str(&rest[start..start + OPEN.len() + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn choose_language(
    replies: impl Iterator<Item = CannedReply>,
    lang: &str,
    site_lang: &str,
) -> Vec<CannedReply> {
    let base = |l: &str| l.split('-').next().unwrap_or(l).to_ascii_lowercase();
    let rank = |r: &CannedReply| {
        if base(&r.lang) == base(lang) {
            0
        } else if base(&r.lang) == base(site_lang) {
            1
        } else {
            2
        }
    };
    let mut chosen: Vec<CannedReply> = Vec::new();
    for reply in replies {
        match chosen.iter_mut().find(|c| c.id == reply.id) {
            Some(current) if rank(&reply) < rank(current) => *current = reply,
            Some(_) => {}
            None => chosen.push(reply),
        }
    }
    chosen
}

/// A site's other teams with the console's changes, for the coordinators' page.
pub async fn all_teams(state: &AppState, site: &SiteId) -> AppResult<Vec<Entry<OtherTeam>>> {
    let edits = rows::team_edits(&state.store, site).await?;
    Ok(overlay(file_teams(&state.config, site), edits, |t| t.id.clone()))
}

/// The other teams a requester is shown and a helper may redirect to.
pub async fn other_teams(state: &AppState, site: &SiteId) -> AppResult<Vec<OtherTeam>> {
    Ok(all_teams(state, site).await?.into_iter().map(|e| e.item).collect())
}

pub async fn other_team(state: &AppState, site: &SiteId, id: &str) -> AppResult<Option<OtherTeam>> {
    Ok(other_teams(state, site).await?.into_iter().find(|t| t.id == id))
}

/// The sites whose queue `helper` coordinates: whose catalog they may change.
pub fn editable_sites<'c>(config: &'c Config, helper: &Helper) -> Vec<&'c crate::config::SiteConfig> {
    config.sites.iter().filter(|s| helper.coordinates(&s.queue)).collect()
}

/// Stores a reply (new, or replacing the one of the same id and language).
pub async fn save_reply(state: &AppState, site: &SiteId, reply: &CannedReply, by: &Helper) -> AppResult<()> {
    reply.check().map_err(|problem| AppError::bad_request("invalid_reply", problem))?;
    rows::save_reply(&state.store, site, reply, &by.id, state.now_ms()).await?;
    Ok(())
}

/// Hides a reply: the file's stays hidden by a row; one added in the console is deleted.
pub async fn remove_reply(
    state: &AppState,
    site: &SiteId,
    id: &str,
    lang: &str,
    by: &Helper,
) -> AppResult<()> {
    if file_replies(&state.config, site).iter().any(|r| r.id == id && r.lang == lang) {
        rows::hide_reply(&state.store, site, id, lang, &by.id, state.now_ms()).await?;
        return Ok(());
    }
    if !rows::delete_reply_edit(&state.store, site, id, lang).await? {
        return Err(AppError::NotFound("No such canned reply."));
    }
    Ok(())
}

/// Drops the console's change to one of the file's replies, so the file's shows again.
pub async fn restore_reply(state: &AppState, site: &SiteId, id: &str, lang: &str) -> AppResult<()> {
    rows::delete_reply_edit(&state.store, site, id, lang).await?;
    Ok(())
}

/// Stores a team (new, or replacing the one of the same id).
pub async fn save_team(state: &AppState, site: &SiteId, team: &OtherTeam, by: &Helper) -> AppResult<()> {
    team.check().map_err(|problem| AppError::bad_request("invalid_team", problem))?;
    rows::save_team(&state.store, site, team, &by.id, state.now_ms()).await?;
    Ok(())
}

/// Hides a team from requesters and from the redirect choice. Conversations already
/// redirected to it keep its name in their history.
pub async fn remove_team(state: &AppState, site: &SiteId, id: &str, by: &Helper) -> AppResult<()> {
    if file_teams(&state.config, site).iter().any(|t| t.id == id) {
        rows::hide_team(&state.store, site, id, &by.id, state.now_ms()).await?;
        return Ok(());
    }
    if !rows::delete_team_edit(&state.store, site, id).await? {
        return Err(AppError::NotFound("No such team."));
    }
    Ok(())
}

pub async fn restore_team(state: &AppState, site: &SiteId, id: &str) -> AppResult<()> {
    rows::delete_team_edit(&state.store, site, id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(id: &str, lang: &str, title: &str) -> CannedReply {
        CannedReply { id: id.into(), lang: lang.into(), title: title.into(), text: "t".into(), link: None }
    }

    #[test]
    fn edits_replace_add_and_hide() {
        let file = [reply("a", "en", "A"), reply("b", "en", "B"), reply("a", "de", "A-de")];
        let edits = vec![
            Edit { item: reply("b", "en", "B2"), removed: false },
            Edit { item: reply("a", "de", "-"), removed: true },
            Edit { item: reply("c", "en", "C"), removed: false },
        ];
        let out = overlay(&file, edits, |r| (r.id.clone(), r.lang.clone()));
        let titles: Vec<_> = out.iter().map(|e| (e.item.title.as_str(), e.in_file, e.edited)).collect();
        assert_eq!(titles, [("A", true, false), ("B2", true, true), ("C", false, true)]);
    }

    #[test]
    fn the_conversation_language_wins_then_the_site_language() {
        let all = vec![
            reply("a", "fr", "fr"),
            reply("a", "en", "en"),
            reply("a", "de", "de"),
            reply("b", "fr", "b"),
        ];
        let titles = |lang: &str| {
            choose_language(all.clone().into_iter(), lang, "en")
                .into_iter()
                .map(|r| r.title)
                .collect::<Vec<_>>()
        };
        assert_eq!(titles("de-at"), ["de", "b"]);
        assert_eq!(titles("he"), ["en", "b"]);
        assert_eq!(titles("fr"), ["fr", "b"]);
    }

    #[test]
    fn policy_keys_become_each_wiki_s_own_page() {
        let mut site = crate::demo::demo_site(vec![]);
        site.api_url = Some("https://de.wikipedia.org/w/api.php".into());
        site.policies.insert("civility".into(), "Wikipedia:Wikiquette".into());
        assert_eq!(
            fill_policies("See {{policy:civility}} and {{policy:npa}}, or {{policy:civility", &site),
            "See https://de.wikipedia.org/w/index.php?title=Wikipedia%3AWikiquette and {{policy:npa}}, or {{policy:civility"
        );
        site.api_url = None;
        assert_eq!(
            fill_policies("{{ policy:civility}}", &site),
            "{{ policy:civility}}",
            "written exactly or not at all"
        );
        assert_eq!(fill_policies("{{policy: civility }}!", &site), "Wikipedia:Wikiquette!");
    }
}
