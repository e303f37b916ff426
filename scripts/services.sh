#!/usr/bin/env bash
# Real services on loopback for the tests, demos and benchmarks: PostgreSQL 15, an OpenSSH SFTP server, a Dovecot
# IMAP server (TLS only, certificates from a test CA) and a Postfix MTA taking submissions over TLS and delivering the
# test domain's mail into the Dovecot account's Maildir.
#
#   scripts/services.sh start    start them (idempotent: a running service is left alone), wait until each accepts
#                                connections, write .run/services.env; fails with the service log's tail otherwise
#   scripts/services.sh stop [postgresql] [sshd] [dovecot] [postfix] [opendkim]
#                                stop all (or only the named ones) by their pids
#   scripts/services.sh status   print what runs (exit 0 when all run, 3 otherwise)
#   scripts/services.sh stopped  the names of those not running, one a line: a script that is about to `start` keeps
#                                them, to stop what it started and leave a colleague's running services alone
#
# Runs as root. Everything lives under <repo>/.run/, except what another account must reach (the postgres user's
# data and socket folder, the SFTP user's home and authorized_keys): that lives in /var/tmp/dqt-<hash of the repo
# path>/, because the repository may sit below a folder those accounts cannot traverse; .run/state points at it.
#
# .run/services.env (KEY=VALUE, absolute paths): DQT_TEST_DATABASE_URL, DQT_TEST_SFTP_HOST, DQT_TEST_SFTP_PORT,
# DQT_TEST_SFTP_USER, DQT_TEST_SFTP_KEY, DQT_TEST_SFTP_RSA_KEY, DQT_TEST_SFTP_RSA_KEY_PASSPHRASE_FILE,
# DQT_TEST_SFTP_KNOWN_HOSTS, DQT_TEST_SFTP_ROOT, DQT_TEST_IMAP_URL (implicit TLS), DQT_TEST_IMAP_STARTTLS_URL,
# DQT_TEST_IMAP_USER, DQT_TEST_IMAP_PASSWORD_FILE, DQT_TEST_MAIL_CA (the test CA's certificate), DQT_TEST_SMTP_URL
# (submission with STARTTLS), DQT_TEST_SMTPS_URL (implicit TLS), DQT_TEST_SMTP_MAILBOX (the address delivered into the
# Dovecot account), DQT_TEST_SMTP_REFUSED (an address the MTA refuses, 550), DQT_TEST_SMTP_DEFERRED (one it defers, 450).
# Postfix listens on 10587 (STARTTLS) and 10465 (implicit TLS): DQT_SERVICES_SMTP_PORT, DQT_SERVICES_SMTPS_PORT.
# Every message Postfix takes passes an OpenDKIM verifier (a milter on 127.0.0.1:10891, DQT_SERVICES_DKIM_PORT) that
# records its result in an Authentication-Results field under DQT_TEST_DKIM_AUTHSERV_ID; DQT_TEST_DKIM_DOMAIN is a test
# partner's domain whose key the verifier knows, and DQT_TEST_DKIM_SIGNER_CONFIG an OpenDKIM configuration that signs
# for it (`opendkim -x <it> -t <message>` prints the DKIM-Signature field). DQT_TEST_SMTP_NO_VERIFIER_URL (STARTTLS,
# port 10589, DQT_SERVICES_SMTP_NO_VERIFIER_PORT) is the same Postfix with its verifier unreachable: it must answer 4xx.
# Ports 55432 (PostgreSQL), 2222 (sshd), 10993 (IMAPS), 10143 (IMAP with STARTTLS) and the accounts dqtsftp and
# dqtmail can be changed with DQT_SERVICES_PG_PORT, DQT_SERVICES_SSH_PORT, DQT_SERVICES_IMAPS_PORT,
# DQT_SERVICES_IMAP_PORT, DQT_SERVICES_SFTP_USER and DQT_SERVICES_MAIL_USER (for a second checkout's services beside
# the first).
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

IMAPS_PORT=${DQT_SERVICES_IMAPS_PORT:-10993}
IMAP_PORT=${DQT_SERVICES_IMAP_PORT:-10143}
MAIL_USER=${DQT_SERVICES_MAIL_USER:-dqtmail}
MAIL_KEYS="$RUN/mail"
MAIL_CA="$MAIL_KEYS/ca.crt"
MAIL_CA_KEY="$MAIL_KEYS/ca.key"
MAIL_CERT="$MAIL_KEYS/server.crt"
MAIL_KEY="$MAIL_KEYS/server.key"
MAIL_PASSWORD="$MAIL_KEYS/imap.password"
DOVECOT_DIR="$STATE/dovecot"
DOVECOT_CONFIG="$DOVECOT_DIR/dovecot.conf"
DOVECOT_USERS="$DOVECOT_DIR/users"
DOVECOT_LOG="$DOVECOT_DIR/dovecot.log"
DOVECOT_PID="$DOVECOT_DIR/run/master.pid"
MAIL_HOME="$STATE/mail-home"

SMTP_PORT=${DQT_SERVICES_SMTP_PORT:-10587}
SMTPS_PORT=${DQT_SERVICES_SMTPS_PORT:-10465}
SMTP_NO_VERIFIER_PORT=${DQT_SERVICES_SMTP_NO_VERIFIER_PORT:-10589}
MAIL_DOMAIN=dqt.test
POSTFIX_DIR="$STATE/postfix"
POSTFIX_CONFIG="$POSTFIX_DIR/etc"
POSTFIX_QUEUE="$POSTFIX_DIR/queue"
POSTFIX_LOG="$POSTFIX_DIR/postfix.log"

DKIM_PORT=${DQT_SERVICES_DKIM_PORT:-10891}
DKIM_AUTHSERV_ID="mail.$MAIL_DOMAIN"
DKIM_PARTNER_DOMAIN="partner.$MAIL_DOMAIN"
DKIM_SELECTOR=test
DKIM_DIR="$STATE/opendkim"
DKIM_CONFIG="$DKIM_DIR/verifier.conf"
DKIM_RECORDS="$DKIM_DIR/dns-records"
DKIM_PID="$DKIM_DIR/run/opendkim.pid"
DKIM_KEYS="$RUN/mail/dkim"
DKIM_PARTNER_KEY="$DKIM_KEYS/$DKIM_PARTNER_DOMAIN.private"
DKIM_SIGNER_CONFIG="$DKIM_KEYS/signer.conf"

die() {
    echo "services.sh: $*" >&2
    exit 1
}

# stop_pid NAME PID [PIDFILE]: SIGTERM, up to 5 s for the process to end, the pid file removed, "NAME: stopped".
stop_pid() {
    kill "$2"
    for _ in $(seq 1 50); do
        kill -0 "$2" 2>/dev/null || break
        sleep 0.1
    done
    [[ -n "${3:-}" ]] && rm -f "$3"
    echo "$1: stopped"
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
    if pid=$(sshd_pid); then stop_pid sshd "$pid" "$SSH_PID"; fi
}

# ---------------------------------------------------------------------------------------------------------------
# Dovecot (IMAP over TLS: implicit on IMAPS_PORT, STARTTLS on IMAP_PORT; plaintext logins refused)

dovecot_pid() {
    [[ -f "$DOVECOT_PID" ]] || return 1
    local pid
    pid=$(<"$DOVECOT_PID")
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# A test CA and a server certificate for 127.0.0.1 and localhost, made once and kept (tests trust the CA file).
mail_certificates() {
    mkdir -p "$MAIL_KEYS"
    chmod 0755 "$MAIL_KEYS"
    if [[ ! -s "$MAIL_CA" || ! -s "$MAIL_CA_KEY" ]]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=DQT test mail CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
            -keyout "$MAIL_CA_KEY" -out "$MAIL_CA" 2>/dev/null || die "openssl could not make the test mail CA"
        rm -f "$MAIL_CERT"
    fi
    if [[ ! -s "$MAIL_CERT" || ! -s "$MAIL_KEY" ]]; then
        local csr="$MAIL_KEYS/server.csr" ext="$MAIL_KEYS/server.ext"
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$ext"
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$MAIL_KEY" -out "$csr" 2>/dev/null \
            && openssl x509 -req -in "$csr" -CA "$MAIL_CA" -CAkey "$MAIL_CA_KEY" -CAcreateserial -days 3650 \
                -extfile "$ext" -out "$MAIL_CERT" 2>/dev/null || die "openssl could not make the mail server certificate"
        rm -f "$csr" "$ext"
    fi
    chmod 0600 "$MAIL_CA_KEY" "$MAIL_KEY"
    chmod 0644 "$MAIL_CA" "$MAIL_CERT"
}

dovecot_prepare() {
    mail_certificates
    mkdir -p "$DOVECOT_DIR/run" "$DOVECOT_DIR/state"
    chmod 0755 "$STATE" "$DOVECOT_DIR"
    if [[ ! -s "$MAIL_PASSWORD" ]]; then
        (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '\n/+=' >"$MAIL_PASSWORD")
    fi
    chmod 0600 "$MAIL_PASSWORD"
    # The mailbox account: a system user with no login; its mail lives in MAIL_HOME (Maildir).
    if ! id -u "$MAIL_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir "$MAIL_HOME" --shell /usr/sbin/nologin "$MAIL_USER"
    fi
    mkdir -p "$MAIL_HOME"
    chown "$MAIL_USER:" "$MAIL_HOME"
    chmod 0700 "$MAIL_HOME"
    local uid gid
    uid=$(id -u "$MAIL_USER")
    gid=$(id -g "$MAIL_USER")
    (umask 077 && printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$MAIL_USER" "$(<"$MAIL_PASSWORD")" "$uid" "$gid" "$MAIL_HOME" >"$DOVECOT_USERS")
    chown root:dovecot "$DOVECOT_USERS"
    chmod 0640 "$DOVECOT_USERS"
    cat >"$DOVECOT_CONFIG.new" <<CONF
# scripts/services.sh: a private Dovecot on loopback for the mailbox tests; TLS with a test CA, one account.
base_dir = $DOVECOT_DIR/run
state_dir = $DOVECOT_DIR/state
instance_name = dqt-test-dovecot
protocols = imap
listen = 127.0.0.1
log_path = $DOVECOT_LOG
ssl = required
ssl_cert = <$MAIL_CERT
ssl_key = <$MAIL_KEY
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
first_valid_uid = $uid
last_valid_uid = $uid
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = passwd-file
  args = $DOVECOT_USERS
}
userdb {
  driver = passwd-file
  args = $DOVECOT_USERS
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
CONF
    DOVECOT_CONFIG_CHANGED=0
    if ! cmp -s "$DOVECOT_CONFIG.new" "$DOVECOT_CONFIG"; then
        DOVECOT_CONFIG_CHANGED=1
    fi
    mv "$DOVECOT_CONFIG.new" "$DOVECOT_CONFIG"
}

dovecot_start() {
    [[ -x /usr/sbin/dovecot ]] || die "dovecot-imapd is not installed: run scripts/setup.sh"
    dovecot_prepare
    local pid
    if pid=$(dovecot_pid); then
        if ((DOVECOT_CONFIG_CHANGED)); then
            /usr/sbin/dovecot -c "$DOVECOT_CONFIG" reload || die "dovecot refuses its new configuration $DOVECOT_CONFIG"
            sleep 0.3
        fi
        return 0
    fi
    if ! /usr/bin/doveconf -c "$DOVECOT_CONFIG" >/dev/null 2>"$DOVECOT_DIR/doveconf.log"; then
        cat "$DOVECOT_DIR/doveconf.log" >&2
        die "dovecot refuses its configuration $DOVECOT_CONFIG"
    fi
    # Dovecot's master detaches itself; its pid file is written once it listens.
    /usr/sbin/dovecot -c "$DOVECOT_CONFIG" </dev/null >>"$DOVECOT_LOG" 2>&1 || {
        tail -n 30 "$DOVECOT_LOG" >&2
        die "dovecot did not start"
    }
}

dovecot_wait() {
    # A real login over each TLS path, verified against the test CA, proves the whole chain.
    local out url
    for url in "imaps://127.0.0.1:$IMAPS_PORT/" "imap://127.0.0.1:$IMAP_PORT/"; do
        for _ in $(seq 1 50); do
            if out=$(printf 'user = "%s:%s"\n' "$MAIL_USER" "$(<"$MAIL_PASSWORD")" \
                | curl -sS --ssl-reqd --cacert "$MAIL_CA" --max-time 5 -K - "$url" 2>&1); then
                continue 2
            fi
            sleep 0.1
        done
        echo "$out" >&2
        echo "--- last lines of $DOVECOT_LOG" >&2
        tail -n 30 "$DOVECOT_LOG" >&2
        die "dovecot runs but an IMAP login as $MAIL_USER on $url fails"
    done
}

dovecot_stop() {
    local pid
    if pid=$(dovecot_pid); then stop_pid dovecot "$pid"; fi
}

# ---------------------------------------------------------------------------------------------------------------
# Postfix (submission over TLS on loopback: STARTTLS on SMTP_PORT, implicit TLS on SMTPS_PORT). Mail for
# MAIL_USER@MAIL_DOMAIN goes into the Dovecot account's Maildir through Postfix's virtual delivery agent (Dovecot is
# not touched); refused@ and deferred@ are answered 550 and 450 at RCPT, for the sender's refusal and retry tests;
# anything else is refused (no relaying, no other destination). Only loopback clients may submit (mynetworks).

postfix_pid() {
    local file="$POSTFIX_QUEUE/pid/master.pid" pid
    [[ -f "$file" ]] || return 1
    pid=$(tr -d ' ' <"$file")
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

postfix_prepare() {
    mail_certificates
    mkdir -p "$POSTFIX_CONFIG" "$POSTFIX_QUEUE" "$POSTFIX_DIR/data"
    chmod 0755 "$STATE" "$POSTFIX_DIR" "$POSTFIX_QUEUE"
    chown postfix: "$POSTFIX_DIR/data"
    local uid gid
    uid=$(id -u "$MAIL_USER")
    gid=$(id -g "$MAIL_USER")
    printf '%s@%s Maildir/\n' "$MAIL_USER" "$MAIL_DOMAIN" >"$POSTFIX_CONFIG/mailboxes"
    printf 'refused@%s 550 5.7.1 refused by the test MTA\ndeferred@%s 450 4.2.0 deferred by the test MTA\n' \
        "$MAIL_DOMAIN" "$MAIL_DOMAIN" >"$POSTFIX_CONFIG/recipient-access"
    cat >"$POSTFIX_CONFIG/main.cf" <<CONF
# scripts/services.sh: a private Postfix on loopback for the notice-sending tests.
compatibility_level = 3.6
queue_directory = $POSTFIX_QUEUE
data_directory = $POSTFIX_DIR/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $POSTFIX_LOG
myhostname = mail.$MAIL_DOMAIN
mydomain = $MAIL_DOMAIN
myorigin = $MAIL_DOMAIN
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
relayhost =
default_transport = error:5.7.1 the test MTA delivers only to $MAIL_DOMAIN
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = check_recipient_access texthash:$POSTFIX_CONFIG/recipient-access, permit_mynetworks, reject
smtpd_client_restrictions = permit_mynetworks, reject
virtual_mailbox_domains = $MAIL_DOMAIN
virtual_mailbox_base = $MAIL_HOME
virtual_mailbox_maps = texthash:$POSTFIX_CONFIG/mailboxes
virtual_uid_maps = static:$uid
virtual_gid_maps = static:$gid
virtual_minimum_uid = $uid
smtpd_tls_cert_file = $MAIL_CERT
smtpd_tls_key_file = $MAIL_KEY
smtpd_tls_security_level = encrypt
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_protocols = >=TLSv1.2
message_size_limit = 52428800
virtual_mailbox_limit = 0
biff = no
# Every message passes the DKIM verifier; when it cannot answer the message waits (4xx) rather than arriving
# unverified. An Authentication-Results field naming our authserv-id can only be the verifier's own: any such field
# that came from outside is dropped before the milter sees the message (milters receive it after header_checks, and
# the field the milter adds is not subject to them).
smtpd_milters = inet:127.0.0.1:$DKIM_PORT
non_smtpd_milters = inet:127.0.0.1:$DKIM_PORT
milter_default_action = tempfail
header_checks = regexp:$POSTFIX_CONFIG/header-checks
CONF
    # Any Authentication-Results field naming our id anywhere (before or after comments, folded or not) goes: a
    # stricter pattern would leave a way round it, and a foreign field is worth nothing to the bridge anyway.
    printf '/^Authentication-Results:.*%s/ IGNORE\n' "${DKIM_AUTHSERV_ID//./\\.}" >"$POSTFIX_CONFIG/header-checks"
    # Debian's master.cf with every service out of chroot (the queue is not a chroot jail) and the listeners on our ports.
    # A third listener differs only in naming a verifier socket that never exists: proof that with the verifier
    # unreachable main.cf's milter_default_action holds mail back (4xx) instead of letting it through unverified.
    awk -v smtp="127.0.0.1:$SMTP_PORT" -v smtps="127.0.0.1:$SMTPS_PORT" -v down="127.0.0.1:$SMTP_NO_VERIFIER_PORT" \
        -v nowhere="unix:$POSTFIX_DIR/no-verifier.socket" '
        /^#/ || /^[ \t]/ || NF < 8 { next }
        $1 == "smtp" && $2 == "inet" {
            print smtp " inet n - n - - smtpd"
            print smtps " inet n - n - - smtpd -o smtpd_tls_wrappermode=yes"
            print down " inet n - n - - smtpd -o smtpd_milters=" nowhere
            next
        }
        { $5 = "n"; print }' /usr/share/postfix/master.cf.dist >"$POSTFIX_CONFIG/master.cf"
}

postfix_start() {
    [[ -x /usr/sbin/postfix ]] || die "postfix is not installed: run scripts/setup.sh"
    id -u "$MAIL_USER" >/dev/null 2>&1 || die "the mail account $MAIL_USER is missing (dovecot_prepare makes it)"
    postfix_prepare
    if postfix_pid >/dev/null; then
        /usr/sbin/postfix -c "$POSTFIX_CONFIG" reload >/dev/null 2>&1 || die "postfix refuses its new configuration $POSTFIX_CONFIG"
        return 0
    fi
    if ! /usr/sbin/postfix -c "$POSTFIX_CONFIG" start >"$POSTFIX_DIR/start.log" 2>&1; then
        cat "$POSTFIX_DIR/start.log" >&2
        tail -n 30 "$POSTFIX_LOG" >&2 2>/dev/null || true
        die "postfix did not start"
    fi
}

postfix_wait() {
    # A real EHLO, STARTTLS and RCPT verified against the test CA proves the chain (no message is sent).
    local out url
    for url in "smtp://127.0.0.1:$SMTP_PORT" "smtps://127.0.0.1:$SMTPS_PORT"; do
        for _ in $(seq 1 50); do
            if out=$(curl -sS --ssl-reqd --cacert "$MAIL_CA" --max-time 5 -X NOOP "$url" 2>&1); then
                continue 2
            fi
            sleep 0.1
        done
        echo "$out" >&2
        echo "--- last lines of $POSTFIX_LOG" >&2
        tail -n 30 "$POSTFIX_LOG" >&2 2>/dev/null || true
        die "postfix runs but a TLS session on $url fails"
    done
}

postfix_stop() {
    if postfix_pid >/dev/null; then
        /usr/sbin/postfix -c "$POSTFIX_CONFIG" stop >/dev/null 2>&1 || true
        echo "postfix: stopped"
    fi
}

# ---------------------------------------------------------------------------------------------------------------
# OpenDKIM, the receiving MTA's DKIM verifier (Mode v, a milter of the private Postfix), running as the opendkim user.
# It adds an Authentication-Results field under DKIM_AUTHSERV_ID to every message, signed or not (dkim=pass, fail,
# none...), and never refuses one: the bridge refuses with a reason it records. The signer's public key comes from a
# data set (TestDNSData: DNS names to TXT record contents) instead of the internet's DNS: the record is parsed and the
# signature verified exactly as for a key fetched from DNS; only where the TXT record comes from differs. A production
# verifier has no TestDNSData and reads the partner's key from DNS (runbooks/mailbox.md). One difference shows: a
# selector the data set lacks is a failed DNS query to OpenDKIM, so such a message waits (4xx) instead of arriving.
#
# The test partner's key (RSA 2048) is made once and kept in DKIM_KEYS with a sign-mode configuration for the tests.

dkim_pid() {
    [[ -f "$DKIM_PID" ]] || return 1
    local pid
    pid=$(tr -d ' \n' <"$DKIM_PID")
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

dkim_prepare() {
    mkdir -p "$DKIM_DIR/run" "$DKIM_KEYS"
    chmod 0755 "$STATE" "$DKIM_DIR"
    chmod 0700 "$DKIM_KEYS"
    chown opendkim:opendkim "$DKIM_DIR/run"
    if [[ ! -s "$DKIM_PARTNER_KEY" ]]; then
        (umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$DKIM_PARTNER_KEY" 2>/dev/null) \
            || die "openssl could not make the test partner's DKIM key"
    fi
    chmod 0600 "$DKIM_PARTNER_KEY"
    local public
    public=$(openssl pkey -in "$DKIM_PARTNER_KEY" -pubout -outform DER | base64 -w0) || die "cannot read $DKIM_PARTNER_KEY"
    printf '%s._domainkey.%s v=DKIM1;k=rsa;p=%s\n' "$DKIM_SELECTOR" "$DKIM_PARTNER_DOMAIN" "$public" >"$DKIM_RECORDS.new"
    chmod 0644 "$DKIM_RECORDS.new"
    cat >"$DKIM_SIGNER_CONFIG" <<CONF
# scripts/services.sh: the test partner's signer, used by the tests in OpenDKIM's test mode (opendkim -x this -t file).
Mode s
Domain $DKIM_PARTNER_DOMAIN
Selector $DKIM_SELECTOR
KeyFile $DKIM_PARTNER_KEY
SignatureAlgorithm rsa-sha256
Canonicalization relaxed/relaxed
SoftwareHeader no
Syslog no
# A throwaway key; the checkout may sit below a folder others can write to, which OpenDKIM otherwise refuses.
RequireSafeKeys false
CONF
    cat >"$DKIM_CONFIG.new" <<CONF
# scripts/services.sh: the private Postfix's DKIM verifier on loopback.
Mode v
Socket inet:$DKIM_PORT@127.0.0.1
PidFile $DKIM_PID
UserID opendkim:opendkim
Background yes
AuthservID $DKIM_AUTHSERV_ID
AlwaysAddARHeader yes
SoftwareHeader no
Syslog no
# Loopback clients are partners' relays here, not our own outgoing mail: without this, mail from 127.0.0.1 (the
# default InternalHosts) would be taken for ours and not verified. 192.0.2.1 is a documentation address.
InternalHosts 192.0.2.1
TestDNSData file:$DKIM_RECORDS
On-DNSError tempfail
On-InternalError tempfail
CONF
    DKIM_CONFIG_CHANGED=0
    if ! cmp -s "$DKIM_CONFIG.new" "$DKIM_CONFIG" || ! cmp -s "$DKIM_RECORDS.new" "$DKIM_RECORDS"; then
        DKIM_CONFIG_CHANGED=1
    fi
    mv "$DKIM_CONFIG.new" "$DKIM_CONFIG"
    mv "$DKIM_RECORDS.new" "$DKIM_RECORDS"
}

dkim_start() {
    [[ -x /usr/sbin/opendkim ]] || die "opendkim is not installed: run scripts/setup.sh"
    dkim_prepare
    local pid
    if pid=$(dkim_pid); then
        # A changed configuration or key record restarts it: the records are a data set read once at start. Postfix
        # holds (4xx) what arrives in between, so nothing passes unverified.
        ((DKIM_CONFIG_CHANGED)) || return 0
        dkim_stop >/dev/null
    fi
    if ! /usr/sbin/opendkim -n -x "$DKIM_CONFIG" >"$DKIM_DIR/check.log" 2>&1; then
        cat "$DKIM_DIR/check.log" >&2
        die "opendkim refuses its configuration $DKIM_CONFIG"
    fi
    rm -f "$DKIM_PID"
    /usr/sbin/opendkim -x "$DKIM_CONFIG" </dev/null >"$DKIM_DIR/opendkim.log" 2>&1 || {
        cat "$DKIM_DIR/opendkim.log" >&2
        die "opendkim did not start"
    }
}

dkim_wait() {
    for _ in $(seq 1 100); do
        if dkim_pid >/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$DKIM_PORT") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    cat "$DKIM_DIR/opendkim.log" >&2 2>/dev/null || true
    die "opendkim does not listen on 127.0.0.1:$DKIM_PORT"
}

dkim_stop() {
    local pid
    if pid=$(dkim_pid); then stop_pid opendkim "$pid" "$DKIM_PID"; fi
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
DQT_TEST_IMAP_URL=imaps://127.0.0.1:$IMAPS_PORT
DQT_TEST_IMAP_STARTTLS_URL=imap://127.0.0.1:$IMAP_PORT
DQT_TEST_IMAP_USER=$MAIL_USER
DQT_TEST_IMAP_PASSWORD_FILE=$MAIL_PASSWORD
DQT_TEST_MAIL_CA=$MAIL_CA
DQT_TEST_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT
DQT_TEST_SMTPS_URL=smtps://127.0.0.1:$SMTPS_PORT
DQT_TEST_SMTP_MAILBOX=$MAIL_USER@$MAIL_DOMAIN
DQT_TEST_SMTP_REFUSED=refused@$MAIL_DOMAIN
DQT_TEST_SMTP_DEFERRED=deferred@$MAIL_DOMAIN
DQT_TEST_DKIM_AUTHSERV_ID=$DKIM_AUTHSERV_ID
DQT_TEST_DKIM_DOMAIN=$DKIM_PARTNER_DOMAIN
DQT_TEST_DKIM_SIGNER_CONFIG=$DKIM_SIGNER_CONFIG
DQT_TEST_SMTP_NO_VERIFIER_URL=smtp://127.0.0.1:$SMTP_NO_VERIFIER_PORT
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
    if pid=$(dovecot_pid); then
        echo "dovecot: running on 127.0.0.1:$IMAPS_PORT (IMAPS) and :$IMAP_PORT (STARTTLS) (pid $pid, user $MAIL_USER, mail $MAIL_HOME)"
    else
        echo "dovecot: stopped"
        rc=3
    fi
    if pid=$(postfix_pid); then
        echo "postfix: running on 127.0.0.1:$SMTP_PORT (STARTTLS) and :$SMTPS_PORT (TLS) (pid $pid, delivers $MAIL_USER@$MAIL_DOMAIN)"
    else
        echo "postfix: stopped"
        rc=3
    fi
    if pid=$(dkim_pid); then
        echo "opendkim: running on 127.0.0.1:$DKIM_PORT (pid $pid, verifies for Postfix as $DKIM_AUTHSERV_ID, knows $DKIM_PARTNER_DOMAIN's key)"
    else
        echo "opendkim: stopped"
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
    dovecot_start
    dkim_start
    dkim_wait
    postfix_start
    pg_wait
    sshd_wait
    dovecot_wait
    postfix_wait
    write_env
    status
    ;;
stop)
    shift
    targets=("${@:-postgresql sshd dovecot postfix opendkim}")
    for target in ${targets[*]}; do
        case "$target" in
        postgresql | postgres) pg_stop ;;
        sshd | sftp) sshd_stop ;;
        dovecot | imap) dovecot_stop ;;
        postfix | smtp) postfix_stop ;;
        opendkim | dkim) dkim_stop ;;
        *) die "stop: unknown service '$target' (postgresql, sshd, dovecot, postfix, opendkim)" ;;
        esac
    done
    ;;
status)
    status
    ;;
stopped)
    # The services not running now, one name a line: what a script about to `start` will have started (and so stops).
    status 2>/dev/null | sed -n 's/^\([a-z]*\): stopped$/\1/p'
    ;;
*)
    echo "usage: $0 start | stop [postgresql] [sshd] [dovecot] [postfix] [opendkim] | status | stopped" >&2
    exit 2
    ;;
esac
