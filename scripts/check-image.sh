#!/usr/bin/env bash
# The Dockerfile's runtime stage, checked without Docker (no engine runs where Counsel is developed): builds dist/
# as the build stage does, lays out a folder with exactly what the runtime stage COPYs (read from the Dockerfile)
# and production dependencies only, starts its CMD there with its ENV, runs its HEALTHCHECK command, asks a
# question, and stops it with SIGTERM, which must end it cleanly. What this cannot check: the base image, the
# non-root user, the volume.
#   scripts/check-image.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The runtime stage's instructions, continuation lines joined.
stage=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' Dockerfile | awk '/^FROM .* AS runtime/ {r = 1; next} r')

echo "build stage: npm run build, npm run build:web"
npm run build --silent
npm run build:web --silent

app=$work/app
mkdir -p "$app" "$work/data"
while read -r -a args; do
  from=
  if [[ ${args[1]} == --from=build ]]; then from=build; args=("${args[0]}" "${args[@]:2}"); fi
  dest=$app/${args[-1]#./}
  mkdir -p "$(dirname "$dest")"
  for src in "${args[@]:1:${#args[@]}-2}"; do
    # The build stage's WORKDIR is /app: its dist/ is the one just built here.
    [[ $from == build ]] && src=${src#/app/}
    cp -r "$root/$src" "$dest"
  done
done < <(grep '^COPY ' <<<"$stage")

echo "runtime stage: npm ci --omit=dev"
(cd "$app" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)

# ENV as the image sets it, but on loopback, a free port and a temporary data folder.
read -r -a env < <(grep '^ENV ' <<<"$stage" | head -1 | cut -d' ' -f2-)
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
cmd=$(grep '^CMD ' <<<"$stage" | tail -1 | cut -d' ' -f2-)
read -r -a argv < <(node -e 'console.log(JSON.parse(process.argv[1]).join(" "))' "$cmd")
health=$(grep '^HEALTHCHECK ' <<<"$stage" | sed 's/.* CMD //')

cd "$app"
env "${env[@]}" HOST=127.0.0.1 PORT="$port" DATA_DIR="$work/data" "${argv[@]}" >"$work/log" 2>&1 &
pid=$!
healthy=
for _ in $(seq 1 60); do
  if PORT=$port sh -c "$health"; then healthy=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.5
done
if [[ -z $healthy ]]; then
  echo "check-image: the HEALTHCHECK never passed; the service said:" >&2
  cat "$work/log" >&2
  exit 1
fi
echo "HEALTHCHECK passed"

# The examples are indexed at start: a question gets an answer with sources.
for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.5
done
reply=$(curl -sf "http://127.0.0.1:$port/chain/qa" -H 'content-type: application/json' \
  -d '{"question": "How many laptops does the company have?"}')
node -e 'const r = JSON.parse(process.argv[1]); if (!r.answer || !Array.isArray(r.sources)) process.exit(1)' "$reply" || {
  echo "check-image: POST /chain/qa answered $reply" >&2
  exit 1
}
echo "POST /chain/qa answered"

# The console is in the image: its page, under its content security policy.
page=$(curl -sfi "http://127.0.0.1:$port/" -H 'accept: text/html') || page=
grep -qi '^content-security-policy:' <<<"$page" || {
  echo "check-image: GET / did not serve the console" >&2
  exit 1
}
echo "GET / served the console"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
if [[ $status -ne 0 ]]; then
  echo "check-image: SIGTERM ended the service with status $status; it said:" >&2
  cat "$work/log" >&2
  exit 1
fi
echo "SIGTERM: clean exit"
