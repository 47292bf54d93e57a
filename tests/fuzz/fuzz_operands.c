/* fuzz_operands.c - a client's HOST and PORT operands (common/cli.c:
 * split_endpoint and client_operands) against the table in cli.h.
 *
 * Input: one byte giving how many operands (0 to 3), then the operands,
 * separated by NUL bytes (missing ones are empty). Each operand gets a
 * block of its own, so a read past its end is caught. For every input:
 *
 *   - the result is 0 or -1; on 0 the error is empty, on -1 it is one
 *     line that fits its buffer;
 *   - an accepted host is non-empty and fits HOST_TEXT_MAX; a lone number
 *     is a port and leaves the default host; no port means DEFAULT_PORT;
 *   - more than two operands are refused, and so is a bare number as HOST
 *     in HOST PORT;
 *   - the ready-line round trip: an accepted host and port, written back as
 *     a server's ready line writes them (HOST:PORT, or [HOST]:PORT when the
 *     host has a ':'), split to the same host and port.
 */
#include "fuzz.h"

#include "cli.h"

#define MAX_OPERANDS 3

/* The promises every result keeps, accepted or refused. */
static void check_result(int rc, const struct endpoint_text *out)
{
    check(rc == 0 || rc == -1, "the result is 0 or -1");
    check(memchr(out->error, '\0', sizeof out->error) != NULL,
          "the error is NUL-terminated inside its buffer");
    if (rc == -1) {
        check(out->error[0] != '\0', "a refusal says why");
        check(one_line(out->error), "a refusal is one line");
        return;
    }
    check(out->error[0] == '\0', "an accepted operand leaves no error");
    check(memchr(out->host, '\0', sizeof out->host) != NULL,
          "the host is NUL-terminated inside HOST_TEXT_MAX");
    check(out->host[0] != '\0', "an accepted host is not empty");
    check(!out->port_only || out->has_port, "a lone number is a port");
    check(!out->port_only || strcmp(out->host, DEFAULT_HOST) == 0,
          "a lone port keeps the default host");
    check(out->has_port || out->port == DEFAULT_PORT,
          "no port given means DEFAULT_PORT");
}

/* HOST:PORT or [HOST]:PORT, as a ready line prints it, must come back as
 * the same host and port. Hosts with brackets of their own are not
 * addresses and have no such form. */
static void check_round_trip(const struct endpoint_text *out)
{
    if (strpbrk(out->host, "[]") != NULL)
        return;
    size_t size = strlen(out->host) + 16;
    char *line = malloc(size);
    check(line != NULL, "malloc");
    snprintf(line, size, strchr(out->host, ':') != NULL ? "[%s]:%u" : "%s:%u",
             out->host, (unsigned)out->port);
    struct endpoint_text again;
    memset(&again, 0x5a, sizeof again);
    int rc = split_endpoint(line, &again);
    check(rc == 0, "a host and port written as a ready line are accepted");
    check(strcmp(again.host, out->host) == 0,
          "the ready-line form gives back the same host");
    check(again.port == out->port && again.has_port,
          "the ready-line form gives back the same port");
    free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int count = data[0] % (MAX_OPERANDS + 1);
    char *operands[MAX_OPERANDS + 1] = {NULL};
    const uint8_t *p = data + 1, *end = data + size;
    for (int i = 0; i < count; i++) {
        const uint8_t *nul = memchr(p, '\0', (size_t)(end - p));
        size_t len = nul != NULL ? (size_t)(nul - p) : (size_t)(end - p);
        operands[i] = fuzz_string(p, len);
        p = nul != NULL ? nul + 1 : end;
    }

    struct endpoint_text out;
    memset(&out, 0x5a, sizeof out);  /* no help from a zeroed struct */
    int rc = client_operands(count, operands, "echo-client", &out);
    check_result(rc, &out);
    if (count == 0)
        check(rc == 0 && !out.has_port && out.port == DEFAULT_PORT &&
                  strcmp(out.host, DEFAULT_HOST) == 0,
              "no operands mean the defaults");
    if (count > 2)
        check(rc == -1, "a third operand is refused");
    if (count == 2 && rc == 0)
        check(!only_digits(operands[0]) && out.has_port && !out.port_only,
              "HOST PORT takes a host that is not a bare number, and a port");
    if (rc == 0 && count > 0)
        check_round_trip(&out);

    if (count >= 1) {
        memset(&out, 0x5a, sizeof out);
        rc = split_endpoint(operands[0], &out);
        check_result(rc, &out);
        if (rc == 0)
            check_round_trip(&out);
        if (rc == 0 && only_digits(operands[0]))
            check(out.port_only, "digits alone are the port");
    }

    for (int i = 0; i < count; i++)
        free(operands[i]);
    return 0;
}
