/* fuzz_port.c - parse_port (common/addr.c) against its promise.
 *
 * For every text: accepted exactly when it is one or more ASCII digits
 * whose value is at most 65535, and then the port is that value; refused
 * otherwise, with the port left as it was.
 */
#include "fuzz.h"

#include "addr.h"

/* The value of a digits-only text, stopping at 65536 (no overflow). */
static unsigned long capped_value(const char *text)
{
    unsigned long value = 0;
    for (; *text != '\0' && value <= 65535; text++)
        value = value * 10 + (unsigned long)(*text - '0');
    return value;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_string(data, size);
    uint16_t port = 4242;
    int rc = parse_port(text, &port);

    int valid = only_digits(text) && capped_value(text) <= 65535;
    check(rc == 0 || rc == -1, "parse_port returns 0 or -1");
    check((rc == 0) == valid, "parse_port accepts exactly 0..65535 in digits");
    if (rc == 0)
        check(port == capped_value(text), "parse_port's value is the text's");
    else
        check(port == 4242, "a refused port is left untouched");
    free(text);
    return 0;
}
