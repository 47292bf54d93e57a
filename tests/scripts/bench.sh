#!/bin/sh
# bench.sh - every server measured in one run (make bench): a markdown
# table on stdout, build/bench/bench.csv, and the chart build/bench/bench.svg.
#
#   pingpong-1    1 client, 64-byte round trips    (the wake-up limit)
#   pingpong-50   50 clients, 64-byte round trips  (concurrency)
#   pump          1 client streaming 8 KiB writes  (bulk echo, MB/s)
#   connect       1 client: connect, 64 B, close   (cost of a new client)
#
# How it keeps the figures honest:
#   - every server and the reference rows are measured in the same run,
#     and every figure is also given as a ratio to one of them (BASELINE),
#     because ratios hold from one machine (or one busy minute) to the next
#     far better than rates do;
#   - the workloads are interleaved: ROUNDS rounds, each of which runs
#     every server once, so a slow minute hurts every server a little
#     rather than one server a lot; the table shows the median round;
#   - the reference rows give the machine's own limits: two processes
#     ping-ponging over a socketpair (no server can beat it with one
#     client), fork + exit + wait (the floor of a fork per client), and a
#     one-way loopback stream (an echo moves every byte twice);
#   - the generator is checked against an independent one (uv-pingpong,
#     built on libuv) on echo-server-poll in the same rounds;
#   - as root, it runs in a network namespace of its own (unshare -n), so
#     nothing else on the machine talks over its loopback.
#
#   sh tests/scripts/bench.sh                 the whole bench
#   sh tests/scripts/bench.sh --chart CSV SVG  only draw SVG from a bench.csv
#
# Environment: ROUNDS (3), BENCH_SECONDS per measurement (1), SERVERS,
# BASELINE (echo-server-poll), SOCKLAB_BIN (bin).
set -eu
cd "$(dirname "$0")/../.."
. tests/scripts/lib.sh

if [ "${1:-}" = --chart ]; then
    [ $# -eq 3 ] || { echo "usage: bench.sh --chart CSV SVG" >&2; exit 64; }
    [ -r "$2" ] || { echo "bench.sh: cannot read '$2': expected a bench.csv" >&2; exit 66; }
    awk -F, -f tests/scripts/bench_svg.awk "$2" >"$3.tmp" && mv "$3.tmp" "$3"
    exit
fi

# A loopback of our own: re-run inside unshare -n with lo up.
if [ -z "${SOCKLAB_BENCH_NETNS:-}" ] && [ "$(id -u)" = 0 ] &&
   command -v unshare >/dev/null && command -v ip >/dev/null &&
   unshare -n true 2>/dev/null; then
    SOCKLAB_BENCH_NETNS=1 exec unshare -n sh -c \
        'ip link set lo up && exec sh "$0" "$@"' "$0" "$@"
fi

BIN=${SOCKLAB_BIN:-bin}
ROUNDS=${ROUNDS:-3}
DUR=${BENCH_SECONDS:-1}
SERVERS=${SERVERS:-"echo-server echo-server-fork echo-server-thread echo-server-poll echo-server-epoll uv-echo-server"}
BASELINE=${BASELINE:-echo-server-poll}
UVPP=build/bench/uv-pingpong
OUT=build/bench
mkdir -p "$OUT"
raw=$OUT/raw.csv
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -z "$pid" ] || { kill -TERM "$pid" 2>/dev/null || :; wait "$pid" 2>/dev/null || :; }
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

case $ROUNDS in ''|*[!0-9]*|0) echo "bench.sh: bad ROUNDS '$ROUNDS': expected 1 or more" >&2; exit 64;; esac
case $DUR in ''|*[!0-9]*|0) echo "bench.sh: bad BENCH_SECONDS '$DUR': expected 1 or more" >&2; exit 64;; esac

present=
for name in $SERVERS; do
    if [ -x "$BIN/$name" ]; then present="$present $name"
    else echo "bench: $name not built: its row is left out" >&2; fi
done
[ -x "$UVPP" ] || echo "bench: $UVPP not built (no libuv): no generator check" >&2
where=$( [ -n "${SOCKLAB_BENCH_NETNS:-}" ] && echo "a private network namespace" || echo "127.0.0.1")
echo "bench: $ROUNDS rounds x ${DUR} s per figure, over $where, $(nproc 2>/dev/null || echo '?') cores" >&2

# One measurement: echo-bench with -o csv, its data row appended to raw.csv
# as ROUND,SERVER,WORKLOAD,<echo-bench's columns>. Plenty of rounds (-n):
# the deadline -d is what ends a measurement.
measure() {  # round server workload echo-bench-args...
    _r=$1 _s=$2 _w=$3
    shift 3
    if ! "$BIN/echo-bench" -o csv -d "$DUR" -n 100000000 "$@" >"$tmp/one" 2>"$tmp/err"; then
        echo "bench: $_s $_w: $(cat "$tmp/err")" >&2
        return 0
    fi
    tail -n 1 "$tmp/one" | sed "s/^/$_r,$_s,$_w,/" >>"$raw"
}

echo "round,server,workload,mode,clients,size,count,seconds,rate,unit,mb_per_s,p50_us,p99_us,max_us,mismatches,server_cpu_s,server_cpu_us_per,generator_cpu_pct" >"$raw"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    echo "bench: round $r of $ROUNDS" >&2
    measure "$r" reference socketpair -m ref-socketpair
    measure "$r" reference fork -m ref-fork
    measure "$r" reference stream -m ref-stream
    for name in $present; do
        # Room for 50 clients (the iterative server takes only -c 1: the
        # others wait in its backlog, which is what it is there to show).
        cap="-c 100"
        [ "$name" != echo-server ] || cap=
        "$BIN/$name" $cap 0 >"$tmp/ready" 2>"$tmp/server-err" &
        pid=$!
        port=$(wait_port "$tmp/ready") ||
            { echo "bench: $name did not start: $(cat "$tmp/server-err")" >&2; exit 70; }
        at="-p $pid 127.0.0.1 $port"
        measure "$r" "$name" pingpong-1 -c 1 $at
        measure "$r" "$name" pingpong-50 -c 50 $at
        measure "$r" "$name" pump -m pump -c 1 $at
        measure "$r" "$name" connect -m connect -c 1 $at
        if [ "$name" = echo-server-poll ] && [ -x "$UVPP" ]; then
            # The generator check: the same workload from a generator
            # that shares no code with echo-bench.
            if "$UVPP" "$port" 50 "$DUR" >"$tmp/uv" 2>"$tmp/err"; then
                rate=$(sed -n 's/.* = \([0-9]*\)\/s$/\1/p' "$tmp/uv")
                echo "$r,uv-pingpong,pingpong-50,pingpong,50,64,0,$DUR,$rate,rt/s,0,0,0,0,0,-1,-1,0" >>"$raw"
            else
                echo "bench: uv-pingpong: $(cat "$tmp/err")" >&2
            fi
        fi
        kill -TERM "$pid"; wait "$pid" 2>/dev/null || :; pid=
    done
    r=$((r + 1))
done

# Medians per server and workload -> bench.csv, then the table and chart.
awk -F, -v base="$BASELINE" -v csv="$OUT/bench.csv" \
    -f tests/scripts/bench_table.awk "$raw"
awk -F, -f tests/scripts/bench_svg.awk "$OUT/bench.csv" >"$OUT/bench.svg"
echo "bench: wrote $OUT/bench.csv, $OUT/bench.svg and $raw (every round); make bench-chart copies the chart to lessons/img/" >&2
