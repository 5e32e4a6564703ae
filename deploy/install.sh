#!/bin/sh
# Installs or upgrades the Tidemark agent on a systemd host. Idempotent: run it again to upgrade
# the binary and the unit; the config, env file, keys and data are never overwritten.
#
#   sudo deploy/install.sh [--binary PATH] [--prefix DIR] [--no-restart] [--root DIR]
#
#   --binary PATH  the tidemark binary (default: .build/release/tidemark of this checkout; build it
#                  first with `swift build -c release --static-swift-stdlib --product tidemark`)
#   --prefix DIR   where bin/tidemark goes (default /usr/local; the .deb uses /usr)
#   --no-restart   on upgrade, do not restart a running agent (restart it yourself later)
#   --root DIR     install into DIR as if it were / (packaging and tests): no user is created, no
#                  ownership changed, systemctl not called
set -eu

here=$(cd "$(dirname "$0")" && pwd)
binary="$here/../.build/release/tidemark"
prefix=/usr/local
restart=yes
root=

while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary=$2; shift 2 ;;
        --prefix) prefix=$2; shift 2 ;;
        --no-restart) restart=no; shift ;;
        --root) root=$2; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

say() { printf '%s\n' "$*"; }
fail() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

[ -x "$binary" ] || fail "no executable at $binary (build it: swift build -c release --static-swift-stdlib --product tidemark)"
if [ -z "$root" ]; then
    [ "$(id -u)" -eq 0 ] || fail "run as root (sudo)"
    command -v systemctl >/dev/null || fail "systemctl not found: this script is for systemd hosts"
fi

etc="$root/etc/tidemark"
state="$root/var/lib/tidemark"
bindir="$root$prefix/bin"
unitdir="$root/etc/systemd/system"

# owner USER:GROUP PATH… — a no-op under --root (files stay owned by whoever runs the script).
owner() {
    spec=$1; shift
    [ -n "$root" ] || chown "$spec" "$@"
}

# 1. The service account: a system user with no shell and no home of its own.
if [ -z "$root" ]; then
    getent group tidemark >/dev/null || groupadd --system tidemark
    if ! getent passwd tidemark >/dev/null; then
        useradd --system --gid tidemark --home-dir /var/lib/tidemark --no-create-home \
            --shell /usr/sbin/nologin --comment "Tidemark agent" tidemark
        say "created system user tidemark"
    fi
fi

# 2. Directories. Config and keys: root-owned, group-readable by the service (it cannot change
#    them). Data: owned by the service, closed to others.
mkdir -p "$etc/keys" "$state/recordings" "$bindir" "$unitdir"
chmod 0750 "$etc" "$etc/keys" "$state" "$state/recordings"
owner root:tidemark "$etc" "$etc/keys"
owner tidemark:tidemark "$state" "$state/recordings"

# 3. Upgrade: note the running version, and take an online backup of the store before the new
#    binary migrates it (an older binary refuses a store a newer one migrated).
upgrading=no
was_active=no
if [ -x "$bindir/tidemark" ]; then
    upgrading=yes
    if [ -z "$root" ] && systemctl is-active --quiet tidemark; then was_active=yes; fi
    if [ -f "$state/tidemark.sqlite" ] && command -v sqlite3 >/dev/null; then
        backup="$state/tidemark.sqlite.before-upgrade-$(date -u +%Y%m%dT%H%M%SZ)"
        sqlite3 "$state/tidemark.sqlite" ".backup '$backup'"
        chmod 0640 "$backup"
        owner tidemark:tidemark "$backup"
        say "backed up the store to $backup"
    fi
fi

# 4. The binary, replaced atomically (a running agent keeps its old file until it restarts).
cp "$binary" "$bindir/tidemark.new"
chmod 0755 "$bindir/tidemark.new"
owner root:root "$bindir/tidemark.new"
mv -f "$bindir/tidemark.new" "$bindir/tidemark"
# The resource bundles (the API's OpenAPI document, the dashboard's web pages): the binary looks
# for them beside itself.
for bundle in Tidemark_API Tidemark_Dashboard; do
    resources="$(dirname "$binary")/$bundle.resources"
    if [ -d "$resources" ]; then
        rm -rf "$bindir/$bundle.resources"
        cp -R "$resources" "$bindir/$bundle.resources"
        chmod -R u+rwX,go+rX,go-w "$bindir/$bundle.resources"
    else
        say "warning: no $resources beside the binary; tidemark will not start without it"
    fi
done

# 5. The unit, pointing at this binary. Local changes belong in `systemctl edit tidemark` (a drop-in),
#    which this script never touches.
sed "s#^ExecStart=/usr/bin/tidemark #ExecStart=$prefix/bin/tidemark #" "$here/tidemark.service" \
    > "$unitdir/tidemark.service.new"
chmod 0644 "$unitdir/tidemark.service.new"
mv -f "$unitdir/tidemark.service.new" "$unitdir/tidemark.service"

# 6. Config and env: installed once. On later runs the new example sits beside the live file.
if [ -f "$etc/config.json" ]; then
    cp "$here/config.example.json" "$etc/config.example.json"
    chmod 0640 "$etc/config.example.json"
    owner root:tidemark "$etc/config.example.json"
else
    cp "$here/config.example.json" "$etc/config.json"
    chmod 0640 "$etc/config.json"
    owner root:tidemark "$etc/config.json"
    say "installed $etc/config.json (edit it: see deploy/README.md)"
fi
if [ ! -f "$etc/env" ]; then
    token="tm_$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    umask 077
    cat > "$etc/env" <<EOF
# Environment of the tidemark service (systemd EnvironmentFile, read by systemd as root before it
# starts the agent). Root only: it holds the admin token. TIDEMARK_* variables override config.json.
TIDEMARK_ADMIN_TOKEN=$token
EOF
    chmod 0600 "$etc/env"
    owner root:root "$etc/env"
    say "generated the admin token into $etc/env (root only; read it with: sudo cat $etc/env)"
fi

# 7. systemd.
if [ -z "$root" ]; then
    systemctl daemon-reload
    if [ "$was_active" = yes ]; then
        if [ "$restart" = yes ]; then
            systemctl restart tidemark
            say "upgraded and restarted: $("$bindir/tidemark" --version 2>/dev/null || echo tidemark)"
        else
            say "upgraded; the running agent still runs the old binary until: systemctl restart tidemark"
        fi
    fi
fi

if [ "$upgrading" = no ]; then
    cat <<EOF

Tidemark is installed. Next steps:
  1. Keys for CURVE (EAs connecting over a network):  deploy/keys.sh --ea <name>…
  2. Edit $etc/config.json (bridge and HTTP addresses, key files; see deploy/README.md).
  3. Start it now and at every boot:                  systemctl enable --now tidemark
  4. Check:                                           systemctl status tidemark; journalctl -u tidemark -f
                                                      curl http://127.0.0.1:8080/health
EOF
fi
