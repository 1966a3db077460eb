//! Who is online: a helper is online while at least one live socket of theirs is open,
//! and available when online and not set away. Kept in memory on each node.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::Clock;
use crate::domain::{Helper, HelperId};

pub struct Presence {
    online: Mutex<HashMap<HelperId, Entry>>,
    /// When each helper's last socket closed (Unix ms).
    last_seen: Mutex<HashMap<HelperId, i64>>,
    /// Helpers not seen since this process started count as offline since its start.
    started_ms: i64,
    clock: Clock,
}

struct Entry {
    sockets: usize,
    helper: Helper,
}

impl Presence {
    pub fn new(clock: Clock) -> Self {
        Self { online: Mutex::default(), last_seen: Mutex::default(), started_ms: clock.now_ms(), clock }
    }

    pub fn connected(&self, helper: &Helper) {
        let mut map = self.online.lock().unwrap_or_else(|e| e.into_inner());
        let entry =
            map.entry(helper.id.clone()).or_insert_with(|| Entry { sockets: 0, helper: helper.clone() });
        entry.sockets += 1;
        entry.helper = helper.clone();
    }

    pub fn disconnected(&self, helper_id: &HelperId) {
        let mut map = self.online.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = map.get_mut(helper_id) {
            entry.sockets = entry.sockets.saturating_sub(1);
            if entry.sockets == 0 {
                map.remove(helper_id);
                self.last_seen
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(helper_id.clone(), self.clock.now_ms());
            }
        }
    }

    /// Takes a changed helper (e.g. a new shown name) into account if they are online.
    pub fn refresh(&self, helper: &Helper) {
        let mut map = self.online.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = map.get_mut(&helper.id) {
            entry.helper = helper.clone();
        }
    }

    pub fn set_away(&self, helper_id: &HelperId, away: bool) {
        let mut map = self.online.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = map.get_mut(helper_id) {
            entry.helper.away = away;
        }
    }

    /// Since when the helper has been offline (Unix ms); `None` while online.
    pub fn offline_since(&self, helper_id: &HelperId) -> Option<i64> {
        if self.is_online(helper_id) {
            return None;
        }
        let seen = self.last_seen.lock().unwrap_or_else(|e| e.into_inner()).get(helper_id).copied();
        Some(seen.unwrap_or(self.started_ms))
    }

    pub fn is_online(&self, helper_id: &HelperId) -> bool {
        self.online.lock().unwrap_or_else(|e| e.into_inner()).contains_key(helper_id)
    }

    pub fn is_available(&self, helper_id: &HelperId) -> bool {
        self.online.lock().unwrap_or_else(|e| e.into_inner()).get(helper_id).is_some_and(|e| !e.helper.away)
    }

    /// Helpers available now for a queue and language.
    pub fn available_for<Q: AsRef<str> + ?Sized>(&self, queue: &Q, lang: &str) -> usize {
        self.online
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|e| !e.helper.away && e.helper.is_member(queue) && e.helper.speaks(lang))
            .count()
    }

    /// The helpers available now (online, not away) in a queue, as they were when their
    /// socket opened or they last changed their settings.
    pub fn available_in<Q: AsRef<str> + ?Sized>(&self, queue: &Q) -> Vec<Helper> {
        self.online
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|e| !e.helper.away && e.helper.is_member(queue))
            .map(|e| e.helper.clone())
            .collect()
    }

    /// Online, not away, and a member of the queue.
    pub fn is_available_for<Q: AsRef<str> + ?Sized>(&self, helper_id: &HelperId, queue: &Q) -> bool {
        self.online
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(helper_id)
            .is_some_and(|e| !e.helper.away && e.helper.is_member(queue))
    }

    pub fn shown_name(&self, helper_id: &HelperId) -> Option<String> {
        self.online.lock().unwrap_or_else(|e| e.into_inner()).get(helper_id).map(|e| e.helper.shown_name())
    }

    /// Helpers online in any of `queues`: (name, away), by name.
    pub fn online_in(&self, queues: &[crate::domain::QueueId]) -> Vec<(String, bool)> {
        let mut list: Vec<(String, bool)> = self
            .online
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|e| queues.iter().any(|q| e.helper.is_member(q)))
            .map(|e| (e.helper.name.clone(), e.helper.away))
            .collect();
        list.sort();
        list
    }

    pub fn online_count(&self) -> usize {
        self.online.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}
