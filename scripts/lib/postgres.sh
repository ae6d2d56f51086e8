# A throwaway PostgreSQL cluster for the shared journal's tests and benchmark (issue 17).
# Sourced, not run (scripts/test, scripts/test-postgres-cluster); needs scripts/lib/system.sh
# for onshi_install_packages.
#
#   onshi_pg_test_start DIR   initdb + start, writes DIR/env (export lines, below)
#   onshi_pg_test_stop DIR    stops the server and deletes its data
#
# What the cluster is: the newest /usr/lib/postgresql/*/bin, its data in a fresh
# /var/tmp/onshi-pgtest.XXXXXX (disk, not tmpfs: commits are fsynced, `fsync = on`), listening
# on 127.0.0.1 only on a free port, its unix socket in that folder, `ssl = on` with a
# throwaway CA and server certificate (SAN IP:127.0.0.1, DNS:localhost), pg_hba `hostssl`
# only with scram-sha-256, superuser `onshi` with a random password.
#
# Who runs it: initdb and the server refuse root, so as root they run as the system user
# `onshi-pgtest` (created here once, no login shell, no home); as any other user, as that user.
#
# DIR/env exports what the tests read (tests/common/postgres.rs):
#   ONSHI_TEST_PG_URL            postgres://onshi@127.0.0.1:PORT/postgres
#   ONSHI_TEST_PG_PASSWORD_FILE  DIR/password (owner-only)
#   ONSHI_TEST_PG_CA             DIR/ca.pem, the CA the server's certificate chains to
#   ONSHI_TEST_PG_WRONG_CA       DIR/wrong-ca.pem, an unrelated CA (the "wrong CA" tests)
#   ONSHI_TEST_PG_CTL            DIR/ctl: `ctl stop|start|restart|kill|status`, for tests that
#                                take the server away mid-burst (works as root too)

ONSHI_POSTGRES_PACKAGES=(postgresql)

# The system user the cluster runs as when started by root.
ONSHI_PG_TEST_USER=onshi-pgtest

# The newest installed server's bin directory.
onshi_pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [[ -z $dir || ! -x $dir/initdb ]]; then
    echo "onshi: no PostgreSQL server in /usr/lib/postgresql (install: ${ONSHI_POSTGRES_PACKAGES[*]})" >&2
    return 1
  fi
  echo "$dir"
}

# Prints who runs the server: $ONSHI_PG_TEST_USER as root (created if missing), else empty.
onshi_pg_run_user() {
  [[ $(id -u) == 0 ]] || return 0
  if ! id -u "$ONSHI_PG_TEST_USER" >/dev/null 2>&1; then
    # Two clusters started at once may race here: whichever loses finds the user made.
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
      "$ONSHI_PG_TEST_USER" 2>/dev/null || id -u "$ONSHI_PG_TEST_USER" >/dev/null
  fi
  echo "$ONSHI_PG_TEST_USER"
}

# A TCP port nothing listens on yet (below the kernel's ephemeral range).
onshi_pg_free_port() {
  local port i
  for ((i = 0; i < 200; i++)); do
    port=$((20000 + RANDOM % 12000))
    if [[ -z $(ss -Htln "sport = :$port" 2>/dev/null) ]]; then
      echo "$port"
      return 0
    fi
  done
  echo "onshi: no free TCP port found" >&2
  return 1
}

# Writes the throwaway CA, the server certificate and an unrelated second CA into $1.
onshi_pg_make_certs() {
  local tls=$1
  mkdir -p "$tls"
  (
    cd "$tls"
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -sha256 -days 30 -subj "/CN=onshi test PostgreSQL CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out ca.pem 2>/dev/null
    openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null
    openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
      "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 30 \
      -extfile server.ext -out server.pem 2>/dev/null
    # Same subject, another key: a client trusting it must refuse the server.
    openssl ecparam -name prime256v1 -genkey -noout -out wrong-ca.key 2>/dev/null
    openssl req -x509 -new -key wrong-ca.key -sha256 -days 30 -subj "/CN=onshi test PostgreSQL CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out wrong-ca.pem 2>/dev/null
  )
}

# Writes DIR/ctl, the control script the tests call (paths baked in).
onshi_pg_write_ctl() {
  local dir=$1 bindir=$2 run=$3 user=$4
  cat >"$dir/ctl" <<CTL
#!/usr/bin/env bash
# The throwaway test cluster of scripts/lib/postgres.sh: ctl stop|start|restart|kill|status.
# kill: SIGKILL to the postmaster and its children (a crash); start recovers.
set -euo pipefail
bindir=$(printf %q "$bindir")
data=$(printf %q "$run/data")
log=$(printf %q "$run/log")
user=$(printf %q "$user")
as_pg() {
  if [[ \$(id -u) == 0 && -n \$user ]]; then runuser -u "\$user" -- "\$@"; else "\$@"; fi
}
start() { as_pg "\$bindir/pg_ctl" -D "\$data" -l "\$log" -w -t 60 start >/dev/null; }
stop() { as_pg "\$bindir/pg_ctl" -D "\$data" -m fast -w -t 60 stop >/dev/null; }
case \${1:-} in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) as_pg "\$bindir/pg_ctl" -D "\$data" status >/dev/null ;;
  kill)
    pid=\$(head -1 "\$data/postmaster.pid")
    children=\$(pgrep -P "\$pid" || true)
    kill -9 "\$pid" \$children
    for _ in \$(seq 100); do
      alive=
      for p in "\$pid" \$children; do kill -0 "\$p" 2>/dev/null && alive=1; done
      [[ -n \$alive ]] || exit 0
      sleep 0.05
    done
    echo "ctl: the server's processes did not end" >&2
    exit 1
    ;;
  *) echo "usage: \$0 stop|start|restart|kill|status" >&2; exit 2 ;;
esac
CTL
  chmod 755 "$dir/ctl"
}

# Starts a throwaway cluster described in DIR (created if missing); does nothing when DIR's
# cluster already runs.
onshi_pg_test_start() {
  local dir=$1
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [[ -f $dir/env && -x $dir/ctl ]] && "$dir/ctl" status 2>/dev/null; then
    echo "onshi: the test PostgreSQL of $dir already runs" >&2
    return 0
  fi
  onshi_pg_test_stop "$dir" 2>/dev/null || true
  local bindir user run
  bindir=$(onshi_pg_bindir)
  user=$(onshi_pg_run_user)
  run=$(mktemp -d /var/tmp/onshi-pgtest.XXXXXX)
  echo "$run" >"$dir/rundir"
  local as_pg=()
  [[ -z $user ]] || as_pg=(runuser -u "$user" --)

  (umask 077 && openssl rand -hex 24 >"$dir/password")
  onshi_pg_make_certs "$dir/tls"
  cp "$dir/tls/ca.pem" "$dir/ca.pem"
  cp "$dir/tls/wrong-ca.pem" "$dir/wrong-ca.pem"
  chmod 644 "$dir/ca.pem" "$dir/wrong-ca.pem"
  # What the server reads is its own: key 0600 (the server refuses a key others can read).
  install -m 600 "$dir/tls/server.key" "$run/server.key"
  install -m 644 "$dir/tls/server.pem" "$run/server.pem"
  install -m 600 "$dir/password" "$run/pwfile"
  [[ -z $user ]] || chown -R "$user:" "$run"
  chmod 700 "$run"

  "${as_pg[@]}" "$bindir/initdb" --no-sync -D "$run/data" -U onshi --pwfile="$run/pwfile" \
    --auth=scram-sha-256 --encoding=UTF8 --locale=C >"$run/initdb.log" 2>&1 || {
    cat "$run/initdb.log" >&2
    return 1
  }
  rm -f "$run/pwfile"
  # Only TLS, only with the password: what a facility's database must insist on too.
  echo "hostssl all all 127.0.0.1/32 scram-sha-256" >"$run/data/pg_hba.conf"
  echo "include 'onshi-test.conf'" >>"$run/data/postgresql.conf"
  onshi_pg_write_ctl "$dir" "$bindir" "$run" "$user"

  local port attempt
  for ((attempt = 0; attempt < 5; attempt++)); do
    port=$(onshi_pg_free_port)
    cat >"$run/data/onshi-test.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$run'
ssl = on
ssl_cert_file = '$run/server.pem'
ssl_key_file = '$run/server.key'
password_encryption = 'scram-sha-256'
# Real commits: the tests and the benchmark must see what a durable server costs.
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 100
shared_buffers = 32MB
CONF
    [[ -z $user ]] || chown "$user:" "$run/data/onshi-test.conf"
    if "$dir/ctl" start; then
      break
    fi
    # Someone took the port between the check and the bind: another port.
    if ! grep -q "could not bind\|Address already in use" "$run/log" 2>/dev/null; then
      cat "$run/log" >&2
      return 1
    fi
    port=
  done
  if [[ -z $port ]]; then
    cat "$run/log" >&2
    return 1
  fi
  {
    printf 'export ONSHI_TEST_PG_URL=%q\n' "postgres://onshi@127.0.0.1:$port/postgres"
    printf 'export ONSHI_TEST_PG_PASSWORD_FILE=%q\n' "$dir/password"
    printf 'export ONSHI_TEST_PG_CA=%q\n' "$dir/ca.pem"
    printf 'export ONSHI_TEST_PG_WRONG_CA=%q\n' "$dir/wrong-ca.pem"
    printf 'export ONSHI_TEST_PG_CTL=%q\n' "$dir/ctl"
  } >"$dir/env"
  echo "onshi: test PostgreSQL on 127.0.0.1:$port (data $run, env $dir/env)" >&2
}

# Stops DIR's cluster (whatever state the tests left it in) and deletes its data.
onshi_pg_test_stop() {
  local dir=$1 run
  [[ -f $dir/rundir ]] || return 0
  run=$(cat "$dir/rundir")
  if [[ -x $dir/ctl && -f $run/data/postmaster.pid ]]; then
    "$dir/ctl" stop 2>/dev/null || "$dir/ctl" kill 2>/dev/null || true
  fi
  # Only a folder this file made.
  [[ $run == /var/tmp/onshi-pgtest.* ]] && rm -rf "$run"
  rm -rf "$dir/tls"
  rm -f "$dir/env" "$dir/ctl" "$dir/password" "$dir/ca.pem" "$dir/wrong-ca.pem" "$dir/rundir"
}
