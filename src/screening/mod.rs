//! Screening of requester text: possible threats of harm (the conversation becomes
//! urgent and the requester sees the emergency contact at once) and personal data
//! (masked in what helpers see; the requester still sees their own words).
//!
//! Rules per language live in `rules/*.toml` and are compiled into the binary. Every
//! language's harm rules apply to every message: a requester may write in a language
//! other than the site's, and a false alarm costs less than a missed one.

use std::ops::Range;

use anyhow::Context;
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::{Deserialize, Serialize};

const RULE_FILES: &[(&str, &str)] = &[
    ("en.toml", include_str!("rules/en.toml")),
    ("de.toml", include_str!("rules/de.toml")),
    ("he.toml", include_str!("rules/he.toml")),
];

#[derive(Deserialize)]
struct RuleFile {
    language: String,
    harm: Vec<String>,
    #[serde(default)]
    personal_data: Vec<PersonalDataRule>,
}

#[derive(Deserialize)]
struct PersonalDataRule {
    label: String,
    pattern: String,
}

/// What screening found in one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screening {
    /// A possible threat of harm to the writer or to others.
    pub possible_harm: bool,
    /// The text as helpers see it, when personal data had to be masked.
    pub masked: Option<String>,
}

pub struct Screener {
    harm: RegexSet,
    languages: Vec<String>,
    email: Regex,
    phone_candidate: Regex,
    iso_date: Regex,
    url: Regex,
    extra: Vec<(String, Regex)>,
    /// The personal-data rules as data, served to the widget for its live hint.
    rules: PersonalDataRules,
}

/// The personal-data rules, one source for the server's masking and the widget's live
/// hint before sending (served with the widget settings). Every pattern is matched
/// case-insensitively and must mean the same as a Rust regex and as a JavaScript
/// `RegExp` with flags `iu`: no inline flags, no look-around, `\b` only next to ASCII
/// letters, digits as `[0-9]` (Rust's `\d` is any Unicode digit, JavaScript's ASCII).
/// `personal_data_cases.json` holds the texts both sides are tested on.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PersonalDataRules {
    /// An e-mail address.
    pub email: String,
    pub phone: PhoneRule,
    /// Links: a number inside one (a diff or revision id) is not a phone number.
    pub link: String,
    /// Details in the words of a language ("my address is …").
    pub details: Vec<DetailRule>,
}

/// A run of digits and separators is a phone number when it matches `candidate`, is not
/// glued to what comes before (a letter, digit, `=`, `/` or `#`: ids in links), is not
/// a `date`, has `min_digits` to `max_digits` digits, and starts with `+` or `0` or has
/// at least `min_separators` of ` -.()/`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PhoneRule {
    pub candidate: String,
    pub date: String,
    pub min_digits: usize,
    pub max_digits: usize,
    pub min_separators: usize,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DetailRule {
    /// `address`, `id_number`, …
    pub label: String,
    pub pattern: String,
}

const MIN_PHONE_DIGITS: usize = 7;
const MAX_PHONE_DIGITS: usize = 15;
const MIN_PHONE_SEPARATORS: usize = 2;

fn case_insensitive(pattern: &str) -> anyhow::Result<Regex> {
    RegexBuilder::new(pattern).case_insensitive(true).build().with_context(|| pattern.to_string())
}

impl Screener {
    pub fn load() -> anyhow::Result<Self> {
        let mut harm_patterns = Vec::new();
        let mut languages = Vec::new();
        let mut extra = Vec::new();
        let mut details = Vec::new();
        for (name, text) in RULE_FILES {
            let file: RuleFile = toml::from_str(text).with_context(|| format!("screening rules {name}"))?;
            languages.push(file.language);
            harm_patterns.extend(file.harm);
            for rule in file.personal_data {
                let regex = case_insensitive(&rule.pattern).with_context(|| name.to_string())?;
                extra.push((rule.label.clone(), regex));
                details.push(DetailRule { label: rule.label, pattern: rule.pattern });
            }
        }
        let harm = RegexSetBuilder::new(&harm_patterns)
            .case_insensitive(true)
            .build()
            .context("compiling harm rules")?;
        let rules = PersonalDataRules {
            email: r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}".into(),
            phone: PhoneRule {
                candidate: r"(\+|\b)[0-9][0-9 \t().\-/]{5,22}[0-9]\b".into(),
                date: r"^[0-9]{4}[-./][0-9]{1,2}[-./][0-9]{1,2}$|^[0-9]{1,2}[-./][0-9]{1,2}[-./][0-9]{2,4}$"
                    .into(),
                min_digits: MIN_PHONE_DIGITS,
                max_digits: MAX_PHONE_DIGITS,
                min_separators: MIN_PHONE_SEPARATORS,
            },
            // `\b` only before the Latin words: JavaScript's `\b` does not know Hebrew letters.
            link: r"\bhttps?://\S+|\b(special|spezial):\S+|מיוחד:\S+".into(),
            details,
        };
        Ok(Self {
            harm,
            languages,
            email: case_insensitive(&rules.email)?,
            phone_candidate: case_insensitive(&rules.phone.candidate)?,
            iso_date: case_insensitive(&rules.phone.date)?,
            url: case_insensitive(&rules.link)?,
            extra,
            rules,
        })
    }

    /// The personal-data rules as data, for the widget's live hint.
    pub fn personal_data_rules(&self) -> &PersonalDataRules {
        &self.rules
    }

    /// The languages that have rules.
    pub fn languages(&self) -> &[String] {
        &self.languages
    }

    pub fn screen(&self, text: &str) -> Screening {
        let possible_harm = self.harm.is_match(text);
        let mut found: Vec<(Range<usize>, &str)> = Vec::new();
        let protected: Vec<Range<usize>> = self.url.find_iter(text).map(|m| m.range()).collect();
        for m in self.email.find_iter(text) {
            found.push((m.range(), "[e-mail address]"));
        }
        for m in self.phone_candidate.find_iter(text) {
            let inside_url = protected.iter().any(|p| p.start <= m.start() && m.end() <= p.end);
            let preceded = text[..m.start()].chars().next_back();
            let glued =
                matches!(preceded, Some(c) if c == '=' || c == '/' || c == '#' || c.is_alphanumeric());
            if !inside_url && !glued && looks_like_phone(m.as_str(), &self.iso_date) {
                found.push((m.range(), "[phone number]"));
            }
        }
        for (label, regex) in &self.extra {
            for m in regex.find_iter(text) {
                found.push((m.range(), label_text(label)));
            }
        }
        let masked = (!found.is_empty()).then(|| mask(text, found));
        Screening { possible_harm, masked }
    }
}

fn label_text(label: &str) -> &'static str {
    match label {
        "address" => "[address]",
        "id_number" => "[ID number]",
        _ => "[personal data]",
    }
}

fn looks_like_phone(candidate: &str, iso_date: &Regex) -> bool {
    let trimmed = candidate.trim();
    let digits = trimmed.chars().filter(char::is_ascii_digit).count();
    if !(MIN_PHONE_DIGITS..=MAX_PHONE_DIGITS).contains(&digits) || iso_date.is_match(trimmed) {
        return false;
    }
    let separators = trimmed.chars().filter(|c| matches!(c, ' ' | '-' | '.' | '(' | ')' | '/')).count();
    let international = trimmed.starts_with('+') || trimmed.starts_with("00");
    let trunk_prefix = trimmed.starts_with('0');
    // A bare run of digits is more often a revision id than a phone number.
    international || trunk_prefix || separators >= MIN_PHONE_SEPARATORS
}

/// Replaces the found ranges (overlaps merged) with their labels.
fn mask(text: &str, mut found: Vec<(Range<usize>, &str)>) -> String {
    found.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for (range, label) in found {
        if range.start < pos {
            pos = pos.max(range.end);
            continue;
        }
        out.push_str(&text[pos..range.start]);
        out.push_str(label);
        pos = range.end;
    }
    out.push_str(&text[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screener() -> Screener {
        Screener::load().expect("rules compile")
    }

    #[test]
    fn every_language_has_rules() {
        let s = screener();
        for lang in ["en", "de", "he"] {
            assert!(s.languages().iter().any(|l| l == lang), "{lang}");
        }
    }

    #[test]
    fn flags_threats_in_english_german_and_hebrew() {
        let s = screener();
        for text in [
            "He wrote that he will kill you if you edit again",
            "Someone says he knows where I live",
            "I don't want to live anymore after this",
            "Er hat geschrieben, er bringt mich um",
            "Ich denke an Selbstmord",
            "הוא כתב שהוא יודע איפה אני גר",
            "אני רוצה להתאבד",
        ] {
            assert!(s.screen(text).possible_harm, "{text}");
        }
        for text in [
            "Someone keeps reverting my edits on the article about trains",
            "Jemand löscht ständig meine Beiträge",
            "מישהו מוחק את העריכות שלי",
        ] {
            assert!(!s.screen(text).possible_harm, "{text}");
        }
    }

    #[test]
    fn masks_emails_and_phones_but_keeps_diffs_and_dates() {
        let s = screener();
        let text = "Mail me at jane.doe+wiki@example.co.uk or call +44 20 7946 0958. \
                    See https://en.wikipedia.org/w/index.php?oldid=1234567890 and \
                    Special:Diff/1187654321, it started on 2016-06-13.";
        let masked = s.screen(text).masked.expect("personal data found");
        assert!(masked.contains("[e-mail address]"), "{masked}");
        assert!(masked.contains("[phone number]"), "{masked}");
        assert!(!masked.contains("jane.doe"), "{masked}");
        assert!(!masked.contains("7946"), "{masked}");
        assert!(masked.contains("oldid=1234567890"), "{masked}");
        assert!(masked.contains("Special:Diff/1187654321"), "{masked}");
        assert!(masked.contains("2016-06-13"), "{masked}");
    }

    /// The texts the widget's live hint is tested on too (e2e): one list for both sides.
    #[test]
    fn the_shared_cases_are_masked_exactly_when_personal() {
        #[derive(Deserialize)]
        struct Case {
            text: String,
            personal: bool,
        }
        let cases: Vec<Case> =
            serde_json::from_str(include_str!("personal_data_cases.json")).expect("cases parse");
        assert!(cases.len() >= 20, "a real corpus");
        let s = screener();
        for case in cases {
            assert_eq!(s.screen(&case.text).masked.is_some(), case.personal, "{:?}", case.text);
        }
    }

    /// What keeps the served patterns meaning the same in both languages.
    #[test]
    fn the_served_patterns_keep_to_what_both_regex_languages_share() {
        let rules = screener().personal_data_rules().clone();
        let mut patterns = vec![rules.email, rules.phone.candidate, rules.phone.date, rules.link];
        patterns.extend(rules.details.into_iter().map(|d| d.pattern));
        for pattern in patterns {
            for unshared in [r"\d", r"\D", "(?i", "(?<", "(?=", "(?!", r"\p{", r"\A", r"\z"] {
                assert!(!pattern.contains(unshared), "{pattern} uses {unshared}");
            }
        }
    }

    #[test]
    fn masks_language_specific_details() {
        let s = screener();
        let masked = s.screen("Meine Adresse ist Hauptstraße 5, Berlin").masked.expect("found");
        assert!(!masked.contains("Hauptstraße"), "{masked}");
        let masked = s.screen("ת.ז 123456789 שלי").masked.expect("found");
        assert!(!masked.contains("123456789"), "{masked}");
        assert_eq!(s.screen("Nothing private here, revision 1187654321.").masked, None);
    }
}
