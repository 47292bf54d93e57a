# socklab - raw BSD sockets, learned by running them.
#
#   make            build every program into bin/ (libuv ones when found)
#   make demo       a server and a client side by side
#   make test       install Criterion if missing, build, run the whole suite
#   make bench      measure every server with bin/echo-bench (figures)
#   make bench-idle only its scaling part: 1,000 and 10,000 idle clients
#   make compare    blocking server and libuv server traces, side by side
#                   (SERVER=epoll|poll|fork for another left column, STRACE=1)
#   make diagram    your own run as a sequence diagram (FORMAT=text, SESSION=
#                   blocking|fork|libuv, TRACES='a.trace b.trace', OUT=file)
#   make diagrams   regenerate the diagrams the lessons show (lessons/img/)
#   make memcheck   valgrind over a real session of every server and client
#   make quotes     refresh the code quoted in lessons/ from the sources
#   make transcripts  run the examples the lessons mark and write their output
#                   into the lessons (root: each runs in a network namespace)
#   make test SANITIZE=1   the same suite, every program and the tests built
#                   with clang's AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz       libFuzzer over the parsers, FUZZ_SECONDS (10) each
#   make lint       cppcheck and clang-tidy (configs: .clang-tidy,
#                   tests/lint/cppcheck.supp)
#   make clean | make install PREFIX=/usr/local DESTDIR=

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wconversion
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -Icommon
LDFLAGS ?=
LDLIBS  ?=
PREFIX  ?= /usr/local
DESTDIR ?=
PKG_CONFIG ?= pkg-config

BIN   := bin
BUILD := build

# SANITIZE=1: the same programs and suite under clang's AddressSanitizer
# and UndefinedBehaviorSanitizer, built into build/san/ (programs in
# build/san/bin/) so that a sanitized object never mixes with a normal one.
# -fno-sanitize-recover: undefined behaviour aborts like a memory error
# instead of printing a line and carrying on.
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=undefined
ifeq ($(SANITIZE),1)
CC     = clang
BUILD := build/san
BIN   := $(BUILD)/bin
override CFLAGS += $(SAN_FLAGS)
endif

# Every .c under server/ and client/ is one program: server/echo_server.c
# becomes bin/echo-server. A new program needs no Makefile change.
CORE_SRC   := $(sort $(wildcard server/*.c client/*.c))
# echo-server-epoll is Linux's epoll: elsewhere it is left out, with a note.
EPOLL_SRC  := server/echo_server_epoll.c
HAVE_EPOLL := $(if $(filter Linux,$(shell uname -s 2>/dev/null)),yes)
ifneq ($(HAVE_EPOLL),yes)
CORE_SRC   := $(filter-out $(EPOLL_SRC),$(CORE_SRC))
endif
COMMON_SRC := $(sort $(wildcard common/*.c))
UV_SRC     := $(sort $(wildcard libuv/*.c))
TEST_SRC   := $(sort $(wildcard tests/*.c))

prog_name = $(subst _,-,$(basename $(notdir $(1))))
CORE_BINS := $(foreach s,$(CORE_SRC),$(BIN)/$(call prog_name,$(s)))
UV_BINS   := $(foreach s,$(UV_SRC),$(BIN)/$(call prog_name,$(s)))

COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
COMMON_LIB := $(BUILD)/libsocklab.a
TEST_OBJ   := $(TEST_SRC:%.c=$(BUILD)/%.o)
TEST_BIN   := $(BUILD)/tests/socklab-tests

HAVE_UV := $(shell $(PKG_CONFIG) --exists libuv 2>/dev/null && echo yes)
ifeq ($(HAVE_UV),yes)
UV_CFLAGS := $(shell $(PKG_CONFIG) --cflags libuv)
UV_LIBS   := $(shell $(PKG_CONFIG) --libs libuv)
ALL_BINS  := $(CORE_BINS) $(UV_BINS)
else
ALL_BINS  := $(CORE_BINS)
endif

.PHONY: all core uv-note test test-deps fuzz lint demo bench bench-idle bench-chart compare diagram diagrams memcheck quotes transcripts clean install
.DEFAULT_GOAL := all

all: $(ALL_BINS) uv-note

uv-note:
ifneq ($(HAVE_EPOLL),yes)
	@echo "not Linux (uname -s: $$(uname -s)): skipped echo-server-epoll, which needs epoll"
endif
ifneq ($(HAVE_UV),yes)
	@echo "libuv not found (pkg-config libuv): skipped $(notdir $(UV_BINS)); apt-get install libuv1-dev to build them"
endif

core: $(CORE_BINS)

# -MMD -MP: each object records the headers it read, so editing a header
# rebuilds exactly what includes it.
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(COMMON_LIB): $(COMMON_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# One link rule per program, generated from its source file's name.
define core_program
$(BIN)/$(call prog_name,$(1)): $(BUILD)/$(1:.c=.o) $(COMMON_LIB)
	@mkdir -p $(BIN)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) $$^ $$(LDLIBS) -o $$@
endef
$(foreach s,$(CORE_SRC),$(eval $(call core_program,$(s))))

# echo-server-thread runs one thread per client (POSIX threads; part of
# libc on current glibc, a separate library on older systems).
$(BIN)/echo-server-thread: LDLIBS += -pthread

# libuv programs: only these see libuv's headers and library.
define uv_program
$(BUILD)/$(1:.c=.o): CPPFLAGS += $(UV_CFLAGS)
$(BIN)/$(call prog_name,$(1)): $(BUILD)/$(1:.c=.o) $(COMMON_LIB)
	@mkdir -p $(BIN)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) $$^ $$(UV_LIBS) $$(LDLIBS) -o $$@
endef
$(foreach s,$(UV_SRC),$(eval $(call uv_program,$(s))))

# ---- tests ---------------------------------------------------------------
# The suite runs the real binaries from bin/ and reads lessons/ and the
# sources, so it is told where the project is.
CRITERION_CFLAGS = $(shell $(PKG_CONFIG) --cflags criterion 2>/dev/null)
CRITERION_LIBS   = $(shell $(PKG_CONFIG) --libs criterion 2>/dev/null || echo -lcriterion)

$(TEST_OBJ): CPPFLAGS += $(CRITERION_CFLAGS) -DSOCKLAB_ROOT='"$(CURDIR)"' \
	-DSOCKLAB_BIN_DIR='"$(CURDIR)/$(BIN)"' \
	-DSOCKLAB_HAVE_UV=$(if $(HAVE_UV),1,0)
$(TEST_BIN): $(TEST_OBJ) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(CRITERION_LIBS) $(LDLIBS) -o $@

# Criterion comes from the system package manager. As root on Debian we
# install it, plus what the rest of the suite exercises (libuv for the
# twins, socat as a foreign echo server, strace for the lesson 06 evidence
# and lesson 08's examples, nc for lesson 08's client that stays connected
# and tcpdump for its UDP packets,
# tmux for the demo's two panes, ip to give a test namespace a link-local
# address, ps and pgrep for lesson 04's examples); otherwise we say how.
# Without the optional ones, their tests are skipped with the reason.
TEST_PACKAGES := libcriterion-dev pkg-config libuv1-dev socat strace tmux iproute2 netcat-openbsd tcpdump procps

test-deps:
	@missing=; for p in $(TEST_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || \
	    missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing for the tests:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi; \
	if ! $(PKG_CONFIG) --exists criterion 2>/dev/null; then \
	  echo "Criterion (the test framework) is missing. Install it with:"; \
	  echo "  Debian/Ubuntu: sudo apt-get install libcriterion-dev pkg-config"; \
	  echo "  Fedora:        sudo dnf install criterion-devel pkgconf"; \
	  echo "  Arch:          sudo pacman -S criterion pkgconf"; \
	  echo "  Homebrew:      brew install criterion pkg-config"; \
	  exit 1; \
	fi

# TEST_ARGS passes options to Criterion (e.g. --filter 'addr/*' or -j1).
# Criterion's summary line is the last thing this prints.
test: test-deps
	@$(MAKE) --no-print-directory -s all $(TEST_BIN)
ifeq ($(SANITIZE),1)
	@rm -rf $(SAN_LOG_DIR) && mkdir -p $(SAN_LOG_DIR)
	@set -f; rc=0; \
	SOCKLAB_BIN='$(CURDIR)/$(BIN)' ASAN_OPTIONS='$(SAN_TESTS_ASAN)' \
	UBSAN_OPTIONS='$(SAN_UBSAN)' \
	SOCKLAB_PROGRAM_ASAN_OPTIONS='$(SAN_PROGRAMS_ASAN)' \
	  $(TEST_BIN) $(TEST_ARGS) || rc=$$?; \
	set +f; \
	if [ -n "$$(ls -A $(SAN_LOG_DIR))" ]; then \
	  for f in $(SAN_LOG_DIR)/*; do echo "==== $$f"; cat "$$f"; done; \
	  echo "make test SANITIZE=1: the sanitizer reports above fail the run"; \
	  exit 1; \
	fi; exit $$rc
else
	@set -f; $(TEST_BIN) $(TEST_ARGS)
endif

# How the sanitized suite catches a report. Every process writes its
# report to a file of its own, SAN_LOG_DIR/report.PID, so that no report
# is lost whatever the test looked at (a server killed at teardown, a
# client whose exit code a test ignores); the run fails when the directory
# is not empty afterwards. A report also ends the process at once
# (halt_on_error) with exit 86, a code no socklab program uses, so the
# test that ran it fails there too.
# Leaks: the programs are checked (detect_leaks=1; the harness hands them
# SOCKLAB_PROGRAM_ASAN_OPTIONS as their ASAN_OPTIONS). The test processes
# are not: Criterion keeps allocations it never frees, by design.
SAN_LOG_DIR       := $(CURDIR)/$(BUILD)/sanitizer-reports
SAN_REPORTS       := halt_on_error=1:exitcode=86:log_path=$(SAN_LOG_DIR)/report
SAN_TESTS_ASAN    := $(SAN_REPORTS):detect_leaks=0
SAN_PROGRAMS_ASAN := $(SAN_REPORTS):detect_leaks=1
SAN_UBSAN         := $(SAN_REPORTS):print_stacktrace=1

# ---- fuzzing ---------------------------------------------------------------
# libFuzzer harnesses for the parsers (tests/fuzz/README.md). Each
# tests/fuzz/fuzz_NAME.c becomes build/fuzz/fuzz-NAME, linked with common/
# built for it (coverage for libFuzzer, ASan, UBSan), and runs for
# FUZZ_SECONDS from its committed seeds in tests/fuzz/corpus/NAME/. What
# it finds new goes to build/fuzz/corpus/NAME/ (not committed); a crash
# stops make fuzz, leaves build/fuzz/crash-NAME-* and prints the input.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 10
FUZZ_BUILD   := build/fuzz
FUZZ_FLAGS   := -O1 -g -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz-%)
FUZZ_COMMON  := $(COMMON_SRC:%.c=$(FUZZ_BUILD)/%.o)

# How each harness keeps the fuzzer inside the process and off the
# network (see the header of each): the address harness makes getaddrinfo
# numeric-only, the command-line harness catches exit().
$(FUZZ_BUILD)/fuzz-addr: FUZZ_WRAP := -Wl,--wrap=getaddrinfo
$(FUZZ_BUILD)/fuzz-args: FUZZ_WRAP := -Wl,--wrap=exit

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARN) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link \
	  -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/fuzz-%: $(FUZZ_BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_COMMON)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $(FUZZ_WRAP) $^ -o $@

# -close_fd_mask=3: the parsers' own error lines (millions of them) go
# nowhere; libFuzzer's lines and any sanitizer report still reach the log.
# -timeout=10: one input that runs 10 s is a hang, reported as a finding.
# A run that ends well shows its totals; one that fails shows its log.
fuzz: $(FUZZ_BINS)
	@case '$(FUZZ_SECONDS)' in ''|*[!0-9]*|0|00*) \
	  echo "make fuzz: bad FUZZ_SECONDS '$(FUZZ_SECONDS)': expected a whole number of seconds above 0 (0 would fuzz forever)"; \
	  exit 64;; esac
	@for name in $(FUZZ_NAMES); do \
	  log=$(FUZZ_BUILD)/fuzz-$$name.log; \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$name || exit 1; \
	  echo "fuzz-$$name: $(FUZZ_SECONDS) s from tests/fuzz/corpus/$$name"; \
	  if $(FUZZ_BUILD)/fuzz-$$name -max_total_time=$(FUZZ_SECONDS) \
	       -timeout=10 -close_fd_mask=3 \
	       -artifact_prefix=$(FUZZ_BUILD)/crash-$$name- \
	       $(FUZZ_BUILD)/corpus/$$name tests/fuzz/corpus/$$name >$$log 2>&1; \
	  then grep '^#[0-9]*[[:space:]]*DONE' $$log; \
	  else cat $$log; echo "fuzz-$$name failed (log: $$log)"; exit 1; \
	  fi; \
	done

# ---- static analysis ---------------------------------------------------------
# cppcheck and clang-tidy over every C file we write. What each checks,
# and why anything is left out or suppressed, is in the configs:
# .clang-tidy (tests/.clang-tidy for the suite), tests/lint/cppcheck.supp
# and tests/lint/socklab.cfg. Any finding fails make lint. LINT_JOBS
# clang-tidy processes run at once.
LINT_SRC   := $(CORE_SRC) $(COMMON_SRC) $(UV_SRC) $(TEST_SRC) \
              $(sort $(wildcard tests/fuzz/*.c))
LINT_DEFS  := -D_POSIX_C_SOURCE=200809L -DSOCKLAB_ROOT='"$(CURDIR)"' \
              -DSOCKLAB_BIN_DIR='"$(CURDIR)/bin"' \
              -DSOCKLAB_HAVE_UV=$(if $(HAVE_UV),1,0)
LINT_JOBS  ?= $(shell nproc 2>/dev/null || echo 2)
CPPCHECK   ?= cppcheck
CLANG_TIDY ?= clang-tidy

# cppcheck 2.10 does not read C11's _Noreturn (fail.h's die): spelled as
# the attribute it knows, "if (p == NULL) die(...)" is not taken for a
# NULL dereference that follows.
lint:
	@echo "cppcheck: $(words $(LINT_SRC)) files"
	@$(CPPCHECK) --std=c11 --quiet --error-exitcode=1 --inline-suppr \
	  --enable=warning,style,performance,portability \
	  --library=tests/lint/socklab.cfg \
	  --suppressions-list=tests/lint/cppcheck.supp \
	  $(LINT_DEFS) '-D_Noreturn=__attribute__((noreturn))' \
	  -Icommon -Itests -Itests/fuzz $(LINT_SRC)
	@echo "clang-tidy: $(words $(LINT_SRC)) files, $(LINT_JOBS) at a time"
	@$(MAKE) --no-print-directory -j$(LINT_JOBS) lint-tidy

# One clang-tidy per file, so make -j runs them side by side. Its findings
# go to stdout; its stderr (a count of the warnings it hid in system
# headers) is shown only when the file fails.
TIDY_FILES := $(LINT_SRC:%=tidy/%)
.PHONY: lint-tidy $(TIDY_FILES)
lint-tidy: $(TIDY_FILES)
$(TIDY_FILES): tidy/%:
	@mkdir -p $(BUILD)/lint
	@$(CLANG_TIDY) --quiet $* -- -std=c11 $(LINT_DEFS) -Icommon \
	  $(UV_CFLAGS) $(CRITERION_CFLAGS) 2>$(BUILD)/lint/$(subst /,_,$*).err || \
	  { cat $(BUILD)/lint/$(subst /,_,$*).err; \
	    echo "make lint: clang-tidy $*: findings above"; exit 1; }

# ---- demos and measurements ------------------------------------------------
demo: all
	@sh tests/scripts/demo.sh

# make bench: every server, workloads interleaved over ROUNDS (3) rounds,
# medians and ratios; table on stdout, build/bench/bench.csv and .svg.
# uv-pingpong is the independent generator it checks echo-bench against
# (libuv's loop, none of echo-bench's code); built only with libuv.
BENCH_TOOLS := $(if $(filter yes,$(HAVE_UV)),$(BUILD)/bench/uv-pingpong)
$(BUILD)/bench/uv-pingpong: tests/bench/uv_pingpong.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CPPFLAGS) $(UV_CFLAGS) $(CFLAGS) $< $(LDFLAGS) $(UV_LIBS) -o $@

bench: all $(BENCH_TOOLS)
	@sh tests/scripts/bench.sh

# Only make bench's scaling part: idle clients (IDLE_COUNTS, "1000 10000").
bench-idle: all
	@sh tests/scripts/bench.sh --idle

# The charts lessons/09-measuring.md embeds, from the last make bench (one
# is run first when there is none); the idle-clients chart when there is
# one (IDLE_COUNTS= skips it).
bench-chart:
	@test -f $(BUILD)/bench/bench.svg || $(MAKE) --no-print-directory bench
	cp $(BUILD)/bench/bench.svg lessons/img/bench.svg
	@if test -f $(BUILD)/bench/idle.svg; then \
		echo "cp $(BUILD)/bench/idle.svg lessons/img/idle.svg"; \
		cp $(BUILD)/bench/idle.svg lessons/img/idle.svg; fi

memcheck: all
	@sh tests/scripts/memcheck.sh

quotes:
	@sh tests/scripts/quotes.sh --update

# Run the examples the lessons mark (<!-- run: NAME -->), each in a network
# namespace of its own (root), and write what they print into the lessons.
transcripts: all
	@sh tests/scripts/quotes.sh --update-transcripts

compare: all
	@sh tests/scripts/compare.sh $(if $(STRACE),--strace) $(if $(SERVER),--server $(SERVER))

# A sequence diagram of a session it records (SESSION, default blocking) or
# of the trace files in TRACES. SVG into OUT (default build/diagram.svg), or
# FORMAT=text to the terminal.
diagram: all
	@sh tests/scripts/diagram.sh --format $(or $(FORMAT),svg) \
	  $(if $(filter text,$(FORMAT)),$(if $(OUT),--out $(OUT)),--out $(or $(OUT),$(BUILD)/diagram.svg)) \
	  $(if $(TRACES),$(TRACES),--session $(or $(SESSION),blocking))

# The diagrams lessons/ embeds, each from a session recorded now.
DIAGRAM_IMG := lessons/img
diagrams: all
	@sh tests/scripts/diagram.sh --session blocking --out $(DIAGRAM_IMG)/diagram-blocking.svg
	@sh tests/scripts/diagram.sh --session fork --out $(DIAGRAM_IMG)/diagram-fork.svg
ifeq ($(HAVE_UV),yes)
	@sh tests/scripts/diagram.sh --session libuv --out $(DIAGRAM_IMG)/diagram-libuv.svg
else
	@echo "libuv not found: $(DIAGRAM_IMG)/diagram-libuv.svg left as it was"
endif

# ---- exercises (lessons/exercises/) ------------------------------------------
#   make exercise      list them, and how far you are
#   make exercise N    copy N's starting file to work/exercises/ (the first
#                      time), build your copy, and run N's checks on it
# The checks (tests/exercises/check.c + tests/harness.c) need no Criterion;
# the suite runs them too, on each starting file and reference solution.
EXERCISE_CHECK := $(BUILD)/exercises/exercise-check

$(EXERCISE_CHECK): $(BUILD)/tests/exercises/check.o $(BUILD)/tests/harness.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(TEST_BIN): | $(EXERCISE_CHECK)  # the suite runs it (order-only: not linked in)
# The suite builds exercises the way this build does: its directory,
# compiler and flags (a sanitized build included).
$(BUILD)/tests/test_exercises.o: CPPFLAGS += \
	-DSOCKLAB_BUILD='"$(CURDIR)/$(BUILD)"' -DSOCKLAB_CC='"$(CC)"' \
	-DSOCKLAB_CFLAGS='"$(CFLAGS)"'

ifeq ($(firstword $(MAKECMDGOALS)),exercise)
EXERCISE_ARGS := $(wordlist 2,$(words $(MAKECMDGOALS)),$(MAKECMDGOALS))
ifneq ($(EXERCISE_ARGS),)
.PHONY: $(EXERCISE_ARGS)
$(EXERCISE_ARGS):
	@:
endif
endif

.PHONY: exercise
exercise:
	@$(MAKE) --no-print-directory -s core $(COMMON_LIB) $(EXERCISE_CHECK)
	@CC='$(CC)' CFLAGS='$(CFLAGS)' LDFLAGS='$(LDFLAGS)' LDLIBS='$(LDLIBS)' \
	  EXERCISE_WARN='$(WARN)' EXERCISE_CPPFLAGS='$(CPPFLAGS)' \
	  EXERCISE_LIB='$(COMMON_LIB)' EXERCISE_CHECK='$(EXERCISE_CHECK)' \
	  sh tests/scripts/exercise.sh $(EXERCISE_ARGS)

# ---- housekeeping ----------------------------------------------------------
clean:
	rm -rf $(BIN) $(BUILD)

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin
	cp $(ALL_BINS) $(DESTDIR)$(PREFIX)/bin/

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
