#!/bin/sh
# demo.sh - an echo server and an echo client, side by side (make demo).
#
# In a terminal with tmux: two panes, the server's trace on the left (or on
# top, in a narrow terminal) and an interactive client beside it. Type
# lines; each comes back. Ctrl-D ends the client: it half-closes, and its
# last trace lines (shutdown, read = 0, close) stay on screen while the
# server is stopped and prints its summary; the demo closes when you press
# Enter in the client pane. Run from inside tmux, the two panes open in a
# new window of your session, and this script waits until that window is
# closed. Outside tmux, they open in a new session that this script
# attaches to.
#
# Otherwise, or with DEMO=plain: one terminal, a short scripted session,
# both traces prefixed "server |" and "client |".
#
# SERVER and CLIENT name other programs to show (SERVER=bin/uv-echo-server).
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

# quote WORD: WORD in single quotes, safe to paste into a shell command.
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

if [ "${DEMO:-}" != plain ] && command -v tmux >/dev/null 2>&1 &&
   [ -t 0 ] && [ -t 1 ]; then
    here=$(pwd)
    name="socklab-demo-$$"
    if [ -n "${TMUX:-}" ]; then
        # Inside tmux: a new window in the current session. This script
        # waits for the panes to say they are done, then closes the window.
        done_cmd="tmux wait-for -S $name"
    else
        # Outside: a new session, which ends the attach below when killed.
        done_cmd="tmux kill-session -t $name"
    fi
    # Each pane runs a small sh script, whatever shell tmux would use for a
    # command line. Both ignore Ctrl-C themselves (trap :), so that it
    # reaches the program in the pane and the script goes on to its end; a
    # pane closed by hand (SIGHUP) still ends the demo.
    cat >"$tmp/server-pane.sh" <<EOF
trap : INT
trap '$done_cmd; exit 0' HUP TERM
cd $(quote "$here")
$(quote "$SERVER") -v 0 | tee $(quote "$tmp/ready")
echo '(server stopped)'
# Stay on screen until the client pane closes the demo.
while :; do sleep 3600; done
EOF
    # The client pane: when the client ends, stop the server as a learner
    # would (Ctrl-C in its pane), then keep both panes until a key.
    cat >"$tmp/client-pane.sh" <<EOF
trap : INT
trap '$done_cmd; exit 0' HUP TERM
cd $(quote "$here")
echo 'Type lines; each comes back. Ctrl-D ends the client: watch it half-close.'
$(quote "$CLIENT") -v 127.0.0.1 "\$(cat $(quote "$tmp/port"))"
status=\$?
tmux send-keys -t "\$(cat $(quote "$tmp/server-pane"))" C-c
echo
echo "(the client exited with status \$status; the server prints its summary)"
printf 'Press Enter to close the demo. '
read answer || :
$done_cmd
EOF
    if [ -n "${TMUX:-}" ]; then
        server_pane=$(tmux new-window -P -F '#{pane_id}' -n socklab-demo \
            "sh $(quote "$tmp/server-pane.sh")")
    else
        server_pane=$(tmux new-session -d -P -F '#{pane_id}' -s "$name" \
            -x "$(tput cols 2>/dev/null || echo 80)" \
            -y "$(tput lines 2>/dev/null || echo 24)" \
            "sh $(quote "$tmp/server-pane.sh")")
    fi
    printf '%s\n' "$server_pane" >"$tmp/server-pane"
    port=$(wait_port "$tmp/ready") || {
        echo "demo: the server did not print its ready line" >&2
        tmux kill-pane -t "$server_pane" 2>/dev/null || :
        exit 70
    }
    printf '%s\n' "$port" >"$tmp/port"
    # Side by side when the window is wide enough for two traces,
    # otherwise one above the other.
    cols=$(tmux display -p -t "$server_pane" '#{window_width}')
    if [ "$cols" -ge 180 ]; then split=-h; else split=-v; fi
    tmux split-window $split -t "$server_pane" "sh $(quote "$tmp/client-pane.sh")"
    if [ -n "${TMUX:-}" ]; then
        echo "demo: running in the tmux window 'socklab-demo'; press Enter in its client pane when done"
        tmux wait-for "$name"
        tmux kill-window -t "$server_pane" 2>/dev/null || :
    else
        tmux attach -t "$name" || :
        tmux kill-session -t "$name" 2>/dev/null || :
    fi
    echo "demo: finished"
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
