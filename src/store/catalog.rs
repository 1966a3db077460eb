//! SQL for coordinators' changes to a site's canned replies and other teams: one row per
//! changed entry, replacing the file's entry of the same id (and language), adding one,
//! or hiding one (`removed`).

use sqlx::Row;

use super::Store;
use crate::config::{CannedReply, OtherTeam};
use crate::domain::{HelperId, SiteId};

/// An edit as stored: the entry, and whether it hides the entry of that id.
pub struct Edit<T> {
    pub item: T,
    pub removed: bool,
}

/// A site's reply edits, in the order they were last changed.
pub async fn reply_edits(store: &Store, site: &SiteId) -> sqlx::Result<Vec<Edit<CannedReply>>> {
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
        .collect()
}

/// A site's team edits, in the order they were last changed.
pub async fn team_edits(store: &Store, site: &SiteId) -> sqlx::Result<Vec<Edit<OtherTeam>>> {
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
        .collect()
}

/// Stores a reply (new, or replacing the one of the same id and language).
pub async fn save_reply(
    store: &Store,
    site: &SiteId,
    reply: &CannedReply,
    by: &HelperId,
    now: i64,
) -> sqlx::Result<()> {
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
    .bind(now)
    .execute(&store.write)
    .await?;
    Ok(())
}

/// Hides the file's reply of this id and language by a row.
pub async fn hide_reply(
    store: &Store,
    site: &SiteId,
    id: &str,
    lang: &str,
    by: &HelperId,
    now: i64,
) -> sqlx::Result<()> {
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
    .bind(now)
    .execute(&store.write)
    .await?;
    Ok(())
}

/// Drops the console's row of a reply; whether there was one.
pub async fn delete_reply_edit(store: &Store, site: &SiteId, id: &str, lang: &str) -> sqlx::Result<bool> {
    let gone = sqlx::query("DELETE FROM canned_reply_edits WHERE site = $1 AND reply_id = $2 AND lang = $3")
        .bind(site)
        .bind(id)
        .bind(lang)
        .execute(&store.write)
        .await?;
    Ok(gone.rows_affected() > 0)
}

/// Stores a team (new, or replacing the one of the same id).
pub async fn save_team(
    store: &Store,
    site: &SiteId,
    team: &OtherTeam,
    by: &HelperId,
    now: i64,
) -> sqlx::Result<()> {
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
    .bind(now)
    .execute(&store.write)
    .await?;
    Ok(())
}

/// Hides the file's team of this id by a row.
pub async fn hide_team(store: &Store, site: &SiteId, id: &str, by: &HelperId, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO other_team_edits (site, team_id, label, description, removed, updated_by, updated_at) \
         VALUES ($1, $2, '-', '-', 1, $3, $4) \
         ON CONFLICT (site, team_id) DO UPDATE SET removed = 1, \
         updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(site)
    .bind(id)
    .bind(by)
    .bind(now)
    .execute(&store.write)
    .await?;
    Ok(())
}

/// Drops the console's row of a team; whether there was one.
pub async fn delete_team_edit(store: &Store, site: &SiteId, id: &str) -> sqlx::Result<bool> {
    let gone = sqlx::query("DELETE FROM other_team_edits WHERE site = $1 AND team_id = $2")
        .bind(site)
        .bind(id)
        .execute(&store.write)
        .await?;
    Ok(gone.rows_affected() > 0)
}
