#!/bin/sh
# bench.sh - every server present, measured by bin/echo-bench in one run
# (make bench). Figures, not pass/fail: compare the ratios, which hold
# better than absolute numbers on a busy machine.
#
#   pingpong   1 client, 64-byte round trips       (the machine's wake-up cost)
#   pingpong  50 clients, 64-byte round trips      (concurrency)
#   bulk       1 client, 64 KiB round trips        (throughput)
#   connect    1 client, connect + 64 B + close    (cost of a new client)
set -eu
cd "$(dirname "$0")/../.."
. tests/scripts/lib.sh

SERVERS=${SERVERS:-"echo-server echo-server-fork echo-server-poll uv-echo-server"}
SCALE=${SCALE:-1}   # SCALE=0.1 for a quick look
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -z "$pid" ] || { kill -TERM "$pid" 2>/dev/null || :; wait "$pid" 2>/dev/null || :; }
    rm -rf "$tmp"
}
trap cleanup EXIT

n() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); print (v < 1 ? 1 : v) }'; }
rate() { sed -n 's/.* = \([0-9]*\)\/s.*/\1/p'; }

printf '%-18s %14s %14s %14s %14s\n' server "1x64B rt/s" "50x64B rt/s" "64KiB MB/s" "connect/s"
for name in $SERVERS; do
    [ -x "bin/$name" ] || { printf '%-18s (not built)\n' "$name"; continue; }
    "bin/$name" 0 >"$tmp/ready" 2>/dev/null &
    pid=$!
    port=$(wait_port "$tmp/ready") || { echo "bench: $name did not start" >&2; exit 70; }
    at="127.0.0.1 $port"
    b="bin/echo-bench -d 20"
    one=$($b -c 1 -n "$(n 20000)" $at | rate)
    fifty=$(if [ "$name" = echo-server ]; then echo "(1 at a time)"; else $b -c 50 -n "$(n 2000)" $at | rate; fi)
    bulk=$($b -c 1 -s 65536 -n "$(n 2000)" $at | sed -n 's/.*, \([0-9.]*\) MB\/s.*/\1/p')
    conn=$($b -m connect -c 1 -n "$(n 2000)" $at | rate)
    printf '%-18s %14s %14s %14s %14s\n' "$name" "$one" "$fifty" "$bulk" "$conn"
    echo "$name $conn" >>"$tmp/connect"
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || :; pid=
done
base=$(awk '$1 == "echo-server" { print $2 }' "$tmp/connect")
[ -z "$base" ] || awk -v b="$base" '{ printf "connect cost vs echo-server: %-18s %.1fx\n", $1, b / $2 }' "$tmp/connect"
