# bench_idle_svg.awk - bench.sh's idle.csv -> an SVG chart on stdout, drawn
# with nothing but awk: the new client's round-trip latency (p50, with a
# thin line up to p99) against the number of idle clients held, one series
# per server, both axes on a log scale (from tens of microseconds to tens
# of milliseconds, from a thousand clients to ten thousand).
#
#   awk -F, -f tests/scripts/bench_idle_svg.awk build/bench/idle.csv > idle.svg
#
# Each series is a <g class="series" data-server="..."> and each point a
# <circle class="point" data-server data-clients data-value>, so a test
# counts them without reading pixels.

function esc(s) {
    gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s)
    gsub(/"/, "\\&quot;", s)
    return s
}

function lg(x) { return log(x) / log(10) }

function label(x) {   # microseconds on the axis
    if (x >= 1000000) return (x / 1000000) " s"
    if (x >= 1000) return (x / 1000) " ms"
    return x " us"
}

NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{
    s = $1; n = $(col["clients"]) + 0; p50 = $(col["p50_us"]) + 0
    p99 = $(col["p99_us"]) + 0
    if (n <= 0 || p50 <= 0) next
    if (!(s in seen)) { seen[s] = 1; server[++ns] = s }
    k = ++np[s]
    px[s, k] = n; py[s, k] = p50; pz[s, k] = p99 > p50 ? p99 : p50
    if (nmin == "" || n < nmin) nmin = n
    if (n > nmax) nmax = n
    if (ymin == "" || p50 < ymin) ymin = p50
    if (pz[s, k] > ymax) ymax = pz[s, k]
}

END {
    split("#4e79a7 #f28e2b #e15759 #76b7b2 #59a14f #edc948 #b07aa1 #ff9da7", color, " ")
    W = 760; H = 480; L = 80; R = 170; T = 50; B = 60
    aw = W - L - R; ah = H - T - B
    if (ns == 0) { nmin = 1; nmax = 10; ymin = 1; ymax = 10 }
    # Whole decades around the data, on both axes.
    # (log(1000)/log(10) is 2.9999...: a hair added before int.)
    x0 = int(lg(nmin) + 1e-9); if (10 ^ x0 > nmin * 1.000001) x0--
    x1 = int(lg(nmax) + 1e-9); if (10 ^ x1 < nmax / 1.000001) x1++
    if (x1 <= x0) x1 = x0 + 1
    y0 = int(lg(ymin) + 1e-9); if (10 ^ y0 > ymin * 1.000001) y0--
    y1 = int(lg(ymax) + 1e-9); if (10 ^ y1 < ymax / 1.000001) y1++
    if (y1 <= y0) y1 = y0 + 1
    print "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H
    print "<title>a new client's echo latency against the number of idle clients held</title>"
    printf "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", W, H
    printf "<text x=\"%d\" y=\"24\" font-size=\"16\" font-weight=\"bold\">A new client's 64 B round trip while N idle clients are held (p50; line to p99)</text>\n", 20
    printf "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#f7f7f7\" stroke=\"#cccccc\"/>\n", L, T, aw, ah
    # Grid: each decade, and 2 and 5 within it on x.
    for (d = x0; d <= x1; d++)
        for (m = 1; m <= (d < x1 ? 5 : 1); m += (m == 1 ? 1 : 3)) {
            gx = L + aw * (lg(m * 10 ^ d) - x0) / (x1 - x0)
            printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\"/>\n", gx, T, gx, T + ah, m == 1 ? "#bbbbbb" : "#e3e3e3"
            printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\">%s</text>\n", gx, T + ah + 16, thousands(m * 10 ^ d)
        }
    for (d = y0; d <= y1; d++) {
        gy = T + ah - ah * (d - y0) / (y1 - y0)
        printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#bbbbbb\"/>\n", L, gy, L + aw, gy
        printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">%s</text>\n", L - 6, gy + 4, label(10 ^ d)
    }
    printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">idle clients held (log scale)</text>\n", L + aw / 2, H - 18
    printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 %d %d)\">round-trip latency (log scale)</text>\n", 18, T + ah / 2, 18, T + ah / 2
    for (i = 1; i <= ns; i++) {
        s = server[i]; c = color[(i - 1) % 8 + 1]
        printf "<g class=\"series\" data-server=\"%s\">\n", esc(s)
        pts = ""
        for (k = 1; k <= np[s]; k++) {
            X[k] = L + aw * (lg(px[s, k]) - x0) / (x1 - x0)
            Y[k] = T + ah - ah * (lg(py[s, k]) - y0) / (y1 - y0)
            Z[k] = T + ah - ah * (lg(pz[s, k]) - y0) / (y1 - y0)
            pts = pts sprintf("%.1f,%.1f ", X[k], Y[k])
        }
        if (np[s] > 1)
            printf "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n", pts, c
        for (k = 1; k <= np[s]; k++) {
            dx = (i - (ns + 1) / 2) * 3   # side by side where points meet
            printf "<line class=\"p99\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\"/>\n", X[k] + dx, Y[k], X[k] + dx, Z[k], c
            printf "<circle class=\"point\" data-server=\"%s\" data-clients=\"%d\" data-value=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", esc(s), px[s, k], py[s, k], X[k], Y[k], c
        }
        print "</g>"
        ly = T + 10 + (i - 1) * 20
        printf "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", L + aw + 14, ly, c
        printf "<text x=\"%d\" y=\"%d\">%s</text>\n", L + aw + 32, ly + 11, esc(s)
    }
    print "</svg>"
}
