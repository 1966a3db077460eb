//! Validated values from outside — requesters, helpers, the configuration, the command
//! line: message text, client ids, language codes, e-mail addresses, wiki user names.
//! A value of these types has passed its rule; the raw text never goes further.

use std::fmt;

use super::DomainError;

macro_rules! text_type {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// Message text: newlines normalised, control characters dropped, trimmed; neither
/// empty nor longer than the limit in characters (Unicode scalar values, as the widget
/// counts them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageText(String);
text_type!(MessageText);

impl MessageText {
    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, DomainError> {
        let text: String = raw
            .replace("\r\n", "\n")
            .chars()
            .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
            .collect();
        let text = text.trim();
        if text.is_empty() {
            return Err(DomainError::invalid("empty_text", "Please write a message."));
        }
        let count = text.chars().count();
        if count > max_chars {
            return Err(DomainError::invalid(
                "text_too_long",
                format!("The text has {count} characters; the limit is {max_chars}."),
            ));
        }
        Ok(Self(text.to_string()))
    }
}

/// A client's id for a message: 1–64 of `A-Z a-z 0-9 - _ . :`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientId(String);
text_type!(ClientId);

impl ClientId {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(DomainError::invalid(
                "invalid_client_id",
                "client_id must be 1 to 64 letters, digits, '-', '_', '.' or ':'.",
            ))
        }
    }
}

/// A BCP 47-ish language code, lower-cased (`en`, `de-at`, `zh-hant`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Language(String);
text_type!(Language);

impl Language {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let lower = raw.trim().to_ascii_lowercase();
        let ok = (2..=20).contains(&lower.len())
            && lower.split('-').all(|part| {
                !part.is_empty() && part.len() <= 8 && part.bytes().all(|b| b.is_ascii_alphanumeric())
            })
            && lower.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
        if ok {
            Ok(Self(lower))
        } else {
            Err(DomainError::invalid("invalid_lang", "lang must be a language code such as en or de-at."))
        }
    }

    /// `de` of `de-at`.
    pub fn base(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }
}

/// An e-mail address with a dotted domain (no `person@localhost`), at most 254 bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);
text_type!(Email);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let trimmed = raw.trim();
        if trimmed.len() <= 254 && email_address::EmailAddress::is_valid(trimmed) && trimmed.contains('.') {
            Ok(Self(trimmed.to_string()))
        } else {
            Err(DomainError::invalid("invalid_email", "That does not look like an e-mail address."))
        }
    }
}

/// A wiki user name as claimed by the widget (a claim, not verified here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);
text_type!(Username);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > 255 || name.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                "invalid_username",
                "username must be 1 to 255 printable characters.",
            ));
        }
        Ok(Self(name.to_string()))
    }
}

/// A queue or site id of the configuration: 1–64 of `a-z 0-9 - _`.
pub fn valid_config_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_limits() {
        assert_eq!(
            MessageText::parse("  hi\r\nthere\u{0007} ", 10).map(MessageText::into_string).ok().as_deref(),
            Some("hi\nthere")
        );
        assert_eq!(MessageText::parse(" \n\t ", 10).err().map(|e| e.code), Some("empty_text"));
        assert!(MessageText::parse(&"é".repeat(1000), 1000).is_ok());
        assert_eq!(MessageText::parse(&"é".repeat(1001), 1000).err().map(|e| e.code), Some("text_too_long"));
    }

    #[test]
    fn ids_languages_and_emails() {
        assert!(ClientId::parse("abc-123_x").is_ok());
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse("has space").is_err());
        assert!(ClientId::parse(&"a".repeat(65)).is_err());
        assert_eq!(Language::parse("DE-at").map(Language::into_string).ok().as_deref(), Some("de-at"));
        assert_eq!(Language::parse("de-at").map(|l| l.base().to_string()).ok().as_deref(), Some("de"));
        assert!(Language::parse("e").is_err());
        assert!(Language::parse("en; drop").is_err());
        assert!(Email::parse("person@example.org").is_ok());
        for bad in ["person", "person@", "@example.org", "a b@example.org", "person@localhost"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(valid_config_id("en-wiki_2") && !valid_config_id("En") && !valid_config_id(""));
    }
}
