#!/usr/bin/env bash
# Formats the Swift sources with swift-format (bundled with the toolchain), or with --check only
# reports what would change.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--check" ]; then
    swift format lint --strict --recursive --configuration .swift-format Sources Tests Package.swift bench/micro/Package.swift bench/micro/Sources bench/micro/Benchmarks
else
    swift format format --in-place --recursive --configuration .swift-format Sources Tests Package.swift bench/micro/Package.swift bench/micro/Sources bench/micro/Benchmarks
fi
