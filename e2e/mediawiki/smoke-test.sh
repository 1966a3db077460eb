#!/usr/bin/env bash
# Check a running wiki (start.sh) end to end with curl: pages, skins, API edit as Admin,
# a default-on gadget served by load.php and listed in the page's RLPAGEMODULES.
# Leaves the `hello` gadget installed (it only sets <body data-hello="1">).
set -euo pipefail

MW_URL=${MW_URL:-http://127.0.0.1:${MW_PORT:-8181}}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

check() { # check NAME COMMAND...
    local name=$1; shift
    if "$@" >"$tmp/out" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        printf 'FAIL %s\n' "$name" >&2
        sed 's/^/    /' "$tmp/out" | head -n 20 >&2
    fi
}
get() { curl -fsS --max-time 20 "$MW_URL$1"; }
# Not `get | grep -q`: under pipefail an early grep exit would fail curl with SIGPIPE.
page_has() { get "$1" >"$tmp/body" && grep -q -- "$2" "$tmp/body"; }

printf '%s\n' "mw.hook('wikipage.content').add(function(){ document.body.setAttribute('data-hello','1'); });" \
    > "$tmp/hello.js"
printf '%s\n' '== helpline-e2e ==' '* hello[ResourceLoader|default|targets=desktop,mobile]|hello.js' \
    > "$tmp/definition.wiki"

check "siteinfo answers" page_has "/api.php?action=query&meta=siteinfo&format=json" '"generator":"MediaWiki 1.39'
check "Main_Page is vector-2022 by default" page_has "/index.php/Main_Page" 'skin-vector-2022'
check "useskin=vector gives legacy Vector" page_has "/index.php/Main_Page?useskin=vector" 'skin-vector-legacy'
check "useskin=minerva works" page_has "/index.php?title=Main_Page&useskin=minerva" 'skin-minerva'
check "Admin is interface-admin" page_has \
    "/api.php?action=query&list=users&ususers=Admin&usprop=groups&format=json" '"interface-admin"'
check "edit gadget pages via API" python3 "$HERE/edit_page.py" --url "$MW_URL" -q \
    MediaWiki:Gadgets-definition "$tmp/definition.wiki" MediaWiki:Gadget-hello.js "$tmp/hello.js"
check "load.php serves ext.gadget.hello" page_has \
    "/load.php?modules=ext.gadget.hello&only=scripts&lang=en&skin=vector-2022" "data-hello"
check "page view loads ext.gadget.hello" page_has "/index.php/Main_Page" 'RLPAGEMODULES=\[[^]]*"ext.gadget.hello"'

printf 'mw-smoke: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
