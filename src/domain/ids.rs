//! Typed ids: a conversation id cannot be passed where a helper id is wanted. Each is
//! text in the store and on the wire (transparent in serde, sqlx and the OpenAPI schema).

use std::borrow::Borrow;
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        id_type!($(#[$doc])* $name, |_: &str| true, None);
    };
    // With a check of what may come from outside: a value that fails it is refused as
    // it is read (from a path, a body, a frame) and never reaches the store. `$pattern`,
    // when given, says the same in the OpenAPI schema.
    ($(#[$doc:meta])* $name:ident, $well_formed:expr, $pattern:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[derive(serde::Serialize, sqlx::Type)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(String);

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let id = String::deserialize(deserializer)?;
                let well_formed: fn(&str) -> bool = $well_formed;
                if well_formed(&id) {
                    Ok(Self(id))
                } else {
                    Err(serde::de::Error::custom(concat!("not a well-formed ", stringify!($name))))
                }
            }
        }

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }

        /// As the text it is, quoted: ids appear in messages such as `no queue "x"`.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
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

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_string())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let pattern: Option<&str> = $pattern;
                match pattern {
                    None => <String as utoipa::PartialSchema>::schema(),
                    Some(pattern) => utoipa::openapi::schema::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::Type::String)
                        .pattern(Some(pattern))
                        .into(),
                }
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

id_type!(
    /// A conversation (random, unguessable, URL-safe: see `secrets::new_id`). Only
    /// that shape is read from outside: PostgreSQL refuses text holding NUL, and such
    /// an id must be "not found", not a server error.
    ConversationId,
    |id: &str| (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
    Some("^[A-Za-z0-9_-]{1,64}$")
);
id_type!(
    /// A helper account (random; the name is what people see).
    HelperId
);
id_type!(
    /// A queue of the configuration, e.g. `enwiki` or `global`.
    QueueId
);
id_type!(
    /// A site of the configuration, e.g. `enwiki`.
    SiteId
);

#[cfg(test)]
mod tests {
    use super::*;

    /// The check that reads a conversation id and the pattern the OpenAPI document gives
    /// are written twice; they must agree.
    #[test]
    fn the_conversation_id_check_and_its_documented_pattern_agree() {
        let schema = serde_json::to_value(<ConversationId as utoipa::PartialSchema>::schema()).unwrap();
        let pattern = regex::Regex::new(schema["pattern"].as_str().unwrap()).unwrap();
        let long = "a".repeat(64);
        let too_long = "a".repeat(65);
        for id in
            ["a", "c_AZaz09-_", long.as_str(), too_long.as_str(), "", "a b", "a\0", "a/b", "é", "..", "a\n"]
        {
            let read = serde_json::from_value::<ConversationId>(serde_json::Value::from(id)).is_ok();
            assert_eq!(read, pattern.is_match(id), "{id:?}");
        }
    }
}
