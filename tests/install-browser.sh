#!/usr/bin/env bash
# Debian's Chromium for the UI tests (tests/test_ui.py drives it with Playwright through
# executable_path=/usr/bin/chromium: Playwright's own browser download has no route here).
# Idempotent; `make test` runs it when run as root.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
/usr/bin/chromium --version
