"""An SMTP server for the fault tests: aiosmtpd's Mailbox handler (every mail kept in a
Maildir, as the other mail tests read it), except that while the file HOLD exists it
keeps the sender waiting after the mail's data, before it says 250: the moment in
which a sender that dies sends the same mail again after its restart.

    python3 holding_smtpd.py HOST PORT MAILDIR HOLD
"""

import asyncio
import os
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


class Holding(Mailbox):
    def __init__(self, mail_dir, hold):
        super().__init__(mail_dir)
        self.hold = hold

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        while os.path.exists(self.hold):
            await asyncio.sleep(0.02)
        return answer


def main():
    host, port, mail_dir, hold = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    controller = Controller(Holding(mail_dir, hold), hostname=host, port=port)
    controller.start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
