# bench_table.awk - bench.sh's raw.csv (one row per measurement) -> the
# median of each server and workload over the rounds: bench.csv (to the
# file named by -v csv=) and a markdown table on stdout, each figure with
# its ratio to the server named by -v base=, then the reference rows, the
# generator check and issue 10's targets.
#
# A second input file, the one named by -v pairs= (bench.sh's pairs.csv:
# check,pair,a,b,a_rate,b_rate,ratio), holds the paired checks: the
# targets that compare two figures use the median of its ratios.
#
# raw.csv columns: round,server,workload,mode,clients,size,count,seconds,
# rate,unit,mb_per_s,p50_us,p99_us,max_us,mismatches,server_cpu_s,
# server_cpu_us_per,generator_cpu_pct
#
# Why medians: one measurement in three may land on a minute when
# something else ran; the median ignores it, a mean would not.

function median(list,    n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++)           # insertion sort: n is 3 or 5
        for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
            t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
        }
    if (n == 0) return ""
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

function ratio(a, b) {
    return (a == "" || b == "" || b + 0 == 0) ? "" : a / b
}

# " (51,428 / 46,616 rt/s; median of 5 pairs, 0.91x-1.08x)": the pair
# that gave the median ratio (with an even count, the medians of each
# side), how many pairs, and how far apart their ratios were.
function spread(check, m,    figures) {
    if (pn[check] == 0) return " (not measured)"
    figures = ((check, m + 0) in prates) ? prates[check, m + 0] \
        : fmt(median(pa[check])) " / " fmt(median(pb[check]))
    return sprintf(" (%s rt/s; median of %d pair%s, %.2fx-%.2fx)", figures,
                   pn[check], pn[check] == 1 ? "" : "s", plo[check], phi[check])
}

function verdict(x, min) {
    return x == "" ? "row missing" : (x >= min ? "met" : "missed")
}

FNR == 1 { next }
FILENAME == pairs {
    pr[$1] = pr[$1] " " $7
    prates[$1, $7 + 0] = fmt($5) " / " fmt($6)
    pa[$1] = pa[$1] " " $5
    pb[$1] = pb[$1] " " $6
    pn[$1]++
    if (!($1 in plo) || $7 + 0 < plo[$1] + 0) plo[$1] = $7
    if (!($1 in phi) || $7 + 0 > phi[$1] + 0) phi[$1] = $7
    next
}
{
    key = $2 SUBSEP $3
    if (!(key in rates)) {
        if (!($2 in seen)) { seen[$2] = 1; order[++nserv] = $2 }
        unit[key] = $10
    }
    rates[key] = rates[key] " " $9
    p50[key] = p50[key] " " $12
    p99[key] = p99[key] " " $13
    mx[key] = mx[key] " " $14
    if ($17 + 0 >= 0) cpu[key] = cpu[key] " " $17
    bad[key] += $15
    n[key]++
}

END {
    nw = split("pingpong-1 pingpong-50 pump connect", work, " ")
    nall = split("pingpong-1 pingpong-50 pump connect socketpair fork stream", all, " ")
    for (k in rates) {
        med[k] = median(rates[k])
        m50[k] = median(p50[k]); m99[k] = median(p99[k]); mmax[k] = median(mx[k])
        mcpu[k] = median(cpu[k])
    }
    print "server,workload,unit,rate,ratio,p50_us,p99_us,server_cpu_us_per,rounds,mismatches" > csv
    for (i = 1; i <= nserv; i++) {
        s = order[i]
        for (w = 1; w <= nall; w++) {
            k = s SUBSEP all[w]
            if (!(k in rates)) continue
            split(k, part, SUBSEP)
            b = base SUBSEP part[2]
            rr = ""
            if (s != "reference" && s != "uv-pingpong" && (b in med))
                rr = sprintf("%.2f", ratio(med[k], med[b]))
            cc = mcpu[k] == "" ? "" : sprintf("%.1f", mcpu[k])
            printf "%s,%s,%s,%.1f,%s,%.1f,%.1f,%s,%d,%d\n", s, part[2],
                unit[k], med[k], rr, m50[k], m99[k], cc, n[k], bad[k] > csv
        }
    }

    print "| server | pingpong, 1 client | pingpong, 50 clients | pump (bulk echo) | connect, 1 at a time | p99 / max at 50 clients | server CPU per round trip (50 clients) | server CPU per connection |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|"
    for (i = 1; i <= nserv; i++) {
        s = order[i]
        if (s == "reference" || s == "uv-pingpong") continue
        line = "| " s
        for (w = 1; w <= nw; w++) {
            k = s SUBSEP work[w]; b = base SUBSEP work[w]
            if (!(k in med)) { line = line " | -"; continue }
            r = ratio(med[k], med[b])
            line = line sprintf(" | %s %s (%sx)", fmt(med[k]), unit[k],
                                r == "" ? "?" : sprintf("%.2f", r))
        }
        k50 = s SUBSEP "pingpong-50"; kc = s SUBSEP "connect"
        line = line " | " (k50 in m99 ? fmt(m99[k50]) " / " fmt(mmax[k50]) " us" : "-")
        line = line " | " (mcpu[k50] != "" ? sprintf("%.1f us", mcpu[k50]) : "-")
        line = line " | " (mcpu[kc] != "" ? sprintf("%.1f us", mcpu[kc]) : "-")
        print line " |"
    }
    print ""
    print "Ratios are to " base ", measured in the same run; figures are the median of " \
        n[base SUBSEP "pingpong-1"] + 0 " rounds."
    print ""

    sp = med["reference" SUBSEP "socketpair"]
    fk = med["reference" SUBSEP "fork"]
    st = med["reference" SUBSEP "stream"]
    print "| reference (this machine, same run) | figure |"
    print "|---|---:|"
    if (sp != "") print "| socketpair ping-pong, 1 client (wake-up limit) | " fmt(sp) " rt/s |"
    if (fk != "") print "| fork + exit + wait (process cost) | " fmt(fk) "/s = " sprintf("%.0f", 1e6 / fk) " us each |"
    if (st != "") print "| one-way loopback stream (copy limit) | " fmt(st) " MB/s; half: " fmt(st / 2) " MB/s |"
    print ""

    print "| check (issue 10 target) | measured | target | |"
    print "|---|---:|---:|---|"
    g = median(pr["generator"])
    printf "| generator: echo-bench / uv-pingpong, 50 clients on echo-server-poll%s | %s | >= 0.90x | %s |\n",
        spread("generator", g), g == "" ? "-" : sprintf("%.2fx", g), verdict(g, 0.9)
    e = median(pr["epoll-uv"])
    printf "| echo-server-epoll / uv-echo-server, 50 clients%s | %s | >= 1.00x | %s |\n",
        spread("epoll-uv", e), e == "" ? "-" : sprintf("%.2fx", e), verdict(e, 1.0)
    u = (e == "" || e + 0 == 0) ? "" : 1 / e
    printf "| uv-echo-server / echo-server-epoll, the same pairs | %s | >= 0.90x | %s |\n",
        u == "" ? "-" : sprintf("%.2fx", u), verdict(u, 0.9)
    tc = mcpu["echo-server-thread" SUBSEP "connect"]; fc = mcpu["echo-server-fork" SUBSEP "connect"]
    t = (tc == "" || fc == "") ? "" : fc / tc
    printf "| fork / thread server CPU per connection (%s / %s us) | %s | > 1.00x | %s |\n",
        fc == "" ? "-" : sprintf("%.1f", fc), tc == "" ? "-" : sprintf("%.1f", tc),
        t == "" ? "-" : sprintf("%.2fx", t), t == "" ? "row missing" : (t > 1 ? "met" : "missed")
    for (i = 1; i <= nserv; i++) {
        s = order[i]
        k = s SUBSEP "pump"
        if (!(k in med) || st == "") continue
        h = med[k] / (st / 2)
        printf "| %s bulk echo / half the one-way stream | %.2fx | >= 0.80x | %s |\n", s, h, verdict(h, 0.8)
    }
    for (k in bad) if (bad[k] > 0) {
        split(k, part, SUBSEP)
        printf "\n**%s %s: %d bytes came back different**\n", part[1], part[2], bad[k]
    }
}
