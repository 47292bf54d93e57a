#!/bin/sh
# exercise.sh - `make exercise` and `make exercise N` (lessons/exercises/).
#
#   sh tests/scripts/exercise.sh          list the exercises and your state
#   sh tests/scripts/exercise.sh N        copy exercise N's starting file to
#                                         work/exercises/ (the first time),
#                                         build that copy, and check it
#   sh tests/scripts/exercise.sh --file F [--out DIR] [--no-check] N
#                                         build F as exercise N into DIR and
#                                         check it: no copy, nothing recorded
#                                         (the suite's way in)
#
# Your work lives in work/exercises/NN-name/, which git ignores: the
# starting files under lessons/exercises/ stay as they are, so the suite can
# keep checking that each one still builds and still fails its checks. To
# start an exercise again, delete your copy; the next run copies it afresh.
#
# The checks are build/exercises/exercise-check (tests/exercises/check.c),
# which `make exercise` builds first. Each prints one line, pass or FAIL
# with a hint naming the lesson section to read. Exit status: 0 when every
# check passes, 1 when one fails or the file does not build, 64 for bad
# usage, 66 when something the script needs is missing.
#
# From the environment (make passes its own): CC (cc), CFLAGS (-O2 -g),
# LDFLAGS, LDLIBS, EXERCISE_WARN (the project's warning flags),
# EXERCISE_CPPFLAGS (-D_POSIX_C_SOURCE=200809L -Icommon), EXERCISE_LIB
# (build/libsocklab.a), EXERCISE_CHECK (build/exercises/exercise-check),
# EXERCISE_WORK (work/exercises), EXERCISE_BUILD (build/exercises).
#
# POSIX sh, and cksum, cp, grep, mktemp, sed, tee: it runs wherever the
# programs build.

root=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd) || exit 66
cd -- "$root" || exit 66

: "${CC:=cc}"
: "${CFLAGS:=-O2 -g}"
# The same warnings as the Makefile's WARN: your code is held to what the
# project's own code is (warnings are shown, they do not stop the build).
: "${EXERCISE_WARN:=-std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wconversion}"
: "${EXERCISE_CPPFLAGS:=-D_POSIX_C_SOURCE=200809L -Icommon}"
: "${EXERCISE_LIB:=build/libsocklab.a}"
: "${EXERCISE_CHECK:=build/exercises/exercise-check}"
: "${EXERCISE_WORK:=work/exercises}"
: "${EXERCISE_BUILD:=build/exercises}"

say() { printf '%s\n' "$*"; }
fail() {
    printf 'make exercise: %s\n' "$2" >&2
    exit "$1"
}

need_checker() {
    [ -x "$EXERCISE_CHECK" ] ||
        fail 66 "no $EXERCISE_CHECK: build it with make (make exercise does)"
    [ -f "$EXERCISE_LIB" ] ||
        fail 66 "no $EXERCISE_LIB: build it with make (make exercise does)"
}

# Digits without their leading zeros ("03" -> "3", "0" -> "0").
number() {
    v=$1
    while [ "${v#0}" != "$v" ] && [ -n "${v#0}" ]; do
        v=${v#0}
    done
    printf '%s\n' "$v"
}

# The exercise directory for a number ("3" or "03"), or nothing.
exercise_dir() {
    case $1 in
    '' | *[!0-9]*) return 1 ;;
    esac
    v=$(number "$1")
    [ ${#v} -le 2 ] || return 1
    n=$(printf '%02d' "$v")
    for d in lessons/exercises/"$n"-*/; do
        [ -d "$d" ] && {
            printf '%s\n' "${d%/}"
            return 0
        }
    done
    return 1
}

# The starting file of an exercise directory: its one .c file.
start_file() {
    set -- "$1"/*.c
    [ $# -eq 1 ] && [ -f "$1" ] || return 1
    printf '%s\n' "$1"
}

sum_of() { cksum <"$1" | sed 's/ .*//'; }

# Build source into binary; the compiler's messages go to the terminal.
build() {
    mkdir -p "$(dirname -- "$2")" || return 1
    # shellcheck disable=SC2086 # the flags are word lists on purpose
    $CC $EXERCISE_WARN $EXERCISE_CPPFLAGS $CFLAGS $LDFLAGS -o "$2" "$1" \
        "$EXERCISE_LIB" $LDLIBS
}

# Run the checks of exercise $1 on binary $2; the output goes to the
# terminal and to file $3 as well. Returns the checker's status.
check() {
    rcfile="$3.rc"
    {
        "$EXERCISE_CHECK" "$1" "$2"
        echo $? >"$rcfile"
    } | tee "$3"
    rc=$(cat "$rcfile" 2>/dev/null)
    rm -f "$rcfile"
    return "${rc:-70}"
}

# ---- make exercise: the list ----------------------------------------------
list() {
    say "Exercises (lessons/exercises/README.md). make exercise N copies the"
    say "starting file of N to $EXERCISE_WORK/ the first time, then builds"
    say "your copy and checks it."
    say ""
    for d in lessons/exercises/[0-9][0-9]-*/; do
        d=${d%/}
        [ -d "$d" ] || continue
        slug=${d##*/}
        n=$(number "${slug%%-*}")
        title=$(sed -n '1s/^# *Exercise [0-9]* · //p' "$d/README.md" 2>/dev/null)
        src=$(start_file "$d") || continue
        copy=$EXERCISE_WORK/$slug/${src##*/}
        result=$EXERCISE_WORK/$slug/.result
        if [ ! -f "$copy" ]; then
            state="not started"
        elif [ ! -f "$result" ]; then
            state="started, not checked yet"
        else
            read -r sum passed total <"$result"
            if [ "$sum" != "$(sum_of "$copy")" ]; then
                state="edited since the last check"
            elif [ "$passed" = build ]; then
                state="does not build"
            elif [ "$passed" = "$total" ]; then
                state="done: all $total checks pass"
            else
                state="$passed of $total checks pass"
            fi
        fi
        printf '  %-2s %-28s %s\n' "$n" "$title" "$state"
    done
    say ""
    say "Your copies: $EXERCISE_WORK/NN-name/ (to start one again, delete it)."
}

# ---- make exercise N --------------------------------------------------------
file=
out=
checks=1
while [ $# -gt 0 ]; do
    case $1 in
    --file)
        [ $# -ge 2 ] || fail 64 "--file needs a file"
        file=$2
        shift
        ;;
    --out)
        [ $# -ge 2 ] || fail 64 "--out needs a directory"
        out=$2
        shift
        ;;
    --no-check) checks=0 ;;
    -h | --help)
        sed -n '2,13s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    -*) fail 64 "unknown option '$1' (try --help)" ;;
    *) break ;;
    esac
    shift
done

if [ $# -eq 0 ] && [ -z "$file" ]; then
    list
    exit 0
fi
[ $# -eq 1 ] || fail 64 "one exercise at a time: make exercise N, N from the list of make exercise"
dir=$(exercise_dir "$1") ||
    fail 64 "no exercise '$1': make exercise (with no number) lists them"
slug=${dir##*/}
n=$(number "${slug%%-*}")
start=$(start_file "$dir") || fail 66 "$dir has no single starting .c file"
need_checker

if [ -n "$file" ]; then
    # The suite's way: this file, this output directory, nothing recorded.
    [ -f "$file" ] || fail 66 "no file $file"
    bin=${out:-$EXERCISE_BUILD}/$slug
    build "$file" "$bin" || {
        say "  FAIL  builds: the compiler stopped on $file (its messages are above)"
        exit 1
    }
    [ "$checks" -eq 1 ] || exit 0
    case $bin in /*) ;; *) bin=$root/$bin ;; esac
    log=$(mktemp) || exit 70
    check "$n" "$bin" "$log"
    rc=$?
    rm -f "$log"
    exit "$rc"
fi

# The learner's way: a copy in the work folder, built and checked.
work=$EXERCISE_WORK/$slug
copy=$work/${start##*/}
if [ ! -f "$copy" ]; then
    if ! mkdir -p "$work" || ! cp "$start" "$copy"; then
        fail 73 "cannot copy $start to $copy"
    fi
    sum_of "$start" >"$work/.start"
    say "Copied $start to $copy: edit that copy,"
    say "then run make exercise $n again. (Delete it to start over.)"
    say ""
elif [ -f "$work/.start" ] && [ "$(cat "$work/.start")" != "$(sum_of "$start")" ]; then
    say "note: $start has changed since you copied it;"
    say "      diff -u $start $copy shows how."
    say ""
fi

bin=$EXERCISE_BUILD/$slug
sum=$(sum_of "$copy")
if ! build "$copy" "$bin"; then
    say "  FAIL  builds: the compiler stopped on $copy (its messages are above)"
    echo "$sum build 0" >"$work/.result"
    exit 1
fi
case $bin in /*) abs=$bin ;; *) abs=$root/$bin ;; esac
log=$(mktemp) || exit 70
check "$n" "$abs" "$log"
rc=$?
passed=$(grep -c '^  pass  ' "$log")
total=$(grep -c -E '^  (pass|FAIL|skip)  ' "$log")
skipped=$(grep -c '^  skip  ' "$log")
rm -f "$log"
if [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]; then
    # Skipped checks (this machine cannot run them) count as passed here.
    echo "$sum $((passed + skipped)) $total" >"$work/.result"
fi
[ "$rc" -eq 0 ] && say "Exercise $n done: $bin is yours to run."
exit "$rc"
