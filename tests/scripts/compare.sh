#!/bin/sh
# compare.sh - the blocking echo server and the libuv one, step by step.
#
#   sh tests/scripts/compare.sh [--strace] [--server NAME]
#                                   (make compare [STRACE=1] [SERVER=NAME])
#
# --server sets another server in the left column: epoll (bin/echo-server-
# epoll, whose strace lines up with libuv's call for call), poll, fork, or
# a program name; the default is the blocking echo-server.
#
# Runs bin/echo-server -v 0, then bin/uv-echo-server -v 0, gives each the
# same short session (printf 'hello\n' | bin/echo-client 127.0.0.1 PORT),
# stops it with SIGTERM, and prints the two -v traces in two columns, each
# step beside its counterpart. A libuv step is set beside the system calls
# its trace names on the right (after "~") with a "(" after the name, the
# calls libuv made during it: uv_tcp_bind spans socket, setsockopt and bind;
# on_new_connection is accept (libuv accepted before calling it);
# echo_read is read, uv_write write, uv_close close.
#
# --strace also runs each server under strace and shows, side by side again,
# the system calls the kernel actually saw: what libuv does underneath.
#
# POSIX sh. Every process started here is stopped and reaped by pid, and the
# scratch directory removed, however the script ends.

usage="usage: sh tests/scripts/compare.sh [--strace] [--server blocking|fork|poll|epoll|PROGRAM]"
use_strace=0
left_prog=echo-server
left_kind=blocking
while [ $# -gt 0 ]; do
    case $1 in
    --strace) use_strace=1 ;;
    --server)
        [ $# -ge 2 ] || { echo "compare: --server needs a name ($usage)" >&2; exit 64; }
        shift
        case $1 in
        blocking | echo-server) left_prog=echo-server; left_kind=blocking ;;
        fork | echo-server-fork) left_prog=echo-server-fork; left_kind=fork ;;
        poll | echo-server-poll) left_prog=echo-server-poll; left_kind=poll ;;
        epoll | echo-server-epoll) left_prog=echo-server-epoll; left_kind=epoll ;;
        *) echo "compare: unknown server '$1': try blocking, fork, poll or epoll" >&2; exit 64 ;;
        esac ;;
    -h | --help) echo "$usage"; exit 0 ;;
    *) echo "compare: unknown argument '$1' ($usage)" >&2; exit 64 ;;
    esac
    shift
done

# Run from the top of the checkout, wherever we were called from. The
# programs are in bin/, or wherever SOCKLAB_BIN says (make test SANITIZE=1
# points it at the sanitized build).
cd "$(dirname "$0")/../.." || exit 1
bin=${SOCKLAB_BIN:-bin}

WIDTH=80                       # the whole line
COL=$(( (WIDTH - 3) / 2 ))     # each column; " | " between them
SYSCALLS=socket,bind,listen,accept,accept4,read,write,epoll_create1,epoll_ctl,epoll_wait,epoll_pwait,close,shutdown

# ---- cleanup: whatever happens, no process of ours outlives the script ------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/socklab-compare.XXXXXX") || exit 1
pids=""

# The processes whose parent is $1 (POSIX ps).
children_of() {
    ps -e -o pid= -o ppid= 2>/dev/null | awk -v p="$1" '$2 == p { print $1 }'
}

# Children first: a server runs as strace's child, and killing strace alone
# would leave the server running, detached.
cleanup() {
    for p in $pids; do
        for c in $(children_of "$p"); do
            kill -KILL "$c" 2>/dev/null
        done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# A process we have reaped is no longer ours to kill: its pid may be reused.
forget() {
    pids=$(echo " $pids " | sed "s/ $1 / /")
}

fail() {
    echo "compare: $*" >&2
    exit 1
}

# A short pause between two looks at a condition. Fractions of a second are
# not POSIX, but every sleep we are likely to meet takes them.
nap() {
    sleep 0.1 2>/dev/null || sleep 1
}

# Wait (at most $2 tenths of a second) until process $1 has ended.
wait_gone() {
    n=0
    while kill -0 "$1" 2>/dev/null; do
        [ "$n" -ge "$2" ] && return 1
        nap
        n=$((n + 1))
    done
    return 0
}

# Wait (at most $3 tenths of a second) until file $1 has a line matching $2.
wait_line() {
    n=0
    until grep -q "$2" "$1" 2>/dev/null; do
        [ "$n" -ge "$3" ] && return 1
        nap
        n=$((n + 1))
    done
    return 0
}

# ---- what we can run ---------------------------------------------------------

[ "$left_prog" = echo-server-epoll ] && [ ! -x "$bin/$left_prog" ] &&
    fail "$bin/$left_prog is not built (it needs Linux's epoll)"
for prog in $left_prog echo-client; do
    [ -x "$bin/$prog" ] || fail "$bin/$prog is missing: run make first"
done
servers="$left_prog"
if [ -x "$bin/uv-echo-server" ]; then
    servers="$left_prog uv-echo-server"
else
    echo "compare: bin/uv-echo-server is not built (libuv not found by pkg-config), so only the $left_kind server's trace is shown"
fi

if [ "$use_strace" = 1 ]; then
    if ! command -v strace >/dev/null 2>&1; then
        echo "compare: strace is not installed (apt-get install strace); showing the -v traces only"
        use_strace=0
    elif ! strace -f -o /dev/null true >/dev/null 2>&1; then
        echo "compare: strace cannot trace here (ptrace not permitted, as in many containers); showing the -v traces only"
        use_strace=0
    fi
fi

# ---- one server, one session -------------------------------------------------

# run_session PROG: start bin/PROG -v 0 (under strace if asked), find its
# port in the ready line, send it one line with echo-client, stop it with
# SIGTERM. Leaves $tmp/PROG.err (the trace), PROG.echo, PROG.strace.
run_session() {
    prog=$1
    out=$tmp/$prog.out
    err=$tmp/$prog.err
    if [ "$use_strace" = 1 ]; then
        strace -f -e trace=$SYSCALLS -o "$tmp/$prog.strace" \
            "$bin/$prog" -v 0 >"$out" 2>"$err" &
    else
        "$bin/$prog" -v 0 >"$out" 2>"$err" &
    fi
    runner=$!
    pids="$pids $runner"

    wait_line "$out" '^listening on ' 100 ||
        fail "bin/$prog did not print its ready line: $(cat "$err")"
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")

    # The server's own pid is in its trace lines ("[echo-server 4242] ...");
    # under strace, $runner is strace's pid, not the server's.
    server=$(sed -n 's/^\[[^ ]* \([0-9]*\)\].*/\1/p' "$err" | head -n 1)
    [ -n "$server" ] || fail "no pid in bin/$prog's trace"

    printf 'hello\n' | "$bin/echo-client" 127.0.0.1 "$port" \
        >"$tmp/$prog.echo" 2>&1 &
    client=$!
    pids="$pids $client"
    wait_gone "$client" 100 || fail "echo-client against bin/$prog hung"
    wait "$client"
    status=$?
    forget "$client"
    [ "$status" = 0 ] ||
        fail "echo-client against bin/$prog failed: $(cat "$tmp/$prog.echo")"
    [ "$(cat "$tmp/$prog.echo")" = hello ] ||
        fail "bin/$prog sent back '$(cat "$tmp/$prog.echo")', not 'hello'"

    # Let the server finish with its client (its close shows in the trace)
    # before we stop it, so every run prints the same steps.
    case $prog in
    uv-*) wait_line "$err" 'on_close(client' 50 ;;
    *) wait_line "$err" '] close(' 50 ;;
    esac

    kill -TERM "$server" 2>/dev/null
    wait_gone "$runner" 100 || fail "bin/$prog did not stop on SIGTERM"
    wait "$runner"
    status=$?
    forget "$runner"
    [ "$status" = 0 ] || fail "bin/$prog exited with $status after SIGTERM, not 0"
}

for prog in $servers; do
    run_session "$prog"
done

# ---- two columns ---------------------------------------------------------------

# The trace, for a column: no "[prog pid] " prefix, single spaces, the
# summary line without "prog: ". The "~ ..." part stays for side_by_side to
# read (the libuv steps are paired by it) and is not shown.
clean_trace() {
    sed -n -e 's/^\[[^]]*\] //' -e 's/^[a-z-]*: stopped:/stopped:/' \
        -e 's/  *~ / ~ /' -e 's/  */ /g' -e '/./p' "$1"
}

# What strace saw, for a column: from the first socket or epoll_create1 on
# (before that it is the dynamic loader reading libraries), without the -v
# trace's own writes to stderr, with socket addresses, epoll events and
# pointers shortened.
clean_strace() {
    sed -e 's/^[0-9][0-9]*  *//' "$1" |
        awk 'on || /^(socket|epoll_create1)\(/ { on = 1; print }' |
        sed -e '/^write(2, /d' -e '/^+++ /d' \
            -e 's/{sa_family=AF_INET, sin_port=htons(\([0-9]*\)), sin_addr=inet_addr("\([0-9.]*\)")}/\2:\1/g' \
            -e 's/{events=\([A-Z|]*\), data={u32=\([0-9]*\), u64=[0-9]*}}/{\1, fd \2}/g' \
            -e 's/0x[0-9a-f]\{8,\}/0x.../g' \
            -e 's/^--- \(SIG[A-Z]*\) .*/--- \1 arrives ---/' \
            -e 's/  */ /g'
}

# side_by_side LEFT RIGHT TITLE-LEFT TITLE-RIGHT: print two lists in two
# columns, pairing the lines that do the same job. Each line gets a kind
# (socket, bind, accept, read, ...), or a list of them: a libuv step whose
# "~" part names several socket calls as "name(" gets one kind for each,
# and spans as many rows. The longest run of kinds the two lists share, in
# order, is lined up row by row, and each other line gets a row of its own.
# Long lines wrap inside their column.
side_by_side() {
    awk -v col="$COL" -v tl="$3" -v tr="$4" '
    function kind(s,   name) {
        name = s
        sub(/\(.*/, "", name)
        sub(/ .*/, "", name)
        if (s ~ /^stopped:/) return "summary"
        if (s ~ /^--- SIG/) return "stop"
        if (name == "accept4") return "accept"
        if (name == "epoll_pwait") return "epoll_wait"
        # the blocking server
        if (name == "accept" && s ~ /= -1 EINTR/) return "stop"
        # strace: the wait the signal cut short, in either server
        if (s ~ /= \? ERESTART|= -1 EINTR/) return "interrupted"
        if (name == "read" && s ~ /= 0( |$)/) return "eof"
        # the libuv server: the signal comes as a callback
        if (name == "on_signal") return "stop"
        return name
    }
    # The kinds of a libuv step: the socket calls its "~" part names with a
    # "(" right after the name, in order (a read that returned 0 is "eof").
    # None named: the step is a kind of its own.
    function kinds(s, arr,   note, n, call) {
        n = 0
        if (index(s, " ~ ") > 0) {
            note = substr(s, index(s, " ~ ") + 3)
            while (match(note, /(socket|setsockopt|bind|listen|getsockname|accept4|accept|read|write|shutdown|close)\([^)]*\)( = [-0-9]+)?/)) {
                call = substr(note, RSTART, RLENGTH)
                note = substr(note, RSTART + RLENGTH)
                if (substr(call, 1, 1) == "(") continue
                arr[++n] = kind(call)
            }
        }
        if (n == 0)
            arr[++n] = kind(text(s))
        return n
    }
    # The part of a line to show: without its "~ ..." note.
    function text(s) {
        if (index(s, " ~ ") > 0)
            s = substr(s, 1, index(s, " ~ ") - 1)
        return s
    }
    # Cut s into pieces of at most col characters, after a space, "|" or
    # "," where there is one; the pieces after the first are indented.
    function wrap(s, arr,   n, i, cut, c) {
        n = 0
        while (length(s) > col) {
            cut = col
            for (i = col; i > col / 2; i--) {
                c = substr(s, i, 1)
                if (c == " " || c == "|" || c == ",") { cut = i; break }
            }
            arr[++n] = substr(s, 1, cut)
            sub(/ +$/, "", arr[n])
            s = substr(s, cut + 1)
            sub(/^ +/, "", s)
            s = "    " s
        }
        arr[++n] = s
        return n
    }
    function row(l, r,   nl, nr, i, a, b, line) {
        nl = wrap(l, a)
        nr = wrap(r, b)
        for (i = 1; i <= nl || i <= nr; i++) {
            line = sprintf("%-" col "s | %s", (i <= nl ? a[i] : ""),
                           (i <= nr ? b[i] : ""))
            sub(/ +$/, "", line)
            print line
        }
    }
    FNR == NR { L[++nl] = text($0); KL[nl] = kind(text($0)); next }
    {
        # One row for each kind of the step, the text on the first.
        nk = kinds($0, ks)
        for (k = 1; k <= nk; k++) {
            R[++nr] = k == 1 ? text($0) : ""
            KR[nr] = ks[k]
        }
    }
    END {
        # Longest common subsequence of the two kind lists, from the end.
        for (i = nl + 1; i >= 1; i--)
            for (j = nr + 1; j >= 1; j--) {
                if (i > nl || j > nr) { M[i, j] = 0; continue }
                if (KL[i] == KR[j]) M[i, j] = M[i + 1, j + 1] + 1
                else if (M[i + 1, j] >= M[i, j + 1]) M[i, j] = M[i + 1, j]
                else M[i, j] = M[i, j + 1]
            }
        rule = sprintf("%" col "s", "")
        gsub(/ /, "-", rule)
        row(tl, tr)
        print rule "-+-" rule
        i = 1; j = 1
        while (i <= nl || j <= nr) {
            if (i <= nl && j <= nr && KL[i] == KR[j]) {
                row(L[i++], R[j++])
            } else if (j > nr || (i <= nl && M[i + 1, j] >= M[i, j + 1])) {
                row(L[i++], "")
            } else {
                row("", R[j++])
            }
        }
    }' "$1" "$2"
}

# show LEFT RIGHT TITLE-LEFT TITLE-RIGHT: two columns, or the left list
# alone when there is no libuv server to set beside it.
show() {
    if [ -s "$2" ]; then
        side_by_side "$1" "$2" "$3" "$4"
    else
        echo "$3"
        sed 's/^/  /' "$1"
    fi
}

left=$tmp/left
right=$tmp/right
: >"$right"

clean_trace "$tmp/$left_prog.err" >"$left"
[ -f "$tmp/uv-echo-server.err" ] &&
    clean_trace "$tmp/uv-echo-server.err" >"$right"
printf '%s\n' "One session, printf 'hello\\n' | bin/echo-client 127.0.0.1 PORT," \
    "then SIGTERM, against each server; each step beside its counterpart."
echo
show "$left" "$right" "bin/$left_prog -v ($left_kind)" \
    "bin/uv-echo-server -v (libuv)"

if [ "$use_strace" = 1 ]; then
    : >"$right"
    clean_strace "$tmp/$left_prog.strace" >"$left"
    [ -f "$tmp/uv-echo-server.strace" ] &&
        clean_strace "$tmp/uv-echo-server.strace" >"$right"
    echo
    echo "What the kernel saw (strace -f -e trace=socket,bind,listen,accept,"
    echo "accept4,read,write,epoll_*,close,shutdown), from the first socket or"
    echo "epoll_create1 on; the -v trace's own write(2, ...) calls left out."
    echo
    show "$left" "$right" "$left_prog" "uv-echo-server"
fi
exit 0
