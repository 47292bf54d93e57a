/* fuzz_number.c - parse_long_in (common/cli.c) against its promise.
 *
 * Input: 8 bytes of min, 8 bytes of max (any longs, LONG_MIN and LONG_MAX
 * included, min above max included), then the text. For every input:
 * accepted exactly when the text is one or more ASCII digits whose value
 * fits a long and lies in [min, max], and then the value is the text's;
 * refused otherwise, with the value left as it was. No signed overflow on
 * the way (UndefinedBehaviorSanitizer watches).
 */
#include "fuzz.h"

#include <errno.h>

#include "cli.h"

static long take_long(const uint8_t *data)
{
    long v;
    memcpy(&v, data, sizeof v);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 * sizeof(long))
        return 0;
    long min = take_long(data);
    long max = take_long(data + sizeof(long));
    char *text = fuzz_string(data + 2 * sizeof(long), size - 2 * sizeof(long));

    long value = -4242;
    int rc = parse_long_in(text, min, max, &value);

    /* The oracle: strtol on a digits-only text, ERANGE past LONG_MAX. */
    int valid = 0;
    long expected = 0;
    if (only_digits(text)) {
        errno = 0;
        expected = strtol(text, NULL, 10);
        valid = errno == 0 && expected >= min && expected <= max;
    }
    check(rc == 0 || rc == -1, "parse_long_in returns 0 or -1");
    check((rc == 0) == valid,
          "parse_long_in accepts exactly the digit strings in [min, max]");
    if (rc == 0)
        check(value == expected, "parse_long_in's value is the text's");
    else
        check(value == -4242, "a refused number is left untouched");
    free(text);
    return 0;
}
