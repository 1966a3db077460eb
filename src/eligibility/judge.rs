//! The verdict on one account against a queue's rules, from what the wiki said: pure, so
//! every rule and its reason is tested without a wiki.

use crate::config::{Approval, EligibilityRules};
use crate::domain::time::DAY_MS;
use crate::wiki::{GlobalAccount, WikiAccount};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// May help in the queue; why, in a few words.
    Eligible(String),
    /// May not; why, in words the helper and the coordinators understand.
    NotEligible(String),
}

impl Verdict {
    pub fn eligible(&self) -> bool {
        matches!(self, Self::Eligible(_))
    }

    pub fn reason(&self) -> &str {
        match self {
            Self::Eligible(why) | Self::NotEligible(why) => why,
        }
    }
}

/// What is known of the account beside the wiki's facts.
pub struct Known<'a> {
    pub account: &'a WikiAccount,
    /// Whether the members page lists the account; `None` when there is no such rule.
    pub listed: Option<bool>,
    /// Whether a coordinator approved the account's application.
    pub approved: bool,
    pub now_ms: i64,
}

pub fn judge(rules: &EligibilityRules, known: &Known<'_>) -> Verdict {
    let Some(facts) = &known.account.facts else {
        return Verdict::NotEligible(format!("the wiki has no account named {}", known.account.name));
    };
    if rules.not_blocked
        && let Some(block) = &facts.block
    {
        let reason = if block.reason.is_empty() { String::new() } else { format!(": {}", block.reason) };
        return Verdict::NotEligible(format!(
            "blocked on the wiki by {} until {}{reason}",
            block.by, block.expiry
        ));
    }
    let mut met = Vec::new();
    let mut unmet = Vec::new();
    if !rules.groups_any.is_empty() {
        match rules.groups_any.iter().find(|g| facts.groups.contains(g)) {
            Some(group) => met.push(format!("in the group {group}")),
            None => unmet.push(format!("not in any of the groups {}", rules.groups_any.join(", "))),
        }
    }
    if let Some(min) = rules.min_edits {
        let edits = facts.edit_count;
        if edits >= min {
            met.push(format!("{edits} edits"))
        } else {
            unmet.push(format!("{edits} edits, fewer than {min}"))
        }
    }
    if let Some(days) = rules.min_account_age_days {
        // Accounts older than the wiki's registration records have no date: old enough.
        match facts.registered.as_deref().and_then(parse_ms) {
            Some(at) => {
                let age = (known.now_ms - at).div_euclid(DAY_MS);
                if age >= i64::from(days) {
                    met.push(format!("an account {age} days old"));
                } else {
                    unmet.push(format!("an account {age} days old, younger than {days} days"));
                }
            }
            None => met.push("an account older than the wiki's records".into()),
        }
    }
    if let (Some(title), Some(listed)) = (&rules.listed_on, known.listed) {
        if listed {
            met.push(format!("listed on {title}"))
        } else {
            unmet.push(format!("not listed on {title}"))
        }
    }
    let approved = "approved by a coordinator";
    match rules.approval {
        Approval::None | Approval::Alternative if unmet.is_empty() => {
            Verdict::Eligible(if met.is_empty() { "not blocked".into() } else { met.join("; ") })
        }
        Approval::Alternative if known.approved => Verdict::Eligible(approved.into()),
        Approval::Alternative => {
            unmet.push("no approved application".into());
            Verdict::NotEligible(unmet.join("; "))
        }
        Approval::None => Verdict::NotEligible(unmet.join("; ")),
        Approval::Required if !known.approved => {
            unmet.insert(0, "not approved by a coordinator".into());
            Verdict::NotEligible(unmet.join("; "))
        }
        Approval::Required if unmet.is_empty() => {
            met.push(approved.into());
            Verdict::Eligible(met.join("; "))
        }
        Approval::Required => Verdict::NotEligible(unmet.join("; ")),
    }
}

/// The account and the verdict on one of the wikis the rules are read on.
pub struct OnSite<'a> {
    pub site: &'a str,
    pub account: &'a WikiAccount,
    pub verdict: &'a Verdict,
}

/// The verdict for a queue read on one wiki or several (a global queue), with the farm's
/// global account when there is a global rule. A global lock, or (with `not_blocked`)
/// a block on any of the wikis, decides first; then a global group; then the first
/// wiki whose rules are met — the helper's home wiki.
pub fn combine(
    rules: &EligibilityRules,
    global: Option<&GlobalAccount>,
    approved: bool,
    on_sites: &[OnSite<'_>],
) -> Verdict {
    let several = on_sites.len() > 1;
    let on = |site: &str, why: &str| if several { format!("on {site}: {why}") } else { why.to_string() };
    if global.is_some_and(|g| g.locked) {
        return Verdict::NotEligible("the global account is locked".into());
    }
    if rules.not_blocked
        && let Some(blocked) =
            on_sites.iter().find(|s| s.account.facts.as_ref().is_some_and(|f| f.block.is_some()))
    {
        return Verdict::NotEligible(on(blocked.site, blocked.verdict.reason()));
    }
    let approval_missing = rules.approval == Approval::Required && !approved;
    if let Some(group) = global.and_then(|g| rules.global_groups_any.iter().find(|r| g.groups.contains(r)))
        && !approval_missing
    {
        return Verdict::Eligible(format!("in the global group {group}"));
    }
    if !rules.has_site_rules() && !rules.global_groups_any.is_empty() {
        // Only global groups (and perhaps approval): the wikis' verdicts would say
        // "not blocked" of everyone, which is no rule.
        return match rules.approval {
            Approval::Alternative if approved => Verdict::Eligible("approved by a coordinator".into()),
            Approval::Required if approval_missing => {
                Verdict::NotEligible("not approved by a coordinator".into())
            }
            _ => Verdict::NotEligible(format!(
                "not in any of the global groups {}",
                rules.global_groups_any.join(", ")
            )),
        };
    }
    if let Some(met) = on_sites.iter().find(|s| s.verdict.eligible()) {
        return Verdict::Eligible(on(met.site, met.verdict.reason()));
    }
    let mut reasons: Vec<String> = on_sites.iter().map(|s| on(s.site, s.verdict.reason())).collect();
    if !rules.global_groups_any.is_empty() {
        reasons.push(format!("not in any of the global groups {}", rules.global_groups_any.join(", ")));
    }
    Verdict::NotEligible(reasons.join("; "))
}

fn parse_ms(iso: &str) -> Option<i64> {
    let at = time::OffsetDateTime::parse(iso, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wiki::{AccountFacts, BlockFacts};

    const NOW: i64 = 1_780_000_000_000; // 2026-05-28

    fn rules(toml: &str) -> EligibilityRules {
        toml::from_str(&format!("site = \"w\"\n{toml}")).unwrap()
    }

    fn account(edits: i64, days_old: i64, groups: &[&str], blocked: bool) -> WikiAccount {
        WikiAccount {
            name: "Helper".into(),
            facts: Some(AccountFacts {
                registered: Some(crate::domain::time::rfc3339(NOW - days_old * DAY_MS - 1000)),
                edit_count: edits,
                groups: groups.iter().map(|g| g.to_string()).collect(),
                block: blocked.then(|| BlockFacts {
                    by: "Admin".into(),
                    reason: "Harassment".into(),
                    expiry: "infinite".into(),
                    partial: false,
                }),
                emailable: false,
            }),
        }
    }

    fn verdict(
        rules: &EligibilityRules,
        account: &WikiAccount,
        listed: Option<bool>,
        approved: bool,
    ) -> Verdict {
        judge(rules, &Known { account, listed, approved, now_ms: NOW })
    }

    #[test]
    fn each_rule_holds_or_says_what_is_missing() {
        let r = rules("groups_any = [\"rollbacker\", \"sysop\"]\nmin_edits = 500\nmin_account_age_days = 90");
        let good = account(800, 100, &["user", "rollbacker"], false);
        assert_eq!(
            verdict(&r, &good, None, false),
            Verdict::Eligible("in the group rollbacker; 800 edits; an account 100 days old".into())
        );
        assert_eq!(
            verdict(&r, &account(10, 5, &["user"], false), None, false),
            Verdict::NotEligible(
                "not in any of the groups rollbacker, sysop; 10 edits, fewer than 500; an account 5 days old, \
                 younger than 90 days"
                    .into()
            )
        );
        let listed = rules("listed_on = \"Project:Helpers\"");
        assert!(verdict(&listed, &good, Some(true), false).eligible());
        assert_eq!(
            verdict(&listed, &good, Some(false), false),
            Verdict::NotEligible("not listed on Project:Helpers".into())
        );
    }

    #[test]
    fn a_block_wins_over_everything_even_approval_unless_the_rule_is_off() {
        let r = rules("min_edits = 1\napproval = \"alternative\"");
        let blocked = account(800, 100, &["sysop"], true);
        assert_eq!(
            verdict(&r, &blocked, None, true),
            Verdict::NotEligible("blocked on the wiki by Admin until infinite: Harassment".into())
        );
        let off = rules("min_edits = 1\nnot_blocked = false");
        assert!(verdict(&off, &blocked, None, false).eligible());
        let missing = WikiAccount { name: "Ghost".into(), facts: None };
        assert_eq!(
            verdict(&r, &missing, None, true),
            Verdict::NotEligible("the wiki has no account named Ghost".into())
        );
    }

    #[test]
    fn approval_is_an_alternative_or_a_requirement() {
        let newcomer = account(3, 2, &["user"], false);
        let alternative = rules("min_edits = 500\napproval = \"alternative\"");
        assert_eq!(
            verdict(&alternative, &newcomer, None, true),
            Verdict::Eligible("approved by a coordinator".into())
        );
        assert_eq!(
            verdict(&alternative, &newcomer, None, false),
            Verdict::NotEligible("3 edits, fewer than 500; no approved application".into())
        );
        let required = rules("min_edits = 1\napproval = \"required\"");
        assert_eq!(
            verdict(&required, &newcomer, None, false),
            Verdict::NotEligible("not approved by a coordinator".into())
        );
        assert_eq!(
            verdict(&required, &newcomer, None, true),
            Verdict::Eligible("3 edits; approved by a coordinator".into())
        );
        let only_approval = rules("approval = \"required\"");
        assert!(verdict(&only_approval, &newcomer, None, true).eligible());
    }

    fn global(groups: &[&str], locked: bool) -> GlobalAccount {
        GlobalAccount {
            name: "Helper".into(),
            home: Some("dewiki".into()),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            locked,
        }
    }

    /// A global queue read on two wikis: the verdict of each, then combined.
    fn on_two(
        r: &EligibilityRules,
        first: &WikiAccount,
        second: &WikiAccount,
        g: Option<&GlobalAccount>,
        approved: bool,
    ) -> Verdict {
        let (a, b) = (verdict(r, first, None, approved), verdict(r, second, None, approved));
        let sites = [
            OnSite { site: "enwiki", account: first, verdict: &a },
            OnSite { site: "dewiki", account: second, verdict: &b },
        ];
        combine(r, g, approved, &sites)
    }

    #[test]
    fn a_global_queue_takes_the_home_wiki_and_global_groups_and_no_block_anywhere() {
        let r = rules("min_edits = 100\nglobal_groups_any = [\"global-rollbacker\"]");
        let (few, many) = (account(3, 400, &["user"], false), account(800, 400, &["user"], false));
        assert_eq!(on_two(&r, &few, &many, None, false), Verdict::Eligible("on dewiki: 800 edits".into()));
        assert_eq!(
            on_two(&r, &few, &few, Some(&global(&[], false)), false),
            Verdict::NotEligible(
                "on enwiki: 3 edits, fewer than 100; on dewiki: 3 edits, fewer than 100; \
                 not in any of the global groups global-rollbacker"
                    .into()
            )
        );
        assert_eq!(
            on_two(&r, &few, &few, Some(&global(&["global-rollbacker"], false)), false),
            Verdict::Eligible("in the global group global-rollbacker".into())
        );
        let blocked = account(800, 400, &["user"], true);
        let v = on_two(&r, &many, &blocked, Some(&global(&["global-rollbacker"], false)), false);
        assert!(!v.eligible() && v.reason().starts_with("on dewiki: blocked on the wiki by Admin"), "{v:?}");
        let v = on_two(&r, &many, &many, Some(&global(&["global-rollbacker"], true)), false);
        assert_eq!(v, Verdict::NotEligible("the global account is locked".into()));
    }

    #[test]
    fn global_groups_alone_are_a_rule_and_approval_still_counts() {
        let anyone = account(0, 0, &[], false);
        let only = rules("global_groups_any = [\"steward\"]");
        assert!(
            !on_two(&only, &anyone, &anyone, Some(&global(&[], false)), false).eligible(),
            "not blocked is no rule"
        );
        assert!(on_two(&only, &anyone, &anyone, Some(&global(&["steward"], false)), false).eligible());
        let required = rules("global_groups_any = [\"steward\"]\napproval = \"required\"");
        let steward = global(&["steward"], false);
        assert!(!on_two(&required, &anyone, &anyone, Some(&steward), false).eligible());
        assert!(on_two(&required, &anyone, &anyone, Some(&steward), true).eligible());
        let alternative = rules("global_groups_any = [\"steward\"]\napproval = \"alternative\"");
        assert!(on_two(&alternative, &anyone, &anyone, Some(&global(&[], false)), true).eligible());
    }
}
