# diagram.awk - socklab -v traces drawn as a sequence diagram.
#
#   awk -f tests/scripts/diagram.awk [-v format=svg|text] [-v width=N] TRACE...
#
# tests/scripts/diagram.sh runs this (it also records a session to draw);
# its header says how to use both. POSIX awk (checked with mawk, and with
# gawk --posix, which draws the same bytes).
#
# Input: the -v trace lines of any socklab programs, one file or several,
# with or without SOCKLAB_TRACE_TIME timestamps. Lines that are not trace
# lines (ready lines, summaries, echoed text) are skipped.
#
# Output: one lifeline per process ([program pid]), a fork child beside
# its parent and starting at its fork; every trace line a mark on its
# lifeline, one per row, time running down; the libuv twin (after "~")
# beside each mark, greyed. Arrows join a call to the call in another
# process that got its effect:
#
#   connect          -> the accept that returned that connection
#   write(n)         -> each read that returned some of those n bytes
#   shutdown(SHUT_WR), or the close of the last copy of the descriptor
#                    -> read = 0 on the other end (FIN)
#   that last close  -> a read or write that failed ECONNRESET or EPIPE (RST)
#   fork() = PID     -> the child's first line
#
# Pairing uses only what the traces say, never timing alone:
#   - A connection's server end is an accept (its listening socket's address
#     from bind or getsockname, the client's address from "peer ADDR"); its
#     client end is a connect (the address it went to, and its own address
#     when a getsockname on it was traced). A connect goes with the accept
#     whose peer is its own address; failing that, with the one accept on
#     the address it connected to; failing that, with the one whose byte
#     totals match both ways (bytes the client wrote = bytes the server
#     read, and back); failing that, with timestamps only, the n-th such
#     connect with the n-th such accept whose totals match (the listen
#     queue is first in, first out).
#   - Bytes are counted along each direction of a paired connection, in the
#     order of the calls: write k covered stream offsets [a, b), a read
#     [c, d); they are joined when the two ranges overlap.
#   - A descriptor copied by fork is one more reference to its connection:
#     the close that drops the last one is the one that sends FIN.
# A read whose bytes no traced write sent, a read = 0 with no shutdown or
# last close on the other end, a connect with no accept and so on are drawn
# unpaired (a hollow red mark and the reason), never joined by a guess.
#
# Rows: every mark gets a row of its own. The order is the timestamps (or,
# without them, the order of the lines in the files), adjusted so that each
# process's calls stay in their order and every arrow points down: a
# timestamp is read after the call returned, so a read can be stamped a
# microsecond before the write it received.
#
# libuv programs trace a libuv step on the left and the system calls it
# made on the right, each written as "name(" (libuv/uv_trace.h); the
# socket facts of such a line are read from those calls.
#
# The SVG carries its facts as data-* attributes (lifelines, marks, arrows)
# for tests and tools: see tests/test_diagram.c.

BEGIN {
    if (format == "")
        format = "svg"
    if (format != "svg" && format != "text") {
        print "diagram.awk: format '" format "': expected svg or text" > "/dev/stderr"
        bad_usage = 1
        exit 64
    }
    if (width == "")
        width = 120
    nev = 0
    nproc = 0
    all_ts = 1
    # The calls whose facts the pairing reads.
    SOCKCALLS = "socket|setsockopt|bind|listen|getsockname|getpeername|accept4|accept|connect|read|write|shutdown|close"
    KNOWN = " " SOCKCALLS " fork "
    gsub(/\|/, " ", KNOWN)
    LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
}

{
    parse_line($0)
}

END {
    if (bad_usage)
        exit 64
    if (nev == 0) {
        print "diagram: no trace lines in the input (run the programs with -v; lines look like '[echo-server 4242] socket(...) = 3')" > "/dev/stderr"
        exit 65
    }
    for (n = 1; n <= nev; n++)
        KEY[n] = all_ts ? E_ts[n] + 0 : n
    find_parents()
    follow_descriptors()
    count_streams()
    pair_connections()
    draw_arrows()
    lay_out_rows()
    order_lifelines()
    if (format == "text")
        render_text()
    else
        render_svg()
}

# ---- reading the lines --------------------------------------------------------

function trim(s) {
    sub(/^ +/, "", s)
    sub(/ +$/, "", s)
    return s
}

# Runs of 3 or more blanks (the padding before "~") down to two.
function squeeze(s) {
    gsub(/   +/, "  ", s)
    return trim(s)
}

function proc_id(prog, pid,   k) {
    k = prog SUBSEP pid
    if (!(k in PROC)) {
        PROC[k] = ++nproc
        P_prog[nproc] = prog
        P_pid[nproc] = pid
        P_nev[nproc] = 0
        P_parent[nproc] = 0
        P_kids[nproc] = 0
    }
    return PROC[k]
}

function parse_line(line,   ts, head, rest, sp, p, n, cut) {
    ts = ""
    if (match(line, /^[0-9]+\.[0-9]+ \[/)) {
        ts = substr(line, 1, RLENGTH - 2)
        line = substr(line, RLENGTH)
    }
    if (!match(line, /^\[[A-Za-z0-9_.-]+ [0-9]+\] /))
        return
    head = substr(line, 2, RLENGTH - 3)
    rest = substr(line, RLENGTH + 1)
    sp = index(head, " ")
    p = proc_id(substr(head, 1, sp - 1), substr(head, sp + 1))
    n = ++nev
    E_proc[n] = p
    E_ts[n] = ts
    if (ts == "")
        all_ts = 0
    E_file[n] = FILENAME
    P_ev[p, ++P_nev[p]] = n
    E_pos[n] = P_nev[p]
    cut = index(rest, "  ~ ")
    if (cut > 0) {
        E_left[n] = squeeze(substr(rest, 1, cut - 1))
        E_twin[n] = squeeze(substr(rest, cut + 4))
    } else {
        E_left[n] = squeeze(rest)
        E_twin[n] = ""
    }
    E_nf[n] = 0
    E_role[n] = ""
    E_end[n] = 0
    read_facts(n)
}

# The text inside the parentheses that open at s's position open (s's
# character there is "("), balanced; sets AFTER to what follows ")".
function paren_body(s, open,   depth, i, c) {
    depth = 0
    for (i = open; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "(")
            depth++
        else if (c == ")" && --depth == 0) {
            AFTER = substr(s, i + 1)
            return substr(s, open + 1, i - open - 1)
        }
    }
    AFTER = ""
    return substr(s, open + 1)
}

# The first socket address in s: 127.0.0.1:7000 or [::1]:7000.
function find_addr(s) {
    if (match(s, /\[[0-9A-Fa-f:.%a-z]+\]:[0-9]+/))
        return substr(s, RSTART, RLENGTH)
    if (match(s, /[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+:[0-9]+/))
        return substr(s, RSTART, RLENGTH)
    return ""
}

function first_int(s) {
    if (match(s, /-?[0-9]+/))
        return substr(s, RSTART, RLENGTH) + 0
    return ""
}

# What a line says happened to sockets: from the call on the left when it
# is a system call (the BSD programs), else from the "name(" calls in the
# twin (the libuv programs).
function read_facts(n,   left, name, args, res, err, note, t, u, s, pos, c) {
    left = E_left[n]
    name = ""
    res = ""
    err = ""
    note = ""
    if (match(left, /^[A-Za-z_][A-Za-z0-9_]*\(/)) {
        name = substr(left, 1, RLENGTH - 1)
        args = paren_body(left, RLENGTH)
        t = AFTER
        if (match(t, /^ = -?[0-9]+/)) {
            res = substr(t, 4, RLENGTH - 3) + 0
            t = substr(t, RLENGTH + 1)
            if (res == -1 && match(t, /^ E[A-Z0-9]+/)) {
                err = substr(t, 2, RLENGTH - 1)
                t = substr(t, RLENGTH + 1)
                if (match(t, /^ \([^)]*\)/))
                    t = substr(t, RLENGTH + 1)
            }
        }
        note = trim(t)
    } else {
        note = left
    }
    E_name[n] = name != "" ? name : left
    sub(/[ (].*/, "", E_name[n])
    E_note[n] = note
    if (name != "" && index(KNOWN, " " name " ") > 0) {
        add_fact(n, name, args, res, err, note)
        return
    }
    # A libuv step: the calls it made are the "name(" mentions on the right,
    # with " = N" after them when the trace knows the result.
    s = E_twin[n]
    while (match(s, "(" SOCKCALLS ")\\(")) {
        pos = RSTART
        c = pos > 1 ? substr(s, pos - 1, 1) : " "
        name = substr(s, pos, RLENGTH - 1)
        if (c ~ /[A-Za-z0-9_]/) {
            s = substr(s, pos + RLENGTH)
            continue
        }
        args = paren_body(s, pos + RLENGTH - 1)
        t = AFTER
        res = ""
        err = ""
        if (match(t, /^ = -?[0-9]+/)) {
            res = substr(t, 4, RLENGTH - 3) + 0
            u = substr(t, RLENGTH + 1)
            if (res == -1 && match(u, /^ E[A-Z0-9]+/))
                err = substr(u, 2, RLENGTH - 1)
        }
        add_fact(n, name, args, res, err, note)
        s = t
    }
    # A peer address with no call that would have made it (libuv's
    # uv_accept): the accept's second half, its fd named in the twin.
    if (E_nf[n] == 0 && index(note, "peer ") > 0 && find_addr(note) != "") {
        t = E_twin[n]
        res = match(t, /fd [0-9]+/) ? substr(t, RSTART + 3, RLENGTH - 3) + 0 : ""
        add_fact(n, "getpeername", res, "", "", note)
    }
}

function add_fact(n, name, args, res, err, note,   k) {
    k = ++E_nf[n]
    F_name[n, k] = name
    F_fd[n, k] = first_int(args)
    F_res[n, k] = res
    F_err[n, k] = err
    F_addr[n, k] = ""
    F_how[n, k] = ""
    if (name == "bind" || name == "connect")
        F_addr[n, k] = find_addr(args)
    else if (name == "getsockname")
        F_addr[n, k] = find_addr(note)
    else if (name == "accept" || name == "accept4" || name == "getpeername")
        F_addr[n, k] = index(note, "peer ") ? find_addr(substr(note, index(note, "peer "))) : ""
    else if (name == "shutdown" && match(args, /SHUT_[A-Z]+/))
        F_how[n, k] = substr(args, RSTART, RLENGTH)
    else if (name == "write")
        F_len[n, k] = first_int(substr(args, index(args, ",") + 1))
}

# ---- processes and descriptors -----------------------------------------------

function proc_of(prog, pid,   k) {
    k = prog SUBSEP pid
    return (k in PROC) ? PROC[k] : 0
}

# fork() = PID in a parent, and a process of the same name with that pid:
# the child. (The child's own line is fork() = 0.)
function find_parents(   n, k, c) {
    for (n = 1; n <= nev; n++)
        for (k = 1; k <= E_nf[n]; k++)
            if (F_name[n, k] == "fork" && F_res[n, k] != "" && F_res[n, k] > 0) {
                c = proc_of(P_prog[E_proc[n]], F_res[n, k])
                if (c > 0 && P_parent[c] == 0 && c != E_proc[n]) {
                    P_parent[c] = E_proc[n]
                    P_forkev[c] = n
                    P_kid[E_proc[n], ++P_kids[E_proc[n]]] = c
                }
            }
}

function new_end(side, p, n,   e) {
    e = ++nend
    END_side[e] = side
    END_proc[e] = p
    END_ev[e] = n
    END_dest[e] = ""
    END_listen[e] = ""
    END_peer[e] = ""
    END_local[e] = ""
    END_mate[e] = 0
    return e
}

# Each process's lines in its own order, a parent before its children (a
# child starts with the descriptors its parent had at the fork): which
# connection each read, write, shutdown and close was on.
function follow_descriptors(   done, left, p, i) {
    nend = 0
    left = nproc
    while (left > 0) {
        for (p = 1; p <= nproc; p++)
            if (!(p in done) && (P_parent[p] == 0 || (P_parent[p] in done))) {
                for (i = 1; i <= P_nev[p]; i++)
                    follow_line(p, P_ev[p, i])
                done[p] = 1
                left--
            }
    }
}

function follow_line(p, n,   k, name, fd, res, e, key, a, c, m, i) {
    for (k = 1; k <= E_nf[n]; k++) {
        name = F_name[n, k]
        fd = F_fd[n, k]
        res = F_res[n, k]
        if (name == "bind" || name == "getsockname") {
            if ((p SUBSEP fd) in CONN) {
                if (F_addr[n, k] != "")
                    END_local[CONN[p, fd]] = F_addr[n, k]
            } else if (F_addr[n, k] != "" && (!((p SUBSEP fd) in LISADDR) || F_addr[n, k] !~ /:0$/)) {
                LISADDR[p, fd] = F_addr[n, k]
            }
        } else if (name == "accept" || name == "accept4") {
            if (res == -1)
                continue
            e = new_end("server", p, n)
            END_listen[e] = ((p SUBSEP fd) in LISADDR) ? LISADDR[p, fd] : ""
            END_peer[e] = F_addr[n, k]
            E_role[n] = "open"
            E_end[n] = e
            if (res != "" && res >= 0)
                CONN[p, res] = e
            else
                PENDING[p] = e  # libuv: fd and peer on a later line
        } else if (name == "getpeername") {
            if ((p in PENDING) && PENDING[p] > 0) {
                e = PENDING[p]
                PENDING[p] = 0
                if (END_peer[e] == "")
                    END_peer[e] = F_addr[n, k]
            } else if ((p SUBSEP fd) in CONN) {
                continue
            } else {
                # A peer with no accept before it: this line is the accept.
                e = new_end("server", p, n)
                END_peer[e] = F_addr[n, k]
                E_role[n] = "open"
                E_end[n] = e
            }
            if (fd != "")
                CONN[p, fd] = e
        } else if (name == "connect") {
            if (res == -1 && F_err[n, k] != "EINPROGRESS")
                continue
            e = new_end("client", p, n)
            END_dest[e] = F_addr[n, k]
            CONN[p, fd] = e
            E_role[n] = "open"
            E_end[n] = e
        } else if (name == "read" || name == "write") {
            if (!((p SUBSEP fd) in CONN))
                continue
            e = CONN[p, fd]
            if (res == "")
                continue  # the trace does not say how many bytes
            if (res > 0)
                E_role[n] = name == "read" ? "in" : "out"
            else if (res == 0 && name == "read")
                E_role[n] = "eof"
            else if (res == -1 && (F_err[n, k] == "ECONNRESET" || F_err[n, k] == "EPIPE"))
                E_role[n] = "rst"
            else
                continue
            E_end[n] = e
            E_bytes[n] = res
        } else if (name == "shutdown") {
            if (!((p SUBSEP fd) in CONN) || res == -1)
                continue
            if (F_how[n, k] == "SHUT_WR" || F_how[n, k] == "SHUT_RDWR") {
                E_role[n] = "fin"
                E_end[n] = CONN[p, fd]
            }
        } else if (name == "close") {
            if (res == -1)
                continue
            if ((p SUBSEP fd) in CONN) {
                E_role[n] = "close"
                E_end[n] = CONN[p, fd]
                delete CONN[p, fd]
            }
            delete LISADDR[p, fd]
        } else if (name == "fork" && res != "" && res > 0) {
            c = proc_of(P_prog[p], res)
            if (c == 0 || P_parent[c] != p)
                continue
            # The child starts with a copy of every descriptor (listed
            # first: an array is not added to while a loop walks it).
            m = 0
            split("", FDS)
            for (key in CONN) {
                split(key, a, SUBSEP)
                if (a[1] == p)
                    FDS[++m] = a[2]
            }
            for (i = 1; i <= m; i++) {
                CONN[c, FDS[i]] = CONN[p, FDS[i]]
                FORKCOPY[n, i] = CONN[p, FDS[i]]
            }
            FORKCOPIES[n] = m
            m = 0
            split("", FDS)
            for (key in LISADDR) {
                split(key, a, SUBSEP)
                if (a[1] == p)
                    FDS[++m] = a[2]
            }
            for (i = 1; i <= m; i++)
                LISADDR[c, FDS[i]] = LISADDR[p, FDS[i]]
        }
    }
}

# ---- order -----------------------------------------------------------------

function less(a, b) {
    return KEY[a] < KEY[b] || (KEY[a] == KEY[b] && a < b)
}

function heap_push(x,   i, j, t) {
    HEAP[++heap_n] = x
    i = heap_n
    while (i > 1) {
        j = int(i / 2)
        if (!less(HEAP[i], HEAP[j]))
            break
        t = HEAP[i]; HEAP[i] = HEAP[j]; HEAP[j] = t
        i = j
    }
}

function heap_pop(   top, i, l, r, m, t) {
    top = HEAP[1]
    HEAP[1] = HEAP[heap_n--]
    i = 1
    while (1) {
        l = 2 * i
        r = l + 1
        m = i
        if (l <= heap_n && less(HEAP[l], HEAP[m])) m = l
        if (r <= heap_n && less(HEAP[r], HEAP[m])) m = r
        if (m == i)
            break
        t = HEAP[i]; HEAP[i] = HEAP[m]; HEAP[m] = t
        i = m
    }
    return top
}

# ---- the two byte streams of each connection ---------------------------------

# Every line in time order (timestamps, else the order in the files):
# stream offsets, which close was the last copy's, the first FIN.
function count_streams(   n, i, e, r) {
    heap_n = 0
    for (n = 1; n <= nev; n++)
        heap_push(n)
    for (i = 1; i <= nev; i++)
        TORD[i] = heap_pop()
    for (e = 1; e <= nend; e++) {
        REFS[e] = 0
        WOFF[e] = 0
        ROFF[e] = 0
        NWRITE[e] = 0
        NREAD[e] = 0
        NEOF[e] = 0
        NRST[e] = 0
        FIN[e] = 0
        LASTCLOSE[e] = 0
    }
    for (i = 1; i <= nev; i++) {
        n = TORD[i]
        for (r = 1; r <= FORKCOPIES[n] + 0; r++)
            REFS[FORKCOPY[n, r]]++
        e = E_end[n]
        if (e == 0)
            continue
        r = E_role[n]
        if (r == "open") {
            REFS[e]++
        } else if (r == "out") {
            W_ev[e, ++NWRITE[e]] = n
            W_off[e, NWRITE[e]] = WOFF[e]
            WOFF[e] += E_bytes[n]
        } else if (r == "in") {
            R_ev[e, ++NREAD[e]] = n
            R_off[e, NREAD[e]] = ROFF[e]
            ROFF[e] += E_bytes[n]
        } else if (r == "eof") {
            EOF_ev[e, ++NEOF[e]] = n
        } else if (r == "rst") {
            RST_ev[e, ++NRST[e]] = n
        } else if (r == "fin") {
            if (!FIN[e])
                FIN[e] = n
        } else if (r == "close") {
            if (--REFS[e] <= 0) {
                LASTCLOSE[e] = n
                if (!FIN[e])
                    FIN[e] = n
            }
        }
    }
}

# ---- which connect goes with which accept ------------------------------------

function host_of(a) {
    sub(/:[0-9]+$/, "", a)
    gsub(/[][]/, "", a)
    return a
}

function port_of(a) {
    sub(/.*:/, "", a)
    return a
}

# Could a connect to dest have reached a socket listening on lis?
function reaches(dest, lis,   h) {
    if (dest == "" || lis == "" || port_of(dest) != port_of(lis) || port_of(lis) == "0")
        return 0
    h = host_of(lis)
    return h == host_of(dest) || h == "0.0.0.0" || h == "::"
}

function fits(c, s) {
    if (END_mate[c] || END_mate[s] || !reaches(END_dest[c], END_listen[s]))
        return 0
    if (END_local[c] != "" && END_peer[s] != "" && END_local[c] != END_peer[s])
        return 0
    return 1
}

function same_bytes(c, s) {
    return WOFF[c] == ROFF[s] && WOFF[s] == ROFF[c]
}

function mate(c, s, by) {
    END_mate[c] = s
    END_mate[s] = c
    END_by[c] = by
    END_by[s] = by
}

# How many unpaired ends of the other side fit end x (by bytes too when
# need_bytes); the last one found is left in ONE.
function count_fits(x, need_bytes,   y, n, c, s) {
    n = 0
    for (y = 1; y <= nend; y++) {
        if (END_side[y] == END_side[x])
            continue
        c = END_side[x] == "client" ? x : y
        s = END_side[x] == "client" ? y : x
        if (fits(c, s) && (!need_bytes || same_bytes(c, s))) {
            n++
            ONE = y
        }
    }
    return n
}

function pair_connections(   c, s, changed, need, i, j, nc, ns, CL, SL, t) {
    # 1. The client's own address, when traced, is the accept's peer.
    for (c = 1; c <= nend; c++) {
        if (END_side[c] != "client" || END_local[c] == "")
            continue
        for (s = 1; s <= nend; s++)
            if (END_side[s] == "server" && END_peer[s] == END_local[c] && fits(c, s)) {
                mate(c, s, "address")
                break
            }
    }
    # 2. One on each side for an address; then one on each side whose byte
    # totals agree. Pairing one can leave another alone: go round again.
    changed = 1
    while (changed) {
        changed = 0
        for (need = 0; need <= 1; need++)
            for (c = 1; c <= nend; c++) {
                if (END_side[c] != "client" || END_mate[c])
                    continue
                if (count_fits(c, need) != 1)
                    continue
                s = ONE
                if (count_fits(s, need) != 1)
                    continue
                mate(c, s, need ? "bytes" : "address")
                changed = 1
            }
    }
    # 3. With timestamps: in connect order and accept order, among the
    # pairs whose totals agree.
    if (!all_ts)
        return
    nc = 0
    ns = 0
    for (i = 1; i <= nev; i++) {
        t = TORD[i]
        if (E_role[t] != "open" || END_mate[E_end[t]])
            continue
        if (END_side[E_end[t]] == "client")
            CL[++nc] = E_end[t]
        else
            SL[++ns] = E_end[t]
    }
    for (i = 1; i <= nc; i++)
        for (j = 1; j <= ns; j++)
            if (fits(CL[i], SL[j]) && same_bytes(CL[i], SL[j])) {
                mate(CL[i], SL[j], "order")
                break
            }
}

# ---- arrows ----------------------------------------------------------------

function arrow(kind, src, dst, label, bytes,   a) {
    a = ++narrow
    A_kind[a] = kind
    A_src[a] = src
    A_dst[a] = dst
    A_label[a] = label
    A_bytes[a] = bytes
    A_in[dst, ++A_nin[dst]] = a
}

function unpaired(n, why) {
    if (!(n in WHY))
        WHY[n] = why
}

function plural(n, word) {
    return n " " word (n == 1 ? "" : word ~ /s$/ ? "es" : "s")
}

# The bytes end a wrote, to the reads of its mate b.
function join_stream(a, b,   i, j, k, lo, hi, wlo, whi, rlo, rhi, got, cover) {
    j = 1
    for (i = 1; i <= NWRITE[a]; i++) {
        wlo = W_off[a, i]
        whi = wlo + E_bytes[W_ev[a, i]]
        got = 0
        while (j <= NREAD[b] && R_off[b, j] + E_bytes[R_ev[b, j]] <= wlo)
            j++
        for (k = j; k <= NREAD[b] && R_off[b, k] < whi; k++) {
            rlo = R_off[b, k]
            rhi = rlo + E_bytes[R_ev[b, k]]
            lo = wlo > rlo ? wlo : rlo
            hi = whi < rhi ? whi : rhi
            if (hi > lo) {
                arrow("data", W_ev[a, i], R_ev[b, k], plural(hi - lo, "byte"), hi - lo)
                got += hi - lo
                COVER[R_ev[b, k]] += hi - lo
            }
        }
        if (got == 0)
            unpaired(W_ev[a, i], "no read in these traces got these bytes")
        else if (got < whi - wlo)
            unpaired(W_ev[a, i], plural(whi - wlo - got, "byte") " of it read by no read in these traces")
    }
    for (k = 1; k <= NREAD[b]; k++) {
        cover = COVER[R_ev[b, k]] + 0
        if (cover == 0)
            unpaired(R_ev[b, k], "no write in these traces sent these bytes")
        else if (cover < E_bytes[R_ev[b, k]])
            unpaired(R_ev[b, k], plural(E_bytes[R_ev[b, k]] - cover, "byte") " of it sent by no write in these traces")
    }
}

# What end b received from a: the end of the stream, a reset.
function join_ends(a, b,   k) {
    for (k = 1; k <= NEOF[b]; k++) {
        if (FIN[a] && E_role[FIN[a]] == "fin")
            arrow("fin", FIN[a], EOF_ev[b, k], "FIN (shutdown)", "")
        else if (FIN[a])
            arrow("fin", FIN[a], EOF_ev[b, k], "FIN (last close)", "")
        else
            unpaired(EOF_ev[b, k], "no shutdown or last close in these traces")
    }
    for (k = 1; k <= NRST[b]; k++) {
        if (LASTCLOSE[a])
            arrow("reset", LASTCLOSE[a], RST_ev[b, k], "RST", "")
        else
            unpaired(RST_ev[b, k], "no close in these traces")
    }
}

function draw_arrows(   e, m, k, c) {
    narrow = 0
    for (e = 1; e <= nend; e++) {
        m = END_mate[e]
        if (m) {
            if (END_side[e] == "client")
                arrow("connect", END_ev[e], END_ev[m], "connection", "")
            join_stream(e, m)
            join_ends(e, m)
            continue
        }
        unpaired(END_ev[e], END_side[e] == "client" ? "no accept in these traces" : "no connect in these traces")
        for (k = 1; k <= NWRITE[e]; k++)
            unpaired(W_ev[e, k], "its connection has no other end in these traces")
        for (k = 1; k <= NREAD[e]; k++)
            unpaired(R_ev[e, k], "its connection has no other end in these traces")
        for (k = 1; k <= NEOF[e]; k++)
            unpaired(EOF_ev[e, k], "its connection has no other end in these traces")
        for (k = 1; k <= NRST[e]; k++)
            unpaired(RST_ev[e, k], "its connection has no other end in these traces")
    }
    for (c = 1; c <= nproc; c++)
        if (P_parent[c])
            arrow("fork", P_forkev[c], P_ev[c, 1], "fork", "")
}

# ---- rows ------------------------------------------------------------------

# One row per line: in time order, but never before the line before it in
# its process, nor before the other end of an arrow into it. Kahn's
# topological sort, the earliest ready line first.
function lay_out_rows(   n, a, p, i, row, placed, best, k) {
    for (n = 1; n <= nev; n++) {
        INDEG[n] = 0
        NSUCC[n] = 0
    }
    for (p = 1; p <= nproc; p++)
        for (i = 2; i <= P_nev[p]; i++)
            edge(P_ev[p, i - 1], P_ev[p, i])
    for (a = 1; a <= narrow; a++)
        edge(A_src[a], A_dst[a])
    heap_n = 0
    for (n = 1; n <= nev; n++)
        if (INDEG[n] == 0)
            heap_push(n)
    row = 0
    while (row < nev) {
        if (heap_n == 0) {
            # A cycle (traces that contradict each other): take the earliest
            # line not yet placed, and carry on.
            best = 0
            for (n = 1; n <= nev; n++)
                if (!(n in ROW) && INDEG[n] > 0 && (best == 0 || less(n, best)))
                    best = n
            INDEG[best] = 0
            heap_push(best)
        }
        n = heap_pop()
        if (n in ROW)
            continue
        ROW[n] = ++row
        ROWEV[row] = n
        for (k = 1; k <= NSUCC[n]; k++)
            if (--INDEG[SUCC[n, k]] == 0 && !(SUCC[n, k] in ROW))
                heap_push(SUCC[n, k])
    }
    for (p = 1; p <= nproc; p++) {
        FIRSTROW[p] = ROW[P_ev[p, 1]]
        LASTROW[p] = ROW[P_ev[p, P_nev[p]]]
    }
}

function edge(a, b) {
    if (a == b)
        return
    SUCC[a, ++NSUCC[a]] = b
    INDEG[b]++
}

# ---- columns ---------------------------------------------------------------

# Clients on the left, the rest on the right, each in order of first
# appearance, with the children it forked beside it.
function order_lifelines(   p, e, q, best, placed, k) {
    for (e = 1; e <= nend; e++)
        if (END_side[e] == "client")
            IS_CLIENT[END_proc[e]] = 1
        else
            IS_SERVER[END_proc[e]] = 1
    ncol = 0
    for (k = 0; k <= 1; k++) {
        while (1) {
            best = 0
            for (p = 1; p <= nproc; p++) {
                if ((p in COL) || P_parent[p])
                    continue
                if ((k == 0) != (IS_CLIENT[p] && !IS_SERVER[p]))
                    continue
                if (best == 0 || FIRSTROW[p] < FIRSTROW[best])
                    best = p
            }
            if (best == 0)
                break
            place(best, k == 0 ? "left" : "right")
        }
    }
}

# A process and the children it forked, the children by the row of their
# fork, on the side nearer the middle: a child's arrows go to the clients,
# and so do not cross its parent's labels.
function place(p, side,   i, c, best) {
    if (side == "left")
        place_one(p, side)
    while (1) {
        best = 0
        for (i = 1; i <= P_kids[p]; i++) {
            c = P_kid[p, i]
            if (!(c in COL) && (best == 0 || FIRSTROW[c] < FIRSTROW[best]))
                best = c
        }
        if (best == 0)
            break
        place(best, side)
    }
    if (side != "left")
        place_one(p, side)
}

function place_one(p, side) {
    COL[p] = ++ncol
    COLPROC[ncol] = p
    SIDE[p] = side
    P_name[p] = ncol <= 26 ? substr(LETTERS, ncol, 1) : "P" ncol
    if (side == "left")
        nleft = ncol
}

# ---- text ------------------------------------------------------------------

function cut_text(s, max) {
    if (max < 4)
        return ""
    if (length(s) > max)
        return substr(s, 1, max - 3) "..."
    return s
}

function arrow_note(n,   i, a, s) {
    s = ""
    for (i = 1; i <= A_nin[n]; i++) {
        a = A_in[n, i]
        s = s (s == "" ? "" : ", ") A_label[a] " from " P_name[E_proc[A_src[a]]]
    }
    return s
}

# The label of row n for the text diagram: the call, then what arrived
# with it, or why nothing did.
function text_label(n,   note) {
    note = arrow_note(n)
    if (note != "")
        note = "  [" note "]"
    if (n in WHY)
        note = note "  [unpaired: " WHY[n] "]"
    return E_left[n] note
}

# One row per trace line; each process a column of 4 characters (its
# lifeline a "|", its calls "*"); an arrow is drawn on the row of the call
# it arrives at, from the column of the process it came from. The twin
# after "~", as in the trace, in a column of its own.
function render_text(   i, p, r, n, g, gw, x, a, c, line, room, j, src, dst, head, forked, lcol, len, TLAST) {
    gw = 4 * ncol
    printf "Sequence diagram: %s, %s, %s; time runs down.\n", plural(ncol, "process"), plural(nev, "trace line"), plural(narrow, "arrow")
    for (i = 1; i <= ncol; i++) {
        p = COLPROC[i]
        forked = P_parent[p] ? "  (forked by " P_name[P_parent[p]] ")" : ""
        printf "  %s  %s %s%s\n", P_name[p], P_prog[p], P_pid[p], forked
    }
    print "  *  a call     ?  unpaired: its other end is not in these traces"
    print "  -->  connection, bytes     ==>  FIN, RST     ..>  fork     ~ the libuv twin"
    print ""
    # A lifeline runs down to its last call, or further to the last arrow
    # that leaves it.
    for (p = 1; p <= nproc; p++)
        TLAST[p] = LASTROW[p]
    for (a = 1; a <= narrow; a++) {
        p = E_proc[A_src[a]]
        if (ROW[A_dst[a]] > TLAST[p])
            TLAST[p] = ROW[A_dst[a]]
    }
    lcol = 0
    for (n = 1; n <= nev; n++) {
        len = length(text_label(n))
        if (len > lcol)
            lcol = len
    }
    if (lcol > 60)
        lcol = 60
    head = ""
    for (i = 1; i <= ncol; i++)
        head = head sprintf("%-4s", " " P_name[COLPROC[i]])
    sub(/ +$/, "", head)
    print head
    for (r = 1; r <= nev; r++) {
        n = ROWEV[r]
        split("", G)
        for (i = 1; i <= ncol; i++) {
            for (x = 4 * (i - 1) + 1; x <= 4 * i; x++)
                G[x] = " "
            p = COLPROC[i]
            if (r >= FIRSTROW[p] && r <= TLAST[p])
                G[4 * (i - 1) + 2] = "|"
        }
        dst = 4 * (COL[E_proc[n]] - 1) + 2
        for (j = 1; j <= A_nin[n]; j++) {
            a = A_in[n, j]
            src = 4 * (COL[E_proc[A_src[a]]] - 1) + 2
            c = A_kind[a] == "fork" ? "." : (A_kind[a] == "fin" || A_kind[a] == "reset") ? "=" : "-"
            if (src < dst) {
                for (x = src + 1; x < dst - 1; x++)
                    G[x] = c
                G[dst - 1] = ">"
            } else if (src > dst) {
                for (x = dst + 2; x < src; x++)
                    G[x] = c
                G[dst + 1] = "<"
            }
        }
        G[dst] = (n in WHY) ? "?" : "*"
        g = ""
        for (x = 1; x <= gw; x++)
            g = g G[x]
        line = g " " text_label(n)
        if (E_twin[n] != "") {
            line = sprintf("%-" (gw + 1 + lcol) "s", line)
            room = width - length(line) - 4
            if (room >= 12)
                line = line "  ~ " cut_text(E_twin[n], room)
        }
        sub(/ +$/, "", line)
        print line
    }
}

# ---- SVG -------------------------------------------------------------------

function xml(s) {
    gsub(/&/, "\\&amp;", s)
    gsub(/</, "\\&lt;", s)
    gsub(/>/, "\\&gt;", s)
    gsub(/"/, "\\&quot;", s)
    gsub(/'/, "\\&#39;", s)
    return s
}

# Cut to max characters with an ellipsis, for the drawing (the whole text
# is in the mark's <title>).
function clip(s, max) {
    if (length(s) > max)
        return substr(s, 1, max - 1) "\342\200\246"
    return s
}

function label_of(n,   s) {
    s = clip(E_left[n], LABEL_MAX)
    return s
}

function svg_color(kind) {
    if (kind == "connect") return "#0969da"
    if (kind == "data") return "#1a7f37"
    if (kind == "fin") return "#bc4c00"
    if (kind == "reset") return "#cf222e"
    return "#8c959f"
}

function render_svg(   i, p, n, r, a, x, y, w, lw, tw, maxw, CW, TW, ROWH, GAP, MID, PAD, top,
                       height, total, x1, y1, x2, y2, anchor, lx, title, legend_y, k, kinds, label,
                       dy, dx, len, mx, my, why, twin, forked) {
    CW = 7.5          # width of a 12 px monospace character, and a little
    TW = 6.6          # of a 10.5 px one
    ROWH = 34
    GAP = 170         # between two lifelines on one side
    MID = 300         # between the clients and the servers, for the arrows
    PAD = 16
    LABEL_MAX = 64
    TWIN_MAX = 72
    title = ENVIRON["DIAGRAM_TITLE"]
    top = title != "" ? 110 : 90
    # How far each lifeline's texts reach, to place the columns.
    for (i = 1; i <= ncol; i++)
        REACH[i] = 70
    for (n = 1; n <= nev; n++) {
        i = COL[E_proc[n]]
        w = length(label_of(n)) * CW
        if (n in WHY)
            w += 2 * CW
        tw = length(clip(E_twin[n], TWIN_MAX)) * TW
        if (n in WHY)
            tw += (length(WHY[n]) + 12) * TW
        if (tw > w)
            w = tw
        if (w > REACH[i])
            REACH[i] = w
    }
    # Left side: labels to the left of the line; right side: to the right.
    x = PAD
    for (i = 1; i <= nleft; i++) {
        lw = PAD + REACH[i] + 12 - (i - 1) * GAP
        if (lw > x)
            x = lw
    }
    for (i = 1; i <= nleft; i++)
        X[i] = x + (i - 1) * GAP
    x = nleft > 0 ? X[nleft] + MID : PAD + 80
    for (i = nleft + 1; i <= ncol; i++)
        X[i] = x + (i - nleft - 1) * GAP
    total = nleft > 0 ? X[nleft] + 80 : 0
    for (i = nleft + 1; i <= ncol; i++)
        if (X[i] + 12 + REACH[i] + 2 * PAD > total)
            total = X[i] + 12 + REACH[i] + 2 * PAD
    if (total < 640)
        total = 640
    total = int(total + 0.5)
    legend_y = top + nev * ROWH + 20
    height = legend_y + 64

    print "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"12\" data-lifelines=\"%d\" data-marks=\"%d\" data-arrows=\"%d\">\n", total, height, total, height, ncol, nev, narrow
    printf "<title>%s</title>\n", xml(title != "" ? title : "socklab trace as a sequence diagram")
    print "<desc>Made by tests/scripts/diagram.sh from socklab -v traces: one lifeline per process, one traced call per row (time runs down), arrows from a call to the call in another process that got its effect.</desc>"
    print "<defs>"
    split("connect data fin reset fork", kinds, " ")
    for (k = 1; k <= 5; k++)
        printf "<marker id=\"head-%s\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"%s\"/></marker>\n", kinds[k], svg_color(kinds[k])
    print "</defs>"
    printf "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", total, height
    if (title != "")
        printf "<text x=\"%d\" y=\"26\" font-size=\"14\" font-weight=\"bold\" fill=\"#1f2328\">%s</text>\n", PAD, xml(title)

    # Lifelines: a head at the top, the line from the first call to the
    # last; a forked child's line starts at its fork.
    for (i = 1; i <= ncol; i++) {
        p = COLPROC[i]
        forked = P_parent[p] ? sprintf(" data-forked-by=\"%s\"", P_name[P_parent[p]]) : ""
        printf "<g class=\"lifeline\" data-id=\"%s\" data-program=\"%s\" data-pid=\"%s\"%s>\n", P_name[p], xml(P_prog[p]), P_pid[p], forked
        w = length(P_prog[p]) * CW + 16
        if (w < 90) w = 90
        printf "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"34\" rx=\"4\" fill=\"#f6f8fa\" stroke=\"#57606a\"/>\n", X[i] - w / 2, top - 62, w
        printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-weight=\"bold\" fill=\"#1f2328\">%s</text>\n", X[i], top - 48, xml(P_prog[p])
        printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"10.5\" fill=\"#57606a\">%s</text>\n", X[i], top - 34, "pid " P_pid[p] (P_parent[p] ? ", forked" : "")
        y1 = P_parent[p] ? row_y(FIRSTROW[p], top, ROWH) : top - 28
        y2 = row_y(LASTROW[p], top, ROWH) + 24
        if (P_parent[p])
            printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#d0d7de\" stroke-dasharray=\"2 4\"/>\n", X[i], top - 28, X[i], y1
        printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#8c959f\" stroke-width=\"1.5\"/>\n", X[i], y1, X[i], y2
        printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#8c959f\" stroke-width=\"1.5\"/>\n", X[i] - 8, y2, X[i] + 8, y2
        print "</g>"
    }

    # Arrows under the marks, so each ends at the edge of its mark.
    for (a = 1; a <= narrow; a++) {
        x1 = X[COL[E_proc[A_src[a]]]]
        y1 = row_y(ROW[A_src[a]], top, ROWH)
        x2 = X[COL[E_proc[A_dst[a]]]]
        y2 = row_y(ROW[A_dst[a]], top, ROWH)
        dx = x2 - x1
        dy = y2 - y1
        len = sqrt(dx * dx + dy * dy)
        if (len > 0) {
            x2 -= dx / len * 6
            y2 -= dy / len * 6
            x1 += dx / len * 5
            y1 += dy / len * 5
        }
        printf "<g class=\"arrow\" data-kind=\"%s\" data-from=\"e%d\" data-to=\"e%d\" data-from-lifeline=\"%s\" data-to-lifeline=\"%s\" data-from-call=\"%s\" data-to-call=\"%s\"%s>\n", A_kind[a], A_src[a], A_dst[a], P_name[E_proc[A_src[a]]], P_name[E_proc[A_dst[a]]], xml(E_left[A_src[a]]), xml(E_left[A_dst[a]]), A_bytes[a] != "" ? " data-bytes=\"" A_bytes[a] "\"" : ""
        printf "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\"%s marker-end=\"url(#head-%s)\"/>\n", x1, y1, x2, y2, svg_color(A_kind[a]), A_kind[a] == "fork" ? " stroke-dasharray=\"5 4\"" : "", A_kind[a]
        mx = (x1 + x2) / 2
        my = (y1 + y2) / 2 - 5
        # A fork's dashed grey line says enough, and its label would land
        # on the parent's next lines.
        if (A_kind[a] != "fork")
            printf "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10.5\" fill=\"%s\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">%s</text>\n", mx, my, svg_color(A_kind[a]), xml(A_label[a])
        print "</g>"
    }

    # The marks: the call, and under it the libuv twin in grey.
    for (n = 1; n <= nev; n++) {
        p = E_proc[n]
        i = COL[p]
        y = row_y(ROW[n], top, ROWH)
        why = (n in WHY) ? sprintf(" data-unpaired=\"%s\"", xml(WHY[n])) : ""
        printf "<g class=\"mark\" data-id=\"e%d\" data-lifeline=\"%s\" data-row=\"%d\" data-call=\"%s\"%s%s>\n", n, P_name[p], ROW[n], xml(E_name[n]), E_ts[n] != "" ? " data-time=\"" E_ts[n] "\"" : "", why
        printf "<title>%s%s%s</title>\n", xml(E_left[n]), E_twin[n] != "" ? xml("  ~ " E_twin[n]) : "", (n in WHY) ? xml("  (unpaired: " WHY[n] ")") : ""
        if (n in WHY)
            printf "<circle cx=\"%.1f\" cy=\"%d\" r=\"4.5\" fill=\"#ffffff\" stroke=\"#cf222e\" stroke-width=\"2\"/>\n", X[i], y
        else
            printf "<circle cx=\"%.1f\" cy=\"%d\" r=\"4\" fill=\"#1f2328\"/>\n", X[i], y
        anchor = SIDE[p] == "left" ? "end" : "start"
        lx = SIDE[p] == "left" ? X[i] - 10 : X[i] + 10
        label = label_of(n)
        printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\" fill=\"#1f2328\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">%s", lx, y + 4, anchor, xml(label)
        if (n in WHY)
            printf " <tspan fill=\"#cf222e\">?</tspan>"
        print "</text>"
        # Under the call: the twin in grey, then why the mark is unpaired.
        twin = clip(E_twin[n], TWIN_MAX)
        if (twin != "" || (n in WHY)) {
            printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\" font-size=\"10.5\" fill=\"#8c959f\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">%s", lx, y + 17, anchor, xml(twin)
            if (n in WHY)
                printf "%s<tspan fill=\"#cf222e\">unpaired: %s</tspan>", twin != "" ? " \302\267 " : "", xml(WHY[n])
            print "</text>"
        }
        print "</g>"
    }

    # A legend, so the picture explains itself away from the lesson.
    y = legend_y
    printf "<g class=\"legend\" font-size=\"10.5\" fill=\"#57606a\">\n"
    printf "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"#1f2328\"/><text x=\"%d\" y=\"%d\">a traced call; in grey under it, its libuv twin as the trace gives it</text>\n", PAD + 4, y, PAD + 14, y + 4
    printf "<circle cx=\"%d\" cy=\"%d\" r=\"4.5\" fill=\"#ffffff\" stroke=\"#cf222e\" stroke-width=\"2\"/><text x=\"%d\" y=\"%d\">unpaired: the call that caused it (or got its effect) is not in these traces</text>\n", PAD + 4, y + 18, PAD + 14, y + 22
    x = PAD
    split("connect data fin reset fork", kinds, " ")
    split("connect -> accept|write -> read, bytes|FIN -> read = 0|RST -> ECONNRESET|fork -> child", legend, "|")
    for (k = 1; k <= 5; k++) {
        printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"1.5\"%s marker-end=\"url(#head-%s)\"/>", x, y + 40, x + 26, y + 40, svg_color(kinds[k]), kinds[k] == "fork" ? " stroke-dasharray=\"5 4\"" : "", kinds[k]
        printf "<text x=\"%d\" y=\"%d\">%s</text>\n", x + 32, y + 44, xml(legend[k])
        x += 32 + length(legend[k]) * TW + 24
    }
    print "</g>"
    print "</svg>"
}

function row_y(r, top, rowh) {
    return top + (r - 1) * rowh + 8
}
