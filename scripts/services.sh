#!/usr/bin/env bash
# Real services on loopback for the tests, demos and benchmarks: PostgreSQL 15 and an OpenSSH SFTP server.
#
#   scripts/services.sh start    start both (idempotent: a running service is left alone), wait until both accept
#                                connections, write .run/services.env; fails with the service log's tail otherwise
#   scripts/services.sh stop [postgresql] [sshd]
#                                stop both (or only the named ones) by their pids
#   scripts/services.sh status   print what runs (exit 0 when both run, 3 otherwise)
#
# Runs as root. Everything lives under <repo>/.run/, except what another account must reach (the postgres user's
# data and socket folder, the SFTP user's home and authorized_keys): that lives in /var/tmp/dqt-<hash of the repo
# path>/, because the repository may sit below a folder those accounts cannot traverse; .run/state points at it.
#
# .run/services.env (KEY=VALUE, absolute paths): DQT_TEST_DATABASE_URL, DQT_TEST_SFTP_HOST, DQT_TEST_SFTP_PORT,
# DQT_TEST_SFTP_USER, DQT_TEST_SFTP_KEY, DQT_TEST_SFTP_RSA_KEY, DQT_TEST_SFTP_RSA_KEY_PASSPHRASE_FILE,
# DQT_TEST_SFTP_KNOWN_HOSTS, DQT_TEST_SFTP_ROOT.
# Ports 55432 (PostgreSQL) and 2222 (sshd) and the SFTP account dqtsftp can be changed with DQT_SERVICES_PG_PORT,
# DQT_SERVICES_SSH_PORT and DQT_SERVICES_SFTP_USER (for a second checkout's services beside the first).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
RUN="$ROOT/.run"
STATE="/var/tmp/dqt-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"

PG_BIN=/usr/lib/postgresql/15/bin
PG_PORT=${DQT_SERVICES_PG_PORT:-55432}
PG_DATA="$STATE/pgdata"
PG_SOCK="$STATE/pgsock"
PG_LOG="$STATE/postgres.log"

SSH_PORT=${DQT_SERVICES_SSH_PORT:-2222}
SSH_USER=${DQT_SERVICES_SFTP_USER:-dqtsftp}
SSH_DIR="$RUN/sshd"
SSH_CONFIG="$SSH_DIR/sshd_config"
SSH_HOST_KEY="$SSH_DIR/ssh_host_ed25519_key"
SSH_PID="$SSH_DIR/sshd.pid"
SSH_LOG="$SSH_DIR/sshd.log"
SFTP_HOME="$STATE/sftp-home"
AUTHORIZED_KEYS="$STATE/authorized_keys"
KEYS="$RUN/keys"
ED25519_KEY="$KEYS/id_ed25519"
RSA_KEY="$KEYS/id_rsa"
RSA_PASSPHRASE="$KEYS/id_rsa.passphrase"
KNOWN_HOSTS="$KEYS/known_hosts"
ENV_FILE="$RUN/services.env"

die() {
    echo "services.sh: $*" >&2
    exit 1
}

as_postgres() { runuser -u postgres -- "$@"; }

[[ $(id -u) -eq 0 ]] || die "run as root (PostgreSQL is started through runuser, sshd needs root)"

# ---------------------------------------------------------------------------------------------------------------
# PostgreSQL

pg_running() { [[ -f "$PG_DATA/PG_VERSION" ]] && as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

pg_start() {
    [[ -x "$PG_BIN/pg_ctl" ]] || die "PostgreSQL 15 is not installed ($PG_BIN): run scripts/setup.sh"
    if pg_running; then
        return 0
    fi
    mkdir -p "$STATE"
    chmod 0755 "$STATE"
    if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
        rm -rf "$PG_DATA"
        install -d -o postgres -g postgres -m 0700 "$PG_DATA"
        if ! as_postgres "$PG_BIN/initdb" -D "$PG_DATA" --no-sync -A trust -E UTF8 --locale=C.UTF-8 -U postgres \
            >"$STATE/initdb.log" 2>&1; then
            tail -n 20 "$STATE/initdb.log" >&2
            die "initdb failed (log: $STATE/initdb.log)"
        fi
        cat >>"$PG_DATA/postgresql.conf" <<CONF

# scripts/services.sh: a throwaway test server on loopback, tuned for speed rather than durability.
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_SOCK'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 500
CONF
    fi
    install -d -o postgres -g postgres -m 0755 "$PG_SOCK"
    touch "$PG_LOG" && chown postgres:postgres "$PG_LOG"
    rm -f "$PG_DATA/postmaster.pid.stale"
    if ! as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 30 start >/dev/null 2>&1; then
        echo "--- last lines of $PG_LOG" >&2
        tail -n 30 "$PG_LOG" >&2
        die "PostgreSQL did not start on 127.0.0.1:$PG_PORT"
    fi
}

pg_wait() {
    for _ in $(seq 1 100); do
        if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres; then
            return 0
        fi
        sleep 0.1
    done
    echo "--- last lines of $PG_LOG" >&2
    tail -n 30 "$PG_LOG" >&2
    die "PostgreSQL does not accept connections on 127.0.0.1:$PG_PORT"
}

pg_stop() {
    if pg_running; then
        as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null
        echo "postgresql: stopped"
    fi
}

# ---------------------------------------------------------------------------------------------------------------
# OpenSSH sshd (SFTP)

sshd_pid() {
    [[ -f "$SSH_PID" ]] || return 1
    local pid
    pid=$(<"$SSH_PID")
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

sshd_prepare() {
    mkdir -p "$SSH_DIR" "$KEYS" "$STATE"
    chmod 0700 "$KEYS"
    chmod 0755 "$STATE"
    mkdir -p /run/sshd
    chmod 0755 /run/sshd

    # Keys are made once and kept: the known_hosts entry and the tests' keys stay valid across restarts.
    [[ -f "$SSH_HOST_KEY" ]] || ssh-keygen -q -t ed25519 -N '' -C "dqt-test-sshd" -f "$SSH_HOST_KEY"
    [[ -f "$ED25519_KEY" ]] || ssh-keygen -q -t ed25519 -N '' -C "dqt-test-ed25519" -f "$ED25519_KEY"
    if [[ ! -f "$RSA_KEY" || ! -s "$RSA_PASSPHRASE" ]]; then
        rm -f "$RSA_KEY" "$RSA_KEY.pub"
        (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '\n/+=' >"$RSA_PASSPHRASE")
        ssh-keygen -q -t rsa -b 3072 -N "$(<"$RSA_PASSPHRASE")" -C "dqt-test-rsa" -f "$RSA_KEY"
    fi
    chmod 0600 "$ED25519_KEY" "$RSA_KEY" "$RSA_PASSPHRASE" "$SSH_HOST_KEY"

    # The SFTP account: no password (locked for passwords, unlocked for keys with UsePAM no), home in $STATE.
    if ! id -u "$SSH_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir "$SFTP_HOME" --shell /usr/sbin/nologin "$SSH_USER"
    elif [[ $(getent passwd "$SSH_USER" | cut -d: -f6) != "$SFTP_HOME" ]]; then
        usermod --home "$SFTP_HOME" "$SSH_USER"
    fi
    usermod -p '*' "$SSH_USER"
    # Owned by the SFTP user and writable by everyone (not sticky), so both root (tests placing files directly) and
    # the SFTP user (renames, uploads) can create and rename entries in it.
    mkdir -p "$SFTP_HOME"
    chown "$SSH_USER:" "$SFTP_HOME"
    chmod 0777 "$SFTP_HOME"

    cat "$ED25519_KEY.pub" "$RSA_KEY.pub" >"$AUTHORIZED_KEYS"
    chmod 0644 "$AUTHORIZED_KEYS"
    printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 "$SSH_HOST_KEY.pub")" >"$KNOWN_HOSTS"
    chmod 0644 "$KNOWN_HOSTS"

    cat >"$SSH_CONFIG.new" <<CONF
# scripts/services.sh: an SFTP-only sshd on loopback for tests and benchmarks.
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $SSH_HOST_KEY
PidFile $SSH_PID
AuthorizedKeysFile $AUTHORIZED_KEYS
AllowUsers $SSH_USER
PubkeyAuthentication yes
# libssh2 1.10 (Debian 12) signs with RSA user keys only as ssh-rsa (SHA-1), which OpenSSH 8.8+ refuses by default;
# accepting it here is what lets the RSA-with-passphrase test run. Host keys stay ed25519.
PubkeyAcceptedAlgorithms +ssh-rsa
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin no
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
MaxSessions 20
MaxStartups 50:30:100
LogLevel INFO
Subsystem sftp internal-sftp
CONF
    SSH_CONFIG_CHANGED=0
    if ! cmp -s "$SSH_CONFIG.new" "$SSH_CONFIG"; then
        SSH_CONFIG_CHANGED=1
    fi
    mv "$SSH_CONFIG.new" "$SSH_CONFIG"
}

sshd_start() {
    [[ -x /usr/sbin/sshd ]] || die "openssh-server is not installed: run scripts/setup.sh"
    sshd_prepare
    local pid
    if pid=$(sshd_pid); then
        if ((SSH_CONFIG_CHANGED)); then
            # A newer configuration from this script: sshd re-executes itself with it on SIGHUP.
            /usr/sbin/sshd -t -f "$SSH_CONFIG" || die "sshd refuses its new configuration $SSH_CONFIG"
            kill -HUP "$pid"
            sleep 0.3
        fi
        return 0
    fi
    rm -f "$SSH_PID"
    if ! /usr/sbin/sshd -t -f "$SSH_CONFIG" >"$SSH_LOG" 2>&1; then
        cat "$SSH_LOG" >&2
        die "sshd refuses its configuration $SSH_CONFIG"
    fi
    # -D keeps it in the foreground of its own session; the pid file is written once it listens.
    setsid /usr/sbin/sshd -D -e -f "$SSH_CONFIG" </dev/null >>"$SSH_LOG" 2>&1 &
}

sshd_wait() {
    local pid=""
    for _ in $(seq 1 100); do
        pid=$(sshd_pid || true)
        [[ -n "$pid" ]] && break
        sleep 0.1
    done
    if [[ -z "$pid" ]]; then
        echo "--- last lines of $SSH_LOG" >&2
        tail -n 30 "$SSH_LOG" >&2
        die "sshd did not start on 127.0.0.1:$SSH_PORT"
    fi
    # A real SFTP login with the test key and strict host-key checking proves the whole chain.
    local out
    for _ in $(seq 1 50); do
        if out=$(echo pwd | sftp -q -b - -P "$SSH_PORT" -i "$ED25519_KEY" -o BatchMode=yes -o IdentitiesOnly=yes \
            -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null \
            -o ConnectTimeout=5 "$SSH_USER@127.0.0.1" 2>&1); then
            return 0
        fi
        sleep 0.1
    done
    echo "$out" >&2
    echo "--- last lines of $SSH_LOG" >&2
    tail -n 30 "$SSH_LOG" >&2
    die "sshd runs (pid $pid) but an SFTP login as $SSH_USER on 127.0.0.1:$SSH_PORT fails"
}

sshd_stop() {
    local pid
    if pid=$(sshd_pid); then
        kill "$pid"
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        rm -f "$SSH_PID"
        echo "sshd: stopped"
    fi
}

# ---------------------------------------------------------------------------------------------------------------
# Services that another checkout's services.sh left on our ports (a previous clone, a colleague's copy). In CI, or
# when that checkout no longer exists, they are stopped; otherwise start fails naming them.

may_take_over() { # $1: the other checkout's root
    [[ "${CI:-}" == "true" || ! -d "$1" ]]
}

stop_foreign_postgres() {
    local pidfile dir owner pid port
    for pidfile in /var/tmp/dqt-*/pgdata/postmaster.pid; do
        [[ -f "$pidfile" ]] || continue
        dir=$(dirname "$pidfile")
        [[ "$dir" == "$PG_DATA" ]] && continue
        pid=$(sed -n 1p "$pidfile")
        port=$(sed -n 4p "$pidfile")
        [[ "$port" == "$PG_PORT" ]] && kill -0 "$pid" 2>/dev/null || continue
        owner=$(cat "$(dirname "$dir")/owner" 2>/dev/null || echo "unknown")
        if may_take_over "$owner"; then
            echo "services.sh: stopping PostgreSQL left on port $PG_PORT by $owner" >&2
            as_postgres "$PG_BIN/pg_ctl" -D "$dir" -m fast -w -t 30 stop >/dev/null || kill "$pid"
        else
            die "port $PG_PORT is used by PostgreSQL from $owner ($dir): run its scripts/services.sh stop first"
        fi
    done
}

stop_foreign_sshd() {
    local proc cmdline config owner pid
    for proc in /proc/[0-9]*; do
        cmdline=$( { tr '\0' ' ' <"$proc/cmdline"; } 2>/dev/null) || continue
        [[ "$cmdline" == *"/.run/sshd/sshd_config"* ]] || continue
        config=$(grep -o -- '-f [^ ]*/\.run/sshd/sshd_config' <<<"$cmdline" | head -n1 | cut -c4-)
        [[ -n "$config" && "$config" != "$SSH_CONFIG" ]] || continue
        # Only the listener (its pid is in the config's PidFile) and only when it uses our port.
        [[ ! -f "$config" ]] || grep -qx "Port $SSH_PORT" "$config" || continue
        pid=${proc#/proc/}
        owner=${config%/.run/sshd/sshd_config}
        if may_take_over "$owner"; then
            echo "services.sh: stopping sshd left on port $SSH_PORT by $owner" >&2
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
        else
            die "port $SSH_PORT is used by sshd from $owner: run its scripts/services.sh stop first"
        fi
    done
}

# ---------------------------------------------------------------------------------------------------------------

write_env() {
    local tmp="$ENV_FILE.tmp"
    cat >"$tmp" <<ENV
DQT_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:$PG_PORT/postgres
DQT_TEST_SFTP_HOST=127.0.0.1
DQT_TEST_SFTP_PORT=$SSH_PORT
DQT_TEST_SFTP_USER=$SSH_USER
DQT_TEST_SFTP_KEY=$ED25519_KEY
DQT_TEST_SFTP_RSA_KEY=$RSA_KEY
DQT_TEST_SFTP_RSA_KEY_PASSPHRASE_FILE=$RSA_PASSPHRASE
DQT_TEST_SFTP_KNOWN_HOSTS=$KNOWN_HOSTS
DQT_TEST_SFTP_ROOT=$SFTP_HOME
ENV
    mv "$tmp" "$ENV_FILE"
}

status() {
    local rc=0 pid
    if pg_running; then
        echo "postgresql: running on 127.0.0.1:$PG_PORT (pid $(head -n1 "$PG_DATA/postmaster.pid"), data $PG_DATA)"
    else
        echo "postgresql: stopped"
        rc=3
    fi
    if pid=$(sshd_pid); then
        echo "sshd: running on 127.0.0.1:$SSH_PORT (pid $pid, user $SSH_USER, home $SFTP_HOME)"
    else
        echo "sshd: stopped"
        rc=3
    fi
    [[ -f "$ENV_FILE" ]] && echo "env: $ENV_FILE"
    return $rc
}

case "${1:-}" in
start)
    mkdir -p "$RUN" "$STATE"
    ln -sfn "$STATE" "$RUN/state"
    echo "$ROOT" >"$STATE/owner"
    pg_running || stop_foreign_postgres
    sshd_pid >/dev/null || stop_foreign_sshd
    pg_start
    sshd_start
    pg_wait
    sshd_wait
    write_env
    status
    ;;
stop)
    shift
    targets=("${@:-postgresql sshd}")
    for target in ${targets[*]}; do
        case "$target" in
        postgresql | postgres) pg_stop ;;
        sshd | sftp) sshd_stop ;;
        *) die "stop: unknown service '$target' (postgresql, sshd)" ;;
        esac
    done
    ;;
status)
    status
    ;;
*)
    echo "usage: $0 start | stop [postgresql] [sshd] | status" >&2
    exit 2
    ;;
esac
