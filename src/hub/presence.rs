//! Who is online: a helper is online while at least one live socket of theirs is open,
//! on this node or on another, and available when online and not set away.
//!
//! This node's sockets are counted here; other nodes say which of their helpers are
//! online (`remote_online`, `remote_offline`), and repeat it every few seconds: an
//! entry not repeated in time expires (its node stopped), which `sweep` notes as the
//! moment the helper went offline.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{NodeId, Relay, Relayed};
use crate::clock::Clock;
use crate::domain::{Helper, HelperId};

pub struct Presence {
    online: Mutex<HashMap<HelperId, Entry>>,
    /// Helpers online on other nodes: helper → node → entry.
    remote: Mutex<HashMap<HelperId, HashMap<NodeId, Remote>>>,
    /// When each helper's last socket closed (Unix ms).
    last_seen: Mutex<HashMap<HelperId, i64>>,
    /// Helpers not seen since this process started count as offline since its start.
    started_ms: i64,
    clock: Clock,
    relay: Relay,
}

struct Entry {
    sockets: usize,
    helper: Helper,
}

struct Remote {
    helper: Helper,
    expires: Instant,
}

impl Presence {
    pub fn new(clock: Clock, relay: Relay) -> Self {
        Self {
            online: Mutex::default(),
            remote: Mutex::default(),
            last_seen: Mutex::default(),
            started_ms: clock.now_ms(),
            clock,
            relay,
        }
    }

    pub fn connected(&self, helper: &Helper) {
        {
            let mut map = self.online.lock().unwrap_or_else(|e| e.into_inner());
            let entry =
                map.entry(helper.id.clone()).or_insert_with(|| Entry { sockets: 0, helper: helper.clone() });
            entry.sockets += 1;
            entry.helper = helper.clone();
        }
        self.relay.send(Relayed::Presence(helper.id.clone()));
    }

    pub fn disconnected(&self, helper_id: &HelperId) {
        let gone = {
            let mut map = self.online.lock().unwrap_or_else(|e| e.into_inner());
            let Some(entry) = map.get_mut(helper_id) else { return };
            entry.sockets = entry.sockets.saturating_sub(1);
            let gone = entry.sockets == 0;
            if gone {
                map.remove(helper_id);
            }
            gone
        };
        if gone {
            self.went_offline_here(helper_id);
            self.relay.send(Relayed::Presence(helper_id.clone()));
        }
    }

    /// Takes a changed helper (e.g. a new shown name) into account if they are online.
    pub fn refresh(&self, helper: &Helper) {
        let mut map = self.online.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = map.get_mut(&helper.id) {
            entry.helper = helper.clone();
            self.relay.send(Relayed::Presence(helper.id.clone()));
        }
    }

    pub fn set_away(&self, helper_id: &HelperId, away: bool) {
        let mut map = self.online.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = map.get_mut(helper_id) {
            entry.helper.away = away;
            self.relay.send(Relayed::Presence(helper_id.clone()));
        }
    }

    /// The helper as online on this node (`None`: no socket of theirs here).
    pub fn here(&self, helper_id: &HelperId) -> Option<Helper> {
        self.online.lock().unwrap_or_else(|e| e.into_inner()).get(helper_id).map(|e| e.helper.clone())
    }

    /// Every helper online on this node.
    pub fn all_here(&self) -> Vec<Helper> {
        self.online.lock().unwrap_or_else(|e| e.into_inner()).values().map(|e| e.helper.clone()).collect()
    }

    /// Another node says the helper is online there, until `ttl` from now unless said again.
    pub fn remote_online(&self, node: NodeId, helper: Helper, ttl: Duration) {
        let mut remote = self.remote.lock().unwrap_or_else(|e| e.into_inner());
        let expires = Instant::now() + ttl;
        remote.entry(helper.id.clone()).or_default().insert(node, Remote { helper, expires });
    }

    /// Another node says the helper's last socket there closed.
    pub fn remote_offline(&self, node: NodeId, helper_id: &HelperId) {
        let gone = {
            let mut remote = self.remote.lock().unwrap_or_else(|e| e.into_inner());
            let Some(nodes) = remote.get_mut(helper_id) else { return };
            nodes.remove(&node);
            let gone = nodes.is_empty();
            if gone {
                remote.remove(helper_id);
            }
            gone
        };
        if gone && !self.is_online(helper_id) {
            self.mark_last_seen(helper_id);
        }
    }

    /// Forgets what other nodes said and did not repeat in time (their node stopped);
    /// those helpers went offline now, unless online elsewhere.
    pub fn sweep(&self) {
        let now = Instant::now();
        let mut gone = Vec::new();
        {
            let mut remote = self.remote.lock().unwrap_or_else(|e| e.into_inner());
            remote.retain(|id, nodes| {
                nodes.retain(|_, r| r.expires > now);
                if nodes.is_empty() {
                    gone.push(id.clone());
                }
                !nodes.is_empty()
            });
        }
        for id in gone {
            if !self.is_online(&id) {
                self.mark_last_seen(&id);
            }
        }
    }

    fn went_offline_here(&self, helper_id: &HelperId) {
        if !self.is_online(helper_id) {
            self.mark_last_seen(helper_id);
        }
    }

    fn mark_last_seen(&self, helper_id: &HelperId) {
        self.last_seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(helper_id.clone(), self.clock.now_ms());
    }

    /// Since when the helper has been offline (Unix ms); `None` while online.
    pub fn offline_since(&self, helper_id: &HelperId) -> Option<i64> {
        if self.is_online(helper_id) {
            return None;
        }
        let seen = self.last_seen.lock().unwrap_or_else(|e| e.into_inner()).get(helper_id).copied();
        Some(seen.unwrap_or(self.started_ms))
    }

    /// Calls `f` with every helper online anywhere, once each (this node's entry first).
    fn each<R>(&self, f: impl FnOnce(&mut dyn Iterator<Item = &Helper>) -> R) -> R {
        let here = self.online.lock().unwrap_or_else(|e| e.into_inner());
        let remote = self.remote.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let elsewhere = remote
            .iter()
            .filter(|(id, _)| !here.contains_key(*id))
            .filter_map(|(_, nodes)| nodes.values().find(|r| r.expires > now).map(|r| &r.helper));
        let mut all = here.values().map(|e| &e.helper).chain(elsewhere);
        f(&mut all)
    }

    fn find<R>(&self, helper_id: &HelperId, f: impl FnOnce(Option<&Helper>) -> R) -> R {
        self.each(|mut all| {
            // On the reference (which is sized), not on the trait object.
            let found = Iterator::find(&mut all, |h| h.id == *helper_id);
            f(found)
        })
    }

    pub fn is_online(&self, helper_id: &HelperId) -> bool {
        self.find(helper_id, |h| h.is_some())
    }

    pub fn is_available(&self, helper_id: &HelperId) -> bool {
        self.find(helper_id, |h| h.is_some_and(|h| !h.away))
    }

    /// Helpers available now for a queue and language.
    pub fn available_for<Q: AsRef<str> + ?Sized>(&self, queue: &Q, lang: &str) -> usize {
        self.each(|all| all.filter(|h| !h.away && h.is_member(queue) && h.speaks(lang)).count())
    }

    /// The helpers available now (online, not away) in a queue, as they were when their
    /// socket opened or they last changed their settings.
    pub fn available_in<Q: AsRef<str> + ?Sized>(&self, queue: &Q) -> Vec<Helper> {
        self.each(|all| all.filter(|h| !h.away && h.is_member(queue)).cloned().collect())
    }

    /// Online, not away, and a member of the queue.
    pub fn is_available_for<Q: AsRef<str> + ?Sized>(&self, helper_id: &HelperId, queue: &Q) -> bool {
        self.find(helper_id, |h| h.is_some_and(|h| !h.away && h.is_member(queue)))
    }

    pub fn shown_name(&self, helper_id: &HelperId) -> Option<String> {
        self.find(helper_id, |h| h.map(Helper::shown_name))
    }

    /// Helpers online in any of `queues`: (name, away), by name.
    pub fn online_in(&self, queues: &[crate::domain::QueueId]) -> Vec<(String, bool)> {
        let mut list: Vec<(String, bool)> = self.each(|all| {
            all.filter(|h| queues.iter().any(|q| h.is_member(q))).map(|h| (h.name.clone(), h.away)).collect()
        });
        list.sort();
        list
    }

    pub fn online_count(&self) -> usize {
        self.each(|all| all.count())
    }
}
