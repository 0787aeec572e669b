# Sourced by the scripts that need a server (they set $root to the repository first):
# - `start_emulator DIR [FLAGS...]` starts target/release/altogic-emulator on a free loopback
#   port, logging into DIR, and sets $url and $emulator_pid (call it again with another DIR
#   for a second emulator: every one started stops at exit);
# - `start_fixture DIR` starts the test fixture server (target/release/examples/fixture_server)
#   on a free loopback port and sets $fixture_url and $fixture_pid.
# Whatever was started stops when the calling script exits, however it exits.

stop_servers() {
    if [ -n "${fixture_pid:-}" ]; then
        exec 9>&- || true
        kill "$fixture_pid" 2>/dev/null || true
        wait "$fixture_pid" 2>/dev/null || true
        fixture_pid=
    fi
    local pid
    for pid in ${emulator_pids:-} ${emulator_pid:-}; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    emulator_pid=
    emulator_pids=
}

# Waits for "listening on URL" in FILE; prints the URL.
listening_url() {
    local file=$1 pid=$2
    for _ in $(seq 200); do
        grep -q "listening on" "$file" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    sed -n 's/^.* listening on //p' "$file"
}

start_emulator() {
    local dir=$1
    shift
    mkdir -p "$dir"
    trap stop_servers EXIT
    trap 'exit 130' INT TERM
    "$root/target/release/altogic-emulator" --listen 127.0.0.1:0 "$@" >"$dir/emulator.out" 2>"$dir/emulator.log" &
    emulator_pid=$!
    emulator_pids="${emulator_pids:-} $emulator_pid"
    url=$(listening_url "$dir/emulator.out" "$emulator_pid")
    if [ -z "$url" ]; then
        echo "the emulator did not start:" >&2
        cat "$dir/emulator.log" >&2
        return 1
    fi
}

start_fixture() {
    local dir=$1 fifo
    mkdir -p "$dir"
    trap stop_servers EXIT
    trap 'exit 130' INT TERM
    fifo=$(mktemp -u)
    mkfifo "$fifo"
    # The fixture serves until its stdin (the fifo, held open by fd 9) closes.
    "$root/target/release/examples/fixture_server" <"$fifo" >"$dir/fixture.out" &
    fixture_pid=$!
    exec 9>"$fifo"
    rm -f "$fifo"
    fixture_url=$(listening_url "$dir/fixture.out" "$fixture_pid")
    [ -n "$fixture_url" ] || { echo "the fixture server did not start" >&2; return 1; }
}
