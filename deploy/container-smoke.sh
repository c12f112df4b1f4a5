#!/usr/bin/env bash
# Build Wharf's image and start it as production would: a web container and a worker container
# against the local PostgreSQL (127.0.0.1:5432), read-only root filesystem, unprivileged user.
# Then check the probes, a page, a static file, /metrics, and that the worker runs a task.
#
# Needs podman, and mmdebstrap for the base: without access to Docker Hub, the base is a Debian
# trixie (Python 3.13) made locally. BASE_IMAGE=... uses another base instead (it must have
# python3 with venv). Everything it starts is removed at the end, as is its database.
#
# SANDBOXED=1 is for a machine like the one this was written on, a sandbox where neither
# cgroups nor setrlimit(RLIMIT_NPROC) are allowed: the build runs RUN steps with chroot
# isolation, and containers run through runc (apt-get install runc) via a wrapper that drops
# the OCI spec's rlimits. The image and the containers' options are the same either way.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=${BASE_IMAGE:-localhost/wharf-base:trixie}
IMAGE=${IMAGE:-localhost/wharf:smoke}
PORT=${PORT:-18740}
DB=wharf_container_smoke
NAME=wharf-smoke
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
step() { printf '\n== %s\n' "$*"; }

step "lint"
if command -v hadolint >/dev/null; then hadolint Containerfile && echo "hadolint: clean"; fi

if ! podman image exists "$BASE_IMAGE"; then
  step "base image $BASE_IMAGE from Debian trixie (mmdebstrap)"
  mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates trixie - "$MIRROR" \
    | podman import --quiet - "$BASE_IMAGE"
fi

runtime_args=()
build_args=(--network=host --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$IMAGE" -f Containerfile)
if [ "${SANDBOXED:-0}" = 1 ]; then
  wrapper_dir=$(mktemp -d)
  cat > "$wrapper_dir/runc" <<'WRAPPER'
#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
if "create" in args or "run" in args:
    path = os.path.join(args[args.index("--bundle") + 1] if "--bundle" in args else ".", "config.json")
    spec = json.load(open(path))
    spec.get("process", {}).pop("rlimits", None)
    json.dump(spec, open(path, "w"))
if "exec" in args and "--process" in args:
    path = args[args.index("--process") + 1]
    process = json.load(open(path))
    process.pop("rlimits", None)
    json.dump(process, open(path, "w"))
os.execv("/usr/bin/runc", ["runc", *args])
WRAPPER
  chmod +x "$wrapper_dir/runc"
  build_args+=(--isolation=chroot)
  runtime_args=(--runtime "$wrapper_dir/runc" --cgroup-manager cgroupfs)
fi

step "build $IMAGE"
# Where the network reaches PyPI through a TLS proxy, the host's CA bundle is lent to the build.
if [ -n "${PIP_CERT:-}" ] && [ -f "$PIP_CERT" ]; then
  build_args+=(--volume "$PIP_CERT:/etc/ssl/certs/ca-certificates.crt:ro")
fi
start=$(date +%s)
podman build --quiet "${build_args[@]}" . >/dev/null
echo "built in $(( $(date +%s) - start )) s; size $(podman image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"

cleanup() {
  podman "${runtime_args[@]}" rm --force --time 5 "$NAME-web" "$NAME-worker" >/dev/null 2>&1 || true
  psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
psql -h 127.0.0.1 -U postgres -q -c "CREATE DATABASE $DB"

fernet=$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')
token=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
run=(podman "${runtime_args[@]}" run --network=host --read-only --tmpfs /tmp:rw,size=64m
     -e "DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB"
     -e "SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"
     -e "WHARF_ENCRYPTION_KEYS=$fernet" -e "ALLOWED_HOSTS=127.0.0.1"
     -e SECURE_SSL_REDIRECT=0 -e SESSION_COOKIE_SECURE=0 -e CSRF_COOKIE_SECURE=0
     -e WHARF_TASKS_BACKEND=django_tasks_db.DatabaseBackend -e "WHARF_METRICS_TOKEN=$token"
     -e WHARF_LOG_FORMAT=json -e "WHARF_BIND=127.0.0.1:$PORT")

step "migrate (a job)"
"${run[@]}" --rm "$IMAGE" python manage.py migrate --noinput | tail -n 2
step "web and worker"
"${run[@]}" -d --name "$NAME-web" "$IMAGE" >/dev/null
"${run[@]}" -d --name "$NAME-worker" "$IMAGE" python manage.py db_worker --interval 0.5 >/dev/null
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.5; done

echo "user in the container: $(podman "${runtime_args[@]}" exec "$NAME-web" id)"
echo "write to the root filesystem: $(podman "${runtime_args[@]}" exec "$NAME-web" touch /opt/wharf/app/x 2>&1 || true)"
echo "GET /healthz -> $(curl -s "http://127.0.0.1:$PORT/healthz")"
echo "GET /readyz  -> $(curl -s "http://127.0.0.1:$PORT/readyz")"
echo "GET /login/  -> $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/login/")"
css=$(curl -s "http://127.0.0.1:$PORT/login/" | grep -o '/static/[^"]*\.css' | head -n 1)
echo "GET $css -> $(curl -s -o /dev/null -w '%{http_code} %{content_type}' "http://127.0.0.1:$PORT$css")"
echo "GET /metrics without the token -> $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metrics")"

step "the worker runs a task enqueued by another container"
"${run[@]}" --rm "$IMAGE" python manage.py shell -c \
  "from registries.tasks import sync_registry_task; print('enqueued', sync_registry_task.enqueue(424242).id)"
for _ in $(seq 1 40); do
  state=$(psql -h 127.0.0.1 -U postgres -d "$DB" -Atc "SELECT status FROM django_tasks_database_dbtaskresult LIMIT 1")
  [ "$state" = SUCCESSFUL ] && break; sleep 0.5
done
echo "task status: $state"
echo "metrics:"
curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$PORT/metrics" \
  | grep -E '^wharf_(http_request_duration_seconds_count|tasks)' | head -n 5
step "logs (last lines of each)"
podman logs "$NAME-web" 2>&1 | tail -n 2
podman logs "$NAME-worker" 2>&1 | tail -n 2
[ "$state" = SUCCESSFUL ]
