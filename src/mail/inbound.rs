//! Reading a mail that came in: who sent it, what it answers, and the person's own new
//! words — decoded from whatever charset and transfer encoding it came in, HTML made
//! text, the quoted history and the signature cut off, attachments counted (never kept).
//! Auto-replies and bounces are told apart, so that nobody answers a machine and a
//! failed address is marked. What to do with it is decided above (`conversations`).

use mail_parser::{HeaderValue, MessageParser, MimeHeaders};

/// The largest mail read; more is refused before parsing.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A person wrote it.
    Person,
    /// An out-of-office or other automatic answer (RFC 3834), or a list's mail: never
    /// answered, never stored.
    Automatic,
    /// A delivery failure report about one of our mails.
    Bounce,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inbound {
    pub kind: Kind,
    /// The `Message-ID`, without its angle brackets.
    pub message_id: Option<String>,
    /// The sender's address (the `From`).
    pub from: Option<String>,
    /// Every recipient address it was sent to (`To`, `Cc`, `Delivered-To`,
    /// `X-Original-To`): a reply address is among them.
    pub recipients: Vec<String>,
    /// The mails it answers (`In-Reply-To`, then `References`, newest first), without
    /// angle brackets. For a bounce: every id and address the report names.
    pub answers: Vec<String>,
    pub subject: String,
    /// The new words only.
    pub text: String,
    /// Attachments left out.
    pub attachments: usize,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotAMail {
    #[error("the input is empty")]
    Empty,
    #[error("the input is larger than {MAX_BYTES} bytes")]
    TooLarge,
    #[error("the input is not an e-mail message (no headers, or no sender)")]
    NoHeaders,
}

/// Reads one RFC 5322 message.
pub fn read(raw: &[u8]) -> Result<Inbound, NotAMail> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(NotAMail::Empty);
    }
    if raw.len() > MAX_BYTES {
        return Err(NotAMail::TooLarge);
    }
    let message = MessageParser::default().parse(raw).ok_or(NotAMail::NoHeaders)?;
    let from = message.from().and_then(|a| a.first()).and_then(|a| a.address()).map(str::to_ascii_lowercase);
    let kind = kind_of(&message);
    if from.is_none() && kind != Kind::Bounce {
        return Err(NotAMail::NoHeaders);
    }
    let mut recipients = Vec::new();
    for address in message.to().into_iter().chain(message.cc()) {
        recipients.extend(address.iter().filter_map(|a| a.address()).map(str::to_ascii_lowercase));
    }
    for header in ["Delivered-To", "X-Original-To"] {
        for value in message.header_values(header) {
            if let Some(text) = value.as_text() {
                recipients.push(text.trim().trim_matches(['<', '>']).to_ascii_lowercase());
            }
        }
    }
    let mut answers = ids(message.in_reply_to());
    let mut references = ids(message.references());
    references.reverse();
    answers.extend(references);
    if kind == Kind::Bounce {
        answers.extend(named_in(&String::from_utf8_lossy(raw)));
    }
    answers.dedup();
    let text = match kind {
        Kind::Person => message.body_text(0).map(|t| new_words(&t)).unwrap_or_default(),
        _ => String::new(),
    };
    Ok(Inbound {
        kind,
        message_id: message.message_id().map(str::to_string),
        from,
        recipients,
        answers,
        subject: message.subject().unwrap_or_default().to_string(),
        text,
        attachments: message.attachment_count(),
    })
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    value
        .as_text_list()
        .map(|list| list.iter().map(|id| id.trim_matches(['<', '>', ' ']).to_string()).collect())
        .unwrap_or_default()
}

/// RFC 3834's `Auto-Submitted`, the older `Precedence` and vendors' headers, a
/// mailing list's; a delivery report (RFC 3464) or a mailer daemon's.
fn kind_of(message: &mail_parser::Message<'_>) -> Kind {
    let is_report = message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct.attribute("report-type").is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
    });
    let from = message.from().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default();
    let local = from.split('@').next().unwrap_or_default().to_ascii_lowercase();
    let null_sender = message.return_address().is_some_and(|r| r.trim_matches(['<', '>', ' ']).is_empty())
        || message.header_raw("Return-Path").is_some_and(|r| r.trim() == "<>");
    if is_report || ((local == "mailer-daemon" || local == "postmaster") && null_sender) {
        return Kind::Bounce;
    }
    let header = |name: &str| message.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    let auto_submitted = header("Auto-Submitted").is_some_and(|v| !v.starts_with("no"));
    let precedence =
        header("Precedence").is_some_and(|v| matches!(v.as_str(), "bulk" | "junk" | "list" | "auto_reply"));
    let vendor = ["X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"]
        .iter()
        .any(|h| header(h).is_some_and(|v| v != "no" && !(h.ends_with("Suppress") && v == "none")));
    let list = message.header_raw("List-Id").is_some() || message.header_raw("List-Unsubscribe").is_some();
    if auto_submitted || precedence || vendor || list || null_sender { Kind::Automatic } else { Kind::Person }
}

/// Message ids (`<…@…>`) and reply addresses (`reply+…@…`) a delivery report names.
fn named_in(report: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (start, _) in report.match_indices('<') {
        let rest = &report[start + 1..];
        if let Some(end) = rest.find('>') {
            let inside = &rest[..end];
            if inside.contains('@') && !inside.contains(char::is_whitespace) && inside.len() < 250 {
                found.push(inside.to_string());
            }
        }
    }
    for word in report.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | ';' | '"' | ',')) {
        let word = word.trim_start_matches("rfc822:");
        if word.to_ascii_lowercase().starts_with("reply+") && word.contains('@') {
            found.push(word.to_string());
        }
    }
    found
}

/// The person's new words: the quoted history (`> …`, "On … wrote:", Outlook's
/// "-----Original Message-----" and its From: block) and the signature (after "-- ")
/// cut off; trailing blank lines trimmed.
pub fn new_words(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        if *line == "-- " || trimmed == "--" {
            break;
        }
        if trimmed.starts_with('>') {
            // A quoted block: what follows it is more of the history, or a signature.
            if lines[i..].iter().all(|l| l.trim().is_empty() || l.trim().starts_with('>') || *l == "-- ") {
                break;
            }
            continue;
        }
        if is_history_start(&lines[i..]) {
            break;
        }
        kept.push(line);
    }
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    while kept.first().is_some_and(|l| l.trim().is_empty()) {
        kept.remove(0);
    }
    kept.join("\n")
}

/// Where the quoted history starts: "On … wrote:" (in the languages we serve, on one
/// line or two) followed only by quoted lines — so that a person's own "On Monday he
/// wrote: …" is never cut — or Outlook's "-----Original Message-----", or a
/// "From: … / Sent: …" header block.
fn is_history_start(rest: &[&str]) -> bool {
    let Some(line) = rest.first().map(|l| l.trim().to_lowercase()) else { return false };
    let next = rest.get(1).map(|l| l.trim().to_lowercase());
    let verbs = ["wrote", "schrieb", "a écrit", "escribió", "כתב"];
    let opens = ["on ", "am ", "le ", "el ", "ב-", "בתאריך"];
    let says = |l: &str| l.trim_end().ends_with(':') && verbs.iter().any(|v| l.contains(v));
    let only_quotes_after = |n: usize| {
        let after = rest.iter().skip(n).map(|l| l.trim()).filter(|l| !l.is_empty());
        let mut after = after.peekable();
        after.peek().is_some() && after.take_while(|l| *l != "--").all(|l| l.starts_with('>'))
    };
    if says(&line)
        && (opens.iter().any(|o| line.starts_with(o)) || line.contains('@'))
        && only_quotes_after(1)
    {
        return true;
    }
    if opens.iter().any(|o| line.starts_with(o)) && next.as_deref().is_some_and(says) && only_quotes_after(2)
    {
        return true;
    }
    if line.starts_with("-----original message-----") || line.starts_with("-----ursprüngliche nachricht-----")
    {
        return true;
    }
    let header_block = |l: &str| l.starts_with("from:") || l.starts_with("von:");
    header_block(&line)
        && next
            .is_some_and(|n| n.starts_with("sent:") || n.starts_with("gesendet:") || n.starts_with("date:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(headers: &str, body: &str) -> Vec<u8> {
        format!("{headers}\r\n\r\n{body}").replace("\r\n", "\n").replace('\n', "\r\n").into_bytes()
    }

    const HEAD: &str = "From: Alice Example <Alice@Example.org>\nTo: reply+abc.def@help.example\n\
        Subject: Re: Your request\nMessage-ID: <m1@example.org>\nIn-Reply-To: <c1.4@help.example>\n\
        References: <c1.0@help.example> <c1.4@help.example>\nDate: Thu, 3 Dec 2026 10:00:00 +0000";

    #[test]
    fn a_reply_keeps_only_the_new_words() {
        let body = "Thank you, that helped.\n\nHe wrote again today.\n\nOn Wed, 2 Dec 2026 at 09:00, Helpline <help@help.example> wrote:\n> Hello, I am a volunteer.\n> How can I help?\n\n-- \nAlice\nSent from my phone";
        let read = read(&mail(HEAD, body)).unwrap();
        assert_eq!(read.kind, Kind::Person);
        assert_eq!(read.text, "Thank you, that helped.\n\nHe wrote again today.");
        assert_eq!(read.from.as_deref(), Some("alice@example.org"));
        assert_eq!(read.message_id.as_deref(), Some("m1@example.org"));
        assert_eq!(read.answers, ["c1.4@help.example", "c1.0@help.example"], "newest first, once");
        assert_eq!(read.recipients, ["reply+abc.def@help.example"]);
    }

    #[test]
    fn quoted_lines_between_answers_are_dropped_and_outlook_history_cut() {
        let inline = "> What happened?\nHe reverted me.\n> When?\nYesterday.";
        assert_eq!(new_words(inline), "He reverted me.\nYesterday.");
        let outlook = "Yes please.\n\n-----Original Message-----\nFrom: Helpline\nSent: Monday\nHello";
        assert_eq!(new_words(outlook), "Yes please.");
        let german = "Danke!\n\nAm 2. Dez. 2026 um 09:00 schrieb Helpline <help@help.example>:\n> Hallo";
        assert_eq!(new_words(german), "Danke!");
        let split = "Fine.\nOn Wed, 2 Dec 2026 at 09:00, Helpline\n<help@help.example> wrote:\n> hi";
        assert_eq!(new_words(split), "Fine.");
        assert_eq!(
            new_words("From: me\nI am writing from home."),
            "From: me\nI am writing from home.",
            "not a header block"
        );
        let own = "On Monday he wrote:\n\"nobody wants you here\"\nand then again on Tuesday.";
        assert_eq!(new_words(own), own, "a person quoting what was written to them keeps every word");
    }

    #[test]
    fn charsets_and_transfer_encodings_are_decoded() {
        let latin = read(&mail(
            &format!("{HEAD}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: quoted-printable"),
            "Gr=FC=DFe aus K=F6ln, =\nbis bald.",
        ))
        .unwrap();
        assert_eq!(latin.text, "Grüße aus Köln, bis bald.");
        let base64 = read(&mail(
            &format!("{HEAD}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64"),
            "16nXnNeV150g16LXldeTINek16LXnQ==",
        ))
        .unwrap();
        assert_eq!(base64.text, "שלום עוד פעם");
        let subject =
            read(&mail("From: a@example.org\nSubject: =?ISO-8859-1?Q?Hilfe_f=FCr_mich?=", "text")).unwrap();
        assert_eq!(subject.subject, "Hilfe für mich");
    }

    #[test]
    fn html_only_mail_becomes_text_and_attachments_are_counted_not_kept() {
        let html = read(&mail(
            &format!("{HEAD}\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8"),
            "<html><body><p>It <b>keeps</b> happening.</p><script>alert(1)</script></body></html>",
        ))
        .unwrap();
        assert!(html.text.contains("It keeps happening."), "{:?}", html.text);
        assert!(!html.text.contains('<'), "{:?}", html.text);
        let with_file = read(&mail(
            &format!("{HEAD}\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\""),
            "--b\nContent-Type: text/plain; charset=utf-8\n\nSee the screenshot.\n--b\nContent-Type: image/png\nContent-Disposition: attachment; filename=\"shot.png\"\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--b--\n",
        ))
        .unwrap();
        assert_eq!((with_file.text.as_str(), with_file.attachments), ("See the screenshot.", 1));
    }

    #[test]
    fn machines_are_told_apart_from_people() {
        for header in [
            "Auto-Submitted: auto-replied",
            "Precedence: bulk",
            "X-Autoreply: yes",
            "List-Id: <x.lists.example>",
        ] {
            let auto = read(&mail(&format!("{HEAD}\n{header}"), "I am out of the office.")).unwrap();
            assert_eq!(auto.kind, Kind::Automatic, "{header}");
            assert_eq!(auto.text, "", "nothing of an automatic answer is kept");
        }
        let person = read(&mail(&format!("{HEAD}\nAuto-Submitted: no"), "me")).unwrap();
        assert_eq!(person.kind, Kind::Person);
    }

    #[test]
    fn a_bounce_names_the_mail_and_the_address_that_failed() {
        let report = read(&mail(
            "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\nTo: help@help.example\nReturn-Path: <>\n\
             Subject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n\
             Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"",
            "--r\nContent-Type: text/plain\n\nThe mail could not be delivered.\n--r\n\
             Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n\
             Final-Recipient: rfc822; gone@example.org\nAction: failed\nStatus: 5.1.1\n--r\n\
             Content-Type: text/rfc822-headers\n\nFrom: Help <help@help.example>\nTo: gone@example.org\n\
             Reply-To: reply+0011.2233@help.example\nMessage-ID: <c1.7@help.example>\n--r--\n",
        ))
        .unwrap();
        assert_eq!(report.kind, Kind::Bounce);
        assert!(report.answers.iter().any(|a| a == "c1.7@help.example"), "{:?}", report.answers);
        assert!(report.answers.iter().any(|a| a == "reply+0011.2233@help.example"), "{:?}", report.answers);
        assert_eq!(report.text, "");
    }

    #[test]
    fn what_is_not_a_mail_is_refused() {
        assert_eq!(read(b""), Err(NotAMail::Empty));
        assert_eq!(read(b"  \n "), Err(NotAMail::Empty));
        assert_eq!(read(b"just some words\nand more"), Err(NotAMail::NoHeaders));
        assert_eq!(read(b"Subject: no sender\r\n\r\nbody"), Err(NotAMail::NoHeaders));
        assert_eq!(read(&vec![b'a'; MAX_BYTES + 1]), Err(NotAMail::TooLarge));
    }
}
