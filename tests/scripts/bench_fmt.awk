# bench_fmt.awk - number formats the bench's awk scripts share, loaded
# before each of them (awk -f tests/scripts/bench_fmt.awk -f SCRIPT).

# 1234567.8 -> "1,234,568": whole, with thousands separators.
function thousands(x,    s, out) {
    s = sprintf("%.0f", x)
    out = ""
    while (length(s) > 3) {
        out = "," substr(s, length(s) - 2) out
        s = substr(s, 1, length(s) - 3)
    }
    return s out
}

# A figure for a table: "-" when missing, one decimal below 100
# ("12.3"), else thousands ("123,457").
function fmt(x) {
    if (x == "" || x < 0) return "-"
    if (x < 100) return sprintf("%.1f", x)
    return thousands(x)
}
