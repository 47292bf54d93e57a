#!/bin/sh
# quotes.sh - keep the code quoted in lessons/*.md identical to the source.
#
#   sh tests/scripts/quotes.sh --check    report every quote that has drifted
#   sh tests/scripts/quotes.sh --update   rewrite quoted blocks from the source
#
# A source file marks a region with two comment lines of their own:
#
#   /* region: accept-loop */
#   ...
#   /* endregion: accept-loop */
#
# and a lesson quotes it with a marker line followed at once by a fenced block
# holding exactly the lines between the two markers (region markers nested
# inside are left out):
#
#   <!-- quote: server/echo_server.c#accept-loop -->
#   ```c
#   ...
#   ```
#
# Markers inside other fenced blocks are examples, not quotes, and are skipped.
# tests/test_lessons.c applies the same rules in the test suite; keep the two
# in step.
#
# Exit status: 0 every quote matches (or was updated), 1 a quote drifted or is
# broken (missing file or region, no block after the marker, bad markers in
# the source), 64 bad usage, 66 no lessons found.
# POSIX sh and awk only: it runs wherever the C programs build.

usage() {
    echo "usage: sh tests/scripts/quotes.sh --check | --update"
    echo "  --check   list quotes in lessons/*.md that differ from their source"
    echo "  --update  rewrite every quoted block from the current source"
}

if [ $# -ne 1 ]; then
    usage >&2
    exit 64
fi
case $1 in
--check) mode=check ;;
--update) mode=update ;;
-h | --help)
    usage
    exit 0
    ;;
*)
    echo "quotes.sh: unknown option '$1': expected --check or --update" >&2
    exit 64
    ;;
esac

# Work from the project root (two levels above this script), so the paths in
# the markers resolve however the script is started.
root=$(CDPATH= cd -- "$(dirname -- "$0")/../.." && pwd) || exit 70
cd "$root" || exit 70

set -- lessons/*.md
if [ ! -e "$1" ]; then
    echo "quotes.sh: no lessons/*.md under $root" >&2
    exit 66
fi

# The whole checker, run once per lesson. Reports go to stderr; the last line
# on stdout is "QUOTES checked drifted broken"; in update mode the rewritten
# lesson goes to the file named by `out`.
checker='
function trim(s) {
    sub(/^[ \t]+/, "", s)
    sub(/[ \t\r]+$/, "", s)
    return s
}

function say(msg) {
    print msg | "cat 1>&2"
}

# A region marker is a whole line "/* region: NAME */" or
# "/* endregion: NAME */". Sets MK_KIND and MK_NAME.
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

# Read file, check its markers, and collect region `name` into REG[1..REG_N]
# (with its source line numbers in REG_AT). Returns "" or what is wrong.
function load_region(file, name,    line, ln, rc, err, found, inside, k, seen, openat) {
    REG_N = 0
    if (file ~ /^\// || file ~ /(^|\/)\.\.(\/|$)/)
        return "the path must be relative to the project root, without .."
    split("", seen)
    split("", openat)
    ln = 0
    err = ""
    found = 0
    inside = 0
    while ((rc = (getline line < file)) > 0) {
        ln++
        if (region_marker(line)) {
            if (MK_KIND == "open") {
                if (MK_NAME in seen) {
                    if (err == "")
                        err = file ":" ln ": region \"" MK_NAME "\" opened again (first at line " seen[MK_NAME] "); names must be unique in a file"
                } else {
                    seen[MK_NAME] = ln
                }
                openat[MK_NAME] = ln
                if (MK_NAME == name) {
                    found = 1
                    inside = 1
                }
            } else {
                if (!(MK_NAME in openat)) {
                    if (err == "")
                        err = file ":" ln ": endregion \"" MK_NAME "\" has no open region of that name"
                } else {
                    delete openat[MK_NAME]
                }
                if (MK_NAME == name)
                    inside = 0
            }
            continue
        }
        if (inside) {
            REG[++REG_N] = line
            REG_AT[REG_N] = ln
        }
    }
    if (rc < 0)
        return "cannot read " file " (no such file under the project root?)"
    close(file)
    for (k in openat)
        if (err == "")
            err = file ":" openat[k] ": region \"" k "\" is never closed (add /* endregion: " k " */)"
    if (err != "")
        return "bad region markers: " err
    if (!found)
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

function emit(s) {
    if (mode == "update")
        print s > out
}

function emit_block(    i) {
    for (i = 1; i <= QN; i++)
        emit(QB[i])
}

# The block after a marker has ended: compare it with the region.
function finish_quote(    err, i, n, where, src, got) {
    checked++
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
    src = i <= REG_N ? "\"" REG[i] "\" (" mfile ":" REG_AT[i] ")" : "(the region has ended)"
    got = i <= QN ? "\"" QB[i] "\" (" lesson ":" (qstart + i) ")" : "(the block has ended)"
    if (mode == "update") {
        say(where ": updated from the source (it differed at block line " i ")")
        for (i = 1; i <= REG_N; i++)
            emit(REG[i])
        return
    }
    drifted++
    say(where ": drifted from the source at block line " i)
    say("    source: " src)
    say("    lesson: " got)
    emit_block()
}

BEGIN {
    state = "text"
    checked = 0
    drifted = 0
    broken = 0
}

{
    line = $0
    if (state == "fence") {
        if (fence_close(line))
            state = "text"
        emit(line)
        next
    }
    if (state == "quote") {
        if (fence_close(line)) {
            finish_quote()
            emit(line)
            state = "text"
        } else {
            QB[++QN] = line
        }
        next
    }
    if (state == "marker") {
        if (fence_open(line)) {
            state = "quote"
            qstart = FNR
            QN = 0
            emit(line)
            next
        }
        broken++
        say(lesson ":" mline ": <!-- quote: " mfile "#" mname " --> must be followed at once by a fenced code block (```c)")
        state = "text"
    }
    k = quote_marker(line)
    if (k < 0) {
        broken++
        say(lesson ":" FNR ": malformed quote marker; the form is <!-- quote: path/to/file.c#region-name -->")
    } else if (k > 0) {
        state = "marker"
        mline = FNR
        mfile = Q_FILE
        mname = Q_NAME
    } else if (fence_open(line)) {
        state = "fence"
        fline = FNR
    }
    emit(line)
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
        say(lesson ":" fline ": this code block is never closed (quote markers after it would be missed)")
    }
    if (mode == "update")
        close(out)
    close("cat 1>&2")
    print "QUOTES", checked, drifted, broken
}
'

total=0
drifted=0
broken=0
changed=0
for lesson in "$@"; do
    tmp="$lesson.quotes-new.$$"
    result=$(awk -v mode="$mode" -v lesson="$lesson" -v out="$tmp" "$checker" "$lesson") || {
        rm -f "$tmp"
        echo "quotes.sh: awk failed on $lesson" >&2
        exit 70
    }
    # stdout holds one line, "QUOTES checked drifted broken". (Reusing "$@"
    # is safe: the for loop expanded its list before the first pass.)
    set -- $result
    if [ "${1:-}" != QUOTES ]; then
        rm -f "$tmp"
        echo "quotes.sh: unexpected output from awk on $lesson" >&2
        exit 70
    fi
    total=$((total + $2))
    drifted=$((drifted + $3))
    broken=$((broken + $4))
    if [ "$mode" = update ]; then
        # Rewrite in place (keeps the file's mode) and only when it changed.
        [ -f "$tmp" ] || : >"$tmp"
        if ! cmp -s "$tmp" "$lesson"; then
            cat "$tmp" >"$lesson" && changed=$((changed + 1))
        fi
        rm -f "$tmp"
    fi
done

if [ "$mode" = update ]; then
    echo "quotes.sh: $total quotes read, $changed lesson file(s) rewritten, $broken broken"
    [ "$broken" -eq 0 ] || exit 1
    exit 0
fi
if [ "$drifted" -eq 0 ] && [ "$broken" -eq 0 ]; then
    echo "quotes.sh: $total quotes checked: all match their source"
    exit 0
fi
echo "quotes.sh: $total quotes checked: $drifted drifted, $broken broken" >&2
[ "$drifted" -eq 0 ] || echo "quotes.sh: to copy the current source into the lessons: sh tests/scripts/quotes.sh --update" >&2
exit 1
