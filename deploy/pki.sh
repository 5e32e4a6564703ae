#!/bin/sh
# The feed's certificates (openssl): a CA, the dashboard's server certificate, one client
# certificate per agent host. The dashboard trusts agents whose certificate chains to the CA (its
# --client-ca), and each agent trusts the dashboard through the same CA (its feedCA). An agent's
# identity at the dashboard is its certificate's subject (CN=agent-NAME), so keep NAME stable per
# host: the dashboard's accounts belong to that subject.
# Idempotent: an existing key or certificate is kept unless a --rotate option names it.
#
#   deploy/pki.sh [--dir DIR] [--dashboard-host NAME]… [--agent NAME]… [--days N]
#                 [--rotate-ca] [--rotate-dashboard] [--rotate-agent NAME]…
#
#   --dir DIR              where the files go (default /etc/tidemark/pki)
#   --dashboard-host NAME  a DNS name or IP address the agents use to reach the dashboard (its
#                          certificate's subjectAltName); repeat for several (default: localhost,
#                          127.0.0.1, ::1)
#   --agent NAME           make a client certificate for the agent host NAME (letters, digits, - _ .)
#   --days N               validity of new leaf certificates (default 825); the CA gets 3650
#   --rotate-ca            a new CA key and certificate; the old CA stays in ca-bundle.pem (both are
#                          trusted) until you remove it, so agents and dashboard move over one by one
#   --rotate-dashboard     a new dashboard key and certificate (signed by the current CA)
#   --rotate-agent NAME    a new key and certificate for the agent NAME, same subject: the agent
#                          keeps its identity, so its accounts and feed position carry over
#
# Layout:  DIR/ca.key, DIR/ca.pem           the current CA (keep ca.key offline if you can)
#          DIR/ca-bundle.pem               every CA still trusted (dashboard --client-ca, agent feedCA)
#          DIR/dashboard.key, dashboard.pem the dashboard's server key and certificate (chain)
#          DIR/agents/NAME.key, NAME.pem   each agent's client key and certificate (chain)
#          DIR/retired/                    replaced files, kept for the record
set -eu

dir=/etc/tidemark/pki
hosts=
agents=
days=825
rotate_ca=no
rotate_dashboard=no
rotate_agents=

while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir=$2; shift 2 ;;
        --dashboard-host) hosts="$hosts $2"; shift 2 ;;
        --agent) agents="$agents $2"; shift 2 ;;
        --days) days=$2; shift 2 ;;
        --rotate-ca) rotate_ca=yes; shift ;;
        --rotate-dashboard) rotate_dashboard=yes; shift ;;
        --rotate-agent) rotate_agents="$rotate_agents $2"; agents="$agents $2"; shift 2 ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        *) echo "pki.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ -n "$hosts" ] || hosts="localhost 127.0.0.1 ::1"
case "$days" in ''|*[!0-9]*) echo "pki.sh: --days must be a number" >&2; exit 2 ;; esac

umask 077
mkdir -p "$dir/agents" "$dir/retired"
stamp=$(date -u +%Y%m%dT%H%M%SZ)

retire() { # FILE...: moves existing files aside
    for file in "$@"; do
        [ -e "$file" ] && mv "$file" "$dir/retired/$(basename "$file").$stamp"
    done
    return 0
}

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# The CA.
if [ "$rotate_ca" = yes ] && [ -e "$dir/ca.pem" ]; then
    cp "$dir/ca.pem" "$dir/retired/ca.pem.$stamp"
    rm -f "$dir/ca.key" "$dir/ca.pem"
fi
if [ ! -e "$dir/ca.key" ] || [ ! -e "$dir/ca.pem" ]; then
    new_key "$dir/ca.key"
    openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 3650 -subj "/O=Tidemark/CN=Tidemark feed CA $stamp" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$dir/ca.pem"
    echo "pki.sh: made a CA: $dir/ca.pem"
fi
# The bundle: the current CA plus every earlier one still in it (a rotation adds, never drops).
touch "$dir/ca-bundle.pem"
if ! grep -qF "$(sed -n 2p "$dir/ca.pem")" "$dir/ca-bundle.pem"; then
    cat "$dir/ca.pem" >> "$dir/ca-bundle.pem"
fi

sign() { # NAME KEY CSRSUBJECT EXTFILE OUT
    openssl req -new -key "$2" -subj "$3" -out "$dir/$1.csr"
    openssl x509 -req -in "$dir/$1.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days "$days" -sha256 \
        -extfile "$4" -out "$5.leaf" 2>/dev/null
    cat "$5.leaf" "$dir/ca.pem" > "$5"
    rm -f "$dir/$1.csr" "$5.leaf" "$4"
}

# The dashboard's server certificate.
if [ "$rotate_dashboard" = yes ] || [ "$rotate_ca" = yes ]; then retire "$dir/dashboard.key" "$dir/dashboard.pem"; fi
if [ ! -e "$dir/dashboard.pem" ]; then
    san=
    for host in $hosts; do
        case "$host" in
            *[!0-9.:a-fA-F]*) san="$san,DNS:$host" ;;
            *) san="$san,IP:$host" ;;
        esac
    done
    ext="$dir/dashboard.ext"
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' \
        "${san#,}" > "$ext"
    new_key "$dir/dashboard.key"
    sign dashboard "$dir/dashboard.key" "/O=Tidemark/CN=tidemark-dashboard" "$ext" "$dir/dashboard.pem"
    echo "pki.sh: made the dashboard certificate: $dir/dashboard.pem ($hosts)"
fi

# One client certificate per agent host.
for name in $agents; do
    case "$name" in *[!A-Za-z0-9._-]*|'') echo "pki.sh: agent name '$name' may hold letters, digits, - _ . only" >&2; exit 2 ;; esac
    case " $rotate_agents " in *" $name "*) retire "$dir/agents/$name.key" "$dir/agents/$name.pem" ;; esac
    [ "$rotate_ca" = yes ] && retire "$dir/agents/$name.key" "$dir/agents/$name.pem"
    [ -e "$dir/agents/$name.pem" ] && continue
    ext="$dir/agents/$name.ext"
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' > "$ext"
    new_key "$dir/agents/$name.key"
    sign "agents/$name" "$dir/agents/$name.key" "/O=Tidemark/CN=agent-$name" "$ext" "$dir/agents/$name.pem"
    echo "pki.sh: made the certificate of agent $name: $dir/agents/$name.pem (subject CN=agent-$name)"
done
rm -f "$dir/ca.srl"
chmod 0644 "$dir"/*.pem "$dir"/agents/*.pem 2>/dev/null || true
