//! Validated values at the edge: message text, client ids, language codes, e-mail.

use crate::error::{AppError, AppResult};

/// Normalises message text (newlines, no control characters, trimmed) and checks it is
/// neither empty nor longer than `max` characters (Unicode scalar values, as the widget
/// counts them).
pub fn message_text(raw: &str, max: usize) -> AppResult<String> {
    let text: String =
        raw.replace("\r\n", "\n").chars().filter(|c| !c.is_control() || *c == '\n' || *c == '\t').collect();
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::bad_request("empty_text", "Please write a message."));
    }
    let count = text.chars().count();
    if count > max {
        return Err(AppError::bad_request(
            "text_too_long",
            format!("The text has {count} characters; the limit is {max}."),
        ));
    }
    Ok(text.to_string())
}

/// A client's id for a message: 1–64 of `A-Z a-z 0-9 - _ . :`.
pub fn client_id(raw: &str) -> AppResult<&str> {
    let ok = !raw.is_empty()
        && raw.len() <= 64
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if ok {
        Ok(raw)
    } else {
        Err(AppError::bad_request(
            "invalid_client_id",
            "client_id must be 1 to 64 letters, digits, '-', '_', '.' or ':'.",
        ))
    }
}

/// A BCP 47-ish language code, lower-cased (`en`, `de-at`, `zh-hant`).
pub fn language(raw: &str) -> AppResult<String> {
    let lower = raw.trim().to_ascii_lowercase();
    let ok = (2..=20).contains(&lower.len())
        && lower.split('-').all(|part| {
            !part.is_empty() && part.len() <= 8 && part.bytes().all(|b| b.is_ascii_alphanumeric())
        })
        && lower.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
    if ok {
        Ok(lower)
    } else {
        Err(AppError::bad_request("invalid_lang", "lang must be a language code such as en or de-at."))
    }
}

pub fn email(raw: &str) -> AppResult<String> {
    let trimmed = raw.trim();
    if trimmed.len() <= 254 && email_address::EmailAddress::is_valid(trimmed) && trimmed.contains('.') {
        Ok(trimmed.to_string())
    } else {
        Err(AppError::bad_request("invalid_email", "That does not look like an e-mail address."))
    }
}

/// A wiki user name as claimed by the widget (not verified here).
pub fn username(raw: &str) -> AppResult<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 255 || name.chars().any(char::is_control) {
        return Err(AppError::bad_request(
            "invalid_username",
            "username must be 1 to 255 printable characters.",
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_limits() {
        assert_eq!(message_text("  hi\r\nthere\u{0007} ", 10).ok().as_deref(), Some("hi\nthere"));
        assert_eq!(message_text(" \n\t ", 10).err().map(|e| e.code()), Some("empty_text"));
        assert!(message_text(&"é".repeat(1000), 1000).is_ok());
        assert_eq!(message_text(&"é".repeat(1001), 1000).err().map(|e| e.code()), Some("text_too_long"));
    }

    #[test]
    fn ids_languages_and_emails() {
        assert!(client_id("abc-123_x").is_ok());
        assert!(client_id("").is_err());
        assert!(client_id("has space").is_err());
        assert!(client_id(&"a".repeat(65)).is_err());
        assert_eq!(language("DE-at").ok().as_deref(), Some("de-at"));
        assert!(language("e").is_err());
        assert!(language("en; drop").is_err());
        assert!(email("person@example.org").is_ok());
        for bad in ["person", "person@", "@example.org", "a b@example.org", "person@localhost"] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }
}
