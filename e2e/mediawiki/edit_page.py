#!/usr/bin/env python3
"""Edit wiki pages through the MediaWiki Action API, logged in (Python 3 stdlib only).

    edit_page.py [options] TITLE FILE [TITLE FILE ...]

FILE is a path, or '-' for standard input. All pages are edited in one login session.
Defaults come from the environment: MW_URL (http://127.0.0.1:8181), MW_ADMIN_USER (Admin),
MW_ADMIN_PASS (setup.sh's default). Exits non-zero, printing the API's answer, on any failure.
Typical use: install MediaWiki:Gadgets-definition and MediaWiki:Gadget-*.js pages.
"""
import argparse
import http.cookiejar
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_PASS = "Helpline-e2e-Admin-2024"  # keep in step with setup.sh


class ApiError(Exception):
    pass


class Api:
    def __init__(self, base_url, timeout=30.0):
        self.endpoint = base_url.rstrip("/") + "/api.php"
        self.timeout = timeout
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def call(self, method="GET", **params):
        params.update(format="json", formatversion="2")
        data = urllib.parse.urlencode(params).encode()
        if method == "GET":
            req = urllib.request.Request(self.endpoint + "?" + data.decode())
        else:
            req = urllib.request.Request(self.endpoint, data=data, method="POST")
        req.add_header("User-Agent", "helpline-e2e/edit_page.py")
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                body = resp.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            raise ApiError(f"HTTP {e.code} from {self.endpoint}: {e.read()[:500]!r}") from e
        except urllib.error.URLError as e:
            raise ApiError(f"cannot reach {self.endpoint}: {e.reason}") from e
        try:
            answer = json.loads(body)
        except ValueError as e:
            raise ApiError(f"not JSON from {self.endpoint}: {body[:500]!r}") from e
        if "error" in answer:
            raise ApiError(json.dumps(answer["error"]))
        return answer

    def token(self, kind):
        return self.call(action="query", meta="tokens", type=kind)["query"]["tokens"][kind + "token"]

    def login(self, user, password):
        # action=clientlogin: the supported way to log in with the main account password
        # (action=login works too but warns that this use is deprecated).
        answer = self.call(
            "POST",
            action="clientlogin",
            username=user,
            password=password,
            loginreturnurl=self.endpoint,
            logintoken=self.token("login"),
        )["clientlogin"]
        if answer.get("status") != "PASS":
            raise ApiError("login failed: " + json.dumps(answer))

    def edit(self, title, text, summary):
        answer = self.call(
            "POST",
            action="edit",
            title=title,
            text=text,
            summary=summary,
            token=self.token("csrf"),
        )["edit"]
        if answer.get("result") != "Success":
            raise ApiError("edit failed: " + json.dumps(answer))
        return answer

    def block(self, user, reason):
        answer = self.call(
            "POST",
            action="block",
            user=user,
            reason=reason,
            expiry="1 week",
            reblock="1",
            token=self.token("csrf"),
        )["block"]
        return answer


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("pairs", nargs="*", metavar="TITLE FILE")
    p.add_argument("--block", action="append", default=[], metavar="USER",
                   help="block USER for a week (reason: --summary); may be repeated")
    p.add_argument("--url", default=os.environ.get("MW_URL", "http://127.0.0.1:8181"))
    p.add_argument("--user", default=os.environ.get("MW_ADMIN_USER", "Admin"))
    p.add_argument("--password", default=os.environ.get("MW_ADMIN_PASS", DEFAULT_PASS))
    p.add_argument("--summary", default="helpline e2e")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    args = p.parse_args(argv)
    if len(args.pairs) % 2 or not (args.pairs or args.block):
        p.error("expected TITLE FILE pairs (or --block USER)")

    pages = []
    for title, path in zip(args.pairs[::2], args.pairs[1::2]):
        if path == "-":
            text = sys.stdin.read()
        else:
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except OSError as e:
                p.error(f"cannot read {path}: {e.strerror}")
        pages.append((title, text))

    api = Api(args.url)
    try:
        api.login(args.user, args.password)
        for title, text in pages:
            r = api.edit(title, text, args.summary)
            if not args.quiet:
                what = "unchanged" if "nochange" in r else f"revision {r.get('newrevid')}"
                print(f"{r.get('title', title)}: {what}")
        for user in args.block:
            r = api.block(user, args.summary)
            if not args.quiet:
                print(f"blocked {r.get('user', user)} until {r.get('expiry')}")
    except ApiError as e:
        print(f"edit_page.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
