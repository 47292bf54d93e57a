#!/bin/sh
# quotes.sh - the one checker that keeps lessons/ true to the sources.
#
# This script is the only parser of quote markers, side-by-side tables,
# region markers, lesson links and run markers (the examples whose output a
# lesson shows): tests/test_lessons.c runs it (on the real
# tree and on small scratch trees) instead of re-implementing it, and
# `make quotes` runs it with --update, `make transcripts` with
# --update-transcripts.
#
#   sh tests/scripts/quotes.sh --check      all of the checks below
#   sh tests/scripts/quotes.sh --quotes     quotes and side-by-side tables
#   sh tests/scripts/quotes.sh --links      the index and local links
#   sh tests/scripts/quotes.sh --sources    region markers in the sources
#   sh tests/scripts/quotes.sh --shape      no "$ " prompt in a shell block
#   sh tests/scripts/quotes.sh --parity     the Korean track in step
#   sh tests/scripts/quotes.sh --update     rewrite drifted quotes in place
#   sh tests/scripts/quotes.sh --transcripts        run the marked examples
#   sh tests/scripts/quotes.sh --update-transcripts rewrite their outputs
#   ... --root DIR                          work on the tree at DIR
#
# --quotes, --links, --sources, --shape, --parity and --transcripts may be
# combined (--check is all but --transcripts); --update and
# --update-transcripts stand alone.
#
# The lessons are lessons/*.md and, for the Korean track, lessons/ko/*.md:
# every part below that reads lessons reads both folders (a Korean lesson
# quotes, links and runs by the same rules; its links are relative to
# lessons/ko/). --root DIR (or --root=DIR) names the project tree,
# by default the one this script lives in (two levels up); every path in a
# marker or a message is relative to it.
#
# Regions. A source file marks a region with two comment lines of their own;
# names are letters, digits, "_", "." and "-", unique within a file:
#
#   /* region: accept-loop */
#   ...
#   /* endregion: accept-loop */
#
# A region's text is the lines between its two markers, less any region
# markers nested inside. --sources checks every *.c and *.h in server/,
# client/, common/ and libuv/: each region closed, opened once per file, and
# no endregion without its open region. A quote or table naming a file whose
# markers are bad is refused too.
#
# Quotes (--quotes, --update). A lesson quotes a region with a marker line
# followed at once by a fenced block holding exactly the region's lines:
#
#   <!-- quote: server/echo_server.c#accept-loop -->
#   ```c
#   ...
#   ```
#
# Side-by-side tables (--quotes; --update reports them but cannot rewrite
# them). A marker naming two regions, followed at once by a markdown table:
#
#   <!-- side-by-side: server/echo_server.c#main libuv/uv_echo_server.c#main -->
#   | step | `echo_server.c` | `uv_echo_server.c` |
#   |---|---|---|
#   | a loop | — | `loop = uv_default_loop();` |
#   | accept | `int fd = accept(...);` <br> `trace(...)` | (in libuv) |
#
# The table is a header row, a |---| row, then body rows up to the first
# line that does not start with "|". In a body row (cells split on "|", not
# on "\|") column 1 is free text, column 2 belongs to the first region and
# column 3 to the second; later columns are free text. A code cell holds zero
# or more code spans (`...`, inside which "\|" stands for "|") among free
# text. Each span, blank-trimmed, must equal a blank-trimmed line of its
# column's region, and going down the table the lines matched in a column
# must come in strictly increasing source order (each span matches the first
# equal line after the column's previous match). Also refused: no table right
# after the marker, a row with fewer than 3 cells, an empty or unclosed code
# span in a code column, and a table with no code span at all.
#
# In both, markers inside other fenced blocks are examples and are skipped.
#
# Links (--links). lessons/README.md links every lessons/NN-*.md, and every
# local link ([text](target) or [label]: target, outside code blocks and code
# spans, not a URL, not #anchor alone; a "#fragment" is dropped) in
# lessons/*.md names a file that exists, relative to lessons/. Likewise
# lessons/ko/README.md links every lessons/ko/NN-*.md and a link in
# lessons/ko/ is relative to lessons/ko/; and the two indexes link each
# other (ko/README.md from the English, ../README.md back). The READMEs at
# the top (README.md, README.ko.md) index no lessons, but each of their
# local links must name a file that exists, relative to the top.
#
# Parity (--parity). The Korean track keeps step with the English: each
# lessons/NN-*.md has its twin lessons/ko/NN-*.md (the same file name) and
# each Korean lesson its English original; a twin carries the same quote,
# side-by-side and run markers, line for line, in the same order, the same
# number of "## " sections, and the same fenced blocks, byte for byte, in
# the same order (code, commands and output are not translated; prose,
# headings, table text outside code spans and answers are). The first
# difference of each kind is reported with the Korean file and line, the
# marker or block, and the English one it should match. Without a
# lessons/ko/ folder there is nothing to keep in step: it says so and
# passes (the test suite checks the real tree has every twin). Files in
# lessons/ko/ that are not NN-*.md (README.md, the glossary 용어.md) have
# no twin. The glossary also keeps the Korean to one word per idea: the
# table under its "## 쓰지 않는 말" heading lists, row by row, a variant
# and the word the lessons use instead (| 포어그라운드 | 포그라운드 | ... |),
# and a variant in the prose of any lessons/ko/*.md (outside fenced
# blocks, code spans and markers) is reported with its file and line.
#
# Shape (--shape). Every command a lesson shows must paste as it is: a
# fenced block whose info string is sh, bash, shell, zsh or console (any
# case; a block inside another fenced block is an example and is skipped)
# must not hold a line that starts, after blanks, with "$ " or is a lone
# "$". Pasted, such a line runs a command named "$". Commands go in an sh
# block as they are typed; what they print goes in a text block.
#
# Transcripts (--transcripts, --update-transcripts). A lesson marks an
# example it wants run with a marker line right before its ```sh block; the
# first ```text (or ```console) block after the command block is what it
# must print:
#
#   <!-- run: refused -->
#   ```sh
#   printf 'hi\n' | bin/echo-client; echo "exit $?"
#   ```
#   ```text
#   echo-client: connect 127.0.0.1:7000: Connection refused (...)
#   exit 69
#   ```
#
# NAME is letters, digits, "_", "." and "-", unique in its lesson. Options,
# after the name, as key=value (a value with blanks in single quotes,
# type='two words'):
#   terminal=N  one terminal of a two-terminal (or more) example; all its
#               terminals share the NAME and come in order 1, 2, 3...
#   end=SIGINT|SIGTERM|^C|exit|none   how terminal 1 ends (default SIGINT,
#               Ctrl-C to its group); ^C: the same, with the "^C" a
#               terminal echoes shown where the cursor is; exit: it ends by
#               itself once the others are done; none: the lesson leaves it
#               running, so its block is what it printed by the time the
#               other terminals are done (those left running still
#               running); the runner then ends it unseen, last
#   end=SIGINT|SIGTERM|^C|exit|eof|none   on a terminal 2, 3...: it is LEFT
#               RUNNING (a client that stays connected) while the next
#               terminals run; its stdin is a pipe that stays open, as a
#               terminal's does. It ends after the last terminal, as under
#               "How an example runs": eof is Ctrl-D (its input ends),
#               exit waits for it to end by itself, the others as for
#               terminal 1. Without end=, a terminal 2, 3... runs to its end
#               before the next one starts
#   ready=TEXT  terminal 1, or a terminal left running, is ready at its
#               first line holding TEXT: the next terminal starts only then
#               (and once it has settled). By default terminal 1 is ready
#               at a line starting "listening on " (our servers' ready
#               line), a terminal left running once it has settled; give
#               ready= to a terminal 1 that is not our server (socat -d -d:
#               ready=transfer) and to a client whose first echo must be
#               back before the next terminal (ready=first). With show=both
#               its stderr counts too. ready='' (empty): no line to wait
#               for, ready once settled: a terminal 1 such as nc -l, which
#               prints nothing until a client comes
#   type=WORD or type='WORDS'  lines typed into this terminal (a terminal
#               2, 3..., or a lone command), "\n" between lines: each is
#               shown on its screen as a terminal echoes it, then sent with
#               Enter, then the terminal settles; then Ctrl-D, unless end=
#               keeps it running
#   type=N:TEXT before this terminal runs, the line TEXT is typed into the
#               earlier terminal N (left running, or terminal 1, which then
#               reads a keyboard too), in the same way. A value that does
#               not start with a digit 1-9 and ":" is typed into this
#               terminal
#   stop=N      before this terminal runs, the earlier terminal N (left
#               running, or terminal 1) gets its end= there and then
#               (Ctrl-C, SIGTERM, Ctrl-D for eof...) and is waited for; it
#               is not ended again. stop=1,2: terminal 1, then terminal 2
#   after=N:TEXT  before this terminal runs, wait until terminal N (1..9,
#               earlier) shows a line holding TEXT, not counting the lines
#               typed into it (the echo of a typed line, a trace line)
#   until=ERE   run this command (one that ends by itself and reads
#               nothing) again until a line of its output matches ERE (grep
#               -E), at most for its timeout, as a learner who looks again
#               a moment later: a state the kernel reaches on a timer (a
#               delayed ACK) or a beat later
#   order=any   the lines may come in any order (the rows of ss, which the
#               kernel lists in hash order): the same lines, masked, in any
#               order, match
#   order=per-process  for a trace whose processes race (a fork server's
#               parent and child after fork or a signal): the lines are
#               grouped by their "[prog PID]" tag, on each side (the pids
#               as printed, so one group is one process); each group of the
#               lesson must equal one group of the run line for line
#               (masked as below), the untagged lines must match in order
#               among themselves, and nothing may be left over on either
#               side. Each process's own order is checked exactly; only
#               the interleaving of the processes is free. Use it only
#               where the interleaving truly races.
#   show=both|stdout|stderr   what the terminal shows (default both, as a
#               terminal does: 2>&1); the others go to /dev/null. Terminal 1
#               always shows its stdout (its ready line is there)
#   output=none the command prints nothing, and no block follows
#   output=ignore  what it prints is not shown, nor compared (a server in
#               terminal 1 whose trace the lesson leaves out); it still runs
#   timeout=S   seconds each terminal may take (default 10, at most 60)
#
# Where each output block is: a lone command, and terminals 2, 3..., take
# the first text block after their own command block. Terminal 1 takes the
# first text block after its command only when it comes before the next
# terminal's marker; otherwise it takes the first text block left after the
# other terminals' blocks, so its output may come last, as a lesson tells
# it ("meanwhile terminal 1 shows..."). A terminal left running (end=) may
# also wait past the next terminals' markers: it takes the first text block
# that no later terminal claims ("terminal 2 showed..."). Any other code
# block (an unmarked command, a quote) between a command and its output is
# a problem.
#
# How an example runs: in network, mount and pid namespaces of its own
# (unshare -n -m -p -f --mount-proc --kill-child, lo brought up), so port
# 7000 is free and nothing else on the machine is seen: /tmp is an empty
# tmpfs of its own, shared by its terminals and gone at its end (a file an
# example writes there is seen by no other example, nor by the machine);
# ps, pgrep, pkill and ss -p find only the example's processes, whose pids
# start at 5001, and all of them end with it. From the project root, each
# terminal's block is run by /bin/sh with stdin /dev/null (a pipe, for a
# terminal typed into or left running), no descriptor open above 2
# (whatever the runner inherited is closed, as in a fresh terminal),
# LC_ALL=C, no MAKEFLAGS or MAKELEVEL (as in a terminal, even under make
# test), in a process group (session) of its own. As in a
# learner's terminal, Ctrl-C stops the command, not the shell: the shell
# catches SIGINT (trap :), and each command it runs has SIGINT and SIGQUIT
# at their default, so in `bin/echo-server; echo "exit $?"` the echo runs
# after Ctrl-C.
#
# Settling. Before each line typed, before the next terminal after one left
# running (or after terminal 1's ready line), and before each end, the
# runner waits for the terminal to settle, as a person does: every process
# of it asleep in a system call (or stopped, or a zombie) and no output of
# any terminal growing, seen twice 50 ms apart (read from /proc; bounded by
# the timeout; past it, it goes on and the comparison says what is
# missing). So a server that has just closed its last client is back in
# accept or poll, with its trace line written, before its Ctrl-C comes.
#
# The order: terminal 1 starts; its ready line is waited for (never a
# sleep), then it settles. Terminals 2, 3... run one after the other: each
# to its end, or, left running (end=), until its ready= line if it has one
# and until it settles. Before a terminal runs, in this order: its
# type=N:TEXT is typed, the terminal left running just before it is waited
# for as just said (after that typing: a client such as nc shows nothing
# until it has something to send), its after= is waited for, its stop=
# ends terminals. After the last: terminal 1's block is taken if it
# says end=none; the terminals left running end, the newest first, as one
# cleans up (each once settled; exit ones are waited for); then terminal 1
# gets its end= (Ctrl-C, SIGTERM, ^C, or nothing for exit) and its output
# is read to the end; then the eof ones get their Ctrl-D, so a client is
# still connected when the server stops (with terminal 1 end=none, which
# the lesson never stops, they get it before). Anything a terminal leaves
# running is killed. Each terminal is bounded by its timeout; an example
# that overruns fails and is killed.
#
# Comparing: both sides are masked, line by line, then must be equal. Masked,
# and only these: pids ("[prog 1234]", "pid=1234", strace's "[pid  1234]"
# and "Process 1234 attached"/"detached"; and the pad before a trace
# line's "~" column, which depends on the pid's width; the pid that
# a trace line forks, kills or reaps: "fork() = 1234" (not "fork() = 0"),
# "kill(1234, ", "waitpid(-1, WNOHANG) = 1234"; in a ps table, under a
# header line of upper-case column names, the fields of its PID, PPID,
# PGID, SID, TGID, TPGID and LWP columns, on the rows below it that have
# numbers there, the fields up to the last such column joined by one
# space, as ps pads them to the widest pid; the header's blanks likewise,
# since ps sizes those columns for the machine's largest pid), ephemeral
# ports (5 digits, 32768 or more, right after ":", as in 127.0.0.1:58334 or
# an ss column, or in strace's htons(58334), or after tcpdump's dotted
# address, as in 127.0.0.1.58334), timestamps (10:45:33, 10:45:33.123),
# a log line's date and the pid after its program name ("2026/11/30
# 11:39:59 socat[1555]"), durations with a fraction or in ms/us/ns ("0.25
# s", "12 ms", strace -T's <0.000123>), the time left on an ss -o timer
# ("timer:(timewait,59sec,0)") and rates ("12345/s", "3.2 MB/s"); and blanks at the end of a line, which a
# terminal does not show (ss pads its last column to its widest entry, a
# pid). Whole seconds ("300s", "2 s") are set by flags, so they are
# compared; so are descriptor numbers (each terminal starts with 0, 1 and 2
# only, so they are the same on every run). A mismatch is reported as
#
#   lessons/X.md:MARKER-LINE: <!-- run: NAME terminal=2 -->: output differs
#     at line K: lesson lessons/X.md:LINE "expected", got "what ran"
#
# (one line in reality; a tab in either line shows as \t; with order=any,
# K is the first line of the block that the run lacks; with
# order=per-process, the first line of the lesson whose process or untagged
# line found no match). --update-transcripts writes what the run printed,
# unmasked and without blanks at line ends, into every marked block that
# differs (and only those), from the same run; a block that already matches
# is left as it is (its pids and ports stay).
#
# An example that is the same run as one made earlier in the same check
# (a Korean twin of an English example: the same commands, options and
# typed lines, whatever the prose around them) is not run again: its
# blocks are compared with the output of that run, and the summary says
# how many were shared.
#
# Transcripts are not part of --check: they run programs (bin/ must be
# built), take seconds, and need a network namespace (root, or user
# namespaces). Where the namespace cannot be made, or SOCKLAB_TRANSCRIPTS_NO_NS
# is set (to see this path as a non-root user would), --transcripts checks
# the markers only, prints "... found, not run: skipped: REASON" on stdout
# and exits 0. It needs util-linux (unshare, setsid, mount), iproute2 (ip),
# GNU env (--default-signal), coreutils' timeout and readlink, and bash (to
# close descriptors above 9); without one, the same skip.
#
# Output: one line on stderr per problem, "lessons/X.md:LINE: ..." (or
# "FILE:LINE: ..." for a source). A quote is named by its marker's line; a
# table row by its own line, its number (body rows count from 1), the
# column's FILE#REGION and the code text:
#
#   lessons/04-x.md:120: side-by-side libuv/uv_echo_server.c#main, row 3:
#     "uv_listen(...)" is not a line of the region after line 41 (source order)
#
# (one line in reality). Each part ends with a summary line, on stdout when
# it is clean and on stderr when it is not; the test suite reads the counts:
#
#   quotes.sh: 57 quotes, 0 tables checked: all match their source
#   quotes.sh: 6 lessons, 40 local links checked: all linked, all resolve
#   quotes.sh: 68 regions in 20 source files: markers well-formed
#   quotes.sh: 120 shell blocks in 7 files checked: no prompts
#   quotes.sh: 10 lessons and 10 Korean twins: 248 markers, 122 sections,
#     436 fenced blocks in step; 12 words the glossary rules out, none used
#   quotes.sh: 30 examples (41 output blocks marked of 126 text blocks) run
#     in 12 s: all match their run
#
# Exit status: 0 all clean (or, for --update, every quote now matches), 1 a
# problem was found (for --update: a quote could not be rewritten or a table
# is wrong), 64 bad usage, 66 no lessons/*.md under the root (or no such
# root), 70 an internal failure (awk failed).
#
# POSIX sh and awk only (mawk, gawk, busybox awk): it runs wherever the C
# programs build.

usage() {
    echo "usage: sh tests/scripts/quotes.sh [--root DIR] --check | --update | --update-transcripts | [--quotes] [--links] [--sources] [--shape] [--parity] [--transcripts]"
    echo "  --check     --quotes, --links, --sources, --shape and --parity together"
    echo "  --quotes    quotes and side-by-side tables in lessons/*.md and lessons/ko/*.md against their source"
    echo "  --links     lessons/README.md links every lesson; local links resolve"
    echo "  --sources   region markers in server/ client/ common/ libuv/ are well-formed"
    echo "  --shape     no \"\$ \" prompt inside a shell code block of a lesson"
    echo "  --parity    each lesson has its Korean twin in lessons/ko/, with the same markers, sections and code blocks"
    echo "  --transcripts  run the marked examples of the lessons, compare their output"
    echo "  --update    rewrite every drifted quoted block from the source"
    echo "  --update-transcripts  rewrite the output blocks of marked examples from a run"
    echo "  --root DIR  check the tree at DIR (default: this script's project)"
}

bad_usage() {
    echo "quotes.sh: $1" >&2
    usage >&2
    exit 64
}

do_quotes=0
do_links=0
do_sources=0
do_shape=0
do_update=0
do_transcripts=0
do_tupdate=0
do_parity=0
root=
while [ $# -gt 0 ]; do
    case $1 in
    --check) do_quotes=1 do_links=1 do_sources=1 do_shape=1 do_parity=1 ;;
    --parity) do_parity=1 ;;
    --quotes) do_quotes=1 ;;
    --links) do_links=1 ;;
    --sources) do_sources=1 ;;
    --shape) do_shape=1 ;;
    --update) do_update=1 ;;
    --transcripts) do_transcripts=1 ;;
    --update-transcripts) do_tupdate=1 ;;
    --root)
        [ $# -ge 2 ] && [ -n "$2" ] || bad_usage "--root needs a directory"
        root=$2
        shift
        ;;
    --root=?*) root=${1#--root=} ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) bad_usage "unknown option '$1'" ;;
    esac
    shift
done
if [ $((do_update + do_tupdate)) -gt 0 ]; then
    [ $((do_quotes + do_links + do_sources + do_shape + do_transcripts + do_parity + do_update + do_tupdate)) -eq 1 ] ||
        bad_usage "--update and --update-transcripts go alone (with --root at most)"
elif [ $((do_quotes + do_links + do_sources + do_shape + do_transcripts + do_parity)) -eq 0 ]; then
    bad_usage "say what to do: --check, --update, --quotes, --links, --sources, --shape, --parity, --transcripts or --update-transcripts"
fi

# Work from the project root, so the paths in the markers resolve however
# the script is started.
if [ -z "$root" ]; then
    root=$(CDPATH= cd -- "$(dirname -- "$0")/../.." && pwd) || exit 70
fi
cd -- "$root" 2>/dev/null || {
    echo "quotes.sh: cannot enter the root '$root'" >&2
    exit 66
}
root=$(pwd)

if [ $((do_update + do_quotes + do_links + do_shape + do_transcripts + do_tupdate + do_parity)) -gt 0 ]; then
    set -- lessons/*.md
    if [ ! -e "$1" ]; then
        echo "quotes.sh: no lessons/*.md under $root" >&2
        exit 66
    fi
fi

# Every lesson file, one per line: lessons/*.md, then each translation's
# (lessons/ko/*.md). A lesson file name holds no blank.
lesson_files() {
    for f in lessons/*.md lessons/ko/*.md; do
        [ ! -f "$f" ] || printf '%s\n' "$f"
    done
}

# The READMEs at the top of the project (README.md, README.ko.md), one per
# line: --links checks their links too.
top_readmes() {
    for f in README*.md; do
        [ ! -f "$f" ] || printf '%s\n' "$f"
    done
}

# Every C source that may hold region markers, one per line.
source_files() {
    for d in server client common libuv; do
        for f in "$d"/*.c "$d"/*.h; do
            [ ! -f "$f" ] || printf '%s\n' "$f"
        done
    done
}

# run_job TAG FIELDS WHAT JOB LIST: run the awk JOB (after the shared
# functions) on the files LIST prints, into $result, whose one line must be
# TAG and FIELDS - 1 numbers; an awk failure or any other line exits 70,
# naming WHAT was being read.
run_job() {
    result=$("$5" | awk "$functions$4") || {
        echo "quotes.sh: awk failed on $3" >&2
        exit 70
    }
    set -- "$1" "$2" "$3" $result
    if [ "${4:-}" != "$1" ] || [ $# -ne $(($2 + 3)) ]; then
        echo "quotes.sh: unexpected output from awk on $3" >&2
        exit 70
    fi
}

# ---- the parser: awk functions every job below shares ---------------------
functions='
function trim(s) {
    sub(/^[ \t\r]+/, "", s)
    sub(/[ \t\r]+$/, "", s)
    return s
}

function say(msg) {
    print msg | "cat 1>&2"
}

# A region marker is a whole line "/* region: NAME */" or
# "/* endregion: NAME */". Sets MK_KIND ("open" or "close") and MK_NAME.
function region_marker(s,    t) {
    t = trim(s)
    if (length(t) < 4 || substr(t, 1, 2) != "/*" || substr(t, length(t) - 1) != "*/")
        return 0
    t = trim(substr(t, 3, length(t) - 4))
    if (substr(t, 1, 7) == "region:") {
        MK_KIND = "open"
        t = substr(t, 8)
    } else if (substr(t, 1, 10) == "endregion:") {
        MK_KIND = "close"
        t = substr(t, 11)
    } else {
        return 0
    }
    t = trim(t)
    if (t == "" || t ~ /[^A-Za-z0-9_.-]/)
        return 0
    MK_NAME = t
    return 1
}

# Read file: every marker problem into ERR[1..ERR_N], the number of regions
# opened into OPENED, and, when name is not "", that region lines (nested
# markers left out) into REG[1..REG_N], with their line numbers in REG_AT.
# FOUND says whether region name exists. Returns 0 when file cannot be read.
function scan_source(file, name,    line, ln, rc, inside, k, seen, openat) {
    REG_N = 0
    ERR_N = 0
    OPENED = 0
    FOUND = 0
    split("", seen)
    split("", openat)
    ln = 0
    inside = 0
    while ((rc = (getline line < file)) > 0) {
        ln++
        if (!region_marker(line)) {
            if (inside) {
                REG[++REG_N] = line
                REG_AT[REG_N] = ln
            }
            continue
        }
        if (MK_KIND == "open") {
            OPENED++
            if (MK_NAME in seen)
                ERR[++ERR_N] = file ":" ln ": region \"" MK_NAME "\" opened again (first at line " seen[MK_NAME] "); names must be unique in a file"
            else
                seen[MK_NAME] = ln
            openat[MK_NAME] = ln
            if (MK_NAME == name) {
                FOUND = 1
                inside = 1
            }
        } else {
            if (MK_NAME in openat)
                delete openat[MK_NAME]
            else
                ERR[++ERR_N] = file ":" ln ": endregion \"" MK_NAME "\" has no open region of that name"
            if (MK_NAME == name)
                inside = 0
        }
    }
    close(file)
    if (rc < 0)
        return 0
    for (k in openat)
        ERR[++ERR_N] = file ":" openat[k] ": region \"" k "\" is never closed (add /* endregion: " k " */)"
    return 1
}

# Load region name of file into REG (see scan_source). Returns "" or what
# is wrong, as one line.
function load_region(file, name) {
    if (file ~ /^\// || file ~ /(^|\/)\.\.(\/|$)/) {
        REG_N = 0
        return "the path must be relative to the project root, without .."
    }
    if (!scan_source(file, name))
        return "cannot read " file " (no such file under the project root?)"
    if (ERR_N > 0)
        return "bad region markers in the source: " ERR[1] (ERR_N > 1 ? " (and " (ERR_N - 1) " more)" : "")
    if (!FOUND)
        return "no region \"" name "\" in " file " (mark it with /* region: " name " */ ... /* endregion: " name " */)"
    return ""
}

# "<!-- quote: path#name -->": 1 and Q_FILE, Q_NAME set; -1 when the line
# starts like a marker but is malformed; 0 otherwise.
function quote_marker(s,    t, h) {
    t = trim(s)
    if (t !~ /^<!--[ \t]*quote:/)
        return 0
    if (t !~ /^<!--[ \t]*quote:[ \t]*[A-Za-z0-9_.\/-]+#[A-Za-z0-9_.-]+[ \t]*-->$/)
        return -1
    sub(/^<!--[ \t]*quote:[ \t]*/, "", t)
    sub(/[ \t]*-->$/, "", t)
    h = index(t, "#")
    Q_FILE = substr(t, 1, h - 1)
    Q_NAME = substr(t, h + 1)
    return 1
}

# "<!-- side-by-side: path#name path#name -->": 1 with T_FILE[1..2] and
# T_NAME[1..2] set; -1 when malformed; 0 otherwise.
function table_marker(s,    t, part, i, h) {
    t = trim(s)
    if (t !~ /^<!--[ \t]*side-by-side:/)
        return 0
    if (t !~ /^<!--[ \t]*side-by-side:[ \t]*[A-Za-z0-9_.\/-]+#[A-Za-z0-9_.-]+[ \t]+[A-Za-z0-9_.\/-]+#[A-Za-z0-9_.-]+[ \t]*-->$/)
        return -1
    sub(/^<!--[ \t]*side-by-side:[ \t]*/, "", t)
    sub(/[ \t]*-->$/, "", t)
    split(t, part, /[ \t]+/)
    for (i = 1; i <= 2; i++) {
        h = index(part[i], "#")
        T_FILE[i] = substr(part[i], 1, h - 1)
        T_NAME[i] = substr(part[i], h + 1)
    }
    return 1
}

# An opening code fence: up to three spaces, then three or more backticks or
# tildes (a backtick fence has no backtick after it). Sets F_CHAR and F_LEN.
function fence_open(s,    i, c, n) {
    i = 1
    while (i <= 3 && substr(s, i, 1) == " ")
        i++
    c = substr(s, i, 1)
    if (c != "`" && c != "~")
        return 0
    n = 0
    while (substr(s, i + n, 1) == c)
        n++
    if (n < 3)
        return 0
    if (c == "`" && index(substr(s, i + n), "`") > 0)
        return 0
    F_CHAR = c
    F_LEN = n
    return 1
}

# The fence that closes the open one: same character, at least as long, and
# nothing after it.
function fence_close(s,    i, n) {
    i = 1
    while (i <= 3 && substr(s, i, 1) == " ")
        i++
    n = 0
    while (substr(s, i + n, 1) == F_CHAR)
        n++
    return n >= F_LEN && trim(substr(s, i + n)) == ""
}

# Read file on to its next line outside a fenced block: 1 with the line in
# PL_TEXT and its number in PL_LN, 0 at the end, -1 on a read error. Set
# PL_LN = 0 and PL_FENCE = 0 before the first line of a file.
function prose_line(file,    got, text) {
    while ((got = (getline text < file)) > 0) {
        PL_LN++
        if (PL_FENCE) {
            if (fence_close(text))
                PL_FENCE = 0
            continue
        }
        if (fence_open(text)) {
            PL_FENCE = 1
            continue
        }
        PL_TEXT = text
        return 1
    }
    return got
}

# The code spans of s, in order, into SP[1..SP_N] (inside a span "\|" is
# "|"); the text outside them into SP_TEXT. A backtick run with no closing
# run of the same length is literal text, and sets SP_OPEN. A backslash
# outside a span escapes the next character.
function code_spans(s,    n, i, j, run, run2, c) {
    SP_N = 0
    SP_TEXT = ""
    SP_OPEN = 0
    n = length(s)
    i = 1
    while (i <= n) {
        c = substr(s, i, 1)
        if (c == "\\") {
            SP_TEXT = SP_TEXT substr(s, i, 2)
            i += 2
            continue
        }
        if (c != "`") {
            SP_TEXT = SP_TEXT c
            i++
            continue
        }
        run = 0
        while (substr(s, i + run, 1) == "`")
            run++
        j = i + run
        run2 = 0
        while (j <= n) {
            if (substr(s, j, 1) != "`") {
                j++
                continue
            }
            run2 = 0
            while (substr(s, j + run2, 1) == "`")
                run2++
            if (run2 == run)
                break
            j += run2
        }
        if (j > n) {
            SP_OPEN = 1
            SP_TEXT = SP_TEXT substr(s, i, run)
            i += run
            continue
        }
        c = substr(s, i + run, j - i - run)
        gsub(/\\[|]/, "|", c)
        SP[++SP_N] = c
        SP_TEXT = SP_TEXT " "
        i = j + run
    }
}

# A table row: does the line start with "|"?
function table_line(s) {
    return substr(trim(s), 1, 1) == "|"
}

# Split a table row into CELL[1..CELL_N] on "|" but not "\|", dropping the
# outer pipes.
function table_cells(s,    n, i, c, cur) {
    s = trim(s)
    s = substr(s, 2)
    n = length(s)
    if (n > 0 && substr(s, n, 1) == "|" && substr(s, n - 1, 1) != "\\")
        s = substr(s, 1, --n)
    CELL_N = 0
    cur = ""
    for (i = 1; i <= n; i++) {
        c = substr(s, i, 1)
        if (c == "\\" && substr(s, i + 1, 1) == "|") {
            cur = cur "\\|"
            i++
        } else if (c == "|") {
            CELL[++CELL_N] = cur
            cur = ""
        } else {
            cur = cur c
        }
    }
    CELL[++CELL_N] = cur
}
'

# ---- job: quotes and tables in one lesson ---------------------------------
# Reports go to stderr; the last line on stdout is
# "QUOTES quotes tables drifted broken table-problems"; in update mode the
# rewritten lesson goes to the file named by `out`.
lesson_job='
function emit(s) {
    if (mode == "update")
        print s > out
}

function emit_block(    i) {
    for (i = 1; i <= QN; i++)
        emit(QB[i])
}

# The block after a quote marker has ended: compare it with the region.
function finish_quote(    err, i, n, where, src, got) {
    quotes++
    where = lesson ":" mline ": <!-- quote: " mfile "#" mname " -->"
    err = load_region(mfile, mname)
    if (err != "") {
        broken++
        say(where ": " err)
        emit_block()
        return
    }
    n = QN > REG_N ? QN : REG_N
    for (i = 1; i <= n; i++) {
        if (i > QN || i > REG_N || QB[i] != REG[i])
            break
    }
    if (i > n) {
        emit_block()
        return
    }
    src = i <= REG_N ? mfile ":" REG_AT[i] " \"" REG[i] "\"" : "(the region has ended)"
    got = i <= QN ? lesson ":" (qstart + i) " \"" QB[i] "\"" : "(the block has ended)"
    if (mode == "update") {
        say(where ": updated from the source (it differed at block line " i ")")
        for (i = 1; i <= REG_N; i++)
            emit(REG[i])
        return
    }
    drifted++
    say(where ": drifted from the source at block line " i ": source " src ", lesson " got)
    emit_block()
}

function table_name() {
    return "side-by-side " T_FILE[1] "#" T_NAME[1] " " T_FILE[2] "#" T_NAME[2]
}

function table_problem(where, msg) {
    tproblems++
    say(lesson ":" where ": " msg)
}

# The header and |---| rows are read: load both regions.
function start_table(    c, i, err) {
    trows = 0
    tspans = 0
    for (c = 1; c <= 2; c++) {
        TPOS[c] = 0
        err = load_region(T_FILE[c], T_NAME[c])
        TOK[c] = err == ""
        if (!TOK[c]) {
            table_problem(tline, "side-by-side " T_FILE[c] "#" T_NAME[c] ": " err)
            continue
        }
        TN[c] = REG_N
        for (i = 1; i <= REG_N; i++) {
            TL[c, i] = trim(REG[i])
            TAT[c, i] = REG_AT[i]
        }
    }
}

# One body row of a side-by-side table.
function table_row(line,    c, k, want, j, where, after) {
    trows++
    table_cells(line)
    if (CELL_N < 3) {
        table_problem(FNR, table_name() ", row " trows ": " CELL_N " cell" (CELL_N == 1 ? "" : "s") "; a row needs 3 (text | first file | second file)")
        return
    }
    for (c = 1; c <= 2; c++) {
        code_spans(CELL[c + 1])
        where = "side-by-side " T_FILE[c] "#" T_NAME[c] ", row " trows
        if (SP_OPEN)
            table_problem(FNR, where ": a code span is not closed (a lone backtick)")
        for (k = 1; k <= SP_N; k++) {
            tspans++
            want = trim(SP[k])
            if (want == "") {
                table_problem(FNR, where ": an empty code span")
                continue
            }
            if (!TOK[c])
                continue
            for (j = TPOS[c] + 1; j <= TN[c]; j++)
                if (TL[c, j] == want)
                    break
            if (j <= TN[c]) {
                TPOS[c] = j
                continue
            }
            after = 0
            for (j = 1; j <= TPOS[c]; j++)
                if (TL[c, j] == want)
                    after = 1
            if (after)
                table_problem(FNR, where ": \"" want "\" is not a line of the region after line " TAT[c, TPOS[c]] " (source order)")
            else
                table_problem(FNR, where ": \"" want "\" is not a line of the region")
        }
    }
}

function finish_table() {
    tables++
    if (tspans == 0)
        table_problem(tline, "<!-- " table_name() " -->: the table holds no code span, so it checks nothing")
}

function no_table() {
    table_problem(tline, "<!-- " table_name() " --> must be followed at once by a markdown table (a header row, a |---| row, then the rows)")
}

BEGIN {
    state = "text"
    quotes = 0
    tables = 0
    drifted = 0
    broken = 0
    tproblems = 0
}

{
    row = $0
    if (state == "fence") {
        if (fence_close(row))
            state = "text"
        emit(row)
        next
    }
    if (state == "quote") {
        if (fence_close(row)) {
            finish_quote()
            emit(row)
            state = "text"
        } else {
            QB[++QN] = row
        }
        next
    }
    if (state == "marker") {
        if (fence_open(row)) {
            state = "quote"
            qstart = FNR
            QN = 0
            emit(row)
            next
        }
        broken++
        say(lesson ":" mline ": <!-- quote: " mfile "#" mname " --> must be followed at once by a fenced code block (```c)")
        state = "text"
    }
    if (state == "tmarker") {
        if (table_line(row)) {
            state = "thead"
            emit(row)
            next
        }
        no_table()
        state = "text"
    }
    if (state == "thead") {
        if (table_line(row) && trim(row) ~ /^[|: \t-]+$/ && row ~ /-/) {
            start_table()
            state = "trows"
            emit(row)
            next
        }
        no_table()
        state = "text"
    }
    if (state == "trows") {
        if (table_line(row)) {
            table_row(row)
            emit(row)
            next
        }
        finish_table()
        state = "text"
    }
    kind = quote_marker(row)
    if (kind < 0) {
        broken++
        say(lesson ":" FNR ": malformed quote marker; the form is <!-- quote: path/to/file.c#region-name -->")
    } else if (kind > 0) {
        state = "marker"
        mline = FNR
        mfile = Q_FILE
        mname = Q_NAME
    } else if ((kind = table_marker(row)) < 0) {
        broken++
        say(lesson ":" FNR ": malformed side-by-side marker; the form is <!-- side-by-side: path/a.c#region path/b.c#region -->")
    } else if (kind > 0) {
        state = "tmarker"
        tline = FNR
    } else if (fence_open(row)) {
        state = "fence"
        fline = FNR
    }
    emit(row)
}

END {
    if (state == "marker") {
        broken++
        say(lesson ":" mline ": <!-- quote: " mfile "#" mname " --> must be followed at once by a fenced code block (```c)")
    } else if (state == "quote") {
        broken++
        say(lesson ":" qstart ": the code block quoting " mfile "#" mname " is never closed")
        emit_block()
    } else if (state == "fence") {
        broken++
        say(lesson ":" fline ": this code block is never closed (markers after it would be missed)")
    } else if (state == "tmarker" || state == "thead") {
        no_table()
    } else if (state == "trows") {
        finish_table()
    }
    if (mode == "update")
        close(out)
    close("cat 1>&2")
    print "QUOTES", quotes, tables, drifted, broken, tproblems
}
'

# ---- job: region markers in the sources (one file name per input line) ----
# Problems go to stderr; stdout gets "SOURCES files regions problems".
sources_job='
{
    files++
    if (!scan_source($0, "")) {
        problems++
        say($0 ": cannot read it")
        next
    }
    regions += OPENED
    for (i = 1; i <= ERR_N; i++) {
        problems++
        say(ERR[i])
    }
}

END {
    close("cat 1>&2")
    print "SOURCES", files + 0, regions + 0, problems + 0
}
'

# ---- job: links in the lessons (one lesson file per input line) ----------
# Problems found here go to stderr; each local link goes to stdout as
# "LINK<tab>lesson<tab>line<tab>target" for the shell to test (relative to
# the lesson's own folder), and the last line is "LESSONS lessons links
# problems". Each folder of lessons (lessons/, and a translation such as
# lessons/ko/) has its own README.md that links every NN-*.md beside it;
# the two indexes link each other.
links_job='
# Note the local part of a link target (no "#fragment", no leading "./").
function link(file, ln, t, index_dir) {
    sub(/#.*/, "", t)
    if (t ~ /:\/\// || t ~ /^mailto:/)
        return
    while (substr(t, 1, 2) == "./")
        t = substr(t, 3)
    if (t == "")
        return
    links++
    print "LINK\t" file "\t" ln "\t" t
    if (index_dir != "")
        LINKED[index_dir, t] = 1
}

{
    file = $0
    dir = file
    sub(/[^\/]*$/, "", dir)
    is_index = 0
    # A folder of lessons has its index; a README at the top has links only.
    if (substr(file, 1, 8) == "lessons/") {
        DIRS[dir] = 1
        is_index = file == dir "README.md"
        if (is_index)
            HAVE_INDEX[dir] = 1
        name = file
        sub(/^.*\//, "", name)
        if (name ~ /^[0-9][0-9]-.+\.md$/) {
            nlessons++
            LESSON[dir, ++NL[dir]] = name
        }
    }
    PL_LN = 0
    PL_FENCE = 0
    while ((got = prose_line(file)) > 0) {
        ln = PL_LN
        code_spans(PL_TEXT)
        s = SP_TEXT
        t = trim(s)
        if (substr(t, 1, 1) == "[" && (at = index(t, "]:")) > 0) {
            t = trim(substr(t, at + 2))
            sub(/[ \t].*/, "", t)
            link(file, ln, t, is_index ? dir : "")
            continue
        }
        while ((at = index(s, "](")) > 0) {
            s = substr(s, at + 2)
            t = s
            sub(/[) \t].*/, "", t)
            link(file, ln, t, is_index ? dir : "")
        }
    }
    close(file)
    if (got < 0) {
        problems++
        say(file ": cannot read it")
    }
}

END {
    for (dir in DIRS) {
        if (!(dir in HAVE_INDEX)) {
            problems++
            say(dir "README.md is missing: it is the index that links every lesson beside it")
            continue
        }
        for (i = 1; i <= NL[dir]; i++) {
            if (!((dir, LESSON[dir, i]) in LINKED)) {
                problems++
                say(dir LESSON[dir, i] " is not linked from " dir "README.md (turn its \"coming\" entry into a link: [title](" LESSON[dir, i] "))")
            }
        }
        # A translation (lessons/ko/) and the English index link each other.
        if (dir != "lessons/") {
            if ("lessons/" in HAVE_INDEX && !(("lessons/", substr(dir, 9) "README.md") in LINKED)) {
                problems++
                say("lessons/README.md does not link " dir "README.md, the index of a translation: link it, [title](" substr(dir, 9) "README.md)")
            }
            if (!((dir, "../README.md") in LINKED)) {
                problems++
                say(dir "README.md does not link back to lessons/README.md: link it, [title](../README.md)")
            }
        }
    }
    close("cat 1>&2")
    print "LESSONS", nlessons + 0, links + 0, problems + 0
}
'

# ---- job: a translation in step with the English (--parity) ---------------
# One lesson file per input line. Each lessons/NN-*.md must have its twin
# lessons/ko/NN-*.md, with the same file name, and the other way round; a
# pair must carry the same quote, side-by-side and run markers in the same
# order, the same number of "## " sections, and the same fenced blocks, byte
# for byte (code, commands and output stay as in English). Problems go to
# stderr; stdout gets "PARITY english twins markers sections blocks
# problems".
parity_job='
# Read file into the skeleton of side s: its markers (MK[s, i], at MKL),
# its "## " sections (SEC[s]) and its fenced blocks (BK[s, i], the lines
# joined by "\n", from BKL[s, i]).
function skeleton(file, s,    ln, text, t, infence, got) {
    NMK[s] = 0
    SEC[s] = 0
    NBK[s] = 0
    ln = 0
    infence = 0
    while ((got = (getline text < file)) > 0) {
        ln++
        sub(/\r$/, "", text)
        if (infence) {
            BK[s, NBK[s]] = BK[s, NBK[s]] "\n" text
            if (fence_close(text))
                infence = 0
            continue
        }
        if (fence_open(text)) {
            infence = 1
            NBK[s]++
            BK[s, NBK[s]] = text
            BKL[s, NBK[s]] = ln
            continue
        }
        t = trim(text)
        if (t ~ /^<!--[ \t]*(quote|side-by-side|run):/) {
            NMK[s]++
            MK[s, NMK[s]] = t
            MKL[s, NMK[s]] = ln
        } else if (text ~ /^##[ \t]/) {
            SEC[s]++
        }
    }
    close(file)
    if (got < 0) {
        problems++
        say(file ": cannot read it")
    }
}

function pl(n, word) {
    return n " " word (n == 1 ? "" : "s")
}

# The first line where blocks a and b differ (1-based), and its two texts
# in DA and DB ("(the block has ended)" past either end).
function first_diff(a, b,    na, nb, la, lb, k) {
    na = split(a, la, "\n")
    nb = split(b, lb, "\n")
    for (k = 1; k <= na || k <= nb; k++) {
        DA = k <= na ? "\"" la[k] "\"" : "(the block has ended)"
        DB = k <= nb ? "\"" lb[k] "\"" : "(the block has ended)"
        if (k > na || k > nb || la[k] != lb[k])
            return k
    }
    return 0
}

function compare(name,    en, ko, i, k) {
    en = "lessons/" name
    ko = "lessons/ko/" name
    skeleton(en, "en")
    skeleton(ko, "ko")
    for (i = 1; i <= NMK["en"] || i <= NMK["ko"]; i++) {
        if (i > NMK["ko"]) {
            problems++
            say(ko ": marker " i " of " en ", line " MKL["en", i] ", " MK["en", i] ", is missing (" pl(NMK["ko"], "marker") " here, " NMK["en"] " in English)")
            break
        }
        if (i > NMK["en"]) {
            problems++
            say(ko ":" MKL["ko", i] ": " MK["ko", i] ": marker " i " is not in " en " (" pl(NMK["en"], "marker") " there, " NMK["ko"] " here)")
            break
        }
        if (MK["en", i] != MK["ko", i]) {
            problems++
            say(ko ":" MKL["ko", i] ": " MK["ko", i] ": marker " i " differs from " en ":" MKL["en", i] ": " MK["en", i] " (the same markers, in the same order, in both languages)")
            break
        }
    }
    if (SEC["en"] != SEC["ko"]) {
        problems++
        say(ko ": " SEC["ko"] " \"## \" sections, but " en " has " SEC["en"] " (one section for each)")
    }
    for (i = 1; i <= NBK["en"] || i <= NBK["ko"]; i++) {
        if (i > NBK["ko"]) {
            problems++
            say(ko ": fenced block " i " of " en ", line " BKL["en", i] ", is missing (" pl(NBK["ko"], "block") " here, " NBK["en"] " in English)")
            break
        }
        if (i > NBK["en"]) {
            problems++
            say(ko ":" BKL["ko", i] ": fenced block " i " is not in " en " (" pl(NBK["en"], "block") " there, " NBK["ko"] " here)")
            break
        }
        if (BK["en", i] != BK["ko", i]) {
            k = first_diff(BK["en", i], BK["ko", i])
            problems++
            say(ko ":" BKL["ko", i] + k - 1 ": fenced block " i " differs from " en ":" BKL["en", i] + k - 1 " at its line " k ": " DB " here, " DA " in English (code, commands and output stay as in English)")
            break
        }
    }
    markers += NMK["en"]
    sections += SEC["en"]
    blocks += NBK["en"]
}

# The words the glossary rules out: the rows of the table under its
# "## 쓰지 않는 말" heading, | variant | the word to use | why |, into
# AVOID[1..NAVOID] and USE[].
function read_glossary(file,    text, on, n, c, got) {
    while ((got = (getline text < file)) > 0) {
        if (text ~ /^## /) {
            on = text ~ /^## 쓰지 않는 말/
            continue
        }
        if (!on || substr(trim(text), 1, 1) != "|")
            continue
        n = split(text, c, "|")
        if (n < 4 || trim(c[2]) ~ /^(-+|쓰지 않는 말)$/ || trim(c[2]) == "")
            continue
        AVOID[++NAVOID] = trim(c[2])
        USE[NAVOID] = trim(c[3])
    }
    close(file)
}

# A Korean lesson file uses none of those words in its prose (outside
# fenced blocks, code spans and markers).
function check_words(file,    t, i, got) {
    PL_LN = 0
    PL_FENCE = 0
    while ((got = prose_line(file)) > 0) {
        if (trim(PL_TEXT) ~ /^<!--/)
            continue
        code_spans(PL_TEXT)
        t = SP_TEXT
        for (i = 1; i <= NAVOID; i++) {
            if (index(t, AVOID[i])) {
                problems++
                say(file ":" PL_LN ": \"" AVOID[i] "\": the glossary (" GLOSSARY ") uses " USE[i] " for this")
            }
        }
    }
    close(file)
}

BEGIN {
    GLOSSARY = "lessons/ko/용어.md"
    read_glossary(GLOSSARY)
}

{
    if ($0 ~ /^lessons\/ko\// && $0 != GLOSSARY)
        check_words($0)
    name = $0
    sub(/^.*\//, "", name)
    if (name !~ /^[0-9][0-9]-.+\.md$/)
        next
    if ($0 == "lessons/" name) {
        EN[name] = 1
        ENS[++NEN] = name
    } else if ($0 == "lessons/ko/" name) {
        KO[name] = 1
        KOS[++NKO] = name
    }
}

END {
    for (i = 1; i <= NEN; i++) {
        name = ENS[i]
        english++
        if (name in KO) {
            twins++
            compare(name)
        } else {
            problems++
            say("lessons/ko/" name " is missing: lessons/" name " has no Korean twin (write one with the same file name)")
        }
    }
    for (i = 1; i <= NKO; i++) {
        name = KOS[i]
        if (!(name in EN)) {
            problems++
            say("lessons/ko/" name " has no English original: lessons/" name " does not exist (a lesson is added in both languages, with the same file name)")
        }
    }
    close("cat 1>&2")
    print "PARITY", english + 0, twins + 0, markers + 0, sections + 0, blocks + 0, NAVOID + 0, problems + 0
}
'

# ---- job: shell blocks in the lessons (one lessons/*.md per input line) ---
# Problems go to stderr; stdout gets "SHAPE lessons blocks prompts problems".
shape_job='
{
    file = $0
    nlessons++
    ln = 0
    depth = 0     # 0 outside a fence, 1 inside one
    shell = 0
    while ((got = (getline text < file)) > 0) {
        ln++
        if (depth) {
            if (fence_close(text)) {
                depth = 0
                continue
            }
            if (shell && (text ~ /^[ \t]*\$ / || text ~ /^[ \t]*\$[ \t\r]*$/)) {
                prompts++
                say(file ":" ln ": a \"$ \" prompt inside a ```" info " block: pasted, it runs a command named \"$\"; put the command in an sh block as it is typed, and its output in a text block")
            }
            continue
        }
        if (fence_open(text)) {
            depth = 1
            info = text
            sub(/^[ \t]*[`~]+[ \t]*/, "", info)
            sub(/[ \t{].*/, "", info)
            info = tolower(info)
            shell = info == "sh" || info == "bash" || info == "shell" || info == "zsh" || info == "console"
            blocks += shell
        }
    }
    close(file)
    if (got < 0) {
        problems++
        say(file ": cannot read it")
    }
}

END {
    close("cat 1>&2")
    print "SHAPE", nlessons + 0, blocks + 0, prompts + 0, problems + 0
}
'

# ---- job: run markers in one lesson (--transcripts) -----------------------
# Reads one lesson. Each marked command block becomes a "part": its command
# goes to WORK/P.cmd and the expected output (the block's lines, the fence's
# indentation removed) to WORK/P.exp; stdout gets, per part, one tab-
# separated line "PART P lesson marker-line name terminal end show timeout
# out-open-line out-close-line indent order" (the output lines 0 with
# output=none; order "lines" or "per-process"),
# then "RUNS parts text-blocks marked-blocks problems". Problems go to stderr.
runs_job='
function problem(ln, msg) {
    problems++
    say(lesson ":" ln ": " msg)
}

# "<!-- run: NAME opts -->": 1 with R_NAME and R_OPT[] set (R_BAD says what
# is wrong with an option); -1 when malformed; 0 when not a run marker.
function run_marker(s,    t, n, i, w, k, v) {
    t = trim(s)
    if (t !~ /^<!--[ \t]*run:/)
        return 0
    if (t !~ /^<!--[ \t]*run:[ \t]*[A-Za-z0-9_.-]+([ \t]+[a-z]+=(\047[^\047]*\047|[^ \t\047]+))*[ \t]*-->$/)
        return -1
    sub(/^<!--[ \t]*run:[ \t]*/, "", t)
    sub(/[ \t]*-->$/, "", t)
    # A quoted value (type=\047two words\047) is one word: its blanks
    # become \001 until the split is done, and its quotes go.
    q = ""
    while (match(t, /\047[^\047]*\047/)) {
        v = substr(t, RSTART + 1, RLENGTH - 2)
        gsub(/[ \t]/, "\001", v)
        q = q substr(t, 1, RSTART - 1) v
        t = substr(t, RSTART + RLENGTH)
    }
    t = q t
    n = split(t, w, /[ \t]+/)
    R_NAME = w[1]
    R_BAD = ""
    R_END = ""
    R_TYPE = ""
    split("", R_MORE)
    R_OPT["terminal"] = 0
    R_OPT["end"] = "SIGINT"
    R_OPT["show"] = "both"
    R_OPT["output"] = "block"
    R_OPT["timeout"] = 10
    R_OPT["order"] = "same"
    R_OPT["ready"] = ""
    for (i = 2; i <= n; i++) {
        gsub(/\001/, " ", w[i])
        k = substr(w[i], 1, index(w[i], "=") - 1)
        v = substr(w[i], index(w[i], "=") + 1)
        if (k == "terminal" && v ~ /^[1-9]$/)
            R_OPT[k] = v + 0
        else if (k == "end" && v ~ /^(SIGINT|SIGTERM|exit|\^C|none|eof)$/)
            R_OPT[k] = R_END = v
        else if (k == "show" && v ~ /^(both|stdout|stderr)$/)
            R_OPT[k] = v
        else if (k == "output" && (v == "none" || v == "ignore"))
            R_OPT[k] = v
        else if (k == "timeout" && v ~ /^[1-9][0-9]?$/ && v + 0 <= 60)
            R_OPT[k] = v + 0
        else if (k == "order" && (v == "any" || v == "per-process"))
            R_OPT[k] = v
        else if (k == "ready" && v != "" && v !~ /\t/)
            R_OPT[k] = v
        else if (k == "ready" && v == "")
            R_OPT[k] = "\002"
        else if (k == "type" && v ~ /^[1-9]:./ && v !~ /\t/ && !("typeto" in R_MORE))
            R_MORE["typeto"] = v
        else if (k == "type" && v != "" && v !~ /^[1-9]:/ && v !~ /\t/ && R_TYPE == "")
            R_TYPE = v
        else if (k == "until" && v != "" && !(k in R_MORE))
            R_MORE[k] = v
        else if (k == "stop" && v ~ /^[1-9](,[1-9])*$/ && !(k in R_MORE))
            R_MORE[k] = v
        else if (k == "after" && v ~ /^[1-9]:./ && v !~ /\t/ && !(k in R_MORE))
            R_MORE[k] = v
        else if (R_BAD == "")
            R_BAD = "bad option \"" w[i] "\" (terminal=1..9, end=SIGINT|SIGTERM|exit|^C|none|eof, show=both|stdout|stderr, output=none|ignore, timeout=1..60, order=any|per-process, ready=TEXT, type=WORDS or type=N:TEXT, stop=N, after=N:TEXT, until=ERE; each once)"
    }
    return 1
}

# The highest terminal a list such as "1,2" names.
function latest(v,    n, i, a, m) {
    n = split(v, a, ",")
    m = 0
    for (i = 1; i <= n; i++)
        if (a[i] + 0 > m)
            m = a[i] + 0
    return m
}

function indent_of(s,    i) {
    i = 0
    while (substr(s, i + 1, 1) == " ")
        i++
    return i
}

# A block line without the indentation of its fence (at most that many
# leading spaces go).
function unindent(s, n,    i) {
    for (i = 0; i < n && substr(s, 1, 1) == " "; i++)
        s = substr(s, 2)
    return s
}

function info_of(s,    t) {
    t = s
    sub(/^[ \t]*[`~]+[ \t]*/, "", t)
    sub(/[ \t{].*/, "", t)
    return tolower(t)
}

# A part is complete: print its record.
function record(p) {
    print "PART\t" p "\t" lesson "\t" PM[p] "\t" PN[p] "\t" PT[p] "\t" PE[p] "\t" PS[p] "\t" PTO[p] "\t" (p in PO ? PO[p] : 0) "\t" (p in PC ? PC[p] : 0) "\t" (p in PI ? PI[p] : 0) "\t" PR[p] "\t" (p in PY ? 1 : 0) "\t" PRD[p]
}

# No output block came for the parts still waiting (all of them, or all but
# terminal 1 and the terminals left running when keep1 is set): report each.
function unclaimed(ln, keep1,    i, n) {
    n = 0
    for (i = 1; i <= NW; i++) {
        if (keep1 && (PT[W[i]] == 1 || PK[W[i]]))
            W[++n] = W[i]
        else
            problem(PM[W[i]], "<!-- run: " PN[W[i]] (PT[W[i]] ? " terminal=" PT[W[i]] : "") " -->: no ```text block holds its output before line " ln " (write one, or say output=none)")
    }
    NW = n
}

BEGIN {
    state = "text"
    seq = seq + 0
    parts = 0
    texts = 0
    marked = 0
    problems = 0
    NW = 0          # waiting parts W[1..NW], in lesson order
    cur = ""        # the example whose terminals are being read
}

{
    row = $0
    if (state == "fence") {
        if (fence_close(row))
            state = "text"
        else if (claim != "")
            print unindent(row, PI[claim]) > (work "/" claim ".exp")
        if (state == "text" && claim != "") {
            PC[claim] = FNR
            close(work "/" claim ".exp")
            record(claim)
            claim = ""
        }
        next
    }
    if (state == "cmd") {
        if (fence_close(row)) {
            state = "text"
            close(work "/" p ".cmd")
            if (PO_NONE[p])
                record(p)
            else
                W[++NW] = p
        } else {
            print unindent(row, cindent) > (work "/" p ".cmd")
        }
        next
    }
    if (state == "marker") {
        if (fence_open(row) && info_of(row) == "sh") {
            state = "cmd"
            cindent = indent_of(row)
            printf "" > (work "/" p ".cmd")
            next
        }
        problem(PM[p], "<!-- run: " PN[p] " --> must be followed at once by the ```sh block it runs")
        delete PO_NONE[p]
        state = "text"
    }
    kind = run_marker(row)
    if (kind < 0) {
        problem(FNR, "malformed run marker; the form is <!-- run: NAME [terminal=N] [end=HOW] [KEY=VALUE ...] --> (a value with blanks in \047quotes\047)")
        next
    }
    if (kind > 0) {
        if (R_BAD != "") {
            problem(FNR, "<!-- run: " R_NAME " -->: " R_BAD)
            next
        }
        key = R_NAME SUBSEP R_OPT["terminal"]
        if (key in SEEN) {
            problem(FNR, "<!-- run: " R_NAME " -->: the name is used already at line " SEEN[key] " (names are unique in a lesson; only the terminals of one example share it)")
            next
        }
        SEEN[key] = FNR
        # A new example (or a lone command) ends the one before: its parts
        # must have found their output by now.
        unclaimed(FNR, R_OPT["terminal"] >= 2 && R_NAME == cur)
        if (R_OPT["terminal"] >= 2 && R_NAME != cur)
            problem(FNR, "<!-- run: " R_NAME " terminal=" R_OPT["terminal"] " -->: terminal 1 of this example must come first")
        if (R_OPT["terminal"] >= 2 && R_NAME == cur && R_OPT["terminal"] != curterm + 1)
            problem(FNR, "<!-- run: " R_NAME " terminal=" R_OPT["terminal"] " -->: terminals come in order 1, 2, 3...; expected terminal=" curterm + 1)
        cur = R_OPT["terminal"] >= 1 ? R_NAME : ""
        curterm = R_OPT["terminal"]
        if (R_OPT["terminal"] == 0 && R_END != "")
            problem(FNR, "<!-- run: " R_NAME " -->: end= belongs to a terminal that is stopped (terminal=1), or left running while the next ones run (terminal=2...)")
        if (R_OPT["terminal"] == 1 && R_END == "eof")
            problem(FNR, "<!-- run: " R_NAME " terminal=1 -->: end=eof is for a terminal 2, 3... left running, which reads what is typed (terminal 1 reads nothing)")
        if (R_OPT["terminal"] == 1 && R_TYPE != "")
            problem(FNR, "<!-- run: " R_NAME " terminal=1 -->: type= is for terminals 2, 3... (terminal 1 is started before anything is typed)")
        if (R_OPT["ready"] != "" && (R_OPT["terminal"] == 0 || (R_OPT["terminal"] >= 2 && R_END == "")))
            problem(FNR, "<!-- run: " R_NAME " -->: ready= belongs to terminal 1 or a terminal left running (end=), the ones that are waited for")
        if (R_OPT["terminal"] == 1 && R_OPT["show"] == "stderr")
            problem(FNR, "<!-- run: " R_NAME " -->: terminal 1 must show its stdout, where its ready line goes")
        if ("until" in R_MORE && (R_OPT["terminal"] == 1 || R_END != "" || R_TYPE != ""))
            problem(FNR, "<!-- run: " R_NAME " -->: until= belongs to a command that ends by itself and reads nothing (a lone one, or a terminal 2, 3... without end= or type=)")
        for (k in R_MORE)
            if (k == "until")
                continue
            else if (R_OPT["terminal"] < 2)
                problem(FNR, "<!-- run: " R_NAME " -->: " (k == "typeto" ? "type" : k) "= belongs to a terminal 2, 3... (it acts on an earlier terminal of the same example)")
            else if (k == "stop" ? latest(R_MORE[k]) >= R_OPT["terminal"] : substr(R_MORE[k], 1, 1) + 0 >= R_OPT["terminal"])
                problem(FNR, "<!-- run: " R_NAME " terminal=" R_OPT["terminal"] " -->: " (k == "typeto" ? "type" : k) "=" R_MORE[k] " must name an earlier terminal")
        p = seq + (++parts)
        PM[p] = FNR
        PN[p] = R_NAME
        PT[p] = R_OPT["terminal"]
        PE[p] = R_OPT["end"]
        PS[p] = R_OPT["show"]
        PTO[p] = R_OPT["timeout"]
        PR[p] = R_OPT["order"]
        PRD[p] = R_OPT["ready"]
        # Typed lines, one a line ("\\n" in the value separates them).
        if (R_TYPE != "") {
            PY[p] = 1
            gsub(/\\n/, "\n", R_TYPE)
            print R_TYPE > (work "/" p ".type")
            close(work "/" p ".type")
        }
        # A terminal 2, 3... without end= runs to its end: "-".
        if (R_OPT["terminal"] >= 2 && R_END == "")
            PE[p] = "-"
        PK[p] = R_OPT["terminal"] >= 2 && R_END != ""
        # What acts on other terminals, or again: one key=value a line.
        printf "" > (work "/" p ".opt")
        for (k in R_MORE)
            print k "=" R_MORE[k] > (work "/" p ".opt")
        close(work "/" p ".opt")
        PO_NONE[p] = R_OPT["output"] != "block"
        if (R_OPT["output"] == "ignore")
            PO[p] = -1
        state = "marker"
        next
    }
    if (!fence_open(row))
        next
    info = info_of(row)
    state = "fence"
    claim = ""
    if (info == "text" || info == "console") {
        texts++
        # Terminals 2, 3... take the first text block after their command;
        # so does a lone command: the newest waiting part other than
        # terminal 1 takes it. Terminal 1 takes it only when no other part
        # of its example is waiting: its output may come last. A terminal
        # left running (end=) stays waiting past the next markers (see
        # unclaimed), so its block may come after theirs.
        for (i = NW; i >= 1; i--)
            if (PT[W[i]] != 1)
                break
        if (i < 1 && NW > 0)
            i = 1
        if (i >= 1) {
            claim = W[i]
            for (; i < NW; i++)
                W[i] = W[i + 1]
            NW--
            marked++
            PO[claim] = FNR
            PI[claim] = indent_of(row)
            printf "" > (work "/" claim ".exp")
        }
    } else if (NW > 0) {
        # Any other block (an unmarked command, code) while a part waits:
        # its output was not shown next to it.
        unclaimed(FNR, 0)
    }
}

END {
    if (state == "marker")
        problem(PM[p], "<!-- run: " PN[p] " --> must be followed at once by the ```sh block it runs")
    else if (state == "cmd" || state == "fence")
        problem(FNR, "a code block is never closed")
    unclaimed(FNR, 0)
    close("cat 1>&2")
    print "RUNS", parts, texts, marked, problems
}
'

# ---- job: mask, then compare one output with the lesson's block -----------
# Input: the expected block (file exp) and the output of the run (file got).
# Prints nothing when they match once masked; otherwise one line: the first
# differing line, "K<tab>expected<tab>got" (an absent side is "\001").
mask_functions='
# Every match of re in s whose next character is not a letter or digit
# (when word is set) becomes rep; the first keep characters of a match stay.
function subst_all(s, re, keep, rep, word,    out, nx) {
    out = ""
    while (match(s, re)) {
        nx = substr(s, RSTART + RLENGTH, 1)
        if (word && nx ~ /[A-Za-z0-9]/)
            out = out substr(s, 1, RSTART + RLENGTH - 1)
        else
            out = out substr(s, 1, RSTART - 1) substr(s, RSTART, keep) rep
        s = substr(s, RSTART + RLENGTH)
    }
    return out s
}

# "[prog 1234]" (the trace prefix): the number becomes PID. The trace pads
# its "~ libuv" column counting from "[", so the pad depends on the width
# of the pid: on a trace line it becomes two spaces.
function mask_prefix(s,    out, m) {
    if (s ~ /^\[[A-Za-z0-9_.-]+ [0-9]+\] / && match(s, /  +~ /))
        s = substr(s, 1, RSTART - 1) "  ~ " substr(s, RSTART + RLENGTH)
    out = ""
    while (match(s, /\[[A-Za-z0-9_.-]+ [0-9]+\]/)) {
        m = substr(s, RSTART, RLENGTH)
        sub(/ [0-9]+\]$/, " PID]", m)
        out = out substr(s, 1, RSTART - 1) m
        s = substr(s, RSTART + RLENGTH)
    }
    return out s
}

# An ephemeral port, 32768 or more, as the last five digits of a match of
# re that no digit follows, becomes PORT: re is ":NNNNN" for the usual
# form (127.0.0.1:58334, [::1]:37434, the columns of ss) and a dotted IPv4
# address then ".NNNNN" for tcpdump -n (127.0.0.1.46061).
function mask_ports(s, re,    out, n) {
    out = ""
    while (match(s, re)) {
        n = substr(s, RSTART + RLENGTH - 5, 5) + 0
        if (n >= 32768 && substr(s, RSTART + RLENGTH, 1) !~ /[0-9]/)
            out = out substr(s, 1, RSTART + RLENGTH - 6) "PORT"
        else
            out = out substr(s, 1, RSTART + RLENGTH - 1)
        s = substr(s, RSTART + RLENGTH)
    }
    return out s
}

# strace names an ephemeral port as sin_port=htons(58334) (or sin6_port):
# the number becomes PORT, as after ":".
function mask_htons(s,    out, n) {
    out = ""
    while (match(s, /htons\([0-9][0-9][0-9][0-9][0-9]\)/)) {
        n = substr(s, RSTART + 6, 5) + 0
        out = out substr(s, 1, RSTART + 5) (n >= 32768 ? "PORT" : substr(s, RSTART + 6, 5)) ")"
        s = substr(s, RSTART + RLENGTH)
    }
    return out s
}

# What the kernel reports of a timer in ss -o, "timer:(timewait,59sec,0)":
# the time left (59sec, 1min, 2.500ms) becomes DURATION.
function mask_timer(s,    out, head) {
    out = ""
    while (match(s, /timer:\([a-z_]+,[0-9][0-9.]*(min|sec|ms)[0-9.a-z]*,/)) {
        head = substr(s, RSTART, RLENGTH)
        sub(/,[^,]*,$/, ",DURATION,", head)
        out = out substr(s, 1, RSTART - 1) head
        s = substr(s, RSTART + RLENGTH)
    }
    return out s
}

# A log line as socat writes it, "2026/11/30 11:39:59 socat[1555] E ...":
# its date goes with its time (already TIME), and the pid after the
# program name that follows the stamp becomes PID.
function mask_log_stamp(s,    out, m) {
    out = ""
    while (match(s, /[0-9][0-9][0-9][0-9]\/[0-9][0-9]\/[0-9][0-9] TIME [A-Za-z0-9_.-]+\[[0-9]+\]/)) {
        m = substr(s, RSTART + 11, RLENGTH - 11)
        sub(/\[[0-9]+\]$/, "[PID]", m)
        out = out substr(s, 1, RSTART - 1) m
        s = substr(s, RSTART + RLENGTH)
    }
    return out s
}

# A ps table: a header line of upper-case column names, at least one of
# them a pid column (PID, PPID, PGID, SID, TGID, TPGID, LWP). ps_header
# notes which fields hold pids (PSCOL[i]) and returns 1; 0 when s is no
# such header.
function ps_header(s,    n, f, i, any) {
    if (s !~ /^ *[A-Z%]+( +[A-Z%]+)* *$/)
        return 0
    n = split(s, f, / +/)
    any = 0
    for (i in PSCOL)
        delete PSCOL[i]
    PSN = 0
    for (i = 1; i <= n; i++) {
        if (f[i] == "")
            continue
        PSN++
        if (f[i] ~ /^(PID|PPID|PGID|SID|TGID|TPGID|LWP)$/) {
            PSCOL[PSN] = 1
            any = 1
        }
    }
    return any
}

# A row under a ps header: each pid field (all digits) becomes PID, and the
# fields up to the last pid column are joined by one space (ps pads them to
# the widest pid); the rest of the row stays as it is. A row whose pid
# fields are not all numbers is no row of the table: returned as it is,
# with PSROW = 0.
function mask_ps_row(s,    rest, out, k, last, i, m) {
    PSROW = 0
    last = 0
    for (i in PSCOL)
        if (i + 0 > last)
            last = i + 0
    rest = s
    sub(/^ +/, "", rest)
    out = ""
    for (k = 1; k <= last; k++) {
        if (!match(rest, /^[^ ]+/))
            return s
        m = substr(rest, 1, RLENGTH)
        rest = substr(rest, RLENGTH + 1)
        if (k in PSCOL) {
            if (m !~ /^-?[0-9]+$/)
                return s
            m = "PID"
        }
        out = out (k > 1 ? " " : "") m
        if (k < last)
            sub(/^ +/, "", rest)
    }
    PSROW = 1
    return out rest
}

# What is masked, and only that: pids, ephemeral ports, timestamps,
# durations (with a fraction, or in ms, us or ns) and rates; and blanks at
# the end of a line, which no terminal shows (ss pads its last column to
# its widest entry, so they vary with the width of a pid); the time left on
# an ss -o timer. Pids: a trace prefix "[prog 1234]", "pid=1234", strace
# "[pid  1234]" and "Process 1234 attached"/"detached", what fork returns
# to the parent
# ("fork() = 1234"), the pid a trace line kills or reaps ("kill(1234, ",
# "waitpid(-1, WNOHANG) = 1234"), and the pid columns of a ps table (the
# caller masks those rows with mask_ps_row).
function mask(s) {
    sub(/[ \t]+$/, "", s)
    s = mask_prefix(s)
    s = subst_all(s, "pid=[0-9]+", 4, "PID", 1)
    s = subst_all(s, "fork\\(\\) = [1-9][0-9]*", 9, "PID", 1)
    s = subst_all(s, "kill\\([1-9][0-9]*, ", 5, "PID, ", 0)
    s = subst_all(s, "WNOHANG\\) = [1-9][0-9]*", 11, "PID", 1)
    s = subst_all(s, "\\[pid +[0-9]+\\]", 0, "[pid PID]", 0)
    s = subst_all(s, "Process [0-9]+ attached", 0, "Process PID attached", 0)
    s = subst_all(s, "Process [0-9]+ detached", 0, "Process PID detached", 0)
    s = subst_all(s, "[0-9][0-9]:[0-9][0-9]:[0-9][0-9](\\.[0-9]+)?", 0, "TIME", 1)
    s = mask_log_stamp(s)
    s = mask_ports(s, ":[0-9][0-9][0-9][0-9][0-9]")
    s = mask_htons(s)
    s = mask_ports(s, "[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9][0-9][0-9][0-9][0-9]")
    s = mask_timer(s)
    s = subst_all(s, "<[0-9]+\\.[0-9]+>", 0, "<DURATION>", 0)
    s = subst_all(s, "[0-9]+[.,]?[0-9]* ?[KMG]?i?B?/s", 0, "RATE", 1)
    s = subst_all(s, "[0-9]+\\.[0-9]+ ?(s|ms|us|µs|ns)", 0, "DURATION", 1)
    s = subst_all(s, "[0-9]+ ?(ms|us|µs|ns)", 0, "DURATION", 1)
    return s
}
'

# Compare file want (the lesson block) with file got (the run), both masked.
# Prints nothing when they match; else "K<tab>expected<tab>got" for the
# first differing line K, a side that has ended being "\001".
compare_job='
# A line as the report shows it: a tab as \t (a tab would end the field).
function shown(s,    out, k) {
    out = ""
    while ((k = index(s, "\t")) > 0) {
        out = out substr(s, 1, k - 1) "\\t"
        s = substr(s, k + 1)
    }
    return out s
}

# Lines of one side masked: the rows of a ps table get their pid
# columns masked too (ps_header, mask_ps_row), everything else mask().
function mask_side(L, M, n,    i, inps) {
    inps = 0
    for (i = 1; i <= n; i++) {
        if (ps_header(L[i])) {
            # Its pid columns are as wide as the machine'"'"'s largest pid.
            inps = 1
            M[i] = L[i]
            gsub(/ +/, " ", M[i])
            sub(/^ /, "", M[i])
            continue
        }
        if (inps) {
            M[i] = mask_ps_row(L[i])
            if (PSROW) {
                M[i] = mask(M[i])
                continue
            }
            inps = 0
        }
        M[i] = mask(L[i])
    }
}

# The process a line belongs to: its "[prog 1234]" tag, unmasked, or ""
# for a line with none.
function tag_of(s) {
    return match(s, /^\[[A-Za-z0-9_.-]+ [0-9]+\] /) ? substr(s, 1, RLENGTH) : ""
}

# order=per-process: the lines of each process (one tag) in their own
# order; the processes, and the untagged lines among the tagged ones, in any
# interleaving. Each lesson process must equal one run process line for
# line, the untagged lines must match in order, and nothing may be left
# over on either side. Prints the first problem as compare does (K is the
# lesson line whose process or untagged line found no match).
function per_process(    i, t, g, h, k, best, bestk, ng2, nu, nv, used) {
    for (i = 1; i <= ne; i++) {
        t = tag_of(E[i])
        if (!(t in EG)) {
            EG[t] = ++neg
            EF[neg] = i
        }
        g = EG[t]
        EN[g]++
        EL[g, EN[g]] = i
    }
    for (i = 1; i <= ng; i++) {
        t = tag_of(G[i])
        if (!(t in GG)) {
            GG[t] = ++ngg
            GT[ngg] = t
        }
        h = GG[t]
        GN[h]++
        GL[h, GN[h]] = i
    }
    # The untagged lines: in order, as one sequence on each side.
    ue = ("" in EG) ? EG[""] : 0
    ug = ("" in GG) ? GG[""] : 0
    nu = ue ? EN[ue] : 0
    nv = ug ? GN[ug] : 0
    for (k = 1; k <= (nu > nv ? nu : nv); k++) {
        if (k > nu || k > nv || ME[EL[ue, k]] != MG[GL[ug, k]]) {
            print (k <= nu ? EL[ue, k] : ne + 1) "\t" (k <= nu ? shown(E[EL[ue, k]]) : "\001") "\t" (k <= nv ? shown(G[GL[ug, k]]) : "\001")
            return
        }
    }
    # Each lesson process, in the order it first appears, takes the first
    # unused run process equal to it; with none, the report names the
    # first line where the closest one (longest common start) differs.
    for (g = 1; g <= neg; g++) {
        if (g == ue)
            continue
        best = 0
        bestk = -1
        for (h = 1; h <= ngg; h++) {
            if (h == ug || (h in used))
                continue
            for (k = 1; k <= EN[g] && k <= GN[h]; k++)
                if (ME[EL[g, k]] != MG[GL[h, k]])
                    break
            if (k > EN[g] && k > GN[h]) {
                best = h
                bestk = 0
                break
            }
            if (k > bestk) {
                best = h
                bestk = k
            }
        }
        if (bestk == 0) {
            used[best] = 1
            continue
        }
        if (best == 0) {
            print EF[g] "\t" shown(E[EF[g]]) "\t\001"
            return
        }
        print (bestk <= EN[g] ? EL[g, bestk] : ne + 1) "\t" (bestk <= EN[g] ? shown(E[EL[g, bestk]]) : "\001") "\t" (bestk <= GN[best] ? shown(G[GL[best, bestk]]) : "\001")
        return
    }
    # A run process the lesson does not show.
    for (h = 1; h <= ngg; h++)
        if (h != ug && !(h in used)) {
            print (ne + 1) "\t\001\t" shown(G[GL[h, 1]])
            return
        }
}

BEGIN {
    ne = 0
    while ((getline l < want) > 0)
        E[++ne] = l
    ng = 0
    while ((getline l < got) > 0)
        G[++ng] = l
    mask_side(E, ME, ne)
    mask_side(G, MG, ng)
    if (order == "per-process") {
        per_process()
        exit
    }
    if (order == "any") {
        # The same lines in any order: the first line of the block that
        # the run lacks, against a line of the run that the block lacks;
        # or, when every line of the block is there, an extra line of the run.
        for (i = 1; i <= ng; i++)
            LEFT[MG[i]]++
        for (i = 1; i <= ne; i++) {
            if (LEFT[ME[i]] > 0) {
                LEFT[ME[i]]--
                continue
            }
            extra = "\001"
            for (j = 1; j <= ng; j++)
                if (LEFT[MG[j]] > 0) {
                    extra = shown(G[j])
                    break
                }
            print i "\t" shown(E[i]) "\t" extra
            exit
        }
        for (j = 1; j <= ng; j++)
            if (LEFT[MG[j]] > 0) {
                print ne + 1 "\t\001\t" shown(G[j])
                exit
            }
        exit
    }
    n = ne > ng ? ne : ng
    for (i = 1; i <= n; i++) {
        if (i > ne || i > ng || ME[i] != MG[i]) {
            print i "\t" (i <= ne ? shown(E[i]) : "\001") "\t" (i <= ng ? shown(G[i]) : "\001")
            exit
        }
    }
}
'

# Rewrite one lesson (--update-transcripts): each line "OPEN<tab>FILE" of
# the file named by reps says: replace the lines inside the block whose
# opening fence is line OPEN with FILE, indented like that fence.
rewrite_job='
BEGIN {
    while ((getline l < reps) > 0) {
        split(l, f, "\t")
        REP[f[1] + 0] = f[2]
    }
}
{
    if (skipping) {
        if (fence_close($0)) {
            skipping = 0
            print
        }
        next
    }
    print
    if (FNR in REP) {
        fence_open($0)
        pad = substr($0, 1, match($0, /[^ ]/) - 1)
        while ((getline l < REP[FNR]) > 0) {
            sub(/[ \t]+$/, "", l)
            print (l == "" ? "" : pad l)
        }
        close(REP[FNR])
        skipping = 1
    }
}
'

# plural N WORD: "1 quote", "2 quotes".
plural() {
    if [ "$1" -eq 1 ]; then echo "$1 $2"; else echo "$1 ${2}s"; fi
}

status=0

# ---- quotes and tables ------------------------------------------------------
if [ $((do_quotes + do_update)) -gt 0 ]; then
    mode=check
    [ "$do_update" -eq 0 ] || mode=update
    quotes=0
    tables=0
    drifted=0
    broken=0
    tproblems=0
    changed=0
    for lesson in $(lesson_files); do
        tmp="$lesson.quotes-new.$$"
        result=$(awk -v mode="$mode" -v lesson="$lesson" -v out="$tmp" \
            "$functions$lesson_job" "$lesson") || {
            rm -f "$tmp"
            echo "quotes.sh: awk failed on $lesson" >&2
            exit 70
        }
        # stdout holds one line, "QUOTES quotes tables drifted broken tproblems".
        set -- $result
        if [ "${1:-}" != QUOTES ] || [ $# -ne 6 ]; then
            rm -f "$tmp"
            echo "quotes.sh: unexpected output from awk on $lesson" >&2
            exit 70
        fi
        quotes=$((quotes + $2))
        tables=$((tables + $3))
        drifted=$((drifted + $4))
        broken=$((broken + $5))
        tproblems=$((tproblems + $6))
        if [ "$mode" = update ]; then
            # Rewrite in place (keeps the file's mode) and only when it changed.
            [ -f "$tmp" ] || : >"$tmp"
            if ! cmp -s "$tmp" "$lesson"; then
                cat "$tmp" >"$lesson" && changed=$((changed + 1))
            fi
            rm -f "$tmp"
        fi
    done
    counted="$(plural "$quotes" quote), $(plural "$tables" table)"
    if [ "$mode" = update ]; then
        if [ "$broken" -eq 0 ] && [ "$tproblems" -eq 0 ]; then
            echo "quotes.sh: $counted read, $(plural "$changed" lesson) rewritten: all match their source"
        else
            echo "quotes.sh: $counted read, $(plural "$changed" lesson) rewritten, $broken broken, $(plural "$tproblems" "table problem") (fix those by hand)" >&2
            status=1
        fi
    elif [ "$drifted" -eq 0 ] && [ "$broken" -eq 0 ] && [ "$tproblems" -eq 0 ]; then
        echo "quotes.sh: $counted checked: all match their source"
    else
        echo "quotes.sh: $counted checked: $drifted drifted, $broken broken, $(plural "$tproblems" "table problem")" >&2
        [ "$drifted" -eq 0 ] || echo "quotes.sh: to copy the current source into the quotes: sh tests/scripts/quotes.sh --update" >&2
        status=1
    fi
fi

# ---- the index and local links ----------------------------------------------
if [ "$do_links" -eq 1 ]; then
    result=$({ lesson_files; top_readmes; } | awk "$functions$links_job") || {
        echo "quotes.sh: awk failed on the links of the lessons" >&2
        exit 70
    }
    summary=
    dead=0
    tab=$(printf '\t')
    while IFS=$tab read -r kind file line target; do
        case $kind in
        LINK)
            case $file in
            lessons/*/*) at=${file%/*}/$target hint="a link is relative to its lesson's folder, ${file%/*}/: ../img/, ../../server/" ;;
            lessons/*) at=lessons/$target hint="name it as coming instead of linking it" ;;
            *) at=$target hint="a link in a README at the top is relative to the top" ;;
            esac
            if [ ! -e "$at" ]; then
                echo "$file:$line: links to \"$target\", but $at does not exist ($hint)" >&2
                dead=$((dead + 1))
            fi
            ;;
        LESSONS*) summary=$kind ;;
        esac
    done <<EOF
$result
EOF
    set -- $summary
    if [ "${1:-}" != LESSONS ] || [ $# -ne 4 ]; then
        echo "quotes.sh: unexpected output from awk on the links" >&2
        exit 70
    fi
    problems=$(($4 + dead))
    counted="$(plural "$2" lesson), $(plural "$3" "local link") checked"
    if [ "$problems" -eq 0 ]; then
        echo "quotes.sh: $counted: all linked, all resolve"
    else
        echo "quotes.sh: $counted: $(plural "$problems" problem)" >&2
        status=1
    fi
fi

# ---- region markers in the sources ------------------------------------------
if [ "$do_sources" -eq 1 ]; then
    run_job SOURCES 4 "the sources" "$sources_job" source_files
    set -- $result
    counted="$(plural "$3" region) in $(plural "$2" "source file")"
    if [ "$4" -eq 0 ]; then
        echo "quotes.sh: $counted: markers well-formed"
    else
        echo "quotes.sh: $counted: $(plural "$4" "bad marker")" >&2
        status=1
    fi
fi

# ---- shell blocks in the lessons ---------------------------------------------
if [ "$do_shape" -eq 1 ]; then
    run_job SHAPE 5 "the shell blocks of the lessons" "$shape_job" lesson_files
    set -- $result
    counted="$(plural "$3" "shell block") in $(plural "$2" file) checked"
    if [ $(($4 + $5)) -eq 0 ]; then
        echo "quotes.sh: $counted: no prompts"
    else
        echo "quotes.sh: $counted: $(plural "$4" prompt)$([ "$5" -eq 0 ] || echo ", $(plural "$5" problem)")" >&2
        status=1
    fi
fi

# ---- a translation in step with the English ---------------------------------
if [ "$do_parity" -eq 1 ]; then
    if [ ! -d lessons/ko ]; then
        echo "quotes.sh: no lessons/ko/: no translation to keep in step"
    else
        run_job PARITY 8 "the translation" "$parity_job" lesson_files
        set -- $result
        counted="$(plural "$2" lesson) and $(plural "$3" "Korean twin")"
        if [ "$8" -eq 0 ]; then
            echo "quotes.sh: $counted: $(plural "$4" marker), $(plural "$5" section), $(plural "$6" "fenced block") in step; $(plural "$7" word) the glossary rules out, none used"
        else
            echo "quotes.sh: $counted: $(plural "$8" problem)" >&2
            status=1
        fi
    fi
fi

# ---- the runner: one example, inside its own network namespace -----------
# sh -c "$runner" runner DIR ROOT LIMIT, run under unshare -n. DIR holds
# T.cmd, T.show and T.end for each terminal T (0 for a lone command, else
# 1, 2...; T.end is "-" for one that runs to its end), T.type for one that
# has lines typed into it, T.want for one with a ready= line. Writes T.out
# (what the terminal showed; T.snap instead for end=none), and "error" when
# something kept the example from running as the lesson says.
runner='
dir=$1 root=$2 limit=$3
fail() { printf "%s\n" "$*" >>"$dir/error"; }
# The runner'"'"'s own session: the terminals are the others.
rsid=$(cut -d" " -f6 /proc/$$/stat)
ip link set lo up 2>"$dir/ip.err" || { fail "ip link set lo up: $(cat "$dir/ip.err")"; exit 0; }
# A /tmp of its own (a tmpfs in this mount namespace, unshare -m), so that
# a file one example leaves in /tmp (lesson 03'"'"'s /tmp/hosts) is never seen
# by another, nor by the machine. DIR and ROOT may lie under /tmp (a scratch
# tree): each is opened first, then bound back at its own path inside the
# new /tmp (--no-canonicalize, so that the kernel follows the open
# descriptor, not the path it had). So may the programs ROOT/bin leads to
# (a scratch tree links the project'"'"'s bin/, and a project cloned under
# /tmp has it there): that directory is bound back too.
root_at=$(readlink -f "$root") dir_at=$(readlink -f "$dir")
bin_at=$(readlink -f "$root/bin" 2>/dev/null) || bin_at=
case $bin_at in /tmp/*) ;; *) bin_at= ;; esac
case $bin_at in "$root_at"/*) bin_at= ;; esac
exec 7<"$root" 8<"$dir" || { fail "cannot open $root or $dir"; exit 0; }
if [ -n "$bin_at" ]; then exec 9<"$bin_at" || { fail "cannot open $bin_at"; exit 0; }; fi
mount -t tmpfs -o mode=1777 socklab-tmp /tmp 2>"$dir/mount.err" ||
    { fail "a private /tmp: mount -t tmpfs: $(cat "$dir/mount.err")"; exit 0; }
for keep in "7 $root_at" "8 $dir_at" ${bin_at:+"9 $bin_at"}; do
    case ${keep#* } in
    /tmp/*)
        { mkdir -p "${keep#* }" &&
            mount --no-canonicalize --bind "/proc/self/fd/${keep%% *}" "${keep#* }"; } 2>/dev/null ||
            { echo "cannot bind ${keep#* } into the private /tmp" >>/proc/self/fd/8/error; exit 0; }
        ;;
    esac
done
exec 7<&- 8<&- 9<&-
# Its own pids (unshare -p, a /proc of its own): ps, pgrep and kill by name
# see this example'"'"'s processes only, never a test'"'"'s running beside it.
# They start above 5000, as on a machine that has run a while: masked in
# the comparison, but what --update-transcripts writes stays plausible.
echo 5000 >/proc/sys/kernel/ns_last_pid 2>/dev/null
cd "$root" || { fail "cannot enter $root"; exit 0; }
export LC_ALL=C
unset SOCKLAB_TRACE_TIME
# A terminal has no make around it: run from make test, a lesson that shows
# `make ...` would otherwise print "make[1]: Entering directory".
unset MAKEFLAGS MAKELEVEL MFLAGS
# Only 0, 1 and 2 open in a terminal, as in a fresh one: a descriptor the
# runner inherited (from make, a test, an editor) would shift the numbers
# the examples print (socket() = 11 instead of 10). bash closes them (sh
# cannot name a descriptor above 9), then runs the rest of its arguments.
closefds='"'"'for fd in /proc/$$/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ] && [ -e "/proc/$$/fd/$fd" ]; then exec {fd}>&-; fi
done
exec "$@"'"'"'
# launch T: terminal T runs its command with /bin/sh, from the root; what
# it shows is appended to T.out (typed lines are echoed there too). Its
# stdin is /dev/null, or T.in when it is typed into or stays running (a
# keyboard nobody has pressed Ctrl-D on yet). No descriptor is open above
# 2 (closefds). As in a real terminal, it is
# a process group of its own (setsid), so that Ctrl-C (SIGINT to the group)
# reaches what it started, with SIGINT and SIGQUIT at their default (sh
# ignores them in what it starts with &); and its shell outlives a Ctrl-C,
# as an interactive one does: it catches SIGINT (trap :), and a caught
# signal is back at its default in every command it runs, so Ctrl-C stops
# the command and the next one on the line (echo "exit $?") still runs.
launch() {
    show=$(cat "$dir/$1.show")
    out=$dir/$1.out
    in=/dev/null
    [ ! -p "$dir/$1.in" ] || in=$dir/$1.in
    set -- bash -c "$closefds" closefds \
        env --default-signal=INT,QUIT setsid /bin/sh -c "trap : INT
. \"\$1\"" sh "$dir/$1.cmd"
    case $show in
    stdout) exec "$@" <"$in" >>"$out" 2>/dev/null ;;
    stderr) exec "$@" <"$in" 2>>"$out" >/dev/null ;;
    *) exec "$@" <"$in" >>"$out" 2>&1 ;;
    esac
}
# bound PID T: after LIMIT seconds, note it and kill the group of PID (a
# time bound only; nothing waits on it to go on).
bound() {
    ( sleep "$limit"; echo >"$dir/$2.timeout"; kill -KILL "-$1" ) \
        >/dev/null 2>&1 &
    echo $! >"$dir/$2.dog"
}
# asleep: "S" when no process of any terminal runs (each sleeps in a
# system call, is stopped, or has ended), else "R"; then the sizes of the
# outputs. Read from /proc (of the example alone) with the shell alone. The
# terminals are the sessions other than the runner (whose helpers are
# keyboards, time bounds).
asleep() {
    st=S
    for f in /proc/[0-9]*/stat; do
        { IFS= read -r line <"$f"; } 2>/dev/null || continue
        set -- ${line##*) }
        [ "$4" != "$rsid" ] || continue
        case $1 in R | D) st=R ;; esac
    done
    printf "%s" "$st"
    for f in "$dir"/*.out; do printf " %s" "$(wc -c <"$f" 2>/dev/null)"; done
}
# idle: wait until the terminals have nothing left to do, as a person
# waits for things to settle before typing, before going to the next
# terminal, or before pressing Ctrl-C: every process of every terminal
# asleep (so a line typed into one has reached the other end, and the
# server there has written its trace) and no output growing, seen twice
# 50 ms apart. Bounded by LIMIT seconds; past that it goes on (the
# comparison will say what was missing).
idle() {
    was= tries=$((limit * 20))
    while [ "$tries" -gt 0 ]; do
        now=$(asleep)
        case $now in S*) [ "$now" = "$was" ] && return 0 ;; esac
        was=$now
        sleep 0.05
        tries=$((tries - 1))
    done
}
# ready T PID: wait, bounded by LIMIT, until terminal T shows its ready
# line: a line holding the text of its ready= option, or, for terminal 1
# without one, a line starting "listening on ". Checked every 20 ms; 1 when
# the terminal ended (or timed out) first.
ready() {
    want=
    [ ! -f "$dir/$1.want" ] || want=$(cat "$dir/$1.want")
    # ready= with an empty value: no line to wait for; the settling that
    # follows is all.
    [ "$want" != "$(printf "\002")" ] || return 0
    tries=$((limit * 50))
    while [ "$tries" -gt 0 ]; do
        if [ -n "$want" ]; then
            grep -qF -e "$want" "$dir/$1.out" && return 0
        else
            grep -q "^listening on " "$dir/$1.out" && return 0
        fi
        kill -0 "$2" 2>/dev/null || break
        sleep 0.02
        tries=$((tries - 1))
    done
    # It may have printed the line just before it ended.
    if [ -n "$want" ]; then grep -qF -e "$want" "$dir/$1.out"; else grep -q "^listening on " "$dir/$1.out"; fi
}
# keyboard T: terminal T reads T.in, held open for writing by a process
# of its own until Ctrl-D (killing it closes the last writer).
keyboard() {
    mkfifo "$dir/$1.in" || { fail "mkfifo failed"; exit 0; }
    # Read-write, so that opening the pipe never waits for the other end.
    sleep $((limit * 10 + 10)) 1<>"$dir/$1.in" &
    echo $! >"$dir/$1.kbd"
}
# opt T KEY: the value of option KEY (type=N:..., stop=, after=, until=)
# of terminal T, or nothing.
opt() { sed -n "s/^$2=//p" "$dir/$1.opt" 2>/dev/null; }
# typeinto T LINE: LINE is typed into terminal T: echoed on its screen as a
# terminal does (and noted in T.typed, so that after= can tell it from
# what the programs print), sent with Enter; then T settles.
typeinto() {
    printf "%s\n" "$2" >>"$dir/$1.out"
    printf "%s\n" "$2" >>"$dir/$1.typed"
    printf "%s\n" "$2" >"$dir/$1.in"
    idle
}
# typing T: type each line of T.type into terminal T.
typing() {
    [ -f "$dir/$1.type" ] || return 0
    while IFS= read -r typed; do
        typeinto "$1" "$typed"
    done <"$dir/$1.type"
}
# stop T: end terminal T the way its T.end says, once it has settled; then
# wait for it, and kill what it leaves. Once only (T.stopped).
stop() {
    [ ! -f "$dir/$1.stopped" ] || return 0
    : >"$dir/$1.stopped"
    e=$(cat "$dir/$1.end") pk=$(cat "$dir/$1.pid")
    [ "$e" = exit ] || idle
    [ "$e" != none ] || [ -f "$dir/$1.snap" ] || cp "$dir/$1.out" "$dir/$1.snap"
    case $e in
    SIGINT | none) kill -INT "-$pk" 2>/dev/null ;;
    "^C") printf "^C" >>"$dir/$1.out"; kill -INT "-$pk" 2>/dev/null ;;
    SIGTERM) kill -TERM "-$pk" 2>/dev/null ;;
    esac
    # Ctrl-D, or after a signal: its input ends (a keyboard left alone).
    [ ! -f "$dir/$1.kbd" ] || kill "$(cat "$dir/$1.kbd")" 2>/dev/null
    # (2>/dev/null: the shell would say "Terminated" after a SIGTERM.)
    wait "$pk" 2>/dev/null
    kill "$(cat "$dir/$1.dog")" 2>/dev/null
    kill -KILL "-$pk" 2>/dev/null
    [ ! -f "$dir/$1.timeout" ] || fail "terminal $1 did not end within $limit s (after $e)"
}
# shown T TEXT: how many lines terminal T shows that hold TEXT, less those
# typed into it.
shown() {
    n=$(grep -cF -e "$2" "$dir/$1.out" 2>/dev/null)
    m=$(grep -cF -e "$2" "$dir/$1.typed" 2>/dev/null)
    echo $(( ${n:-0} - ${m:-0} ))
}
# held K: terminal K, just started and left running, is where the lesson
# wants it before the next terminal: at its ready= line if it has one, and
# settled. 1 when it ended first.
held() {
    pk=$(cat "$dir/$1.pid")
    if [ -f "$dir/$1.want" ] && ! ready "$1" "$pk"; then
        fail "terminal $1 ended (or timed out) before its ready line \"$(cat "$dir/$1.want")\""
        return 1
    fi
    idle
}
# prepare K: what happens before terminal K runs, in this order: a line
# typed into a terminal left running (type=N:TEXT); the wait for the
# terminal left running just before K (held, after that typing: a client
# such as nc shows nothing until it has something to send); a line waited
# for in what a terminal shows (after=N:TEXT, not counting the lines typed
# into it; bounded by the timeout, polled, since the line may already be
# there); the end of terminals left running or of terminal 1 (stop=N or
# stop=1,2: each its end=, in that order).
prepare() {
    v=$(opt "$1" typeto)
    if [ -n "$v" ]; then
        n=${v%%:*}
        if [ -p "$dir/$n.in" ] && [ ! -f "$dir/$n.stopped" ] &&
            kill -0 "$(cat "$dir/$n.pid")" 2>/dev/null; then
            typeinto "$n" "${v#*:}"
        else
            fail "terminal $1: type=$v names no terminal left running"
        fi
    fi
    if [ -n "$pending" ]; then
        n=$pending pending=
        held "$n" || return 1
    fi
    v=$(opt "$1" after)
    if [ -n "$v" ]; then
        n=${v%%:*} i=$((limit * 20))
        until [ "$(shown "$n" "${v#*:}")" -gt 0 ]; do
            i=$((i - 1))
            [ "$i" -gt 0 ] || { fail "terminal $1: after=$v: terminal $n did not show it within $limit s"; break; }
            sleep 0.05
        done
    fi
    for n in $(opt "$1" stop | tr , " "); do
        if [ -f "$dir/$n.pid" ] && [ "$(cat "$dir/$n.end" 2>/dev/null)" != - ] &&
            [ ! -f "$dir/$n.stopped" ]; then
            stop "$n"
        else
            fail "terminal $1: stop=$n names no terminal left running (terminal $n needs end=, and is stopped once)"
        fi
    done
    return 0
}
# Terminal 1 first, waited for until its ready line, then until it settles.
# It reads a keyboard only when a later terminal types into it (type=1:).
t1=
if [ -f "$dir/1.cmd" ]; then
    : >"$dir/1.out"
    ! grep -q "^typeto=1:" "$dir"/*.opt 2>/dev/null || keyboard 1
    ( launch 1 ) &
    t1=$!
    echo "$t1" >"$dir/1.pid"
    bound "$t1" 1
    if ! ready 1 "$t1"; then
        want=listening\ on\ ...
        [ ! -f "$dir/1.want" ] || want=$(cat "$dir/1.want")
        fail "terminal 1 ended (or timed out) before its ready line \"$want\""
    fi
    idle
fi
# Terminals 2, 3... (or the lone command 0) one after the other. One that
# is typed into, or stays running (T.end other than "-"), reads a keyboard.
k=0
[ -z "$t1" ] || k=2
staying=
pending=
while [ -f "$dir/$k.cmd" ]; do
    if [ "$k" -ne 0 ]; then
        prepare "$k" || break
    fi
    e=$(cat "$dir/$k.end")
    [ ! -f "$dir/$k.type" ] && [ "$e" = - ] || keyboard "$k"
    if [ "$e" != - ]; then
        # It stays running: type its lines into it; the next terminal
        # waits for it to be ready (prepare).
        : >"$dir/$k.out"
        ( launch "$k" ) &
        pk=$!
        echo "$pk" >"$dir/$k.pid"
        bound "$pk" "$k"
        staying="$k $staying"
        typing "$k"
        pending=$k
        k=$((k + 1))
        continue
    fi
    # until=ERE: run it again until a line of what it shows matches ERE,
    # as a learner who looks again a moment later (the kernel acknowledges
    # a FIN up to 40 ms late, for one), at most for the timeout.
    re=$(opt "$k" until) i=$((limit * 20))
    while :; do
        : >"$dir/$k.out"
        rm -f "$dir/$k.timeout"
        ( launch "$k" ) &
        pk=$!
        echo "$pk" >"$dir/$k.pid"
        bound "$pk" "$k"
        typing "$k"
        # Typed into: Ctrl-D once the lines are typed, as the lesson does.
        [ ! -f "$dir/$k.kbd" ] || kill "$(cat "$dir/$k.kbd")" 2>/dev/null
        # (2>/dev/null: the shell would say "Killed" after the time bound.)
        wait "$pk" 2>/dev/null
        kill "$(cat "$dir/$k.dog")" 2>/dev/null
        # Whatever the command left running in its group goes with it.
        kill -KILL "-$pk" 2>/dev/null
        [ -n "$re" ] && [ ! -f "$dir/$k.timeout" ] || break
        grep -qE -e "$re" "$dir/$k.out" && break
        i=$((i - 1))
        [ "$i" -gt 0 ] || { fail "terminal $k: until=$re: no line of its output matched within $limit s"; break; }
        sleep 0.05
    done
    [ ! -f "$dir/$k.timeout" ] || fail "terminal $k did not finish within $limit s"
    [ "$k" -ne 0 ] || break
    k=$((k + 1))
done
# The last terminal left running is waited for too before the ends.
[ -z "$pending" ] || held "$pending"
# The ends. Terminal 1 with end=none shows what it printed by now, while the
# terminals left running still run (the lesson leaves them all running; they
# end unseen, the eof ones too, before terminal 1). Otherwise those left
# running end the newest first, as one cleans up, and an eof one (Ctrl-D)
# only after terminal 1 has stopped: a client still connected when the
# server stops. One ended already (stop=) is not ended again.
e1=
[ -z "$t1" ] || e1=$(cat "$dir/1.end")
if [ "$e1" = none ]; then
    idle
    cp "$dir/1.out" "$dir/1.snap"
fi
for k in $staying; do
    [ "$(cat "$dir/$k.end")" != eof ] || [ "$e1" = none ] || continue
    stop "$k"
done
[ -z "$t1" ] || stop 1
for k in $staying; do
    [ "$(cat "$dir/$k.end")" = eof ] && [ "$e1" != none ] || continue
    stop "$k"
done
exit 0
'

# Each example in network, mount and pid namespaces of its own: port 7000
# is free, /tmp is its own (the runner mounts it), ps, pgrep and ss -p see
# its processes only (never another echo-server on the machine), and the
# runner looks at a short /proc. --kill-child: if unshare is killed (the
# example's time bound), everything in it goes.
ns_flags="-n -m -p -f --mount-proc --kill-child"

# Why the examples cannot run here, or nothing when they can.
no_namespace_reason() {
    if [ -n "${SOCKLAB_TRANSCRIPTS_NO_NS:-}" ]; then
        echo "SOCKLAB_TRANSCRIPTS_NO_NS is set (told to act as if no network namespace could be made)"
        return
    fi
    for tool in unshare ip awk mkfifo setsid sleep timeout mount readlink bash; do
        command -v "$tool" >/dev/null 2>&1 || {
            echo "no $tool command (the examples run under unshare -n -m, with ip to bring up lo, mount for a private /tmp, bash to close inherited descriptors)"
            return
        }
    done
    env --default-signal=INT true 2>/dev/null || {
        echo "env has no --default-signal (GNU coreutils 8.31 or later gives Ctrl-C its default action in each terminal)"
        return
    }
    why=$(unshare $ns_flags sh -c 'ip link set lo up' 2>&1) || {
        echo "cannot make a network and pid namespace (unshare $ns_flags: ${why:-failed}; it needs root or user namespaces)"
        return
    }
    why=$(unshare $ns_flags sh -c 'mount -t tmpfs socklab-tmp /tmp' 2>&1) || {
        echo "cannot give an example a /tmp and processes of its own (unshare -m -p --mount-proc, mount -t tmpfs: ${why:-failed}; it needs root)"
        return
    }
}

# Milliseconds since the epoch (seconds where date has no %N).
now_ms() {
    t=$(date +%s%N 2>/dev/null)
    case $t in
    *N | '') echo $(($(date +%s) * 1000)) ;;
    *) echo $((t / 1000000)) ;;
    esac
}

# ---- transcripts: run the marked examples, compare or rewrite ---------------
if [ $((do_transcripts + do_tupdate)) -gt 0 ]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/socklab-transcripts.XXXXXX") || exit 70
    trap 'rm -rf "$work"' EXIT
    trap 'exit 130' INT TERM
    parts=0
    texts=0
    marked=0
    problems=0
    seq=0
    : >"$work/parts"
    for lesson in $(lesson_files); do
        result=$(awk -v lesson="$lesson" -v work="$work" -v seq="$seq" \
            "$functions$runs_job" "$lesson") || {
            echo "quotes.sh: awk failed on the run markers of $lesson" >&2
            exit 70
        }
        printf '%s\n' "$result" | grep '^PART' >>"$work/parts"
        set -- $(printf '%s\n' "$result" | grep '^RUNS')
        if [ "${1:-}" != RUNS ] || [ $# -ne 5 ]; then
            echo "quotes.sh: unexpected output from awk on the run markers of $lesson" >&2
            exit 70
        fi
        parts=$((parts + $2))
        seq=$((seq + $2))
        texts=$((texts + $3))
        marked=$((marked + $4))
        problems=$((problems + $5))
    done
    tab=$(printf '\t')
    # The examples: one per lesson and name, in lesson order.
    examples=$(cut -f3,5 "$work/parts" | awk '!seen[$0]++' | wc -l)
    examples=$((examples + 0))
    counted="$(plural "$examples" example) ($(plural "$marked" "output block") marked of $texts text blocks)"
    reason=$(no_namespace_reason)
    if [ -n "$reason" ]; then
        if [ "$problems" -eq 0 ]; then
            echo "quotes.sh: $counted found, not run: skipped: $reason"
        else
            echo "quotes.sh: $counted found, not run ($reason): $(plural "$problems" "marker problem")" >&2
            status=1
        fi
    else
        started=$(now_ms)
        differ=0
        failed=0
        n=0
        : >"$work/reps"
        : >"$work/keys"
        shared=0
        cut -f3,5 "$work/parts" | awk '!seen[$0]++' >"$work/examples"
        while IFS=$tab read -r lesson name; do
            n=$((n + 1))
            ex="$work/ex$n"
            mkdir "$ex"
            limit=0
            # Each part of this example: its command and options.
            while IFS=$tab read -r _ p l m nm t e s to o c i ord ty rd; do
                [ "$l" = "$lesson" ] && [ "$nm" = "$name" ] || continue
                cp "$work/$p.cmd" "$ex/$t.cmd"
                cp "$work/$p.opt" "$ex/$t.opt"
                [ -z "$rd" ] || printf '%s\n' "$rd" >"$ex/$t.want"
                echo "$s" >"$ex/$t.show"
                [ "$t" -ne 0 ] || e=-
                echo "$e" >"$ex/$t.end"
                [ "$ty" -eq 0 ] || cp "$work/$p.type" "$ex/$t.type"
                [ "$to" -le "$limit" ] || limit=$to
            done <"$work/parts"
            terms=$(ls "$ex" | grep -c '\.cmd$')
            # An example that is the same run as one already made (a
            # translation's twin of an English example: the same commands,
            # options and typing) is not run again: its blocks are compared
            # with that run's output below, as its own would be.
            key=$(cd "$ex" && for f in *; do printf '%s\n' "$f"; cat "$f"; done | cksum)
            same=$(awk -F "$tab" -v key="$key" '$1 == key { print $2; exit }' "$work/keys")
            if [ -n "$same" ]; then
                rm -rf "$ex"
                ex=$same
                shared=$((shared + 1))
            else
                printf '%s\t%s\n' "$key" "$ex" >>"$work/keys"
                # Each terminal is bounded by limit; the settling waits too.
                whole=$((limit * terms * 2 + 10))
                timeout -s KILL "$whole" \
                    unshare $ns_flags sh -c "$runner" runner "$ex" "$root" "$limit" ||
                    echo "the example did not finish within $whole s" >>"$ex/error"
            fi
            if [ -s "$ex/error" ]; then
                while IFS= read -r why; do
                    echo "$lesson: <!-- run: $name -->: $why" >&2
                done <"$ex/error"
                failed=$((failed + 1))
                continue
            fi
            bad=0
            while IFS=$tab read -r _ p l m nm t e s to o c i ord ty rd; do
                [ "$l" = "$lesson" ] && [ "$nm" = "$name" ] || continue
                got="$ex/$t.out"
                [ "$e" != none ] || got="$ex/$t.snap"
                [ -f "$got" ] || : >"$got"
                [ "$o" -ne -1 ] || continue
                if [ "$o" -eq 0 ]; then
                    : >"$work/$p.exp"
                fi
                diff=$(awk -v want="$work/$p.exp" -v got="$got" -v order="$ord" \
                    "$mask_functions$compare_job") || exit 70
                [ -n "$diff" ] || continue
                bad=1
                term=
                [ "$t" -eq 0 ] || term=" terminal=$t"
                if [ "$do_tupdate" -eq 1 ] && [ "$o" -ne 0 ]; then
                    printf '%s\t%s\t%s\n' "$lesson" "$o" "$got" >>"$work/reps"
                    echo "$lesson:$m: <!-- run: $name$term -->: output block rewritten from the run" >&2
                    continue
                fi
                # Split by hand: read would merge two tabs, and an empty
                # line of the lesson would take the run's line as its own.
                k=${diff%%"$tab"*}
                have=${diff#*"$tab"}
                want=${have%%"$tab"*}
                have=${have#*"$tab"}
                if [ "$want" = "$(printf '\001')" ]; then
                    want="(the block has ended)"
                else
                    want="$lesson:$((o + k)) \"$want\""
                fi
                if [ "$have" = "$(printf '\001')" ]; then
                    have="(the output has ended)"
                else
                    have="\"$have\""
                fi
                [ "$o" -ne 0 ] || want="(output=none: nothing)"
                # printf, not echo: a dash echo would turn a shown \t back into a tab.
                printf '%s\n' "$lesson:$m: <!-- run: $name$term -->: output differs at line $k: lesson $want, got $have" >&2
            done <"$work/parts"
            if [ "$bad" -eq 1 ] && [ "$do_tupdate" -eq 0 ]; then
                differ=$((differ + 1))
            fi
        done <"$work/examples"
        # --update-transcripts: each lesson with blocks to rewrite, once.
        rewritten=0
        for lesson in $(cut -f1 "$work/reps" | sort -u); do
            grep "^$lesson$tab" "$work/reps" | cut -f2,3 >"$work/reps.one"
            awk -v reps="$work/reps.one" "$functions$rewrite_job" "$lesson" \
                >"$work/lesson.new" || exit 70
            cat "$work/lesson.new" >"$lesson"
            rewritten=$((rewritten + 1))
        done
        secs=$(( ($(now_ms) - started + 500) / 1000 ))
        counted="$counted run in $secs s"
        [ "$shared" -eq 0 ] || counted="$counted ($shared the same run as an earlier one, made once)"
        if [ $((differ + failed + problems)) -eq 0 ]; then
            if [ "$do_tupdate" -eq 1 ]; then
                echo "quotes.sh: $counted, $(plural "$rewritten" lesson) rewritten: all match their run"
            else
                echo "quotes.sh: $counted: all match their run"
            fi
        else
            echo "quotes.sh: $counted: $differ differ, $failed failed to run, $(plural "$problems" "marker problem")" >&2
            [ "$differ" -eq 0 ] || echo "quotes.sh: to write what the examples print now into the lessons: sh tests/scripts/quotes.sh --update-transcripts (make transcripts)" >&2
            status=1
        fi
    fi
fi

exit "$status"
