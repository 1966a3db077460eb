//! Who may help in a queue, as its community decides: rules read on a wiki, and/or a
//! coordinator's approval. Checked at sign-in and every `wiki.recheck_minutes` while
//! signed in (`helpers::eligibility`).

use serde::{Deserialize, Serialize};

use crate::domain::SiteId;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EligibilityRules {
    /// The site whose wiki the rules are read on.
    pub site: SiteId,
    /// For a global queue: the same rules are read on these wikis too, and met on any
    /// one of them is enough — the helper's home wiki, where their edits and groups are.
    /// A block on any of them counts (`not_blocked`).
    #[serde(default)]
    pub also_sites: Vec<SiteId>,
    /// Global groups of a wiki farm (CentralAuth), e.g. `global-rollbacker`: in any one
    /// of them qualifies on its own. A globally locked account never qualifies.
    #[serde(default)]
    pub global_groups_any: Vec<String>,
    /// Where the farm's global accounts are asked (`meta=globaluserinfo`), e.g.
    /// `https://meta.wikimedia.org/w/api.php`; by default the `site`'s API.
    #[serde(default)]
    pub central_api_url: Option<String>,
    /// In at least one of these groups (e.g. `rollbacker`, `sysop`). Empty: no such rule.
    #[serde(default)]
    pub groups_any: Vec<String>,
    #[serde(default)]
    pub min_edits: Option<i64>,
    #[serde(default)]
    pub min_account_age_days: Option<u32>,
    /// Not blocked on the wiki (sitewide or partially). On unless turned off: a blocked
    /// account never helps, whatever else it meets, approval included.
    #[serde(default = "yes")]
    pub not_blocked: bool,
    /// A page of the wiki whose user links (`[[User:Name]]`, or a template that makes
    /// one) are the team's members.
    #[serde(default)]
    pub listed_on: Option<String>,
    #[serde(default)]
    pub approval: Approval,
}

/// What a coordinator's approval does.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// Only the rules count (approval is not offered).
    #[default]
    None,
    /// An approved applicant qualifies without meeting the rules ("apply to join").
    Alternative,
    /// The rules and an approval, both.
    Required,
}

fn yes() -> bool {
    true
}

impl EligibilityRules {
    /// Whether any rule is read on the wiki (else only blocks and approval count).
    pub fn has_wiki_rules(&self) -> bool {
        !self.groups_any.is_empty()
            || !self.global_groups_any.is_empty()
            || self.min_edits.is_some()
            || self.min_account_age_days.is_some()
            || self.listed_on.is_some()
    }

    /// Whether any rule is read on each wiki (beside global groups).
    pub fn has_site_rules(&self) -> bool {
        !self.groups_any.is_empty()
            || self.min_edits.is_some()
            || self.min_account_age_days.is_some()
            || self.listed_on.is_some()
    }

    pub fn check(&self) -> Result<(), String> {
        if !self.has_wiki_rules() && self.approval != Approval::Required {
            return Err("give at least one rule (groups_any, global_groups_any, min_edits, min_account_age_days, listed_on) \
                 or approval = \"required\""
                .into());
        }
        if self.listed_on.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err("listed_on is an empty title".into());
        }
        Ok(())
    }
}
