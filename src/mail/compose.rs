//! Builds the mails a requester receives: plain text in their language, one thread per
//! conversation.

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MessageBuilder};

use crate::domain::{Conversation, Message, Role};
use crate::i18n::I18n;

/// What one mail says.
pub struct Letter<'a> {
    pub conversation: &'a Conversation,
    pub site_name: &'a str,
    /// New messages since the last mail, in order.
    pub messages: &'a [Message],
    /// The first mail of the conversation: it confirms the request and quotes it.
    pub first: bool,
    pub retention_days: u32,
}

impl Letter<'_> {
    /// The plain-text body. Helper answers are labelled with the name helpers chose to
    /// be seen by; internal notes never get here (the caller leaves them out).
    pub fn body(&self, i18n: &I18n) -> String {
        let lang = self.conversation.lang.as_str();
        let mut out = String::new();
        let mut requester_words = self.messages.iter().filter(|m| m.author_role == Role::Requester);
        if self.first {
            out.push_str(&i18n.format(lang, "helpline-mail-received", &[self.site_name]));
            out.push_str("\n\n");
            if let Some(request) = requester_words.next() {
                for line in request.text.lines() {
                    out.push_str("> ");
                    out.push_str(line);
                    out.push('\n');
                }
                out.push('\n');
            }
        } else {
            out.push_str(&i18n.format(lang, "helpline-mail-news", &[self.site_name]));
            out.push_str("\n\n");
        }
        for message in self.messages.iter().filter(|m| !m.internal) {
            match message.author_role {
                Role::Helper => {
                    let name = message.author_name.as_deref().unwrap_or("");
                    out.push_str(&i18n.format(lang, "helpline-mail-helper-wrote", &[name]));
                    out.push('\n');
                    out.push_str(&message.text);
                    out.push_str("\n\n");
                }
                Role::System => {
                    out.push_str(&message.text);
                    out.push_str("\n\n");
                }
                Role::Requester => {}
            }
        }
        out.push_str("-- \n");
        out.push_str(&i18n.format(lang, "helpline-mail-no-reply", &[self.site_name]));
        out.push('\n');
        let days = self.retention_days.to_string();
        out.push_str(&i18n.format(lang, "helpline-mail-privacy", &[&days]));
        out.push('\n');
        out
    }

    /// The whole mail, threaded: the first mail's id is `<ID.0@domain>` and every later
    /// one refers to it.
    pub fn build(
        &self,
        i18n: &I18n,
        from: &Mailbox,
        to: Mailbox,
        domain: &str,
        last_seq: i64,
    ) -> Result<lettre::Message, lettre::error::Error> {
        let id = &self.conversation.id;
        let thread = format!("<{id}.0@{domain}>");
        let mut builder: MessageBuilder = lettre::Message::builder()
            .from(from.clone())
            .to(to)
            .subject(i18n.format(&self.conversation.lang, "helpline-mail-subject", &[self.site_name]))
            .header(ContentType::TEXT_PLAIN)
            .date_now();
        if self.first {
            builder = builder.message_id(Some(thread));
        } else {
            builder = builder
                .message_id(Some(format!("<{id}.{last_seq}@{domain}>")))
                .in_reply_to(thread.clone())
                .references(thread);
        }
        builder.body(self.body(i18n))
    }
}

/// Whether the new messages are worth a mail: the confirmation, a helper's answer, or the
/// end of the conversation. "A helper joined" alone waits for the answer it announces.
pub fn worth_sending(first: bool, messages: &[Message], closed: bool) -> bool {
    first || closed || messages.iter().any(|m| m.author_role == Role::Helper && !m.internal)
}
