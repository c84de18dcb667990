#!/usr/bin/env bash
# Installs Debian's nginx and Caddy, the fronts that buffer request bodies in the shipped layouts,
# for the slow-client tests and bench. Their packaged services are not started: the tests run
# each with a configuration of their own, as an ordinary process.
set -euo pipefail
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
had_policy=0
[ -e "$policy" ] && had_policy=1
if [ "$had_policy" = 0 ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
fi
trap '[ "$had_policy" = 1 ] || $sudo rm -f "$policy"' EXIT
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends nginx caddy >/dev/null
/usr/sbin/nginx -v
/usr/bin/caddy version
