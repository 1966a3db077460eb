//! Whether this node runs the background jobs that must run once for all nodes (the
//! mail outbox, retention, routing, offers, eligibility checks, alerts, the mailbox).
//! Alone on SQLite it always does; on PostgreSQL the node holding the cluster's lock
//! does (`cluster::leader`).

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub struct Leadership(watch::Sender<bool>);

impl Leadership {
    /// The only node: it leads.
    pub fn alone() -> Self {
        Self(watch::channel(true).0)
    }

    /// One of several: it leads once it holds the lock.
    pub fn contested() -> Self {
        Self(watch::channel(false).0)
    }

    pub fn leads(&self) -> bool {
        *self.0.borrow()
    }

    pub fn set(&self, leads: bool) {
        self.0.send_if_modified(|now| std::mem::replace(now, leads) != leads);
    }

    /// Changes of leadership, to wait on.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }

    /// Waits until this node leads; then gives a token cancelled when it no longer does
    /// (or at shutdown). `None` at shutdown.
    pub async fn term(&self, shutdown: &CancellationToken) -> Option<CancellationToken> {
        let mut changes = self.0.subscribe();
        while !*changes.borrow_and_update() {
            tokio::select! {
                changed = changes.changed() => changed.ok()?,
                () = shutdown.cancelled() => return None,
            }
        }
        let term = shutdown.child_token();
        let ends = term.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    changed = changes.changed() => {
                        if changed.is_err() || !*changes.borrow_and_update() {
                            ends.cancel();
                            return;
                        }
                    }
                    () = ends.cancelled() => return,
                }
            }
        });
        Some(term)
    }
}
