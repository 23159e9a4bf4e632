#!/usr/bin/env bash
# A real Matrix homeserver (Synapse) for qunzhu's integration tests, on loopback.
#   scripts/synapse.sh install                      pinned Synapse in a cached, git-ignored venv
#   scripts/synapse.sh start NAME [--default-limits] start one; prints `export …` lines to eval
#   scripts/synapse.sh stop NAME                     stop it by PID
# NAME's data lives in .cache/synapse/NAME. `--default-limits` keeps Synapse's own rate limits
# (the test that the bot is throttled and still delivers everything exactly once).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=1.163.2
VENV=.cache/synapse-venv
ROOT=.cache/synapse

log() { echo "synapse.sh: $*" >&2; }

install() {
  if [[ -x $VENV/bin/python ]] && [[ "$($VENV/bin/python -c 'import synapse; print(synapse.__version__)' 2>/dev/null)" == "$VERSION" ]]; then
    log "Synapse $VERSION already installed"
    return
  fi
  local started=$SECONDS
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "matrix-synapse==$VERSION"
  log "installed Synapse $VERSION in $((SECONDS - started)) s"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  local name=$1 limits=${2:-}
  local dir=$ROOT/$name started=$SECONDS
  [[ -f $dir/pid ]] && kill "$(cat "$dir/pid")" 2>/dev/null || true
  rm -rf "$dir" && mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local port secret
  port=$(free_port)
  secret=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  local relaxed=""
  if [[ $limits != --default-limits ]]; then
    local lots='{per_second: 100000, burst_count: 100000}'
    relaxed="rc_message: $lots
rc_registration: $lots
rc_login: {address: $lots, account: $lots, failed_attempts: $lots}
rc_joins: {local: $lots, remote: $lots}
rc_joins_per_room: $lots
rc_invites: {per_room: $lots, per_user: $lots, per_issuer: $lots}
rc_admin_redaction: $lots
rc_room_creation: $lots
rc_profile: $lots
rc_reports: $lots
rc_user_directory: $lots"
  fi
  cat > "$dir/homeserver.yaml" <<YAML
server_name: "localhost"
public_baseurl: "http://127.0.0.1:$port/"
pid_file: "$dir/homeserver.pid"
listeners:
  - {port: $port, bind_addresses: ['127.0.0.1'], type: http, tls: false, x_forwarded: false, resources: [{names: [client], compress: false}]}
database: {name: sqlite3, args: {database: "$dir/homeserver.db"}}
log_config: "$dir/log.config"
media_store_path: "$dir/media_store"
signing_key_path: "$dir/localhost.signing.key"
registration_shared_secret: "$secret"
macaroon_secret_key: "$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
form_secret: "$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
report_stats: false
enable_registration: false
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
presence: {enabled: false}
bcrypt_rounds: 4
$relaxed
YAML
  cat > "$dir/log.config" <<YAML
version: 1
formatters: {precise: {format: '%(asctime)s %(levelname)s %(name)s %(message)s'}}
handlers: {file: {class: logging.FileHandler, formatter: precise, filename: "$dir/homeserver.log"}}
root: {level: WARNING, handlers: [file]}
disable_existing_loggers: false
YAML
  "$VENV/bin/python" -m synapse.app.homeserver -c "$dir/homeserver.yaml" --generate-keys >/dev/null 2>&1
  "$VENV/bin/python" -m synapse.app.homeserver -c "$dir/homeserver.yaml" >"$dir/stdout.log" 2>&1 &
  echo $! > "$dir/pid"
  for _ in $(seq 1 300); do
    if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
      log "$name up on port $port in $((SECONDS - started)) s"
      local prefix=QUNZHU_TEST_SYNAPSE
      [[ $limits == --default-limits ]] && prefix=QUNZHU_TEST_SYNAPSE_LIMITED
      echo "export ${prefix}_URL=http://127.0.0.1:$port ${prefix}_SECRET=$secret"
      return
    fi
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      log "$name exited during start; its log:"; tail -20 "$dir/stdout.log" "$dir/homeserver.log" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
  log "$name did not answer /health within 60 s"; exit 1
}

stop() {
  local pid_file=$ROOT/$1/pid
  [[ -f $pid_file ]] || return 0
  local pid; pid=$(cat "$pid_file")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pid_file"
}

case "${1:-}" in
  install) install ;;
  start) start "${2:?name}" "${3:-}" ;;
  stop) stop "${2:?name}" ;;
  *) echo "usage: $0 install | start NAME [--default-limits] | stop NAME" >&2; exit 2 ;;
esac
