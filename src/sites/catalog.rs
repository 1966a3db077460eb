//! A site's canned replies and other teams: the configuration file gives the starting
//! set, and coordinators change it in the console. A change is stored as a row that
//! replaces the file's entry of the same id (and language), adds one, or hides one; the
//! file stays the admin's default, and "restore" drops the row. Read on every use (one
//! indexed query), so every server of a PostgreSQL deployment sees a change at once.

use sqlx::Row;

use crate::config::{CannedReply, Config, OtherTeam};
use crate::error::{AppError, AppResult};
use crate::store::{Store, now_ms};

/// An entry as the coordinators' page lists it.
pub struct Entry<T> {
    pub item: T,
    /// The configuration file has an entry of this id (and language).
    pub in_file: bool,
    /// Changed or added in the console.
    pub edited: bool,
}

struct Edit<T> {
    item: T,
    removed: bool,
}

/// Lays the console's edits over the file's entries: same key replaced (or hidden), new
/// keys appended in the order they were added.
fn overlay<T: Clone, K: PartialEq>(file: &[T], edits: Vec<Edit<T>>, key: impl Fn(&T) -> K) -> Vec<Entry<T>> {
    let mut entries: Vec<Entry<T>> = Vec::new();
    let mut hidden: Vec<K> = Vec::new();
    for item in file {
        entries.push(Entry { item: item.clone(), in_file: true, edited: false });
    }
    for edit in edits {
        let k = key(&edit.item);
        match entries.iter().position(|e| key(&e.item) == k) {
            Some(i) if edit.removed => {
                entries.remove(i);
                hidden.push(k);
            }
            Some(i) => {
                entries[i].item = edit.item;
                entries[i].edited = true;
            }
            None if edit.removed => hidden.push(k),
            None => entries.push(Entry { item: edit.item, in_file: false, edited: true }),
        }
    }
    entries
}

async fn reply_edits(store: &Store, site: &str) -> AppResult<Vec<Edit<CannedReply>>> {
    let rows = sqlx::query(
        "SELECT reply_id, lang, title, text, link, removed FROM canned_reply_edits \
         WHERE site = $1 ORDER BY updated_at, reply_id, lang",
    )
    .bind(site)
    .fetch_all(&store.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Edit {
                item: CannedReply {
                    id: r.try_get("reply_id")?,
                    lang: r.try_get("lang")?,
                    title: r.try_get("title")?,
                    text: r.try_get("text")?,
                    link: r.try_get("link")?,
                },
                removed: r.try_get::<i64, _>("removed")? != 0,
            })
        })
        .collect::<sqlx::Result<_>>()
        .map_err(Into::into)
}

async fn team_edits(store: &Store, site: &str) -> AppResult<Vec<Edit<OtherTeam>>> {
    let rows = sqlx::query(
        "SELECT team_id, label, description, link, email, removed FROM other_team_edits \
         WHERE site = $1 ORDER BY updated_at, team_id",
    )
    .bind(site)
    .fetch_all(&store.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Edit {
                item: OtherTeam {
                    id: r.try_get("team_id")?,
                    label: r.try_get("label")?,
                    description: r.try_get("description")?,
                    link: r.try_get("link")?,
                    email: r.try_get("email")?,
                },
                removed: r.try_get::<i64, _>("removed")? != 0,
            })
        })
        .collect::<sqlx::Result<_>>()
        .map_err(Into::into)
}

fn file_replies<'a>(config: &'a Config, site: &str) -> &'a [CannedReply] {
    config.site(site).map_or(&[], |s| s.canned_replies.as_slice())
}

fn file_teams<'a>(config: &'a Config, site: &str) -> &'a [OtherTeam] {
    config.site(site).map_or(&[], |s| s.other_teams.as_slice())
}

/// Every canned reply of a site in every language, for the coordinators' page.
pub async fn all_replies(store: &Store, config: &Config, site: &str) -> AppResult<Vec<Entry<CannedReply>>> {
    let mut entries = overlay(file_replies(config, site), reply_edits(store, site).await?, |r| {
        (r.id.clone(), r.lang.clone())
    });
    entries.sort_by(|a, b| (&a.item.id, &a.item.lang).cmp(&(&b.item.id, &b.item.lang)));
    Ok(entries)
}

/// A site's canned replies for a conversation in `lang`: each reply once, in `lang`
/// where it exists, else in the site's language, else in the first language it has.
pub async fn replies_for(
    store: &Store,
    config: &Config,
    site: &str,
    lang: &str,
) -> AppResult<Vec<CannedReply>> {
    let site_lang = config.site(site).map_or("en", |s| s.language.as_str());
    let all = overlay(file_replies(config, site), reply_edits(store, site).await?, |r| {
        (r.id.clone(), r.lang.clone())
    });
    Ok(choose_language(all.into_iter().map(|e| e.item), lang, site_lang))
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
pub async fn all_teams(store: &Store, config: &Config, site: &str) -> AppResult<Vec<Entry<OtherTeam>>> {
    Ok(overlay(file_teams(config, site), team_edits(store, site).await?, |t| t.id.clone()))
}

/// The other teams a requester is shown and a helper may redirect to.
pub async fn other_teams(store: &Store, config: &Config, site: &str) -> AppResult<Vec<OtherTeam>> {
    Ok(all_teams(store, config, site).await?.into_iter().map(|e| e.item).collect())
}

pub async fn other_team(
    store: &Store,
    config: &Config,
    site: &str,
    id: &str,
) -> AppResult<Option<OtherTeam>> {
    Ok(other_teams(store, config, site).await?.into_iter().find(|t| t.id == id))
}

/// Stores a reply (new, or replacing the one of the same id and language).
pub async fn save_reply(store: &Store, site: &str, reply: &CannedReply, by: &str) -> AppResult<()> {
    reply.check().map_err(|problem| AppError::bad_request("invalid_reply", problem))?;
    sqlx::query(
        "INSERT INTO canned_reply_edits (site, reply_id, lang, title, text, link, removed, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8) \
         ON CONFLICT (site, reply_id, lang) DO UPDATE SET title = excluded.title, text = excluded.text, \
         link = excluded.link, removed = 0, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(site)
    .bind(&reply.id)
    .bind(&reply.lang)
    .bind(reply.title.trim())
    .bind(reply.text.trim())
    .bind(&reply.link)
    .bind(by)
    .bind(now_ms())
    .execute(&store.write)
    .await?;
    Ok(())
}

/// Hides a reply: the file's stays hidden by a row; one added in the console is deleted.
pub async fn remove_reply(
    store: &Store,
    config: &Config,
    site: &str,
    id: &str,
    lang: &str,
    by: &str,
) -> AppResult<()> {
    let in_file = file_replies(config, site).iter().any(|r| r.id == id && r.lang == lang);
    if in_file {
        sqlx::query(
            "INSERT INTO canned_reply_edits (site, reply_id, lang, title, text, removed, updated_by, updated_at) \
             VALUES ($1, $2, $3, '-', '-', 1, $4, $5) \
             ON CONFLICT (site, reply_id, lang) DO UPDATE SET removed = 1, \
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(site)
        .bind(id)
        .bind(lang)
        .bind(by)
        .bind(now_ms())
        .execute(&store.write)
        .await?;
        return Ok(());
    }
    let gone = sqlx::query("DELETE FROM canned_reply_edits WHERE site = $1 AND reply_id = $2 AND lang = $3")
        .bind(site)
        .bind(id)
        .bind(lang)
        .execute(&store.write)
        .await?;
    if gone.rows_affected() == 0 {
        return Err(AppError::NotFound("No such canned reply."));
    }
    Ok(())
}

/// Drops the console's change to one of the file's replies, so the file's shows again.
pub async fn restore_reply(store: &Store, site: &str, id: &str, lang: &str) -> AppResult<()> {
    sqlx::query("DELETE FROM canned_reply_edits WHERE site = $1 AND reply_id = $2 AND lang = $3")
        .bind(site)
        .bind(id)
        .bind(lang)
        .execute(&store.write)
        .await?;
    Ok(())
}

/// Stores a team (new, or replacing the one of the same id).
pub async fn save_team(store: &Store, site: &str, team: &OtherTeam, by: &str) -> AppResult<()> {
    team.check().map_err(|problem| AppError::bad_request("invalid_team", problem))?;
    sqlx::query(
        "INSERT INTO other_team_edits (site, team_id, label, description, link, email, removed, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8) \
         ON CONFLICT (site, team_id) DO UPDATE SET label = excluded.label, description = excluded.description, \
         link = excluded.link, email = excluded.email, removed = 0, updated_by = excluded.updated_by, \
         updated_at = excluded.updated_at",
    )
    .bind(site)
    .bind(&team.id)
    .bind(team.label.trim())
    .bind(team.description.trim())
    .bind(&team.link)
    .bind(&team.email)
    .bind(by)
    .bind(now_ms())
    .execute(&store.write)
    .await?;
    Ok(())
}

/// Hides a team from requesters and from the redirect choice. Conversations already
/// redirected to it keep its name in their history.
pub async fn remove_team(store: &Store, config: &Config, site: &str, id: &str, by: &str) -> AppResult<()> {
    if file_teams(config, site).iter().any(|t| t.id == id) {
        sqlx::query(
            "INSERT INTO other_team_edits (site, team_id, label, description, removed, updated_by, updated_at) \
             VALUES ($1, $2, '-', '-', 1, $3, $4) \
             ON CONFLICT (site, team_id) DO UPDATE SET removed = 1, \
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(site)
        .bind(id)
        .bind(by)
        .bind(now_ms())
        .execute(&store.write)
        .await?;
        return Ok(());
    }
    let gone = sqlx::query("DELETE FROM other_team_edits WHERE site = $1 AND team_id = $2")
        .bind(site)
        .bind(id)
        .execute(&store.write)
        .await?;
    if gone.rows_affected() == 0 {
        return Err(AppError::NotFound("No such team."));
    }
    Ok(())
}

pub async fn restore_team(store: &Store, site: &str, id: &str) -> AppResult<()> {
    sqlx::query("DELETE FROM other_team_edits WHERE site = $1 AND team_id = $2")
        .bind(site)
        .bind(id)
        .execute(&store.write)
        .await?;
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
}
