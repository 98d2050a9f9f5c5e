#!/usr/bin/env bash
# Installs what is missing, builds Tandem (release) and runs it on the default configuration
# (deploy/tandem.yaml: http://127.0.0.1:8080, data in ./data, a demo `pageviews` stream).
# Extra arguments go to `tandem serve` (e.g. --port 9090 --data-dir /var/lib/tandem).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

scripts/install-deps.sh
swift build -c release --product tandem
exec .build/release/tandem serve --config deploy/tandem.yaml "$@"
