//! A reply address per conversation, `reply+<id>.<tag>@domain`: a reply to any mail of
//! the conversation finds it again, and nobody can make up one that does — the tag is
//! an HMAC of the id under the server's secret. Lowercase hex throughout, so that a mail
//! system folding the local part's case changes nothing; at most 64 characters before
//! the `@`, as SMTP allows.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::ConversationId;
use crate::secrets::{Secrets, constant_time_eq};

const PREFIX: &str = "reply+";
const LONGEST_LOCAL_PART: usize = 64;

/// The conversation's reply address at `domain`; `None` for an id too long for one.
pub fn reply_address(secrets: &Secrets, domain: &str, id: &ConversationId) -> Option<String> {
    let named = named(id);
    let local = format!("{PREFIX}{named}.{}", secrets.reply_tag(named.as_bytes()));
    (local.len() <= LONGEST_LOCAL_PART).then(|| format!("{local}@{domain}"))
}

/// The id in lowercase hex: of its 16 bytes for ids made by `secrets::new_id`
/// (base64url), else `t` and the hex of its text.
fn named(id: &ConversationId) -> String {
    match URL_SAFE_NO_PAD.decode(id.as_str()) {
        Ok(bytes) if bytes.len() == 16 && URL_SAFE_NO_PAD.encode(&bytes) == id.as_str() => hex::encode(bytes),
        _ => format!("t{}", hex::encode(id.as_str())),
    }
}

/// The conversation a reply address names, if its tag is right (any domain: the
/// operator's mail system decides which domains reach us).
pub fn conversation_of(secrets: &Secrets, address: &str) -> Option<ConversationId> {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>').to_ascii_lowercase();
    let (local, _domain) = address.rsplit_once('@')?;
    let (named, tag) = local.strip_prefix(PREFIX)?.split_once('.')?;
    if !constant_time_eq(&secrets.reply_tag(named.as_bytes()), tag) {
        return None;
    }
    let id = match named.strip_prefix('t') {
        Some(text) => String::from_utf8(hex::decode(text).ok()?).ok()?,
        None => URL_SAFE_NO_PAD.encode(hex::decode(named).ok()?),
    };
    Some(ConversationId::new(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_address_finds_its_conversation_and_cannot_be_made_up() {
        let secrets = Secrets::new([7; 32]);
        let id = ConversationId::new(crate::secrets::new_id());
        let address = reply_address(&secrets, "help.example", &id).unwrap();
        assert!(address.split('@').next().unwrap().len() <= 64, "{address}");
        assert_eq!(address, address.to_ascii_lowercase(), "no case to fold");
        assert_eq!(conversation_of(&secrets, &address), Some(id.clone()));
        assert_eq!(conversation_of(&secrets, &address.to_ascii_uppercase()), Some(id.clone()), "folded case");
        assert_eq!(conversation_of(&secrets, &format!("<{address}>")), Some(id.clone()));

        let other = ConversationId::new(crate::secrets::new_id());
        let forged = address.replacen(&named(&id), &named(&other), 1);
        assert_eq!(conversation_of(&secrets, &forged), None, "another id with this tag");
        assert_eq!(conversation_of(&Secrets::new([8; 32]), &address), None, "another server's secret");
        assert_eq!(conversation_of(&secrets, "help@help.example"), None);
        assert_eq!(conversation_of(&secrets, "reply+zz.00@help.example"), None);
    }

    #[test]
    fn ids_that_are_not_base64_still_get_one() {
        let secrets = Secrets::new([7; 32]);
        for text in ["seed-42", "abcd", "c_1"] {
            let id = ConversationId::new(text.to_string());
            let address = reply_address(&secrets, "h.example", &id).unwrap();
            assert!(address.starts_with("reply+t"), "{address}");
            assert_eq!(conversation_of(&secrets, &address), Some(id));
        }
    }
}
