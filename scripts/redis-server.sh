#!/usr/bin/env bash
# Runs a Redis 8 server (vector sets built in) for tests, benchmarks and local use.
#
#   scripts/redis-server.sh [redis-server options…]   exec a Redis 8 server, e.g. --port 6390 --save ''
#   scripts/redis-server.sh --cli [redis-cli options…] exec the matching redis-cli
#   scripts/redis-server.sh --install                  only fetch and unpack, then print the server's version
#
# Uses a redis-server of version 8 or later from PATH when there is one. Otherwise it downloads Debian trixie's
# redis-tools package (whose redis-check-rdb is the server binary, run under the name redis-server) with the C
# and C++ runtime it needs, from the mirror this machine's own apt sources name, unpacks them into a cache
# folder, and runs the server through trixie's dynamic loader, so it works on an older Debian too.
set -euo pipefail

CACHE="${COUNSEL_REDIS_CACHE:-$(cd "$(dirname "$0")/.." && pwd)/.cache/redis-8}"
PACKAGES=(redis-tools libc6 libstdc++6 libgcc-s1 liblzf1 libjemalloc2)

log() { echo "redis-server.sh: $*" >&2; }

system_redis_ok() {
  command -v redis-server >/dev/null 2>&1 || return 1
  local major
  major=$(redis-server --version | sed -n 's/.*v=\([0-9]*\)\..*/\1/p')
  [ -n "$major" ] && [ "$major" -ge 8 ]
}

# The first Debian mirror in this machine's apt sources (deb822 "URIs:" or one-line "deb URL suite …").
apt_mirror() {
  local uri
  uri=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -1 || true)
  if [ -z "$uri" ]; then
    uri=$(grep -hsE '^deb\s' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
      sed -E 's/^deb\s+(\[[^]]*\]\s+)?//' | awk '{print $1}' | grep -v security | head -1 || true)
  fi
  [ -n "$uri" ] || { log "no Debian mirror found in /etc/apt/sources.list*"; exit 1; }
  echo "$uri"
}

install_debs() {
  [ -x "$CACHE/root/usr/bin/redis-check-rdb" ] && return 0
  command -v apt-get >/dev/null || { log "needs apt-get (Debian or Ubuntu) or a redis-server >= 8 on PATH"; exit 1; }
  local work mirror
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  mirror=$(apt_mirror)
  log "fetching Debian trixie's ${PACKAGES[*]} into $CACHE"
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  echo "deb [signed-by=$keyring] $mirror trixie main" >"$work/sources.list"
  local apt_opts=(
    -o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Dir::State::status=/dev/null
    -o APT::Sandbox::User=root -qq
  )
  apt-get "${apt_opts[@]}" update >&2
  (cd "$work/debs" && apt-get "${apt_opts[@]}" download "${PACKAGES[@]}" >&2)
  rm -rf "$CACHE.tmp" && mkdir -p "$CACHE.tmp/root"
  for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$CACHE.tmp/root"; done
  rm -rf "$CACHE" && mv "$CACHE.tmp" "$CACHE"
}

run_cached() { # program, args…
  local libs="$CACHE/root/usr/lib/x86_64-linux-gnu"
  local program=$1 name=$2
  shift 2
  exec "$libs/ld-linux-x86-64.so.2" --library-path "$libs:/lib/x86_64-linux-gnu" --argv0 "$name" \
    "$CACHE/root/usr/bin/$program" "$@"
}

mode=server
case "${1:-}" in
--cli) mode=cli && shift ;;
--install) mode=install && shift ;;
esac

if system_redis_ok; then
  case $mode in
  server) exec redis-server "$@" ;;
  cli) exec redis-cli "$@" ;;
  install) redis-server --version && exit 0 ;;
  esac
fi

[ "$(uname -m)" = x86_64 ] || { log "the Debian fallback is for x86_64; install redis-server >= 8"; exit 1; }
install_debs
case $mode in
server) run_cached redis-check-rdb redis-server "$@" ;;
cli) run_cached redis-cli redis-cli "$@" ;;
install) run_cached redis-check-rdb redis-server --version ;;
esac
