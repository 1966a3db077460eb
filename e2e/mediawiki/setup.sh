#!/usr/bin/env bash
# Create a throw-away MediaWiki 1.39 (Debian's `mediawiki` package) with SQLite for
# end-to-end tests. Idempotent and non-interactive; on Debian 12. Root is needed only
# to install missing packages. See README.md beside this file.
#   setup.sh                   packages (if missing), then the wiki
#   setup.sh --packages        only the packages (as root)
#   setup.sh --check-packages  exit 0 when every package is there, 1 otherwise
set -euo pipefail
MODE=${1:-all}
case $MODE in all | --packages | --check-packages) ;; *) echo "usage: setup.sh [--packages | --check-packages]" >&2; exit 2 ;; esac

MW_DIR=${MW_DIR:-/tmp/helpline-mw}
MW_PORT=${MW_PORT:-8181}
MW_ADMIN_USER=${MW_ADMIN_USER:-Admin}
MW_ADMIN_PASS=${MW_ADMIN_PASS:-Helpline-e2e-Admin-2024}
MW_USER=${MW_USER:-Reader}
MW_USER_PASS=${MW_USER_PASS:-Helpline-e2e-Reader-2024}
MW_SKIP_APT=${MW_SKIP_APT:-0}
# Bot passwords as the wiki makes them: at least 32 of 0-9 and a-w. action=login takes
# nothing else (BotPassword::canonicalizeLoginData), though createBotPassword.php does.
MW_BOT_USER=${MW_BOT_USER:-HelplineBot}
MW_BOT_APP=${MW_BOT_APP:-helpline}
MW_BOT_PASS=${MW_BOT_PASS:-helplinee2ebotpassword0000000000}
MW_GADGET_APP=${MW_GADGET_APP:-gadget}
MW_GADGET_PASS=${MW_GADGET_PASS:-helplinee2egadgetpassword0000000}
MW_HOME=/usr/share/mediawiki
# php-cli runs install.php and `php -S`; curl (start.sh) and python3 (edit_page.py) are
# usually there already. No --install-recommends: MySQL, ImageMagick, APCu... not needed.
PACKAGES=(mediawiki php-sqlite3 php-cli curl python3)

log() { printf 'mw-setup: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Run a command quietly; on failure show its output and stop.
quiet() {
    local out
    if ! out=$("$@" 2>&1); then
        printf '%s\n' "$out" >&2
        die "command failed: $*"
    fi
}

# --- 1. packages -------------------------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "$MODE" = --check-packages ]; then
    [ "${#missing[@]}" -eq 0 ]
    exit
fi
if [ "${#missing[@]}" -gt 0 ]; then
    [ "$MW_SKIP_APT" = 1 ] && die "missing packages: ${missing[*]} (MW_SKIP_APT=1)"
    [ "$(id -u)" -eq 0 ] || die "run as root to install ${missing[*]} (or: sudo $0 --packages)"
    # mediawiki Depends on `apache2 | httpd` and `php` (-> libapache2-mod-php): apt pulls in
    # apache2 but we never use it. Make sure its postinst does not start a daemon on :80.
    # (Docker-style images already ship a policy-rc.d that says no; elsewhere add one for
    # the duration of the install only.)
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    t0=$(date +%s)
    quiet apt-get update -qq
    quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${PACKAGES[@]}"
    log "installed ${missing[*]} in $(( $(date +%s) - t0 )) s"
fi
[ -f "$MW_HOME/maintenance/install.php" ] || die "$MW_HOME/maintenance/install.php not found"
[ -f "$MW_HOME/extensions/Gadgets/extension.json" ] || die "Gadgets extension not bundled?"
[ -f "$MW_HOME/skins/Vector/skin.json" ] || die "Vector skin not bundled?"
[ "$MODE" = --packages ] && exit 0

# --- 2. the wiki ---------------------------------------------------------------------------
# Everything of this wiki lives in $MW_DIR; /usr/share/mediawiki is used read-only as the
# code base ($IP) and /etc/mediawiki, /var/lib/mediawiki are left alone. MediaWiki finds our
# LocalSettings.php through the MW_CONFIG_FILE environment variable (honoured by
# wfDetectLocalSettingsFile() in 1.39 for web entry points and maintenance scripts alike).
mkdir -p "$MW_DIR"
MW_DIR=$(cd "$MW_DIR" && pwd -P)
mkdir -p "$MW_DIR/data" "$MW_DIR/cache" "$MW_DIR/tmp" "$MW_DIR/logs"
export MW_CONFIG_FILE="$MW_DIR/LocalSettings.php"
export MW_INSTALL_PATH="$MW_HOME"

# Debian's $IP/LocalSettings.php is a symlink to /etc/mediawiki/LocalSettings.php. Because
# MW_CONFIG_FILE points elsewhere the installer never looks at it, so a system wiki (if any)
# and any number of test wikis can coexist.
t0=$(date +%s)
if [ ! -f "$MW_DIR/LocalSettings.php" ]; then
    rm -f "$MW_DIR"/data/*.sqlite
    pwfile=$(mktemp)
    printf '%s' "$MW_ADMIN_PASS" > "$pwfile"
    if ! out=$(php "$MW_HOME/maintenance/install.php" \
        --dbtype sqlite --dbpath "$MW_DIR/data" --dbname helpline_mw \
        --server "http://127.0.0.1:$MW_PORT" --scriptpath '' \
        --confpath "$MW_DIR" --lang en \
        --extensions Gadgets --skins Vector,MinervaNeue,MonoBook,Timeless \
        --passfile "$pwfile" \
        "Helpline Test Wiki" "$MW_ADMIN_USER" 2>&1); then
        rm -f "$pwfile" "$MW_DIR/LocalSettings.php"
        printf '%s\n' "$out" >&2
        die "install.php failed"
    fi
    rm -f "$pwfile"
    printf '\n# Helpline e2e settings (regenerated by setup.sh)\nrequire_once __DIR__ . "/HelplineSettings.php";\n' \
        >> "$MW_DIR/LocalSettings.php"
    log "installed wiki in $(( $(date +%s) - t0 )) s"
fi

# Regenerated on every run, so changing this script and re-running it is enough (written
# aside and renamed, so a running server never reads half a file).
cat > "$MW_DIR/HelplineSettings.php.new" <<PHP
<?php
// Generated by e2e/mediawiki/setup.sh -- do not edit, re-run the script instead.
// Web requests get their server from the Host header, so the wiki answers on whatever
// loopback address/port start.sh serves it; CLI scripts use the install-time one.
if ( PHP_SAPI !== 'cli' ) {
	\$wgServer = WebRequest::detectServer();
}
\$wgSitename = 'Helpline Test Wiki';
\$wgFavicon = '/resources/assets/change-your-logo-icon.svg';
\$wgDefaultSkin = 'vector-2022';
wfLoadSkin( 'Vector' );        // registers both 'vector' (legacy) and 'vector-2022'
wfLoadSkin( 'MinervaNeue' );   // ?useskin=minerva (desktop only: no MobileFrontend in Debian)
wfLoadSkin( 'MonoBook' );
wfLoadSkin( 'Timeless' );
wfLoadExtension( 'Gadgets' );

// A group Wikipedias have and core does not, for the helpers' eligibility rules.
\$wgGroupPermissions['rollbacker']['rollback'] = true;

\$wgEnableUploads = false;
\$wgAllowUserJs = true;
\$wgAllowUserCss = true;
\$wgShowExceptionDetails = true;
\$wgShowDBErrorBacktrace = true;
\$wgDebugLogGroups['exception'] = '$MW_DIR/logs/exception.log';
\$wgDebugLogGroups['error'] = '$MW_DIR/logs/error.log';

// Fresh gadgets: no object cache (gadget definitions and module versions are recomputed
// per request), short ResourceLoader HTTP caching, no module store in localStorage.
\$wgMainCacheType = CACHE_NONE;
\$wgResourceLoaderMaxage = [ 'versioned' => 60, 'unversioned' => 1 ];
\$wgResourceLoaderStorageEnabled = false;
\$wgCacheDirectory = '$MW_DIR/cache';
\$wgTmpDirectory = '$MW_DIR/tmp';

// Tests log in often and create accounts: no throttles. E-mail is enabled, addresses need
// no confirmation (maintenance/resetUserEmail.php sets them), and what the wiki sends
// (e-mail to a user; talk/watchlist notifications are off) lands in \$MW_DIR/mail.
\$wgPasswordAttemptThrottle = [];
\$wgAccountCreationThrottle = [];
\$wgEmailAuthentication = false;
\$wgEnableEmail = true;
\$wgEnableUserEmail = true;
\$wgPasswordSender = 'wiki@wiki.test';
\$wgEnotifUserTalk = false;
\$wgEnotifWatchlist = false;
PHP
mv -f "$MW_DIR/HelplineSettings.php.new" "$MW_DIR/HelplineSettings.php"

run_maint() { quiet php "$MW_HOME/maintenance/$1" "${@:2}"; }

# The installer already makes the admin sysop + bureaucrat + interface-admin; --force keeps
# this idempotent (and resets the password to the configured one).
run_maint createAndPromote.php --force --sysop --bureaucrat --custom-groups interface-admin \
    "$MW_ADMIN_USER" "$MW_ADMIN_PASS"
run_maint createAndPromote.php --force "$MW_USER" "$MW_USER_PASS"
# An account for tests to block (the helper's wiki-context panel shows blocks).
run_maint createAndPromote.php --force Troublemaker "Helpline-e2e-Troublemaker-2024"
# The site's bot account (talk-page posts, mail through the wiki), and an interface-admin
# bot password for installing the gadget. Setting a user's password (createAndPromote
# --force above) invalidates their bot passwords ("must be reset"), and
# createBotPassword.php refuses an app id that exists: so they are deleted and made again.
run_maint createAndPromote.php --force --bot "$MW_BOT_USER" "Helpline-e2e-Bot-2024"
# The bot sends mail through the wiki (emailuser): it needs an address of its own.
run_maint resetUserEmail.php --no-reset-password "$MW_BOT_USER" "helpline-bot@wiki.test"
run_maint sql.php --query "DELETE FROM bot_passwords WHERE bp_app_id IN ('$MW_BOT_APP', '$MW_GADGET_APP')"
bot_password() {
    run_maint createBotPassword.php --appid "$2" --grants "$3" "$1" "$4"
}
bot_password "$MW_BOT_USER" "$MW_BOT_APP" basic,highvolume,editpage,createeditmovepage,sendemail "$MW_BOT_PASS"
bot_password "$MW_ADMIN_USER" "$MW_GADGET_APP" basic,editpage,editinterface,editsiteconfig,createeditmovepage "$MW_GADGET_PASS"
# Applies schema changes for extensions/skins loaded above (no-op when up to date).
run_maint update.php --quick

# Also kept beside the wiki, for tests that find it by its directory.
tee "$MW_DIR/wiki.env" <<INFO
MW_DIR=$MW_DIR
MW_URL=http://127.0.0.1:$MW_PORT
MW_ADMIN_USER=$MW_ADMIN_USER
MW_ADMIN_PASS=$MW_ADMIN_PASS
MW_USER=$MW_USER
MW_USER_PASS=$MW_USER_PASS
MW_BOT_LOGIN=$MW_BOT_USER@$MW_BOT_APP
MW_BOT_PASS=$MW_BOT_PASS
MW_GADGET_LOGIN=$MW_ADMIN_USER@$MW_GADGET_APP
MW_GADGET_PASS=$MW_GADGET_PASS
INFO
