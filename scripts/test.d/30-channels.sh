#!/usr/bin/env bash
# Report channels against real servers on 127.0.0.1: SMTP (STARTTLS + AUTH, implicit TLS +
# AUTH, plain), an HTTP webhook receiver, and headless Chromium for the HTML report. Installs
# what it needs, makes a test CA and server certificate, starts the servers, runs the channel
# tests that need them, the quick-start example, and stops the servers.
set -euo pipefail
cd "${PROCESSES_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"

work="$PWD/target/channels-test"
mkdir -p "$work"

# System packages: only when something is missing, so a second run is quick.
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v openssl >/dev/null || missing+=(openssl)
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# aiosmtpd in a private virtual environment (Debian's Python refuses system-wide pip).
venv="$work/venv"
if ! "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check aiosmtpd
fi

# A test CA and a leaf certificate for localhost / 127.0.0.1 (rustls refuses a self-signed
# certificate that is its own CA). Made again when missing or about to expire.
certs="$work/certs"
if ! openssl x509 -checkend 86400 -noout -in "$certs/leaf.pem" 2>/dev/null; then
  rm -rf "$certs" && mkdir -p "$certs"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -keyout "$certs/ca.key" -out "$certs/ca.pem" -subj "/CN=processes test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$certs/leaf.key" -out "$certs/leaf.csr" -subj "/CN=localhost" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$certs/leaf.ext"
  openssl x509 -req -in "$certs/leaf.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" \
    -CAcreateserial -days 825 -extfile "$certs/leaf.ext" -out "$certs/leaf.pem" 2>/dev/null
fi

# Fresh mail and request folders for this run.
rm -rf "$work/mail" "$work/hooks" "$work"/*.ready
mkdir -p "$work/mail" "$work/hooks"
user="reports@example.com"
password="pw-$RANDOM-$RANDOM"
secret="whsec-$RANDOM-$RANDOM"

pids=()
stop_servers() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
}
trap stop_servers EXIT

"$venv/bin/python" tests/support/smtp_server.py "$certs/leaf.pem" "$certs/leaf.key" \
  "$work/mail" "$work/smtp.ready" "$user" "$password" >"$work/smtp.log" 2>&1 &
pids+=($!)
"$venv/bin/python" tests/support/webhook_server.py "$work/hooks" "$work/webhook.ready" \
  "$secret" >"$work/webhook.log" 2>&1 &
pids+=($!)

for ready in smtp webhook; do
  for _ in $(seq 100); do
    [[ -s "$work/$ready.ready" ]] && break
    sleep 0.1
  done
  if [[ ! -s "$work/$ready.ready" ]]; then
    echo "the $ready test server did not start:" >&2
    cat "$work/$ready.log" >&2
    exit 1
  fi
done

# Everything the tests need to find the servers, in one file named by one variable.
"$venv/bin/python" - "$work" "$user" "$password" "$secret" "$(command -v chromium)" <<'PY'
import json, sys
work, user, password, secret, chromium = sys.argv[1:6]
smtp = json.load(open(f"{work}/smtp.ready"))
webhook = json.load(open(f"{work}/webhook.ready"))
config = {
    "smtp": dict(smtp, host="127.0.0.1", user=user, password=password,
                 ca=f"{work}/certs/ca.pem", maildir=f"{work}/mail"),
    "webhook": {"url": f"http://127.0.0.1:{webhook['port']}", "records": f"{work}/hooks",
                "secret": secret},
    "chromium": chromium,
}
json.dump(config, open(f"{work}/servers.json", "w"), indent=2)
PY
export PROCESSES_CHANNEL_SERVERS="$work/servers.json"

cargo test --quiet --test channels_email --test channels_webhook --test channels_browser \
  -- --include-ignored

# The quick-start example leaves its report as an HTML file.
rm -f target/quickstart-report.html
cargo run --quiet --example quickstart
test -s target/quickstart-report.html
grep -q 'data-task="audit"' target/quickstart-report.html
