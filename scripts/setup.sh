#!/usr/bin/env bash
# Installs the Debian packages the project needs to build and test on a fresh Debian 12 machine.
# Idempotent and quiet: when every package is already installed it only checks and returns (well under a second).
# Needs root (or sudo) only when something is missing.
set -euo pipefail

PACKAGES=(
    libssh2-1-dev      # CLibSSH2 (SFTP module)
    libpq-dev          # CLibPQ (ledger and API store)
    pkg-config         # system-library targets resolve libssh2/libpq through pkg-config
    postgresql         # PostgreSQL 15 server for the tests (scripts/services.sh)
    openssh-server     # sshd with internal-sftp for the SFTP tests and benchmark
    openssh-client     # ssh-keygen, sftp (benchmark baseline), ssh-keyscan
    chromium           # headless HTML checks of the mapping report
    python3            # helper scripts and benchmarks
    python3-venv       # the contract test's schemathesis venv (scripts/contract-test.sh)
    time               # GNU time: the tests' peak-memory measure of a child process (DQTTesting.ChildProcess)
    libcurl4-openssl-dev # CLibCurl: the mailbox's IMAP over TLS
    libssl-dev         # CLibCrypto: S/MIME verification (OpenSSL CMS)
    dovecot-imapd      # a private IMAP server on loopback for the mailbox tests (scripts/services.sh)
    postfix            # a private MTA on loopback: notices submitted over TLS, delivered into the test mailbox
    opendkim           # the receiving MTA's DKIM verifier (a milter in front of the private Postfix) and the tests' signer
    opendkim-tools     # opendkim-genkey: the test partner's DKIM key
    openssl            # test CAs and server certificates: the mail services' and the HTTPS source's (DQTTesting.TestCA)
    ca-certificates
    git
)

missing=()
for package in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup.sh: missing packages (${missing[*]}) and not root, no sudo" >&2; exit 1; }
    SUDO=(sudo -n)
fi

log=$(mktemp /tmp/dqt-setup.XXXXXX.log)
echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# No system mail service may start on install (port 25, 143, 993): the tests run private ones on their own ports.
POLICY=/usr/sbin/policy-rc.d
if [[ ! -e "$POLICY" ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod 0755 "$POLICY"
    trap '"${SUDO[@]}" rm -f "$POLICY"' EXIT
fi
# Postfix asks how to configure the system's mail on install: the tests run a private instance with its own config.
echo 'postfix postfix/main_mailer_type select No configuration' | "${SUDO[@]}" debconf-set-selections
if ! "${SUDO[@]}" apt-get update -qq >"$log" 2>&1 \
    || ! "${SUDO[@]}" apt-get install -y -qq -o Dpkg::Use-Pty=0 "${missing[@]}" >>"$log" 2>&1; then
    echo "setup.sh: apt-get failed; last lines of $log:" >&2
    tail -n 30 "$log" >&2
    exit 1
fi
rm -f "$log"
echo "setup.sh: done"
