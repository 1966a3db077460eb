#!/usr/bin/env bash
# Serve the wiki made by setup.sh with PHP's built-in web server, in the background.
# Prints the base URL once api.php answers. See README.md beside this file.
set -euo pipefail

MW_DIR=${MW_DIR:-/tmp/helpline-mw}
MW_PORT=${MW_PORT:-8181}
MW_HOST=${MW_HOST:-127.0.0.1}
MW_WORKERS=${MW_WORKERS:-4}
MW_START_TIMEOUT=${MW_START_TIMEOUT:-30}
MW_HOME=/usr/share/mediawiki
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

die() { printf 'mw-start: error: %s\n' "$*" >&2; exit 1; }

[ -f "$MW_DIR/LocalSettings.php" ] || die "no wiki in $MW_DIR: run setup.sh first"
MW_DIR=$(cd "$MW_DIR" && pwd -P)
pidfile="$MW_DIR/php-server.pid"
logfile="$MW_DIR/logs/php-server.log"
url="http://$MW_HOST:$MW_PORT"
probe="$url/api.php?action=query&meta=siteinfo&format=json"

answers() { curl -fsS --max-time 5 "$probe" 2>/dev/null | grep -q '"sitename"'; }

if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    answers || die "server pid $(cat "$pidfile") runs but $probe does not answer (see $logfile)"
    echo "$url"
    exit 0
fi
rm -f "$pidfile"
if answers; then
    die "something else already answers on $url"
fi

mkdir -p "$MW_DIR/logs"
# MW_CONFIG_FILE makes MediaWiki (WebStart -> wfDetectLocalSettingsFile) load this wiki's
# LocalSettings.php instead of Debian's $IP/LocalSettings.php symlink. Mail the wiki sends
# lands in $MW_DIR/mail (a Maildir), through sendmail-to-maildir.py. setsid puts the server
# and its PHP_CLI_SERVER_WORKERS children in their own process group, which stop.sh ends.
MW_CONFIG_FILE="$MW_DIR/LocalSettings.php" MW_INSTALL_PATH="$MW_HOME" \
PHP_CLI_SERVER_WORKERS="$MW_WORKERS" \
    setsid php -d "sendmail_path=python3 $HERE/sendmail-to-maildir.py $MW_DIR/mail" \
    -S "$MW_HOST:$MW_PORT" -t "$MW_HOME" "$HERE/router.php" \
    >>"$logfile" 2>&1 </dev/null &
echo $! > "$pidfile"

deadline=$(( $(date +%s) + MW_START_TIMEOUT ))
until answers; do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        rm -f "$pidfile"
        tail -n 20 "$logfile" >&2 || true
        die "php -S exited (see $logfile)"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        tail -n 20 "$logfile" >&2 || true
        die "no answer from $probe within ${MW_START_TIMEOUT}s (server left running, pid $(cat "$pidfile"); stop.sh ends it)"
    fi
    sleep 0.3
done
echo "$url"
