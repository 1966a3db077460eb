//! Helpers: volunteer team members, the queues they belong to and in which role.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::DomainError;
use super::ids::{HelperId, QueueId};

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Helper {
    pub id: HelperId,
    pub name: String,
    pub languages: Vec<String>,
    pub away: bool,
    pub queues: Vec<Membership>,
    /// The team alias (`#12`) requesters see instead of the name, when the helper chose it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Open conversations this helper takes at once.
    pub capacity: i64,
    /// Queues the helper is a member of but may not work in now: they no longer meet
    /// the queue's eligibility rules. Not in `queues`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suspended: Vec<Suspension>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Suspension {
    pub queue: QueueId,
    /// Why, in the words of the eligibility check (e.g. "blocked on the wiki").
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Membership {
    pub queue: QueueId,
    pub role: QueueRole,
}

/// A helper's role in one queue. Coordinators manage it: members, canned replies and
/// other teams, statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueRole {
    Helper,
    Coordinator,
}
crate::text_enum!(QueueRole { Helper => "helper", Coordinator => "coordinator" });

/// Available for new requests, or away (still signed in, not counted as online).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Available,
    Away,
}
crate::text_enum!(PresenceStatus { Available => "available", Away => "away" });

/// Mail a helper asked for about their queues (opt-in; off by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailAlerts {
    Off,
    /// A request has waited longer than the queue's `alert_after_minutes` and nobody of
    /// the queue is online.
    Waiting,
    /// One summary of the queues a day.
    Digest,
}
crate::text_enum!(MailAlerts { Off => "off", Waiting => "waiting", Digest => "digest" });

/// The most open conversations a helper may choose to take at once.
pub const MAX_CAPACITY: i64 = 20;

impl Helper {
    pub fn queue_ids(&self) -> Vec<QueueId> {
        self.queues.iter().map(|m| m.queue.clone()).collect()
    }

    pub fn is_member<Q: AsRef<str> + ?Sized>(&self, queue: &Q) -> bool {
        self.queues.iter().any(|m| m.queue.as_str() == queue.as_ref())
    }

    /// Queues this helper coordinates.
    pub fn coordinated_queues(&self) -> Vec<QueueId> {
        self.queues.iter().filter(|m| m.role == QueueRole::Coordinator).map(|m| m.queue.clone()).collect()
    }

    pub fn coordinates<Q: AsRef<str> + ?Sized>(&self, queue: &Q) -> bool {
        self.queues.iter().any(|m| m.role == QueueRole::Coordinator && m.queue.as_str() == queue.as_ref())
    }

    /// The name requesters see: the team alias if the helper chose one, else their name.
    pub fn shown_name(&self) -> String {
        self.alias.clone().unwrap_or_else(|| self.name.clone())
    }

    /// Whether a conversation's conflicts of interest keep this helper away from it
    /// (by their name or their alias).
    pub fn is_kept_away(&self, conflicts: &super::Conflicts) -> bool {
        match &self.alias {
            Some(alias) => conflicts.hides(&[self.name.as_str(), alias.as_str()]),
            None => conflicts.hides(&[self.name.as_str()]),
        }
    }

    /// Whether this helper takes requests in `lang` (no languages listed: any).
    pub fn speaks(&self, lang: &str) -> bool {
        let base = |code: &str| code.split('-').next().unwrap_or(code).to_ascii_lowercase();
        self.languages.is_empty() || self.languages.iter().any(|l| base(l) == base(lang))
    }
}

/// A helper's name: 1–85 characters, none that a wiki user name cannot hold.
pub fn validate_name(name: &str) -> Result<&str, DomainError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 85 {
        return Err(DomainError::invalid("invalid_name", "a helper name has 1 to 85 characters"));
    }
    if name.chars().any(|c| c.is_control() || matches!(c, '#' | '<' | '>' | '[' | ']' | '|' | '{' | '}')) {
        return Err(DomainError::invalid(
            "invalid_name",
            "a helper name cannot contain control characters or any of # < > [ ] | { }",
        ));
    }
    Ok(name)
}

/// A capacity from a form: a whole number from 1 to `MAX_CAPACITY`.
pub fn parse_capacity(text: &str) -> Result<i64, DomainError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (1..=MAX_CAPACITY).contains(n))
        .ok_or_else(|| DomainError::invalid("invalid_capacity", "Capacity is a whole number from 1 to 20."))
}
