//! Conflicts of interest: the helpers who must never be offered a conversation nor see
//! its text — the account the requester has trouble with, helpers who edited with that
//! account on the pages of the trouble, and helpers the requester asked not to be helped
//! by. Kept on the conversation as wiki name keys, so that every place a helper could
//! see it (listing, socket, offer, page, post) decides without another look-up.

/// The names of the helpers a conversation is hidden from, as MediaWiki name keys
/// ([`name_key`]), and whether the check on the wiki is still under way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conflicts {
    keys: Vec<String>,
    pending: bool,
}

/// Stored as one line per key; this line says the check on the wiki is under way.
const PENDING: &str = "*";
/// A bound, so that an account with thousands of co-editors cannot grow the row forever.
pub const MAX_KEYS: usize = 500;

impl Conflicts {
    pub fn parse(stored: &str) -> Self {
        let mut conflicts = Self::default();
        for line in stored.lines().filter(|l| !l.is_empty()) {
            if line == PENDING {
                conflicts.pending = true;
            } else {
                conflicts.keys.push(line.to_string());
            }
        }
        conflicts
    }

    pub fn to_stored(&self) -> String {
        let mut lines: Vec<&str> = self.keys.iter().map(String::as_str).collect();
        if self.pending {
            lines.push(PENDING);
        }
        lines.join("\n")
    }

    /// Whether any of `names` (a helper's name and alias) is kept away.
    pub fn hides<S: AsRef<str>>(&self, names: &[S]) -> bool {
        names.iter().any(|n| {
            let key = name_key(n.as_ref());
            self.keys.contains(&key)
        })
    }

    /// While the wiki is being asked who edited with the named account, the
    /// conversation waits unseen (except by its owner): better a few seconds' delay
    /// than its text shown to the one person it must not reach.
    pub fn pending(&self) -> bool {
        self.pending
    }

    pub fn set_pending(&mut self, pending: bool) {
        self.pending = pending;
    }

    /// Adds `name`; false when it was there already, empty, or the bound is reached.
    pub fn add(&mut self, name: &str) -> bool {
        let key = name_key(name);
        if key.is_empty() || key == PENDING || self.keys.len() >= MAX_KEYS || self.keys.contains(&key) {
            return false;
        }
        self.keys.push(key);
        true
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && !self.pending
    }
}

/// A user name as MediaWiki compares it: underscores are spaces, runs of spaces are one,
/// no space at either end, and the first letter is a capital (`bob_smith` is `Bob smith`).
pub fn name_key(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let joined = spaced.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = joined.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_as_the_wiki_compares_them() {
        assert_eq!(name_key("  bob_smith "), "Bob smith");
        assert_eq!(name_key("Bob  Smith"), "Bob Smith");
        assert_eq!(name_key("élodie"), "Élodie");
        assert_ne!(name_key("Bob smith"), name_key("Bob Smith"), "only the first letter is folded");
    }

    #[test]
    fn hides_by_name_or_alias_and_survives_storage() {
        let mut c = Conflicts::default();
        assert!(c.is_empty());
        assert!(c.add("mallory"));
        assert!(!c.add("Mallory"), "the same name twice");
        assert!(!c.add("*"), "the pending mark is not a name");
        c.set_pending(true);
        let again = Conflicts::parse(&c.to_stored());
        assert_eq!(again, c);
        assert!(again.pending());
        assert!(again.hides(&["Mallory"]));
        assert!(again.hides(&["someone", "mallory"]), "an alias counts");
        assert!(!again.hides(&["Alice"]));
        assert_eq!(Conflicts::parse(""), Conflicts::default());
    }

    #[test]
    fn is_bounded() {
        let mut c = Conflicts::default();
        for i in 0..MAX_KEYS + 10 {
            c.add(&format!("User{i}"));
        }
        assert_eq!(c.len(), MAX_KEYS);
    }
}
