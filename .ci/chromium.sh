#!/usr/bin/env bash
# Install the operating system's Chromium (and its driver) for the platform's browser tests when it
# is missing: `bash .ci/chromium.sh`. Root only (apt-get); never downloads a browser of its own.
# Idempotent: does nothing when /usr/bin/chromium exists.
set -euo pipefail
log() { echo "chromium.sh: $*" >&2; }
if [ -x /usr/bin/chromium ]; then
    log "found $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    log "Chromium not found and not root: install the 'chromium' package (the browser tests skip without it)"
    exit 0
fi
log "installing chromium with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends chromium chromium-driver >&2
log "installed $(/usr/bin/chromium --version 2>/dev/null)"
