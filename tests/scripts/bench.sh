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
#   - a target that compares two figures is measured in pairs (PAIRS of
#     them): the two measurements back to back, the order swapped from
#     one pair to the next, the ratio taken inside each pair and the
#     median of those ratios reported. The generator is checked that way
#     against an independent one (uv-pingpong, built on libuv) on
#     echo-server-poll, and echo-server-epoll against uv-echo-server;
#   - as root, it runs in a network namespace of its own (unshare -n), so
#     nothing else on the machine talks over its loopback.
#
# Then the scaling part (issue 16), its own section: idle clients.
#   idle-N        N connections opened and held idle, then one new client's
#                 500 round trips of 64 B timed while they are held
#                 (echo-bench -m idle), and the server's memory and CPU.
#   poll, epoll and libuv at each N of IDLE_COUNTS; fork and thread at each
#   N up to the largest their cap allows (the -c range in their -h, minus
#   one slot for the new client). One pass, servers back to back at each N,
#   so the ratios between them are from the same minute. A table on
#   stdout, build/bench/idle.csv and the chart build/bench/idle.svg (the
#   new client's latency against N, log scales).
#
#   sh tests/scripts/bench.sh                 the whole bench
#   sh tests/scripts/bench.sh --idle          only the scaling part
#   sh tests/scripts/bench.sh --chart CSV SVG  only draw SVG from a bench.csv
#   sh tests/scripts/bench.sh --idle-chart CSV SVG  the same from an idle.csv
#
# Environment: ROUNDS (3), BENCH_SECONDS per measurement (1), PAIRS per
# paired check (7), SERVERS, BASELINE (echo-server-poll), SOCKLAB_BIN (bin).
# For the scaling part: IDLE_COUNTS ("1000 10000"; IDLE_COUNTS= skips it,
# IDLE_COUNTS=1000 keeps a quick bench quick), IDLE_SERVERS (poll, epoll,
# libuv, thread, fork), IDLE_SECONDS, the deadline of each measurement (120).
set -eu
cd "$(dirname "$0")/../.."
. tests/scripts/lib.sh

if [ "${1:-}" = --chart ]; then
    [ $# -eq 3 ] || { echo "usage: bench.sh --chart CSV SVG" >&2; exit 64; }
    [ -r "$2" ] || { echo "bench.sh: cannot read '$2': expected a bench.csv" >&2; exit 66; }
    awk -F, -f tests/scripts/bench_fmt.awk -f tests/scripts/bench_svg.awk "$2" >"$3.tmp" && mv "$3.tmp" "$3"
    exit
fi
if [ "${1:-}" = --idle-chart ]; then
    [ $# -eq 3 ] || { echo "usage: bench.sh --idle-chart CSV SVG" >&2; exit 64; }
    [ -r "$2" ] || { echo "bench.sh: cannot read '$2': expected an idle.csv" >&2; exit 66; }
    awk -F, -f tests/scripts/bench_fmt.awk -f tests/scripts/bench_idle_svg.awk "$2" >"$3.tmp" && mv "$3.tmp" "$3"
    exit
fi
case ${1:-} in
    ''|--idle) ;;
    *) echo "bench.sh: unknown option '$1': expected --idle, --chart CSV SVG or --idle-chart CSV SVG" >&2; exit 64;;
esac

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
PAIRS=${PAIRS:-7}
SERVERS=${SERVERS:-"echo-server echo-server-fork echo-server-thread echo-server-poll echo-server-epoll uv-echo-server"}
BASELINE=${BASELINE:-echo-server-poll}
UVPP=build/bench/uv-pingpong
OUT=build/bench
mkdir -p "$OUT"
raw=$OUT/raw.csv
tmp=$(mktemp -d)
pid=
paired=  # the servers the paired checks hold up at once
cleanup() {
    for _p in $pid $paired; do
        kill -TERM "$_p" 2>/dev/null || :; wait "$_p" 2>/dev/null || :
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

IDLE_COUNTS=${IDLE_COUNTS-"1000 10000"}
IDLE_SERVERS=${IDLE_SERVERS:-"echo-server-poll echo-server-epoll uv-echo-server echo-server-thread echo-server-fork"}
IDLE_SECONDS=${IDLE_SECONDS:-120}
for n in $IDLE_COUNTS; do
    case $n in ''|*[!0-9]*|0) echo "bench.sh: bad IDLE_COUNTS '$IDLE_COUNTS': expected numbers of clients, 1 or more, e.g. \"1000 10000\"" >&2; exit 64;; esac
done
case $IDLE_SECONDS in ''|*[!0-9]*|0) echo "bench.sh: bad IDLE_SECONDS '$IDLE_SECONDS': expected 1 or more" >&2; exit 64;; esac

# ---- the scaling part: idle clients ----------------------------------------
# One echo-bench -m idle per server and N, its row appended to idle.csv as
# SERVER,CAP,<echo-bench's columns>. The server gets -c N+1: room for the
# idle ones and the new client.
idle_scaling() {
    iraw=$OUT/idle.csv
    echo "server,cap,mode,clients,size,count,seconds,rate,unit,mb_per_s,p50_us,p99_us,max_us,mismatches,server_cpu_s,server_cpu_us_per,generator_cpu_pct,held,open_s,first_echo_us,idle_cpu_pct,server_procs,server_threads,rss_start_kb,rss_kb,pss_start_kb,pss_kb,kb_per_client" >"$iraw"
    echo "bench: idle clients: $IDLE_COUNTS, up to ${IDLE_SECONDS} s each" >&2
    done_at=" "
    for n in $IDLE_COUNTS; do
        for name in $IDLE_SERVERS; do
            [ -x "$BIN/$name" ] || { echo "bench: $name not built: no idle row" >&2; continue; }
            # The cap, as the server's own -h gives it: "-c MAX ... 1-4096".
            cap=$("$BIN/$name" -h 2>&1 | sed -n 's/^ *-c MAX .*1-\([0-9]*\).*/\1/p')
            [ -n "$cap" ] || { echo "bench: $name -h gives no -c range: no idle row" >&2; continue; }
            m=$n
            [ "$m" -lt "$cap" ] || m=$((cap - 1))
            case $done_at in *" $name:$m "*) continue;; esac  # capped: done
            done_at="$done_at$name:$m "
            "$BIN/$name" -c $((m + 1)) 0 >"$tmp/ready" 2>"$tmp/server-err" &
            pid=$!
            port=$(wait_port "$tmp/ready") ||
                { echo "bench: $name did not start: $(cat "$tmp/server-err")" >&2; exit 70; }
            echo "bench: $name, $m idle clients" >&2
            if "$BIN/echo-bench" -m idle -c "$m" -o csv -d "$IDLE_SECONDS" -p "$pid" 127.0.0.1 "$port" >"$tmp/one" 2>"$tmp/err"; then
                tail -n 1 "$tmp/one" | sed "s/^/$name,$cap,/" >>"$iraw"
            else
                echo "bench: $name idle-$m: $(cat "$tmp/err")" >&2
            fi
            kill -TERM "$pid"; wait "$pid" 2>/dev/null || :; pid=
        done
    done
    echo
    awk -F, -f tests/scripts/bench_fmt.awk -f tests/scripts/bench_idle_table.awk "$iraw"
    awk -F, -f tests/scripts/bench_fmt.awk -f tests/scripts/bench_idle_svg.awk "$iraw" >"$OUT/idle.svg"
    echo "bench: wrote $iraw and $OUT/idle.svg; make bench-chart copies the chart to lessons/img/" >&2
}
if [ "${1:-}" = --idle ]; then
    [ -n "$IDLE_COUNTS" ] || { echo "bench.sh: --idle with IDLE_COUNTS empty: nothing to measure" >&2; exit 64; }
    idle_scaling
    exit
fi

case $ROUNDS in ''|*[!0-9]*|0) echo "bench.sh: bad ROUNDS '$ROUNDS': expected 1 or more" >&2; exit 64;; esac
case $DUR in ''|*[!0-9]*|0) echo "bench.sh: bad BENCH_SECONDS '$DUR': expected 1 or more" >&2; exit 64;; esac
case $PAIRS in ''|*[!0-9]*|0) echo "bench.sh: bad PAIRS '$PAIRS': expected 1 or more (an odd number gives a true median)" >&2; exit 64;; esac

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
        kill -TERM "$pid"; wait "$pid" 2>/dev/null || :; pid=
    done
    r=$((r + 1))
done

# ---- paired checks ----------------------------------------------------
# Rounds compare servers measured a few seconds apart; on a shared machine
# a busy second can land on one of them and not the other, and a ratio of
# medians of three rounds still swings by a third (0.72x to 1.86x for the
# generator check, from one run to the next). A target that compares two
# figures is therefore measured as PAIRS pairs: the two measurements back
# to back, A then B, then B then A, ..., so neither side always goes
# first, and the ratio taken inside each pair. The table reports the
# median ratio and the range.
pairs=$OUT/pairs.csv
echo "check,pair,a,b,a_rate,b_rate,ratio" >"$pairs"

hold() {  # name: start it on port 0 for the paired checks; sets $port
    "$BIN/$1" -c 100 0 >"$tmp/ready-$1" 2>"$tmp/err-$1" &
    paired="$paired $!"
    port=$(wait_port "$tmp/ready-$1") ||
        { echo "bench: $1 did not start: $(cat "$tmp/err-$1")" >&2; exit 70; }
}
bench_rate() {  # port: echo-bench pingpong at 50 clients, rt/s
    "$BIN/echo-bench" -o csv -d "$DUR" -n 100000000 -c 50 127.0.0.1 "$1" \
        2>"$tmp/err" | tail -n 1 | cut -d, -f6
}
uvpp_rate() {  # port: uv-pingpong at 50 clients, rt/s
    "$UVPP" "$1" 50 "$DUR" 2>"$tmp/err" | sed -n 's/.* = \([0-9]*\)\/s$/\1/p'
}
pair() {  # check a-name a-command b-name b-command (each prints a rate)
    _i=1
    while [ "$_i" -le "$PAIRS" ]; do
        if [ $((_i % 2)) -eq 1 ]; then _a=$(eval "$3"); _b=$(eval "$5")
        else _b=$(eval "$5"); _a=$(eval "$3"); fi
        if [ -n "$_a" ] && [ -n "$_b" ]; then
            echo "$1,$_i,$2,$4,$_a,$_b,$(awk -v a="$_a" -v b="$_b" \
                'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }')" >>"$pairs"
        else
            echo "bench: $1, pair $_i: a measurement failed: $(cat "$tmp/err")" >&2
        fi
        _i=$((_i + 1))
    done
}

has() { case " $present " in *" $1 "*) return 0;; esac; return 1; }
if has echo-server-poll && [ -x "$UVPP" ]; then
    echo "bench: generator check, $PAIRS pairs: echo-bench and uv-pingpong on echo-server-poll" >&2
    hold echo-server-poll
    pair generator echo-bench "bench_rate $port" uv-pingpong "uvpp_rate $port"
fi
if has echo-server-epoll && has uv-echo-server; then
    echo "bench: epoll check, $PAIRS pairs: echo-server-epoll and uv-echo-server at 50 clients" >&2
    hold echo-server-epoll; epoll_port=$port
    hold uv-echo-server; uv_port=$port
    pair epoll-uv echo-server-epoll "bench_rate $epoll_port" \
        uv-echo-server "bench_rate $uv_port"
fi
for _p in $paired; do kill -TERM "$_p"; wait "$_p" 2>/dev/null || :; done
paired=

# Medians per server and workload -> bench.csv, then the table and chart.
awk -F, -v base="$BASELINE" -v csv="$OUT/bench.csv" -v pairs="$pairs" \
    -f tests/scripts/bench_fmt.awk -f tests/scripts/bench_table.awk "$raw" "$pairs"
awk -F, -f tests/scripts/bench_fmt.awk -f tests/scripts/bench_svg.awk "$OUT/bench.csv" >"$OUT/bench.svg"
echo "bench: wrote $OUT/bench.csv, $OUT/bench.svg and $raw (every round); make bench-chart copies the chart to lessons/img/" >&2
[ -z "$IDLE_COUNTS" ] || idle_scaling
