//! Builds the mails a requester receives, in their language: a text part and an HTML
//! part saying the same, one thread per conversation.

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MessageBuilder, MultiPart};

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
    /// The conversation's reply address, when replies are read.
    pub reply_to: Option<String>,
    /// A transcript (its number) asked for at the end: every message but internal notes,
    /// the requester's own words included, instead of what is new.
    pub transcript: Option<i64>,
    /// Sent through the wiki's e-mail: the wiki has the address, Helpline does not.
    pub through_wiki: bool,
}

/// One part of a mail, the same in its text and its HTML.
pub enum Block {
    Intro(String),
    /// The requester's own words, quoted back in the first mail.
    Quote(String),
    /// Someone's words, after who wrote them ("Sam wrote:", "You wrote:").
    Said {
        name: String,
        text: String,
    },
    Notice(String),
}

/// The HTML part: the same blocks, escaped, in the requester's language and direction.
#[derive(askama::Template)]
#[template(path = "mail/letter.html")]
struct Html<'a> {
    lang: &'a str,
    dir: &'static str,
    title: &'a str,
    blocks: &'a [Block],
    footer: &'a [String],
}

impl Letter<'_> {
    /// What the mail says, in order, and its footer lines. Helper answers are labelled
    /// with the name helpers chose to be seen by; internal notes never get here.
    fn blocks(&self, i18n: &I18n) -> (Vec<Block>, Vec<String>) {
        let lang = self.conversation.lang.as_str();
        let mut blocks = Vec::new();
        let mut requester_words = self.messages.iter().filter(|m| m.author_role == Role::Requester);
        if self.transcript.is_some() {
            blocks.push(Block::Intro(i18n.format(lang, "helpline-mail-transcript-intro", &[self.site_name])));
        } else if self.first {
            blocks.push(Block::Intro(i18n.format(lang, "helpline-mail-received", &[self.site_name])));
            if let Some(request) = requester_words.next() {
                blocks.push(Block::Quote(request.text.clone()));
            }
        } else {
            blocks.push(Block::Intro(i18n.format(lang, "helpline-mail-news", &[self.site_name])));
        }
        for message in self.messages.iter().filter(|m| !m.internal) {
            match message.author_role {
                Role::Helper => {
                    let name = message.author_name.as_deref().unwrap_or("");
                    blocks.push(Block::Said {
                        name: i18n.format(lang, "helpline-mail-helper-wrote", &[name]),
                        text: message.text.clone(),
                    });
                }
                Role::System => blocks.push(Block::Notice(message.text.clone())),
                Role::Requester if self.transcript.is_some() => blocks.push(Block::Said {
                    name: i18n.format(lang, "helpline-mail-you-wrote", &[]),
                    text: message.text.clone(),
                }),
                Role::Requester => {}
            }
        }
        if self.transcript.is_some() {
            // Its address served this mail only: the retention line is not about it.
            return (blocks, vec![i18n.format(lang, "helpline-mail-transcript-footer", &[self.site_name])]);
        }
        let days = self.retention_days.to_string();
        let replies = if self.reply_to.is_some() { "helpline-mail-reply" } else { "helpline-mail-no-reply" };
        let privacy = if self.through_wiki {
            i18n.format(lang, "helpline-mail-wiki-privacy", &[self.site_name])
        } else {
            i18n.format(lang, "helpline-mail-privacy", &[&days])
        };
        let footer = vec![i18n.format(lang, replies, &[self.site_name]), privacy];
        (blocks, footer)
    }

    /// The plain-text body.
    pub fn body(&self, i18n: &I18n) -> String {
        let (blocks, footer) = self.blocks(i18n);
        let mut out = String::new();
        for block in &blocks {
            match block {
                Block::Intro(text) => {
                    out.push_str(text);
                    out.push_str("\n\n");
                }
                Block::Quote(text) => {
                    for line in text.lines() {
                        out.push_str("> ");
                        out.push_str(line);
                        out.push('\n');
                    }
                    out.push('\n');
                }
                Block::Said { name, text } => {
                    out.push_str(name);
                    out.push('\n');
                    out.push_str(text);
                    out.push_str("\n\n");
                }
                Block::Notice(text) => {
                    out.push_str(text);
                    out.push_str("\n\n");
                }
            }
        }
        out.push_str("-- \n");
        for line in footer {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// The HTML body: the same words, escaped (a requester's or helper's text can hold
    /// anything), laid out for a phone's mail program.
    pub fn html(&self, i18n: &I18n) -> Result<String, askama::Error> {
        let (blocks, footer) = self.blocks(i18n);
        let lang = self.conversation.lang.as_str();
        let base = lang.split('-').next().unwrap_or(lang);
        let dir = if crate::i18n::RTL_LANGUAGES.contains(&base) { "rtl" } else { "ltr" };
        let title = i18n.format(lang, self.subject_key(), &[self.site_name]);
        askama::Template::render(&Html { lang, dir, title: &title, blocks: &blocks, footer: &footer })
    }

    /// The subject line, in the requester's language.
    pub fn subject(&self, i18n: &I18n) -> String {
        i18n.format(&self.conversation.lang, self.subject_key(), &[self.site_name])
    }

    fn subject_key(&self) -> &'static str {
        if self.transcript.is_some() { "helpline-mail-transcript-subject" } else { "helpline-mail-subject" }
    }

    /// The whole mail, threaded: the first mail's id is `<ID.0@domain>` and every later
    /// one refers to it (a transcript's is `<ID.tN@domain>`).
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
        let mut builder: MessageBuilder =
            lettre::Message::builder().from(from.clone()).to(to).subject(self.subject(i18n)).date_now();
        if let Some(reply_to) = self.reply_to.as_deref().and_then(|a| a.parse::<Mailbox>().ok()) {
            builder = builder.reply_to(reply_to);
        }
        if let Some(number) = self.transcript {
            builder = builder
                .message_id(Some(format!("<{id}.t{number}@{domain}>")))
                .in_reply_to(thread.clone())
                .references(thread);
        } else if self.first {
            builder = builder.message_id(Some(thread));
        } else {
            builder = builder
                .message_id(Some(format!("<{id}.{last_seq}@{domain}>")))
                .in_reply_to(thread.clone())
                .references(thread);
        }
        let text = self.body(i18n);
        match self.html(i18n) {
            Ok(html) => builder.multipart(MultiPart::alternative_plain_html(text, html)),
            // A template that fails to render must not hold the answer back.
            Err(_) => builder.header(ContentType::TEXT_PLAIN).body(text),
        }
    }
}

/// Whether the new messages are worth a mail: the confirmation, a helper's answer, or the
/// end of the conversation. "A helper joined" alone waits for the answer it announces.
pub fn worth_sending(first: bool, messages: &[Message], closed: bool) -> bool {
    first || closed || messages.iter().any(|m| m.author_role == Role::Helper && !m.internal)
}
