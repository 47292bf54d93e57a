# socklab - raw BSD sockets, learned by running them.
#
#   make            build every program into bin/ (libuv ones when found)
#   make demo       a server and a client side by side
#   make test       install Criterion if missing, build, run the whole suite
#   make bench      measure every server with bin/echo-bench (figures)
#   make compare    blocking server and libuv server traces, side by side
#   make diagram    your own run as a sequence diagram (FORMAT=text, SESSION=
#                   blocking|fork|libuv, TRACES='a.trace b.trace', OUT=file)
#   make diagrams   regenerate the diagrams the lessons show (lessons/img/)
#   make memcheck   valgrind over a real session of every server and client
#   make quotes     refresh the code quoted in lessons/ from the sources
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

# Every .c under server/ and client/ is one program: server/echo_server.c
# becomes bin/echo-server. A new program needs no Makefile change.
CORE_SRC   := $(sort $(wildcard server/*.c client/*.c))
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

.PHONY: all core uv-note test test-deps demo bench compare diagram diagrams memcheck quotes clean install
.DEFAULT_GOAL := all

all: $(ALL_BINS) uv-note

uv-note:
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

# echo-bench runs one thread per client (POSIX threads; part of libc on
# current glibc, a separate library on older systems).
$(BIN)/echo-bench: LDLIBS += -pthread

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
	-DSOCKLAB_HAVE_UV=$(if $(HAVE_UV),1,0)
$(TEST_BIN): $(TEST_OBJ) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(CRITERION_LIBS) $(LDLIBS) -o $@

# Criterion comes from the system package manager. As root on Debian we
# install it, plus what the rest of the suite exercises (libuv for the
# twins, socat as a foreign echo server, strace for the lesson 06 evidence);
# otherwise we say how. Without the optional ones, their tests are skipped
# with the reason.
TEST_PACKAGES := libcriterion-dev pkg-config libuv1-dev socat strace tmux

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
	@set -f; $(TEST_BIN) $(TEST_ARGS)

# ---- demos and measurements ------------------------------------------------
demo: all
	@sh tests/scripts/demo.sh

bench: all
	@sh tests/scripts/bench.sh

memcheck: all
	@sh tests/scripts/memcheck.sh

quotes:
	@sh tests/scripts/quotes.sh --update

compare: all
	@sh tests/scripts/compare.sh $(if $(STRACE),--strace)

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
