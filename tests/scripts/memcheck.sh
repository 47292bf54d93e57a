#!/bin/sh
# memcheck.sh - valgrind over a real session (make memcheck).
#
# Each server runs under valgrind --leak-check=full, serves a few clients
# (one of them through the client, also under valgrind), is stopped with
# SIGTERM, and must report no errors and no leaked blocks.
set -eu
cd "$(dirname "$0")/../.."
. tests/scripts/lib.sh

if ! command -v valgrind >/dev/null 2>&1; then
    echo "memcheck: skipped: valgrind is not installed (apt-get install valgrind)"
    exit 0
fi

SERVERS=${SERVERS:-"bin/echo-server bin/echo-server-fork bin/echo-server-thread bin/echo-server-poll bin/echo-server-epoll bin/uv-echo-server"}
CLIENTS=${CLIENTS:-"bin/echo-client bin/uv-echo-client"}
VG="valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 --trace-children=no --child-silent-after-fork=yes"
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -z "$pid" ] || { kill -KILL "$pid" 2>/dev/null || :; wait "$pid" 2>/dev/null || :; }
    rm -rf "$tmp"
}
trap cleanup EXIT
failed=0

check_log() { # NAME LOG
    if grep -q 'ERROR SUMMARY: 0 errors' "$2" &&
       ! grep -Eq '(definitely|indirectly|possibly) lost: [1-9]' "$2"; then
        echo "memcheck: $1: clean ($(grep -Eo 'total heap usage: [^,]*, [^,]*' "$2" | head -1))"
    else
        echo "memcheck: $1: FAILED, see below"; cat "$2"; failed=1
    fi
}

head -c 200000 /dev/urandom >"$tmp/payload"
for server in $SERVERS; do
    [ -x "$server" ] || { echo "memcheck: $(basename "$server"): skipped (not built)"; continue; }
    name=$(basename "$server")
    : >"$tmp/ready"
    $VG --log-file="$tmp/$name.vg" "$server" 0 >"$tmp/ready" 2>"$tmp/$name.err" &
    pid=$!
    port=$(wait_port "$tmp/ready" 400) || { echo "memcheck: $name did not start"; failed=1; continue; }
    for client in $CLIENTS; do
        [ -x "$client" ] || continue
        cname=$(basename "$client")
        printf 'hello\n' | "$client" 127.0.0.1 "$port" >/dev/null
        $VG --log-file="$tmp/$cname-$name.vg" "$client" 127.0.0.1 "$port" \
            <"$tmp/payload" >"$tmp/out"
        cmp -s "$tmp/payload" "$tmp/out" || { echo "memcheck: $cname via $name: echo differs"; failed=1; }
        check_log "$cname (against $name)" "$tmp/$cname-$name.vg"
    done
    kill -TERM "$pid"
    wait "$pid" || { echo "memcheck: $name exited $? after SIGTERM"; failed=1; }
    pid=
    check_log "$name" "$tmp/$name.vg"
done
# Datagrams: the UDP pair, both under valgrind.
if [ -x bin/udp-echo-server ] && [ -x bin/udp-echo-client ]; then
    : >"$tmp/ready"
    $VG --log-file="$tmp/udp-echo-server.vg" bin/udp-echo-server 0 >"$tmp/ready" 2>/dev/null &
    pid=$!
    if port=$(wait_port "$tmp/ready" 400); then
        printf 'one\ntwo\nthree\n' | $VG --log-file="$tmp/udp-echo-client.vg" \
            bin/udp-echo-client 127.0.0.1 "$port" >"$tmp/out"
        [ "$(cat "$tmp/out")" = "$(printf 'one\ntwo\nthree')" ] ||
            { echo "memcheck: udp-echo-client: echo differs"; failed=1; }
        check_log udp-echo-client "$tmp/udp-echo-client.vg"
        kill -TERM "$pid"
        wait "$pid" || { echo "memcheck: udp-echo-server exited $? after SIGTERM"; failed=1; }
        pid=
        check_log udp-echo-server "$tmp/udp-echo-server.vg"
    else
        echo "memcheck: udp-echo-server did not start"; failed=1
    fi
fi
exit $failed
