# bench_idle_table.awk - bench.sh's idle.csv (one row per server and number
# of idle clients, from echo-bench -m idle -o csv) -> markdown tables on
# stdout: the scaling rows, what one idle client costs each design, and
# issue 16's targets.
#
# Columns are found by their names in the header, so echo-bench may add
# some without breaking this. Each figure of the new client is also given
# as a ratio to uv-echo-server holding the same number of clients, in the
# same run.

# Microseconds, in the unit a reader takes in at a glance.
function us(x) {
    if (x == "" || x < 0) return "-"
    if (x >= 10000) return sprintf("%.1f ms", x / 1000)
    return fmt(x) " us"
}

# A whole number with thousands separators: 1 -> "1", 4096 -> "4,096".
function int_fmt(x) { return x < 100 ? sprintf("%d", x) : fmt(x) }

function mb(kb) { return (kb == "" || kb < 0) ? "-" : sprintf("%.1f MB", kb / 1024) }

function ratio(a, b) { return (a == "" || b == "" || b + 0 <= 0) ? "" : a / b }

function get(row, name) { return (name in col) ? v[row, col[name]] : "" }

NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{
    rows++
    for (i = 1; i <= NF; i++) v[rows, i] = $i
    s = $1; n = get(rows, "clients") + 0
    at[s, n] = rows
    if (!(s in seen)) { seen[s] = 1; order[++ns] = s }
    if (!(n in nseen)) { nseen[n] = 1; counts[++nc] = n }
    if (n > most[s]) most[s] = n
}

END {
    for (i = 2; i <= nc; i++)   # the numbers of clients, smallest first
        for (j = i; j > 1 && counts[j - 1] > counts[j]; j--) {
            t = counts[j]; counts[j] = counts[j - 1]; counts[j - 1] = t
        }
    print "| server | idle clients | opening them | new client: first echo | round trip p50 / p99 / max | p50 vs uv-echo-server | server CPU per round trip | server RSS: before -> holding them | memory per idle client | server CPU while idle |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for (c = 1; c <= nc; c++) {
        n = counts[c]
        for (i = 1; i <= ns; i++) {
            s = order[i]
            if (!((s, n) in at)) continue
            r = at[s, n]
            u = ("uv-echo-server", n) in at ? at["uv-echo-server", n] : 0
            q = u ? ratio(get(r, "p50_us"), get(u, "p50_us")) : ""
            cpu = get(r, "server_cpu_us_per")
            cnt = get(r, "count") + 0
            # One clock tick (10 ms) over the whole run is no figure.
            ticks = get(r, "server_cpu_s") * 100
            cpu = ticks >= 1.5 ? us(cpu) : "<= " us(10000 / (cnt > 0 ? cnt : 1))
            printf "| %s | %s | %.2f s | %s | %s / %s / %s | %s | %s | %s -> %s | %s KB | %s%% |\n",
                s, int_fmt(n), get(r, "open_s"), us(get(r, "first_echo_us")),
                us(get(r, "p50_us")), us(get(r, "p99_us")), us(get(r, "max_us")),
                q == "" ? "-" : sprintf("%.2fx", q),
                cpu,
                mb(get(r, "rss_start_kb")), mb(get(r, "rss_kb")),
                fmt(get(r, "kb_per_client")), get(r, "idle_cpu_pct")
        }
    }
    print ""
    print "One pass: at each number of clients the servers ran back to back. The new client made 500 round trips of 64 B while the others were held; server CPU is counted in clock ticks (10 ms), so where the run took one tick or none it shows as at most one tick's share. Memory per idle client is PSS (shared pages divided among the processes sharing them) over the server and its children, gained while holding them, divided by their number; RSS does not show the kernel's side (socket buffers, a thread's kernel stack)."
    print ""

    print "| server | its cap (-c) | most held here | counted | memory per idle client | RSS summed over the processes | PSS summed |"
    print "|---|---:|---:|---|---:|---:|---:|"
    for (i = 1; i <= ns; i++) {
        s = order[i]; r = at[s, most[s]]
        printf "| %s | %s | %s | %s process%s, %s thread%s | %s KB | %s | %s |\n",
            s, int_fmt(get(r, "cap")), int_fmt(most[s]),
            int_fmt(get(r, "server_procs")), get(r, "server_procs") == 1 ? "" : "es",
            int_fmt(get(r, "server_threads")), get(r, "server_threads") == 1 ? "" : "s",
            fmt(get(r, "kb_per_client")), mb(get(r, "rss_kb")), mb(get(r, "pss_kb"))
    }
    print ""

    # The targets, at the most clients both epoll servers held.
    top = 0
    for (c = 1; c <= nc; c++)
        if (("echo-server-epoll", counts[c]) in at && ("uv-echo-server", counts[c]) in at) top = counts[c]
    print "| check (issue 16 target) | measured | target | |"
    print "|---|---:|---:|---|"
    if (top == 0) {
        print "| echo-server-epoll and uv-echo-server at the same N | - | - | row missing |"
        exit
    }
    e = at["echo-server-epoll", top]; u = at["uv-echo-server", top]
    q = ratio(get(e, "p50_us"), get(u, "p50_us"))
    ok = (q != "" && q <= 2) ? "met" : "missed"
    printf "| echo-server-epoll / uv-echo-server, new client's round trip p50 at %s idle clients (%s / %s) | %.2fx | <= 2.00x | %s |\n",
        fmt(top), us(get(e, "p50_us")), us(get(u, "p50_us")), q, ok
    q = ratio(get(e, "first_echo_us"), get(u, "first_echo_us"))
    printf "| the same, first echo (connect to first byte back: %s / %s) | %.2fx | (one sample) | reported |\n",
        us(get(e, "first_echo_us")), us(get(u, "first_echo_us")), q
    m = get(e, "rss_kb")
    ok = (m != "" && m >= 0 && m < 64 * 1024) ? "met" : "missed"
    printf "| echo-server-epoll RSS holding %s idle clients | %s | < 64 MB | %s |\n",
        fmt(top), mb(m), ok
    if (("echo-server-poll", top) in at) {
        p = at["echo-server-poll", top]
        printf "| echo-server-poll / echo-server-epoll, round trip p50 at %s (%s / %s) | %.0fx | reported | |\n",
            fmt(top), us(get(p, "p50_us")), us(get(e, "p50_us")), ratio(get(p, "p50_us"), get(e, "p50_us"))
        printf "| echo-server-poll RSS holding %s idle clients | %s | reported | |\n", fmt(top), mb(get(p, "rss_kb"))
    }
    if (top != 10000)
        print "\nThe issue's targets are at 10,000 idle clients; this run went up to " fmt(top) " (IDLE_COUNTS)."
}
