#!/bin/sh
# quotes.sh - the one checker that keeps lessons/ true to the sources.
#
# This script is the only parser of quote markers, side-by-side tables,
# region markers and lesson links: tests/test_lessons.c runs it (on the real
# tree and on small scratch trees) instead of re-implementing it, and
# `make quotes` runs it with --update.
#
#   sh tests/scripts/quotes.sh --check      all of the checks below
#   sh tests/scripts/quotes.sh --quotes     quotes and side-by-side tables
#   sh tests/scripts/quotes.sh --links      the index and local links
#   sh tests/scripts/quotes.sh --sources    region markers in the sources
#   sh tests/scripts/quotes.sh --shape      no "$ " prompt in a shell block
#   sh tests/scripts/quotes.sh --update     rewrite drifted quotes in place
#   ... --root DIR                          work on the tree at DIR
#
# --quotes, --links, --sources and --shape may be combined (--check is all
# four);
# --update stands alone. --root DIR (or --root=DIR) names the project tree,
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
# lessons/*.md names a file that exists, relative to lessons/.
#
# Shape (--shape). Every command a lesson shows must paste as it is: a
# fenced block whose info string is sh, bash, shell, zsh or console (any
# case; a block inside another fenced block is an example and is skipped)
# must not hold a line that starts, after blanks, with "$ " or is a lone
# "$". Pasted, such a line runs a command named "$". Commands go in an sh
# block as they are typed; what they print goes in a text block.
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
#
# Exit status: 0 all clean (or, for --update, every quote now matches), 1 a
# problem was found (for --update: a quote could not be rewritten or a table
# is wrong), 64 bad usage, 66 no lessons/*.md under the root (or no such
# root), 70 an internal failure (awk failed).
#
# POSIX sh and awk only (mawk, gawk, busybox awk): it runs wherever the C
# programs build.

usage() {
    echo "usage: sh tests/scripts/quotes.sh [--root DIR] --check | --update | [--quotes] [--links] [--sources] [--shape]"
    echo "  --check     --quotes, --links, --sources and --shape together"
    echo "  --quotes    quotes and side-by-side tables in lessons/*.md against their source"
    echo "  --links     lessons/README.md links every lesson; local links resolve"
    echo "  --sources   region markers in server/ client/ common/ libuv/ are well-formed"
    echo "  --shape     no \"\$ \" prompt inside a shell code block of a lesson"
    echo "  --update    rewrite every drifted quoted block from the source"
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
root=
while [ $# -gt 0 ]; do
    case $1 in
    --check) do_quotes=1 do_links=1 do_sources=1 do_shape=1 ;;
    --quotes) do_quotes=1 ;;
    --links) do_links=1 ;;
    --sources) do_sources=1 ;;
    --shape) do_shape=1 ;;
    --update) do_update=1 ;;
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
if [ "$do_update" -eq 1 ]; then
    [ $((do_quotes + do_links + do_sources + do_shape)) -eq 0 ] ||
        bad_usage "--update goes alone (with --root at most)"
elif [ $((do_quotes + do_links + do_sources + do_shape)) -eq 0 ]; then
    bad_usage "say what to do: --check, --update, --quotes, --links, --sources or --shape"
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

if [ $((do_update + do_quotes + do_links + do_shape)) -gt 0 ]; then
    set -- lessons/*.md
    if [ ! -e "$1" ]; then
        echo "quotes.sh: no lessons/*.md under $root" >&2
        exit 66
    fi
fi

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

# ---- job: links in the lessons (one lessons/*.md per input line) ----------
# Problems found here go to stderr; each local link goes to stdout as
# "LINK<tab>lesson<tab>line<tab>target" for the shell to test, and the last
# line is "LESSONS lessons links problems".
links_job='
# Note the local part of a link target (no "#fragment", no leading "./").
function link(file, ln, t, index_file) {
    sub(/#.*/, "", t)
    if (t ~ /:\/\// || t ~ /^mailto:/)
        return
    while (substr(t, 1, 2) == "./")
        t = substr(t, 3)
    if (t == "")
        return
    links++
    print "LINK\t" file "\t" ln "\t" t
    if (index_file)
        LINKED[t] = 1
}

{
    file = $0
    is_index = file == "lessons/README.md"
    if (is_index)
        have_index = 1
    name = file
    sub(/^.*\//, "", name)
    if (name ~ /^[0-9][0-9]-.+\.md$/)
        LESSON[++nlessons] = name
    ln = 0
    infence = 0
    while ((got = (getline text < file)) > 0) {
        ln++
        if (infence) {
            if (fence_close(text))
                infence = 0
            continue
        }
        if (fence_open(text)) {
            infence = 1
            continue
        }
        code_spans(text)
        s = SP_TEXT
        t = trim(s)
        if (substr(t, 1, 1) == "[" && (at = index(t, "]:")) > 0) {
            t = trim(substr(t, at + 2))
            sub(/[ \t].*/, "", t)
            link(file, ln, t, is_index)
            continue
        }
        while ((at = index(s, "](")) > 0) {
            s = substr(s, at + 2)
            t = s
            sub(/[) \t].*/, "", t)
            link(file, ln, t, is_index)
        }
    }
    close(file)
    if (got < 0) {
        problems++
        say(file ": cannot read it")
    }
}

END {
    if (!have_index) {
        problems++
        say("lessons/README.md is missing: it is the index that links every lesson")
    } else {
        for (i = 1; i <= nlessons; i++) {
            if (!(LESSON[i] in LINKED)) {
                problems++
                say("lessons/" LESSON[i] " is not linked from lessons/README.md (turn its \"coming\" entry into a link: [title](" LESSON[i] "))")
            }
        }
    }
    close("cat 1>&2")
    print "LESSONS", nlessons + 0, links + 0, problems + 0
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
    for lesson in lessons/*.md; do
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
    result=$(printf '%s\n' lessons/*.md | awk "$functions$links_job") || {
        echo "quotes.sh: awk failed on the links of lessons/*.md" >&2
        exit 70
    }
    summary=
    dead=0
    tab=$(printf '\t')
    while IFS=$tab read -r kind file line target; do
        case $kind in
        LINK)
            if [ ! -e "lessons/$target" ]; then
                echo "$file:$line: links to \"$target\", but lessons/$target does not exist (name it as coming instead of linking it)" >&2
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
    result=$(for d in server client common libuv; do
        for f in "$d"/*.c "$d"/*.h; do
            [ ! -f "$f" ] || printf '%s\n' "$f"
        done
    done | awk "$functions$sources_job") || {
        echo "quotes.sh: awk failed on the sources" >&2
        exit 70
    }
    set -- $result
    if [ "${1:-}" != SOURCES ] || [ $# -ne 4 ]; then
        echo "quotes.sh: unexpected output from awk on the sources" >&2
        exit 70
    fi
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
    result=$(printf '%s\n' lessons/*.md | awk "$functions$shape_job") || {
        echo "quotes.sh: awk failed on the shell blocks of lessons/*.md" >&2
        exit 70
    }
    set -- $result
    if [ "${1:-}" != SHAPE ] || [ $# -ne 5 ]; then
        echo "quotes.sh: unexpected output from awk on the shell blocks" >&2
        exit 70
    fi
    counted="$(plural "$3" "shell block") in $(plural "$2" file) checked"
    if [ $(($4 + $5)) -eq 0 ]; then
        echo "quotes.sh: $counted: no prompts"
    else
        echo "quotes.sh: $counted: $(plural "$4" prompt)$([ "$5" -eq 0 ] || echo ", $(plural "$5" problem)")" >&2
        status=1
    fi
fi

exit "$status"
