#!/usr/bin/env bash
# hookbin beside peer webhook catchers under the same load (wrk -t2 -c50 with post.lua: the
# ~1.4 KB Segmanta JSON POST of segmanta_body.json), one after another in one run: bare aiohttp
# (bare_server.py, the limit of the stack), hookbin headless, hookbin with its TUI live in tmux,
# hookee 3.0 (headless), hooktui 0.1 (a TUI, in tmux), WireMock 3.13 (recording its journal).
# Each gets 2 s of warm-up, then SECONDS (5) measured. The peers install under /tmp on first use
# (PyPI, npm; WireMock needs java). wrk and tmux are installed with apt-get when missing.
# Usage, from the project root with hookbin installed in .venv:  bash benchmarks/peers.sh [SECONDS]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
secs=${1:-5}
hookbin=${HOOKBIN:-$root/.venv/bin/hookbin}
python=$(dirname "$hookbin")/python
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; } >/dev/null 2>&1; }
command -v tmux >/dev/null || apt-get install -y -qq tmux >/dev/null 2>&1
[ -x /tmp/peer-hookee/bin/hookee ] || { python3 -m venv /tmp/peer-hookee && /tmp/peer-hookee/bin/pip install -q hookee==3.0.0; } >/dev/null 2>&1
[ -x /tmp/peer-hooktui/bin/hooktui ] || { python3 -m venv /tmp/peer-hooktui && /tmp/peer-hooktui/bin/pip install -q hooktui==0.1.0; } >/dev/null 2>&1
[ -f /tmp/peer-wm/node_modules/wiremock/build/wiremock-standalone-3.13.2.jar ] || { mkdir -p /tmp/peer-wm && cd /tmp/peer-wm && npm init -y >/dev/null && npm install -s wiremock@3.13.2 >/dev/null 2>&1; cd "$here"; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitp() { for i in $(seq 200); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
run() { # name url
  cd "$here"; BODY=segmanta_body.json wrk -t2 -c50 -d2s -s post.lua "$2" >/dev/null 2>&1
  local out; out=$(BODY=segmanta_body.json wrk -t2 -c50 -d${secs}s --latency -s post.lua "$2" 2>&1)
  printf "%-26s %10s req/s  p99 %8s  non-2xx %s\n" "$1" "$(echo "$out" | awk '/Requests\/sec/{print $2}')" "$(echo "$out" | awk '$1=="99%"{print $2}')" "$(echo "$out" | awk '/Non-2xx/{print $5}')"
}
pids=(); socks=()
cleanup() { for p in "${pids[@]}"; do kill -TERM -- -"$p" 2>/dev/null; done; for s in "${socks[@]:-}"; do [ -n "$s" ] && tmux -L "$s" kill-server 2>/dev/null; done; }
trap cleanup EXIT
tmp=$(mktemp -d)
p=$(port); setsid "$python" "$here/bare_server.py" --port $p >/dev/null 2>&1 & pids+=($!); waitp $p && run "bare aiohttp (limit)" http://127.0.0.1:$p/hook
p=$(port); setsid "$hookbin" serve --no-tui --port $p --db $tmp/h.db >/dev/null 2>&1 & pids+=($!); waitp $p && run "hookbin headless" http://127.0.0.1:$p/hook
p=$(port); s=hbp$p; socks+=($s); tmux -L $s new-session -d -x 150 -y 45 "$hookbin serve --port $p --db $tmp/t.db"; waitp $p && run "hookbin TUI" http://127.0.0.1:$p/hook
p=$(port); setsid /tmp/peer-hookee/bin/hookee --no-tunnel --port $p >/dev/null 2>&1 & pids+=($!); waitp $p && run "hookee 3.0 (headless)" http://127.0.0.1:$p/webhook
p=$(port); s=htp$p; socks+=($s); tmux -L $s new-session -d -x 150 -y 45 "/tmp/peer-hooktui/bin/hooktui --port $p"; waitp $p && run "hooktui 0.1 (TUI)" http://127.0.0.1:$p/x
p=$(port); setsid java -jar /tmp/peer-wm/node_modules/wiremock/build/wiremock-standalone-3.13.2.jar --port $p --root-dir /tmp/peer-wm/root --disable-banner >/dev/null 2>&1 & pids+=($!); waitp $p && curl -s -X POST localhost:$p/__admin/mappings -d '{"request":{"method":"ANY","urlPattern":".*"},"response":{"status":200,"body":"{}"}}' >/dev/null && run "WireMock 3.13 (journal)" http://127.0.0.1:$p/hook
