"""The test wiki's local mail delivery: PHP's mail() runs this as its sendmail
(start.sh sets sendmail_path), and each mail the wiki sends (Special:EmailUser, the
API's emailuser) lands in the Maildir given, where the tests read it back with
tests/support/read_maildir.py. It stands in for the wiki host's MTA, which is the wiki
operator's, not Helpline's.

    python3 sendmail-to-maildir.py MAILDIR [sendmail options, ignored]
"""

import mailbox
import sys

mailbox.Maildir(sys.argv[1], create=True).add(sys.stdin.buffer.read())
