# shellcheck shell=bash
# Sourced by infra/test-browser and infra/test-api: starts `mashang demo` (its own
# PostgreSQL, a demo county) in a fresh folder under target/ and stops it on exit.
# Not a script of its own. The caller defines log and die, sets ROOT, and then:
#
#   demo_start TIMEOUT   builds nothing; starts target/debug/mashang demo and waits
#                        for /readyz; sets $DATA (the folder, with demo.json),
#                        $DEMO_LOG and $base_url
#   demo_finish STATUS   stops the demo; keeps the folder and log when KEEP=1, or the
#                        log when STATUS is not 0 (and prints its last lines)

demo_pid=""

demo_finish() {
    local status=$1
    if [[ -n $demo_pid ]] && kill -0 "$demo_pid" 2>/dev/null; then
        kill -TERM "$demo_pid" 2>/dev/null || true
        local deadline=$((SECONDS + 30))
        while kill -0 "$demo_pid" 2>/dev/null; do
            if ((SECONDS >= deadline)); then
                log "the demo (pid $demo_pid) did not stop in 30 s; killing it"
                kill -KILL "$demo_pid" 2>/dev/null || true
                break
            fi
            sleep 0.1
        done
        wait "$demo_pid" 2>/dev/null || true
    fi
    [[ -n ${DATA:-} ]] || return 0
    if ((status != 0)) && [[ -s $DEMO_LOG ]]; then
        log "last lines of the demo's log ($DEMO_LOG):"
        tail -n 30 "$DEMO_LOG" | sed 's/^/    /' >&2
    fi
    if [[ ${KEEP:-} == 1 ]]; then
        log "kept $DATA and $DEMO_LOG"
    else
        rm -rf "$DATA"
        ((status != 0)) || rm -f "$DEMO_LOG"
    fi
}

demo_start() {
    local timeout=$1
    mkdir -p "$ROOT/target"
    DATA=$(mktemp -d "$ROOT/target/demo-run.XXXXXX")
    # mktemp makes it private; the demo's PostgreSQL runs as the postgres user and must get in.
    chmod 755 "$DATA"
    DEMO_LOG=$DATA.log
    log "starting the demo in $DATA (log: $DEMO_LOG)"
    "$ROOT/target/debug/mashang" demo --data-dir "$DATA" --listen 127.0.0.1:0 \
        --metrics-listen 127.0.0.1:0 >"$DEMO_LOG" 2>&1 &
    demo_pid=$!

    local deadline=$((SECONDS + timeout))
    until [[ -s $DATA/demo.json ]]; do
        kill -0 "$demo_pid" 2>/dev/null || die "the demo exited before it was ready"
        ((SECONDS < deadline)) || die "the demo was not ready after ${timeout}s"
        sleep 0.2
    done
    base_url=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["base_url"])' "$DATA/demo.json")
    until curl -fsS -o /dev/null "$base_url/readyz"; do
        kill -0 "$demo_pid" 2>/dev/null || die "the demo exited before it was ready"
        ((SECONDS < deadline)) || die "the demo at $base_url was not ready after ${timeout}s"
        sleep 0.2
    done
    log "the demo is ready at $base_url"
}
