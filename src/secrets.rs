//! Tokens, keyed hashes and sealed e-mail addresses.
//!
//! Bearer tokens are 256 random bits; only their SHA-256 is stored, so a copy of the
//! database does not let anyone act as a requester or a helper. Network addresses are
//! never stored: only an HMAC keyed by the server secret and the current day, so the
//! hash of one address changes every day and cannot be reversed by enumerating addresses
//! without the key.

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// A new bearer token: what the client keeps, and the hash the server stores.
pub struct NewToken {
    pub token: String,
    pub hash: String,
}

pub fn new_token() -> NewToken {
    let bytes: [u8; 32] = rand::random();
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_token(&token);
    NewToken { token, hash }
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A random identifier for rows (conversations, helpers): unguessable, URL-safe.
pub fn new_id() -> String {
    let bytes: [u8; 16] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

pub struct Secrets {
    network_key: [u8; 32],
    lookup_key: [u8; 32],
    reply_key: [u8; 32],
    mail_in_key: [u8; 32],
    proof_of_work_key: [u8; 32],
    sealer: XChaCha20Poly1305,
}

impl Secrets {
    pub fn new(master: [u8; 32]) -> Self {
        // Separate keys per purpose, derived from the one master secret.
        let network_key = derive(&master, b"helpline network hash v1");
        let seal_key = derive(&master, b"helpline e-mail seal v1");
        let lookup_key = derive(&master, b"helpline helper e-mail lookup v1");
        let reply_key = derive(&master, b"helpline reply address v1");
        let mail_in_key = derive(&master, b"helpline mail-in key v1");
        let proof_of_work_key = derive(&master, b"helpline proof of work v1");
        Self {
            network_key,
            lookup_key,
            reply_key,
            mail_in_key,
            proof_of_work_key,
            sealer: XChaCha20Poly1305::new(&seal_key.into()),
        }
    }

    /// The keyed hash a helper's address is found by: the same for any capitalisation,
    /// useless without the server secret.
    pub fn email_lookup(&self, address: &str) -> String {
        let mut mac =
            <Hmac<Sha256>>::new_from_slice(&self.lookup_key).expect("HMAC takes keys of any length");
        mac.update(address.trim().to_lowercase().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The day-keyed hash of a requester's network (IPv4 address, or IPv6 /64).
    pub fn network_hash(&self, ip: IpAddr, day: i64) -> String {
        let network: Vec<u8> = match ip {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.octets().to_vec(),
                None => v6.octets()[..8].to_vec(),
            },
        };
        let mut mac =
            <Hmac<Sha256>>::new_from_slice(&self.network_key).expect("HMAC takes keys of any length");
        mac.update(&day.to_be_bytes());
        mac.update(&network);
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// The key that signs proof-of-work challenges (ALTCHA's `signature`), so that a
    /// client cannot choose its own easy challenge.
    pub fn proof_of_work_key(&self) -> &[u8; 32] {
        &self.proof_of_work_key
    }

    /// The tag that makes a reply address unforgeable: 80 bits of an HMAC of what it
    /// names, as 20 lowercase hex digits (mail systems may fold a local part's case).
    pub fn reply_tag(&self, named: &[u8]) -> String {
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.reply_key).expect("HMAC takes keys of any length");
        mac.update(named);
        hex::encode(&mac.finalize().into_bytes()[..10])
    }

    /// What `helpline mail-in` shows the server to hand it a mail: only what can read
    /// the data directory's secret can make it.
    pub fn mail_in_key(&self) -> String {
        hex::encode(self.mail_in_key)
    }

    /// Encrypts an e-mail address for storage; the nonce travels with the ciphertext.
    pub fn seal(&self, plain: &str) -> String {
        let nonce_bytes: [u8; 24] = rand::random();
        let nonce = XNonce::from(nonce_bytes);
        let sealed =
            self.sealer.encrypt(&nonce, plain.as_bytes()).expect("encryption of a short string cannot fail");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, body) = bytes.split_at(24);
        let nonce = XNonce::try_from(nonce).ok()?;
        let plain = self.sealer.decrypt(&nonce, body).ok()?;
        String::from_utf8(plain).ok()
    }
}

fn derive(master: &[u8; 32], purpose: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256>>::new_from_slice(master).expect("HMAC takes keys of any length");
    mac.update(purpose);
    mac.finalize().into_bytes().into()
}

/// Days since the Unix epoch, the rotation period of network hashes.
pub fn day_number(now_ms: i64) -> i64 {
    now_ms.div_euclid(86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a.token, b.token);
        assert_eq!(a.token.len(), 43, "256 bits in unpadded base64url");
        assert_eq!(hash_token(&a.token), a.hash);
        assert!(!a.hash.contains(&a.token));
    }

    #[test]
    fn network_hash_groups_ipv6_by_64_and_rotates_daily() {
        let s = Secrets::new([7; 32]);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(s.network_hash(a, 1), s.network_hash(b, 1));
        assert_ne!(s.network_hash(a, 1), s.network_hash(c, 1));
        assert_ne!(s.network_hash(a, 1), s.network_hash(a, 2));
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(!s.network_hash(v4, 1).contains("192"));
    }

    #[test]
    fn sealed_email_opens_only_with_the_same_key() {
        let s = Secrets::new([1; 32]);
        let sealed = s.seal("person@example.org");
        assert!(!sealed.contains("person"));
        assert_eq!(s.open(&sealed).as_deref(), Some("person@example.org"));
        assert_eq!(Secrets::new([2; 32]).open(&sealed), None);
        assert_eq!(s.open("garbage"), None);
    }
}
