# Sourced by the scripts that need the emulator: `start_emulator DIR [FLAGS...]` starts
# target/release/altogic-emulator on a free loopback port, logging into DIR, sets $url and
# $emulator_pid, and stops it when the calling script exits, however it exits.

stop_emulator() {
    [ -n "${emulator_pid:-}" ] || return 0
    kill "$emulator_pid" 2>/dev/null || true
    wait "$emulator_pid" 2>/dev/null || true
    emulator_pid=
}

start_emulator() {
    local dir=$1
    shift
    mkdir -p "$dir"
    "$root/target/release/altogic-emulator" --listen 127.0.0.1:0 "$@" >"$dir/emulator.out" 2>"$dir/emulator.log" &
    emulator_pid=$!
    trap stop_emulator EXIT
    trap 'exit 130' INT TERM
    for _ in $(seq 200); do
        grep -q "listening on" "$dir/emulator.out" 2>/dev/null && break
        kill -0 "$emulator_pid" 2>/dev/null || break
        sleep 0.05
    done
    url=$(sed -n 's/^altogic-emulator listening on //p' "$dir/emulator.out")
    if [ -z "$url" ]; then
        echo "the emulator did not start:" >&2
        cat "$dir/emulator.log" >&2
        return 1
    fi
}
