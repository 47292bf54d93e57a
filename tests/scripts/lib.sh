# lib.sh - shell helpers the scripts in tests/scripts share (sourced).

# wait_port FILE [TRIES]: wait, at most TRIES x 50 ms (default 200, 10 s),
# for a server's ready line "listening on ADDR:PORT" in FILE, then print
# PORT. Returns 1 if the line never came.
wait_port() {
    _tries=${2:-200}
    _i=0
    while [ "$_i" -lt "$_tries" ]; do
        if grep -q '^listening on ' "$1" 2>/dev/null; then
            sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$1"
            return 0
        fi
        sleep 0.05
        _i=$((_i + 1))
    done
    return 1
}
