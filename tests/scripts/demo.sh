#!/bin/sh
# demo.sh - an echo server and an echo client, side by side (make demo).
#
# In a terminal with tmux: two panes, the server's trace in one and an
# interactive client on the right (type lines; Ctrl-D ends the client, and
# the demo with it). Otherwise, or with DEMO=plain: one terminal, a short
# scripted session, both traces prefixed "server |" and "client |".
set -eu
cd "$(dirname "$0")/../.."
. tests/scripts/lib.sh

SERVER=${SERVER:-bin/echo-server}
CLIENT=${CLIENT:-bin/echo-client}
for prog in "$SERVER" "$CLIENT"; do
    [ -x "$prog" ] || { echo "demo: $prog is not built; run make" >&2; exit 69; }
done

tmp=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || :
        wait "$server_pid" 2>/dev/null || :
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "${DEMO:-}" != plain ] && command -v tmux >/dev/null 2>&1 &&
   [ -t 0 ] && [ -t 1 ] && [ -z "${TMUX:-}" ]; then
    session="socklab-demo-$$"
    # Left pane: the server, port 0 so a busy 7000 cannot spoil the demo.
    tmux new-session -d -s "$session" \
        "$SERVER -v 0 | tee $tmp/ready; echo '(server stopped; Ctrl-B d or exit to leave)'; cat >/dev/null"
    port=$(wait_port "$tmp/ready") || { echo "demo: the server did not print its ready line" >&2; exit 70; }
    # Side by side when the terminal is wide enough for two traces,
    # otherwise one above the other.
    cols=$(tput cols 2>/dev/null || echo 80)
    if [ "$cols" -ge 180 ]; then split=-h; else split=-v; fi
    tmux split-window $split -t "$session" \
        "echo 'Type lines; each comes back. Ctrl-D ends the client.'; \
         $CLIENT -v 127.0.0.1 $port; \
         tmux kill-session -t $session"
    tmux attach -t "$session" || :
    tmux kill-session -t "$session" 2>/dev/null || :
    exit 0
fi

# One terminal: each trace goes through a FIFO to a loop that prefixes it,
# so the lines of both programs appear in the order they happen.
prefix() { while IFS= read -r line; do printf '%s | %s\n' "$1" "$line"; done; }
mkfifo "$tmp/server.fifo" "$tmp/client.fifo"
prefix server <"$tmp/server.fifo" &
prefix client <"$tmp/client.fifo" &

"$SERVER" -v 0 >"$tmp/ready" 2>"$tmp/server.fifo" &
server_pid=$!
port=$(wait_port "$tmp/ready") || { echo "demo: the server did not print its ready line" >&2; exit 70; }
echo "server | $(cat "$tmp/ready")"
# Two lines, a moment apart, as if typed. The client's stdout (the echo)
# shares its trace's FIFO, so each echoed line shows up in its place.
{ printf 'hello, socket\n'; sleep 0.5; printf 'second line\n'; sleep 0.5; } |
    "$CLIENT" -v 127.0.0.1 "$port" 2>"$tmp/client.fifo" >&2
kill -TERM "$server_pid"
wait "$server_pid" || :
server_pid=
wait
