//! The house rules, read from the source: no circle between top-level modules, each
//! module above the layers it uses (docs/ARCHITECTURE.md), SQL in `store` alone, and
//! no source file longer than a reader can hold at once.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may use modules of lower layers, and of its own
/// layer as long as no circle forms.
const LAYERS: &[&[&str]] = &[
    &["domain"],
    &[
        "error",
        "clock",
        "config",
        "secrets",
        "i18n",
        "screening",
        "metrics",
        "rate_limit",
        "proof_of_work",
        "demo",
    ],
    &["store", "hub", "mail", "wiki", "stats"],
    &["state"],
    &["extract", "helpers", "sites", "blocks", "thanks", "cluster"],
    &["conversations", "eligibility"],
    &["live", "console", "ops", "widget"],
    &["app"],
    &["cli"],
];

const LONGEST_FILE: usize = 600;

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The top-level module a file belongs to (`None` for lib.rs and main.rs), and how many
/// `super::` lead from it to the crate root.
fn module_of(src: &Path, file: &Path) -> Option<(String, usize)> {
    let relative = file.strip_prefix(src).unwrap();
    let parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let top = parts[0].trim_end_matches(".rs").to_string();
    if top == "lib" || top == "main" {
        return None;
    }
    let last = parts.last().unwrap();
    // src/x.rs and src/x/mod.rs are the module itself; src/x/y.rs is one level down.
    let depth = if last == "mod.rs" { parts.len() - 1 } else { parts.len() };
    Some((top, depth))
}

/// The top-level modules a file's paths name: `crate::x`, the groups of `use crate::{…}`,
/// and `super::` paths that climb to the crate root.
fn uses(text: &str, depth: usize) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident =
        |s: &str| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            // Only the first segment of each item at the group's own depth.
            let mut level = 0;
            let mut item_start = true;
            for (i, c) in group[..end].char_indices() {
                match c {
                    '{' => level += 1,
                    '}' => level -= 1,
                    ',' if level == 0 => item_start = true,
                    c if item_start && (c.is_ascii_alphabetic() || c == '_') => {
                        found.insert(ident(&group[i..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(after));
        }
        rest = after;
    }
    let climb = "super::".repeat(depth);
    let mut rest = text;
    while let Some(at) = rest.find(&climb) {
        let after = &rest[at + climb.len()..];
        if !after.starts_with("super::") && !rest[..at].ends_with("super::") {
            found.insert(ident(after));
        }
        rest = after;
    }
    found.retain(|m| !m.is_empty() && m != "self");
    found
}

struct House {
    /// Module → the modules it uses, with one file that does, for the message.
    uses: BTreeMap<String, BTreeMap<String, PathBuf>>,
    files: Vec<(PathBuf, String)>,
}

fn read_house() -> House {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut house = House { uses: BTreeMap::new(), files: Vec::new() };
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        if let Some((module, depth)) = module_of(&src, &file) {
            let entry = house.uses.entry(module.clone()).or_default();
            for used in uses(&text, depth) {
                if used != module {
                    entry.entry(used).or_insert_with(|| file.clone());
                }
            }
        }
        house.files.push((file, text));
    }
    // Names at the crate root that are not modules (`crate::install_tls`, macros) are
    // not rooms of the house.
    let modules: BTreeSet<String> = house.uses.keys().cloned().collect();
    for used in house.uses.values_mut() {
        used.retain(|name, _| modules.contains(name));
    }
    house
}

fn layer_of(module: &str) -> usize {
    LAYERS.iter().position(|layer| layer.contains(&module)).unwrap_or_else(|| {
        panic!("module {module} is in no layer: add it to LAYERS and docs/ARCHITECTURE.md")
    })
}

/// A circle through `from`, if any, as the modules along it.
fn circle_from(house: &House, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![(from.to_string(), vec![from.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in house.uses.get(&at).into_iter().flat_map(|u| u.keys()) {
            if next == from {
                let mut circle = path.clone();
                circle.push(next.clone());
                return Some(circle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn no_circle_between_top_level_modules() {
    let house = read_house();
    assert!(house.uses.len() > 20, "the source was read: {:?}", house.uses.keys());
    for module in house.uses.keys() {
        if let Some(circle) = circle_from(&house, module) {
            panic!("a circle between top-level modules: {}", circle.join(" → "));
        }
    }
}

#[test]
fn every_module_uses_only_lower_layers_or_its_own() {
    let house = read_house();
    let mut wrong = Vec::new();
    for (module, used) in &house.uses {
        for (other, file) in used {
            if layer_of(other) > layer_of(module) {
                wrong.push(format!(
                    "{module} (layer {}) uses {other} (layer {}) in {}",
                    layer_of(module),
                    layer_of(other),
                    file.display()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "uses that run up the layers:\n{}", wrong.join("\n"));
}

#[test]
fn sql_lives_in_the_store_alone() {
    let house = read_house();
    let store = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/store");
    let outside: Vec<String> = house
        .files
        .iter()
        .filter(|(file, text)| {
            !file.starts_with(&store) && (text.contains("sqlx::query") || text.contains("AssertSqlSafe"))
        })
        .map(|(file, _)| file.display().to_string())
        .collect();
    assert!(outside.is_empty(), "SQL outside src/store: {outside:?}");
}

#[test]
fn every_source_file_can_be_read_at_once() {
    let house = read_house();
    let long: Vec<String> = house
        .files
        .iter()
        .filter(|(_, text)| text.lines().count() > LONGEST_FILE)
        .map(|(file, text)| format!("{} ({} lines)", file.display(), text.lines().count()))
        .collect();
    assert!(long.is_empty(), "files over {LONGEST_FILE} lines: {long:?}");
}

/// The check itself finds what it is for: a use that closes a circle, and one that runs
/// up the layers.
#[test]
fn the_checks_catch_a_circle_and_an_upward_use() {
    let mut house = read_house();
    assert!(circle_from(&house, "domain").is_none());
    house.uses.entry("domain".into()).or_default().insert("conversations".into(), PathBuf::from("made up"));
    let circle = circle_from(&house, "domain").expect("a circle through domain");
    assert_eq!(circle.first().map(String::as_str), Some("domain"));
    assert!(layer_of("conversations") > layer_of("domain"));
    assert_eq!(
        uses("use crate::{error::AppError, store::{self, blocks}};\nlet x = crate::hub::Hub::new();", 1),
        ["error", "hub", "store"].into_iter().map(String::from).collect()
    );
    assert_eq!(
        uses("use super::super::state::AppState; use super::x;", 2),
        ["state"].into_iter().map(String::from).collect()
    );
}
