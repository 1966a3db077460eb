"""Prints the mails of a Maildir as JSON, decoded as a mail program would show them.

The Rust tests receive mail through a real SMTP server (aiosmtpd) that delivers into a
Maildir, and read it back with this."""
import email
import email.policy
import json
import mailbox
import sys


def parse(file):
    return email.message_from_binary_file(file, policy=email.policy.default)


mails = []
# aiosmtpd makes the Maildir (with cur/, new/, tmp/) when it starts.
for message in mailbox.Maildir(sys.argv[1], factory=parse, create=False):
    mails.append({
        "from": str(message["From"]),
        "to": str(message["To"]),
        "subject": str(message["Subject"]),
        "message_id": str(message["Message-ID"]),
        "in_reply_to": message["In-Reply-To"] and str(message["In-Reply-To"]),
        "reply_to": message["Reply-To"] and str(message["Reply-To"]),
        "content_type": message.get_content_type(),
        "body": message.get_body(preferencelist=("plain",)).get_content(),
        "html": (lambda part: part and part.get_content())(message.get_body(preferencelist=("html",))),
    })
json.dump(mails, sys.stdout)
