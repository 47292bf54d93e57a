# bench_svg.awk - bench.csv -> an SVG bar chart on stdout, drawn here with
# nothing but awk (no plotting package to install).
#
#   awk -F, -f tests/scripts/bench_svg.awk build/bench/bench.csv > bench.svg
#
# One panel per workload (their units differ, so each has its own scale),
# one bar per server in each, labelled with its figure and its ratio to the
# baseline. Each bar carries data-server, data-workload and data-value, so a
# test can count the bars without reading pixels. Two dashed lines show the
# machine's limits measured in the same run: the socketpair ping-pong on the
# 1-client panel, half the one-way loopback stream on the bulk panel.

function esc(s) {
    gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s)
    gsub(/"/, "\\&quot;", s)
    return s
}

NR == 1 { next }   # the header
$1 == "reference" { ref[$2] = $4; next }
$1 == "uv-pingpong" { next }   # the generator check is not a server
{
    if (!($1 in seen)) { seen[$1] = 1; server[++ns] = $1 }
    rate[$1, $2] = $4; ratio[$1, $2] = $5; unit[$2] = $3
}

END {
    nw = split("pingpong-1 pingpong-50 pump connect", work, " ")
    title["pingpong-1"] = "Round trips, 1 client (64 B)"
    title["pingpong-50"] = "Round trips, 50 clients (64 B)"
    title["pump"] = "Bulk echo, 1 client (8 KiB writes)"
    title["connect"] = "New connections, 1 at a time"
    if ("socketpair" in ref) { line["pingpong-1"] = ref["socketpair"]; lname["pingpong-1"] = "socketpair ping-pong" }
    if ("stream" in ref) { line["pump"] = ref["stream"] / 2; lname["pump"] = "half the one-way stream" }
    split("#4e79a7 #f28e2b #e15759 #76b7b2 #59a14f #edc948 #b07aa1 #ff9da7", color, " ")

    pw = 460; ph = 300; gap = 20; top = 40
    W = 2 * pw + 3 * gap; H = top + 2 * ph + 3 * gap + 30 + 18 * int((ns + 2) / 3)
    print "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H
    print "<title>echo servers measured by make bench</title>"
    printf "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", W, H
    printf "<text x=\"%d\" y=\"24\" font-size=\"16\" font-weight=\"bold\">Echo servers, one run of make bench (median of the rounds; ratio to the baseline)</text>\n", gap
    for (w = 1; w <= nw; w++) {
        wk = work[w]
        px = gap + ((w - 1) % 2) * (pw + gap)
        py = top + int((w - 1) / 2) * (ph + gap)
        max = (wk in line) ? line[wk] : 0
        for (i = 1; i <= ns; i++) if ((server[i], wk) in rate && rate[server[i], wk] + 0 > max) max = rate[server[i], wk] + 0
        if (max <= 0) max = 1
        printf "<g class=\"panel\" data-workload=\"%s\">\n", esc(wk)
        printf "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#f7f7f7\" stroke=\"#cccccc\"/>\n", px, py, pw, ph
        printf "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s (%s)</text>\n", px + 10, py + 18, esc(title[wk]), esc(unit[wk])
        # Bars: the plot area is below the title, above the names.
        ax = px + 10; ay = py + 62; aw = pw - 20; ah = ph - 92
        bw = aw / (ns > 0 ? ns : 1)
        for (i = 1; i <= ns; i++) {
            s = server[i]
            if (!((s, wk) in rate)) continue
            v = rate[s, wk] + 0
            h = ah * v / max
            x = ax + (i - 1) * bw + bw * 0.15
            printf "<rect class=\"bar\" data-server=\"%s\" data-workload=\"%s\" data-value=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
                esc(s), esc(wk), rate[s, wk], x, ay + ah - h, bw * 0.7, h, color[(i - 1) % 8 + 1]
            printf "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\">%s</text>\n", x + bw * 0.35, ay + ah - h - 14, fmt(v)
            if (ratio[s, wk] != "")
                printf "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\" fill=\"#555555\">%sx</text>\n", x + bw * 0.35, ay + ah - h - 3, ratio[s, wk]
        }
        if (wk in line) {
            ly = ay + ah - ah * line[wk] / max
            printf "<line class=\"limit\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#333333\" stroke-dasharray=\"6 4\"/>\n", ax, ly, ax + aw, ly
            printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\">%s: %s</text>\n", ax + aw, ly - 3, esc(lname[wk]), fmt(line[wk])
        }
        printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333333\"/>\n", ax, ay + ah, ax + aw, ay + ah
        print "</g>"
    }
    # The legend: which color is which server.
    ly = top + 2 * (ph + gap) + 10
    for (i = 1; i <= ns; i++) {
        lx = gap + ((i - 1) % 3) * 300
        yy = ly + int((i - 1) / 3) * 18
        printf "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", lx, yy, color[(i - 1) % 8 + 1]
        printf "<text x=\"%d\" y=\"%d\">%s</text>\n", lx + 18, yy + 11, esc(server[i])
    }
    print "</svg>"
}
