# shellcheck shell=bash
# Sourced by the benchmark scripts: the test infrastructure (PostgreSQL, NATS, S3),
# a fresh database migrated with the application role, release builds, and
# `mashang serve` started and stopped on it. Not a script of its own.
#
#   bench_setup NAME     infrastructure up; database mashang_bench_NAME (kept as it is
#                        with REUSE_DB=1); sets $bin,
#                        $app_url (application role) and exports the MASHANG_* settings
#   bench_serve ARGS...  starts `mashang serve ARGS` on 127.0.0.1:$BENCH_PORT, waits
#                        for /readyz; sets $server_pid and $base_url
#   bench_serve_split SERVICE... [-- ARGS...]
#                        production shape: one `mashang serve SERVICE ARGS` process per
#                        service, over NATS, on consecutive ports from $BENCH_PORT (and
#                        $BENCH_METRICS_PORT); waits for each /readyz; sets
#                        $url_<service>, $pid_<service> and $split_pids
#   bench_stop           stops the server(s) (SIGTERM, graceful)
#   bench_teardown       stops the server(s) if running, drops the database
#
# The infrastructure is left running (other work may be using it); set
# BENCH_STOP_INFRA=1 to stop what `infra/test-services up` started. With
# BENCH_TEST_ENV=<dir> (a target/test-env directory whose servers already run, e.g. a
# shared checkout's) its env file is used as it is and `up` is not run.

BENCH_PORT=${BENCH_PORT:-18081}
BENCH_METRICS_PORT=${BENCH_METRICS_PORT:-19091}
server_pid=
split_pids=

bench_setup() {
    bench_name=$1
    if [ -n "${BENCH_TEST_ENV:-}" ]; then
        # shellcheck source=/dev/null
        source "$BENCH_TEST_ENV/env"
    else
        infra/test-services up >/dev/null
        # shellcheck source=/dev/null
        source target/test-env/env
        BENCH_TEST_ENV=target/test-env
    fi
    # BENCH_PREBUILT=1: the release binary as it is (measuring again without a rebuild).
    [ "${BENCH_PREBUILT:-0}" = 1 ] || cargo build -q --release -p mashang
    bin=target/release/mashang
    bench_db=mashang_bench_$bench_name
    if [ "${REUSE_DB:-0}" = 1 ]; then
        echo "reusing database $bench_db (kept by an earlier KEEP_DB=1 run)"
    else
        psql "$MASHANG_TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $bench_db WITH (FORCE)" -c "CREATE DATABASE $bench_db"
    fi
    local owner_url=${MASHANG_TEST_DATABASE_URL%/*}/$bench_db
    MASHANG_APP_PASSWORD=bench "$bin" --log warn migrate --database-url "$owner_url" --app-role mashang_app >/dev/null
    app_url=$(python3 -c "import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(p._replace(netloc='mashang_app:bench@'+p.hostname+':'+str(p.port)).geturl())" "$owner_url")
    export MASHANG_DATABASE_URL=$app_url MASHANG_NATS_URL=$MASHANG_TEST_NATS_URL
    export MASHANG_NATS_PREFIX=bench$bench_name
    export MASHANG_STORAGE=s3 MASHANG_S3_ENDPOINT=$MASHANG_TEST_S3_ENDPOINT MASHANG_S3_PATH_STYLE=true
    export MASHANG_S3_BUCKET=mashang-bench-$bench_name MASHANG_S3_CREATE_BUCKET=true
    export MASHANG_S3_ACCESS_KEY_ID=test MASHANG_S3_SECRET_ACCESS_KEY=test
    MASHANG_PII_KEY=$(head -c 32 /dev/urandom | base64)
    export MASHANG_PII_KEY MASHANG_LOG=${MASHANG_LOG:-warn}
    bench_log=target/bench-$bench_name.log
}

bench_serve() {
    "$bin" serve "$@" --listen "127.0.0.1:$BENCH_PORT" \
        --metrics-listen "127.0.0.1:$BENCH_METRICS_PORT" >>"$bench_log" 2>&1 &
    server_pid=$!
    base_url=http://127.0.0.1:$BENCH_PORT
    for _ in $(seq 300); do
        curl -fs "$base_url/readyz" >/dev/null 2>&1 && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "mashang serve did not become ready; see $bench_log" >&2
    return 1
}

bench_serve_split() {
    local services=() port=$BENCH_PORT metrics=$BENCH_METRICS_PORT svc pid
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        services+=("$1")
        shift
    done
    [ "${1:-}" = -- ] && shift
    for svc in "${services[@]}"; do
        "$bin" serve "$svc" "$@" --listen "127.0.0.1:$port" \
            --metrics-listen "127.0.0.1:$metrics" >>"$bench_log" 2>&1 &
        pid=$!
        split_pids="$split_pids $pid"
        printf -v "pid_$svc" %s "$pid"
        printf -v "url_$svc" %s "http://127.0.0.1:$port"
        port=$((port + 1))
        metrics=$((metrics + 1))
    done
    for svc in "${services[@]}"; do
        local url_var=url_$svc pid_var=pid_$svc ready=
        for _ in $(seq 300); do
            if curl -fs "${!url_var}/readyz" >/dev/null 2>&1; then
                ready=1
                break
            fi
            kill -0 "${!pid_var}" 2>/dev/null || break
            sleep 0.1
        done
        if [ -z "$ready" ]; then
            echo "mashang serve $svc did not become ready; see $bench_log" >&2
            return 1
        fi
    done
}

bench_stop() {
    local pid
    for pid in $split_pids; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $split_pids; do
        wait "$pid" 2>/dev/null || true
    done
    split_pids=
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
}

bench_teardown() {
    bench_stop
    if [ -n "${bench_db:-}" ]; then
        psql "$MASHANG_TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $bench_db WITH (FORCE)" || true
    fi
    # The uploads went to the S3 test server (moto keeps them in memory): remove them.
    if [ -n "${MASHANG_S3_BUCKET:-}" ] && [ -x "${BENCH_TEST_ENV:-target/test-env}/venv/bin/python" ]; then
        "${BENCH_TEST_ENV:-target/test-env}/venv/bin/python" - "$MASHANG_S3_ENDPOINT" "$MASHANG_S3_BUCKET" <<'PY' || true
import sys, boto3
s3 = boto3.resource("s3", endpoint_url=sys.argv[1], aws_access_key_id="test",
                    aws_secret_access_key="test", region_name="us-east-1")
bucket = s3.Bucket(sys.argv[2])
bucket.objects.all().delete()
bucket.delete()
PY
    fi
    if [ "${BENCH_STOP_INFRA:-0}" = 1 ]; then
        infra/test-services down >/dev/null || true
    fi
}
