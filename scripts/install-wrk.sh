#!/usr/bin/env bash
# Installs Debian's wrk, the load generator of `make bench`.
set -euo pipefail
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq wrk >/dev/null
wrk --version | head -1 || true
