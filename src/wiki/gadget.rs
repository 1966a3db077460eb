//! Installing the gadget's pages through the API: each page compared with what the wiki
//! has, written only where it differs, and in `MediaWiki:Gadgets-definition` only
//! Helpline's own lines, in its own section — a wiki's other gadgets are never touched.

use super::api::WikiError;
use super::bot::{BotSession, Edit};
use super::pages;

pub const DEFINITIONS: &str = "MediaWiki:Gadgets-definition";
/// The section Helpline's lines live in.
pub const SECTION: &str = "== helpline ==";

/// The gadget's name on a definition line: `* NAME[OPTIONS]|PAGES` or `* NAME|PAGES`.
fn gadget_name(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix('*')?.trim_start();
    let end = rest.find(['[', '|']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// `existing` with Helpline's definition lines replaced by `ours`: lines defining a
/// gadget of the same names are taken out wherever they are; ours go right under the
/// `== helpline ==` heading, which is added at the end if missing. Everything else
/// stays as it was, byte for byte.
pub fn merge_definitions(existing: &str, ours: &[&str]) -> String {
    let names: Vec<&str> = ours.iter().filter_map(|l| gadget_name(l)).collect();
    let kept: Vec<&str> =
        existing.lines().filter(|line| !gadget_name(line).is_some_and(|n| names.contains(&n))).collect();
    let mut out: Vec<&str> = Vec::with_capacity(kept.len() + ours.len() + 2);
    let mut placed = false;
    for line in &kept {
        out.push(line);
        if !placed && line.trim() == SECTION {
            out.extend(ours);
            placed = true;
        }
    }
    if !placed {
        while out.last().is_some_and(|l| l.trim().is_empty()) {
            out.pop();
        }
        if !out.is_empty() {
            out.push("");
        }
        out.push(SECTION);
        out.extend(ours);
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// One page of the gadget: what the wiki has and what it should have.
#[derive(Debug)]
pub struct PagePlan {
    pub title: String,
    /// `None` when the page does not exist yet.
    pub current: Option<String>,
    pub wanted: String,
    pub base_revid: Option<i64>,
}

impl PagePlan {
    pub fn changes(&self) -> bool {
        self.current.as_deref().map(str::trim_end) != Some(self.wanted.trim_end())
    }
}

/// Reads every page and says what would change. `MediaWiki:Gadgets-definition` is
/// merged with what the wiki has.
pub async fn plan(bot: &BotSession, pages: &[(String, String)]) -> Result<Vec<PagePlan>, WikiError> {
    let mut plans = Vec::with_capacity(pages.len());
    for (title, text) in pages {
        let current = pages::read(&bot.api(), title).await?;
        let wanted = if title == DEFINITIONS {
            let ours: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            merge_definitions(current.as_ref().map_or("", |p| p.text.as_str()), &ours)
        } else {
            text.clone()
        };
        plans.push(PagePlan {
            title: title.clone(),
            base_revid: current.as_ref().map(|p| p.revid),
            current: current.map(|p| p.text),
            wanted,
        });
    }
    Ok(plans)
}

/// Writes the pages that change; the titles written.
pub async fn apply(bot: &BotSession, plans: &[PagePlan], summary: &str) -> Result<Vec<String>, WikiError> {
    let mut written = Vec::new();
    for plan in plans.iter().filter(|p| p.changes()) {
        bot.edit(&Edit {
            title: &plan.title,
            text: &plan.wanted,
            summary,
            section_title: None,
            base_revid: plan.base_revid,
        })
        .await
        .map_err(|e| match e {
            WikiError::Refused { code, info } => {
                WikiError::Refused { info: format!("{}: {info}", plan.title), code }
            }
            other => other,
        })?;
        written.push(plan.title.clone());
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &[&str] = &[
        "* helpline[ResourceLoader|default]|helpline.js",
        "* helpline-core[ResourceLoader|hidden]|helpline-core.js",
    ];

    #[test]
    fn other_gadgets_stay_and_ours_go_in_our_section() {
        let existing = "== tools ==\n* HotCat[ResourceLoader|default]|HotCat.js\n* Twinkle|Twinkle.js\n";
        let merged = merge_definitions(existing, OURS);
        assert_eq!(
            merged,
            "== tools ==\n* HotCat[ResourceLoader|default]|HotCat.js\n* Twinkle|Twinkle.js\n\n== helpline ==\n\
             * helpline[ResourceLoader|default]|helpline.js\n* helpline-core[ResourceLoader|hidden]|helpline-core.js\n"
        );
        // Again: nothing changes.
        assert_eq!(merge_definitions(&merged, OURS), merged);
    }

    #[test]
    fn old_lines_of_ours_are_replaced_wherever_they_are_and_a_similar_name_is_not_ours() {
        let existing = "* helpline[ResourceLoader]|old.js\n== helpline ==\n* helpline-core|old-core.js\n\
                        == more ==\n* helpline-extra|x.js\n* helplinefoo[ResourceLoader]|y.js\n";
        let merged = merge_definitions(existing, OURS);
        assert_eq!(
            merged,
            "== helpline ==\n* helpline[ResourceLoader|default]|helpline.js\n\
             * helpline-core[ResourceLoader|hidden]|helpline-core.js\n== more ==\n* helpline-extra|x.js\n\
             * helplinefoo[ResourceLoader]|y.js\n"
        );
    }

    #[test]
    fn an_empty_page_gets_only_our_section() {
        assert_eq!(
            merge_definitions("", &OURS[..1]),
            "== helpline ==\n* helpline[ResourceLoader|default]|helpline.js\n"
        );
    }
}
