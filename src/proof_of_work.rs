//! A proof of work on new requests, in ALTCHA's format (version 1), asked only while
//! many requests wait.
//!
//! The server picks a secret number up to `maxnumber`, and gives out
//! `challenge = hex(SHA-256(salt ‖ number))` with `signature = hex(HMAC-SHA-256(key,
//! challenge))`; the salt carries its expiry (`…?expires=UNIX&`). The client finds the
//! number by trying them in turn and sends back `base64(JSON{algorithm, challenge,
//! number, salt, signature})`. Checking costs the server one hash and one HMAC; finding
//! costs the client `maxnumber / 2` hashes on average. Any ALTCHA client or library can
//! solve these challenges. Each solution is good for one request: the store keeps the
//! spent challenges until they expire.

use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::config::{ProofOfWorkConfig, ProofOfWorkMode};
use crate::secrets::constant_time_eq;

pub const ALGORITHM: &str = "SHA-256";

/// A challenge, as ALTCHA's widgets and libraries read it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Challenge {
    /// Always `SHA-256`.
    pub algorithm: String,
    /// `hex(SHA-256(salt ‖ number))` for the number to find.
    pub challenge: String,
    /// The number lies in `0..=maxnumber`.
    pub maxnumber: u64,
    /// Random hex, then `?expires=UNIX_SECONDS&`.
    pub salt: String,
    /// The server's HMAC of `challenge`.
    pub signature: String,
}

/// A new challenge expiring at `expires_at` (UNIX seconds).
pub fn challenge(key: &[u8; 32], max_number: u64, expires_at: i64) -> Challenge {
    let salt = format!("{}?expires={expires_at}&", hex::encode(rand::random::<[u8; 12]>()));
    let number = rand::random_range(0..=max_number);
    let challenge = hash(&salt, number);
    let signature = sign(key, &challenge);
    Challenge { algorithm: ALGORITHM.into(), challenge, maxnumber: max_number, salt, signature }
}

/// A solution that holds: the challenge it solves (to be spent once) and its expiry.
#[derive(Debug, PartialEq, Eq)]
pub struct Solved {
    pub challenge: String,
    pub expires_at: i64,
}

/// Why a solution does not hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not base64 of ALTCHA's JSON, or not our algorithm.
    Malformed,
    /// Not signed by this server, or the number does not give the challenge.
    Wrong,
    Expired,
}

#[derive(Deserialize)]
struct Payload {
    algorithm: String,
    challenge: String,
    number: u64,
    salt: String,
    signature: String,
}

/// Checks a client's payload at `now` (UNIX seconds).
pub fn verify(key: &[u8; 32], payload: &str, now: i64) -> Result<Solved, Refusal> {
    let payload = payload.trim();
    let json = STANDARD
        .decode(payload)
        .or_else(|_| URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')))
        .map_err(|_| Refusal::Malformed)?;
    let p: Payload = serde_json::from_slice(&json).map_err(|_| Refusal::Malformed)?;
    if p.algorithm != ALGORITHM {
        return Err(Refusal::Malformed);
    }
    if !constant_time_eq(&sign(key, &p.challenge), &p.signature.to_ascii_lowercase()) {
        return Err(Refusal::Wrong);
    }
    // Signed by us, so the salt is ours too once the hash matches.
    if !constant_time_eq(&hash(&p.salt, p.number), &p.challenge.to_ascii_lowercase()) {
        return Err(Refusal::Wrong);
    }
    let expires_at = expiry(&p.salt).ok_or(Refusal::Malformed)?;
    if now > expires_at {
        return Err(Refusal::Expired);
    }
    Ok(Solved { challenge: p.challenge.to_ascii_lowercase(), expires_at })
}

fn hash(salt: &str, number: u64) -> String {
    hex::encode(Sha256::digest(format!("{salt}{number}").as_bytes()))
}

fn sign(key: &[u8; 32], challenge: &str) -> String {
    let mut mac = <Hmac<Sha256>>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(challenge.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `expires` parameter ALTCHA puts after the salt's `?`.
fn expiry(salt: &str) -> Option<i64> {
    let (_, params) = salt.split_once('?')?;
    params.split('&').find_map(|kv| kv.strip_prefix("expires=")).and_then(|v| v.parse().ok())
}

/// Whether new requests must carry a proof of work now: fixed by the mode, or, in
/// `auto`, switched by how many requests wait (on at `waiting_above`, off below half of
/// it, so that it does not flicker around one figure).
pub struct Gate {
    mode: ProofOfWorkMode,
    on_at: i64,
    off_below: i64,
    on: AtomicBool,
}

impl Gate {
    pub fn new(config: &ProofOfWorkConfig) -> Self {
        let on_at = i64::from(config.waiting_above.max(1));
        Self { mode: config.mode, on_at, off_below: (on_at / 2).max(1), on: AtomicBool::new(false) }
    }

    pub fn required(&self) -> bool {
        match self.mode {
            ProofOfWorkMode::Always => true,
            ProofOfWorkMode::Off => false,
            ProofOfWorkMode::Auto => self.on.load(Ordering::Relaxed),
        }
    }

    /// Takes the number of requests waiting now; returns the new state when it changed.
    pub fn observe_waiting(&self, waiting: i64) -> Option<bool> {
        if self.mode != ProofOfWorkMode::Auto {
            return None;
        }
        let was = self.on.load(Ordering::Relaxed);
        let now = if was { waiting >= self.off_below } else { waiting >= self.on_at };
        (now != was).then(|| {
            self.on.store(now, Ordering::Relaxed);
            now
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    fn solve(c: &Challenge) -> u64 {
        (0..=c.maxnumber).find(|n| hash(&c.salt, *n) == c.challenge).unwrap()
    }

    fn payload(c: &Challenge, number: u64) -> String {
        let json = serde_json::json!({
            "algorithm": c.algorithm, "challenge": c.challenge, "number": number,
            "salt": c.salt, "signature": c.signature, "took": 12,
        });
        STANDARD.encode(json.to_string())
    }

    #[test]
    fn a_solved_challenge_holds_until_it_expires() {
        let c = challenge(&KEY, 2_000, 1_000);
        let number = solve(&c);
        let solved = verify(&KEY, &payload(&c, number), 999).unwrap();
        assert_eq!(solved, Solved { challenge: c.challenge.clone(), expires_at: 1_000 });
        assert_eq!(verify(&KEY, &payload(&c, number), 1_001), Err(Refusal::Expired));
    }

    #[test]
    fn wrong_numbers_other_keys_and_edited_salts_are_refused() {
        let c = challenge(&KEY, 2_000, 1_000);
        let number = solve(&c);
        let wrong = if number == 0 { 1 } else { number - 1 };
        assert_eq!(verify(&KEY, &payload(&c, wrong), 0), Err(Refusal::Wrong));
        assert_eq!(verify(&[8; 32], &payload(&c, number), 0), Err(Refusal::Wrong));
        // A later expiry written into the salt breaks the hash.
        let mut longer = c.clone();
        longer.salt = longer.salt.replace("expires=1000", "expires=9999");
        assert_eq!(verify(&KEY, &payload(&longer, number), 0), Err(Refusal::Wrong));
        // A challenge of the client's own making is not signed by the server.
        let mut own = c.clone();
        own.salt = "easy?expires=9999&".into();
        own.challenge = hash(&own.salt, 1);
        assert_eq!(verify(&KEY, &payload(&own, 1), 0), Err(Refusal::Wrong));
    }

    #[test]
    fn garbage_is_malformed() {
        for junk in ["", "not base64!", &STANDARD.encode("{}"), &STANDARD.encode("[1,2]")] {
            assert_eq!(verify(&KEY, junk, 0), Err(Refusal::Malformed), "{junk}");
        }
        let mut md5 = challenge(&KEY, 10, 1_000);
        md5.algorithm = "SHA-1".into();
        assert_eq!(verify(&KEY, &payload(&md5, 0), 0), Err(Refusal::Malformed));
    }

    #[test]
    fn auto_switches_on_at_the_threshold_and_off_below_half() {
        let gate = Gate::new(&ProofOfWorkConfig { waiting_above: 10, ..ProofOfWorkConfig::default() });
        assert!(!gate.required());
        assert_eq!(gate.observe_waiting(9), None);
        assert_eq!(gate.observe_waiting(10), Some(true));
        assert!(gate.required());
        assert_eq!(gate.observe_waiting(5), None, "half is still a spike");
        assert_eq!(gate.observe_waiting(4), Some(false));
        assert!(!gate.required());
        let always = Gate::new(&ProofOfWorkConfig { mode: ProofOfWorkMode::Always, ..Default::default() });
        assert!(always.required());
        assert_eq!(always.observe_waiting(1_000), None);
        let off = Gate::new(&ProofOfWorkConfig { mode: ProofOfWorkMode::Off, ..Default::default() });
        assert_eq!(off.observe_waiting(1_000), None);
        assert!(!off.required());
    }
}
