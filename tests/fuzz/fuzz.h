/* fuzz.h - what the libFuzzer harnesses in tests/fuzz/ share.
 *
 * Each fuzz_NAME.c defines LLVMFuzzerTestOneInput: libFuzzer calls it with
 * one input at a time (bytes, any length, no NUL at the end) and watches
 * for a crash, a sanitizer report or an abort. The harnesses add their own
 * checks on top: each says what must hold for every input, and check()
 * turns a broken promise into an abort that libFuzzer reports with the
 * input that caused it.
 *
 * No harness does network I/O: the parsers under test only take text apart,
 * and the address harness makes getaddrinfo numeric-only (see fuzz_addr.c).
 *
 * Built and run by `make fuzz` (tests/fuzz/README.md).
 */
#ifndef SOCKLAB_FUZZ_H
#define SOCKLAB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/common_interface_defs.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort, saying which promise broke, when ok is 0. The line goes out
 * through the sanitizer's report channel, which make fuzz's
 * -close_fd_mask=3 (stdout and stderr closed) leaves open. */
static inline void check(int ok, const char *promise)
{
    if (!ok) {
        char line[256];
        snprintf(line, sizeof line, "fuzz: broken promise: %s", promise);
        __sanitizer_report_error_summary(line);
        abort();
    }
}

/* The input as a C string in a block of exactly size + 1 bytes, so that
 * AddressSanitizer catches a read one byte past its NUL. An input with a
 * NUL inside is cut there, as a command line would cut it. Free it. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    check(text != NULL, "malloc");
    if (size > 0)
        memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

/* 1 when text is one or more ASCII digits and nothing else. */
static inline int only_digits(const char *text)
{
    if (*text == '\0')
        return 0;
    for (; *text != '\0'; text++)
        if (*text < '0' || *text > '9')
            return 0;
    return 1;
}

/* 1 when text holds no newline: every error is one line. */
static inline int one_line(const char *text)
{
    return strchr(text, '\n') == NULL;
}

#endif
