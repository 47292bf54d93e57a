#!/bin/sh
# diagram.sh - your own run, drawn: the -v traces of a server and its
# clients as a sequence diagram, in SVG or as text (make diagram).
#
#   sh tests/scripts/diagram.sh [OPTIONS] [--session NAME]   record, then draw
#   sh tests/scripts/diagram.sh [OPTIONS] TRACE...           draw these traces
#
#   --format svg|text   SVG (the default) or text for a terminal
#   --out FILE          write there instead of standard output
#   --session NAME      the session to record (default blocking):
#                         blocking  bin/echo-server -v 0, then
#                                   printf 'hello\n' | bin/echo-client -v
#                         fork      bin/echo-server-fork -v 0 and two clients
#                                   at once: 'hello\n' on a connection kept
#                                   open, then 'hi there\n' on a second
#                         libuv     bin/uv-echo-server -v 0, then
#                                   printf 'hello\n' | bin/uv-echo-client -v
#   --keep DIR          also keep the session's trace files in DIR
#   --width N           the text diagram's width (default $COLUMNS, or 120)
#
# A session runs each program with SOCKLAB_TRACE_TIME=1 (common/trace.h),
# its trace to a file of its own, on 127.0.0.1 and a port the kernel picks
# (0), stops the server with SIGTERM once its clients are done, and draws
# the files. Your own traces work the same way:
#
#   SOCKLAB_TRACE_TIME=1 bin/echo-server -v 2>server.trace
#   printf 'hello\n' | SOCKLAB_TRACE_TIME=1 bin/echo-client -v 2>client.trace
#   sh tests/scripts/diagram.sh --format text server.trace client.trace
#
# Without timestamps the lines keep the order of each file, and calls in
# different files are ordered only by what one did to the other. How the
# calls are paired into arrows: the header of tests/scripts/diagram.awk.
#
# Exit codes (sysexits.h): 0 drawn; 64 bad usage; 65 no trace lines in the
# input; 66 a TRACE cannot be read; 69 a program is not built; 70 the
# session went wrong (a program failed or hung: the message says which).
#
# POSIX sh and awk. Every process started here is waited for, each wait is
# bounded, and whatever is left is killed by its pid and reaped, however
# the script ends.

usage="usage: sh tests/scripts/diagram.sh [--format svg|text] [--out FILE] [--width N] [--keep DIR] [--session blocking|fork|libuv | TRACE...]"

here=$(cd "$(dirname "$0")" && pwd) || exit 70
root=$(cd "$here/../.." && pwd) || exit 70

say() {
    echo "diagram: $*" >&2
}

format=svg
out=
session=
keep=
width=${COLUMNS:-120}
traces=0

# The trace files are the operands; they are kept in "$@" (shifted past
# the options one by one and put back at the end), so names with blanks
# work.
n=$#
while [ "$n" -gt 0 ]; do
    arg=$1
    shift
    n=$((n - 1))
    case $arg in
    --format=* | --out=* | --session=* | --keep=* | --width=*)
        opt=${arg%%=*}
        val=${arg#*=}
        ;;
    --format | --out | --session | --keep | --width)
        if [ "$n" -eq 0 ]; then
            say "$arg needs a value ($usage)"
            exit 64
        fi
        opt=$arg
        val=$1
        shift
        n=$((n - 1))
        ;;
    -h | --help)
        echo "$usage"
        exit 0
        ;;
    -*)
        say "unknown option '$arg' ($usage)"
        exit 64
        ;;
    *)
        set -- "$@" "$arg"
        traces=$((traces + 1))
        continue
        ;;
    esac
    case $opt in
    --format)
        case $val in
        svg | text) format=$val ;;
        *) say "format '$val': expected svg or text"; exit 64 ;;
        esac
        ;;
    --out) out=$val ;;
    --keep) keep=$val ;;
    --session)
        case $val in
        blocking | fork | libuv) session=$val ;;
        *) say "session '$val': expected blocking, fork or libuv"; exit 64 ;;
        esac
        ;;
    --width)
        case $val in
        '' | *[!0-9]*) say "width '$val': expected a number of columns, 40 or more"; exit 64 ;;
        esac
        if [ "$val" -lt 40 ]; then
            say "width '$val': expected a number of columns, 40 or more"
            exit 64
        fi
        width=$val
        ;;
    esac
done
case $width in
'' | *[!0-9]*) width=120 ;;
esac

if [ "$traces" -gt 0 ] && [ -n "$session" ]; then
    say "give --session or TRACE files, not both ($usage)"
    exit 64
fi
if [ "$traces" -gt 0 ] && [ -n "$keep" ]; then
    say "--keep keeps a recorded session's traces: it needs no TRACE files ($usage)"
    exit 64
fi
for f in "$@"; do
    if [ ! -e "$f" ] || [ ! -r "$f" ] || [ -d "$f" ]; then
        say "cannot read trace file '$f' (a file holding the stderr of a program run with -v)"
        exit 66
    fi
done
[ "$traces" -eq 0 ] && [ -z "$session" ] && session=blocking

# draw FILE...: the diagram of those traces, to --out or stdout. Written to
# a scratch file first, so that a failure never leaves half a diagram.
draw() {
    if [ -z "$out" ]; then
        awk -f "$here/diagram.awk" -v format="$format" -v width="$width" "$@" ||
            exit $?
        return 0
    fi
    mkdir -p "$(dirname "$out")" || exit 70
    awk -f "$here/diagram.awk" -v format="$format" -v width="$width" "$@" \
        >"$out.tmp.$$" || { s=$?; rm -f "$out.tmp.$$"; exit "$s"; }
    mv "$out.tmp.$$" "$out" || exit 70
    echo "diagram: wrote $out"
}

if [ "$traces" -gt 0 ]; then
    draw "$@"
    exit 0
fi

# ---- recording a session -----------------------------------------------------

cd "$root" || exit 70
case $session in
blocking) server=echo-server; client=echo-client ;;
fork) server=echo-server-fork; client=echo-client ;;
libuv) server=uv-echo-server; client=uv-echo-client ;;
esac
for prog in "$server" "$client"; do
    if [ ! -x "bin/$prog" ]; then
        case $prog in
        uv-*) say "bin/$prog is not built (libuv not found by pkg-config: apt-get install libuv1-dev, then make)" ;;
        *) say "bin/$prog is not built: run make first" ;;
        esac
        exit 69
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/socklab-diagram.XXXXXX") || exit 70
pids=""

cleanup() {
    : >"$tmp/go" 2>/dev/null  # lets a client's input end, if one waits
    for p in $pids; do
        kill -KILL "$p" 2>/dev/null
    done
    wait
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

fail() {
    say "$* (session '$session')"
    exit 70
}

# A process reaped is no longer ours to kill: its pid may be reused.
forget() {
    pids=$(echo " $pids " | sed "s/ $1 / /")
}

# A short pause between two looks at a condition (never the way to wait
# for one). Fractions of a second are not POSIX; most sleeps take them.
nap() {
    sleep 0.05 2>/dev/null || sleep 1
}

# wait_for SECONDS COMMAND...: run COMMAND until it succeeds, at most
# SECONDS. 1 when the time ran out.
wait_for() {
    _limit=$(($1 * 20))
    shift
    _i=0
    until "$@"; do
        [ "$_i" -ge "$_limit" ] && return 1
        nap
        _i=$((_i + 1))
    done
    return 0
}

has_line() {  # FILE PATTERN
    grep -q "$2" "$1" 2>/dev/null
}

count_at_least() {  # FILE PATTERN N
    [ "$(grep -c "$2" "$1" 2>/dev/null)" -ge "$3" ]
}

gone() {
    ! kill -0 "$1" 2>/dev/null
}

# Blocked in a system call (accept, epoll_wait...), where a signal
# interrupts it rather than landing between two calls. Linux /proc; where
# there is none, say yes.
asleep() {
    [ -r "/proc/$1/stat" ] || return 0
    [ "$(sed 's/.*) \([A-Z]\).*/\1/' "/proc/$1/stat" 2>/dev/null)" = S ]
}

# finish PID NAME: wait (bounded) for a client to end, reap it, check it
# exited 0.
finish() {
    wait_for 10 gone "$1" || fail "$2 did not finish within 10 s"
    wait "$1"
    _status=$?
    forget "$1"
    [ "$_status" = 0 ] || fail "$2 exited $_status: $(tail -n 3 "$tmp/$2.trace")"
}

export SOCKLAB_TRACE_TIME=1

# The server: port 0, its ready line names the port it got.
"bin/$server" -v 0 >"$tmp/server.out" 2>"$tmp/server.trace" &
server_pid=$!
pids="$pids $server_pid"
wait_for 10 has_line "$tmp/server.out" '^listening on ' ||
    fail "bin/$server printed no ready line: $(cat "$tmp/server.trace")"
port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$tmp/server.out")
[ -n "$port" ] || fail "no port in bin/$server's ready line"

# run_client NAME TEXT: printf TEXT | bin/$client -v 127.0.0.1 PORT, in the
# background; its pid in $last.
run_client() {
    printf '%b' "$2" | "bin/$client" -v 127.0.0.1 "$port" \
        >"$tmp/$1.out" 2>"$tmp/$1.trace" &
    last=$!
    pids="$pids $last"
}

case $session in
blocking | libuv)
    title="bin/$server -v 0  and  printf 'hello\\n' | bin/$client -v 127.0.0.1 $port"
    clients=client
    run_client client 'hello\n'
    finish "$last" client
    [ "$(cat "$tmp/client.out")" = hello ] ||
        fail "the client got back '$(cat "$tmp/client.out")', not 'hello'"
    # The server's close of the connection, so the diagram has it.
    if [ "$session" = libuv ]; then done_pattern='on_close(client'; else done_pattern='] close('; fi
    wait_for 10 has_line "$tmp/server.trace" "$done_pattern" ||
        fail "bin/$server did not close the connection"
    ;;
fork)
    title="bin/echo-server-fork -v 0  and two clients at once: 'hello\\n' (kept open), then 'hi there\\n'"
    clients="client1 client2"
    # Client 1 sends its line and keeps the connection open until we let
    # its input end (bounded: at most 20 s).
    {
        printf 'hello\n'
        i=0
        while [ ! -e "$tmp/go" ] && [ "$i" -lt 400 ]; do
            nap
            i=$((i + 1))
        done
    } | "bin/$client" -v 127.0.0.1 "$port" >"$tmp/client1.out" 2>"$tmp/client1.trace" &
    client1=$!
    pids="$pids $client1"
    wait_for 10 has_line "$tmp/client1.out" '^hello$' ||
        fail "client 1 got no echo: $(cat "$tmp/client1.trace")"
    # Client 2 while client 1 is still connected: another child serves it.
    # Its line is longer, so the byte counts alone tell the clients apart.
    run_client client2 'hi there\n'
    finish "$last" client2
    [ "$(cat "$tmp/client2.out")" = 'hi there' ] ||
        fail "client 2 got back '$(cat "$tmp/client2.out")', not 'hi there'"
    : >"$tmp/go"
    finish "$client1" client1
    # Both children reaped by the parent, so the diagram has it.
    wait_for 10 count_at_least "$tmp/server.trace" 'waitpid(.*exited' 2 ||
        fail "bin/$server did not reap its two children"
    ;;
esac

# Stop the server as a learner would, with SIGTERM while it waits; again
# if it is still there after 5 s; SIGKILL after 10.
wait_for 2 asleep "$server_pid"
kill -TERM "$server_pid" 2>/dev/null
if ! wait_for 5 gone "$server_pid"; then
    kill -TERM "$server_pid" 2>/dev/null
    wait_for 5 gone "$server_pid" || kill -KILL "$server_pid" 2>/dev/null
fi
wait "$server_pid"
status=$?
forget "$server_pid"
[ "$status" = 0 ] || fail "bin/$server exited $status after SIGTERM, not 0"

if [ -n "$keep" ]; then
    mkdir -p "$keep" || exit 70
    cp "$tmp"/*.trace "$keep"/ || exit 70
    echo "diagram: traces kept in $keep: $(cd "$tmp" && echo *.trace)"
fi
export DIAGRAM_TITLE="$title"
set -- "$tmp/server.trace"
for c in $clients; do
    set -- "$@" "$tmp/$c.trace"
done
draw "$@"
