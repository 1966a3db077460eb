#!/usr/bin/env bash
# edit-page.sh TITLE FILE [TITLE FILE ...] -- thin wrapper around edit_page.py.
set -euo pipefail
exec python3 "$(dirname "${BASH_SOURCE[0]}")/edit_page.py" "$@"
