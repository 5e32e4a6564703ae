#!/bin/sh
# Builds a release binary and a Debian package of the Tidemark agent with dpkg-deb.
#
#   deploy/build-deb.sh [--version VERSION] [--out DIR] [--binary PATH]
#
#   --version VERSION  package version (default: 0.0.0~git<commit date>.<short hash>)
#   --out DIR          where the .deb goes (default: .build/deb)
#   --binary PATH      package this binary instead of building one
#   DEB_MAINTAINER     environment: the Maintainer field ("Name <email>")
#
# The Swift standard library and Foundation are linked statically, so the package needs no Swift
# toolchain on the host; it depends on the system libraries the binary links (libzmq5, libsqlite3-0,
# libc6, libstdc++6, libgcc-s1), read off the binary with ldd and dpkg -S.
#
# Layout: /usr/bin/tidemark (and its resource bundles /usr/bin/Tidemark_API.resources, /usr/bin/Tidemark_Dashboard.resources), /lib/systemd/system/tidemark.service, /etc/tidemark/config.json
# (a conffile: upgrades keep local edits), /usr/share/tidemark/ (keys.sh, challenge templates),
# /usr/share/doc/tidemark/ (README.md, config.example.json).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
version=
out="$repo/.build/deb"
binary=

while [ $# -gt 0 ]; do
    case "$1" in
        --version) version=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --binary) binary=$2; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "build-deb.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

fail() { printf 'build-deb.sh: %s\n' "$*" >&2; exit 1; }
for tool in dpkg-deb dpkg ldd objdump; do command -v "$tool" >/dev/null || fail "$tool not found"; done

if [ -z "$version" ]; then
    if commit=$(git -C "$repo" log -1 --format='%cd.%h' --date=format:'%Y%m%d' 2>/dev/null); then
        version="0.0.0~git$commit"
    else
        version="0.0.0~local"
    fi
fi
printf '%s' "$version" | grep -Eq '^[0-9][A-Za-z0-9.+~-]*$' || fail "not a Debian version: $version"
arch=$(dpkg --print-architecture)

# 1. The binary.
if [ -z "$binary" ]; then
    (cd "$repo" && swift build -c release --static-swift-stdlib --product tidemark)
    binary="$(cd "$repo" && swift build -c release --static-swift-stdlib --show-bin-path)/tidemark"
fi
[ -x "$binary" ] || fail "no executable at $binary"

# 2. The tree.
package="tidemark_${version}_${arch}"
stage="$out/$package"
rm -rf "$stage"
mkdir -p "$stage/DEBIAN" "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/etc/tidemark" \
    "$stage/usr/share/tidemark" "$stage/usr/share/doc/tidemark"
cp "$binary" "$stage/usr/bin/tidemark"
# Debug symbols make up most of a Swift binary; a package ships without them.
command -v strip >/dev/null && strip --strip-unneeded "$stage/usr/bin/tidemark"
chmod 0755 "$stage/usr/bin/tidemark"
# The resource bundles (the API's OpenAPI document, the dashboard's web pages): SwiftPM's
# Bundle.module looks beside the binary.
for bundle in Tidemark_API Tidemark_Dashboard; do
    resources="$(dirname "$binary")/$bundle.resources"
    [ -d "$resources" ] || fail "no $resources beside the binary"
    cp -R "$resources" "$stage/usr/bin/$bundle.resources"
done
cp "$here/tidemark.service" "$stage/lib/systemd/system/tidemark.service"
cp "$here/config.example.json" "$stage/etc/tidemark/config.json"
cp "$here/keys.sh" "$stage/usr/share/tidemark/keys.sh"
chmod 0755 "$stage/usr/share/tidemark/keys.sh"
if [ -d "$here/challenge-templates" ]; then cp -R "$here/challenge-templates" "$stage/usr/share/tidemark/"; fi
cp "$here/README.md" "$here/config.example.json" "$stage/usr/share/doc/tidemark/"
chmod -R u+rwX,go+rX,go-w "$stage"

# 3. Dependencies: the package of every shared library the binary names (NEEDED; not the
#    libraries those pull in, which their own packages depend on).
depends=
resolved=$(ldd "$stage/usr/bin/tidemark")
for soname in $(objdump -p "$stage/usr/bin/tidemark" | awk '$1 == "NEEDED" { print $2 }'); do
    library=$(printf '%s\n' "$resolved" | awk -v name="$soname" '$1 == name && $2 == "=>" { print $3 }')
    [ -n "$library" ] || library=$(printf '%s\n' "$resolved" | awk -v name="$soname" 'index($1, name) { print $1 }')
    owner=$(dpkg -S "$library" 2>/dev/null || dpkg -S "$(readlink -f "$library")" 2>/dev/null \
        || dpkg -S "/usr$library" 2>/dev/null || true)
    [ -n "$owner" ] || fail "no Debian package owns $soname ($library): is it linked from a local build?"
    name=${owner%%:*}
    case " $depends " in *" $name "*) ;; *) depends="$depends $name" ;; esac
done
for required in libzmq5 libsqlite3-0; do
    case " $depends " in *" $required "*) ;; *) depends="$depends $required" ;; esac
done
# glibc: at least the version built against (symbols are versioned upwards only).
libc_version=$(dpkg-query -W -f='${Version}' libc6 | sed 's/-[^-]*$//')
depends_field=$(for name in $depends; do
    if [ "$name" = libc6 ]; then printf 'libc6 (>= %s)\n' "$libc_version"; else printf '%s\n' "$name"; fi
done | sort -u | paste -sd, - | sed 's/,/, /g')

installed_size=$(du -sk "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<EOF
Package: tidemark
Version: $version
Architecture: $arch
Maintainer: ${DEB_MAINTAINER:-Tidemark maintainers <tidemark@localhost>}
Installed-Size: $installed_size
Depends: $depends_field, adduser
Section: net
Priority: optional
Description: MetaTrader bridge, per-tick equity engine and risk engine
 The Tidemark agent accepts MT4/MT5 terminals over ZeroMQ (CURVE), tracks equity at every
 tick, runs MetaApi-compatible trackers, prop-firm challenges and competitions, and serves
 a REST API with long polls, Server-Sent Events and signed webhooks. Runs as the systemd
 service tidemark under its own user.
EOF
echo /etc/tidemark/config.json > "$stage/DEBIAN/conffiles"

cat > "$stage/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    getent group tidemark >/dev/null || addgroup --system tidemark
    getent passwd tidemark >/dev/null || adduser --system --ingroup tidemark --home /var/lib/tidemark \
        --no-create-home --shell /usr/sbin/nologin --gecos "Tidemark agent" tidemark
    install -d -m 0750 -o root -g tidemark /etc/tidemark /etc/tidemark/keys
    install -d -m 0750 -o tidemark -g tidemark /var/lib/tidemark /var/lib/tidemark/recordings
    chown root:tidemark /etc/tidemark/config.json
    chmod 0640 /etc/tidemark/config.json
    if [ ! -f /etc/tidemark/env ]; then
        token="tm_$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        umask 077
        printf '%s\n' "# Environment of the tidemark service (read by systemd as root). Holds the admin token: root only." \
            "TIDEMARK_ADMIN_TOKEN=$token" > /etc/tidemark/env
        chown root:root /etc/tidemark/env
        chmod 0600 /etc/tidemark/env
        echo "tidemark: the admin token is in /etc/tidemark/env"
    fi
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        if [ -n "$2" ]; then
            # Upgrade: back the store up before the new binary migrates it, then restart if running.
            if [ -f /var/lib/tidemark/tidemark.sqlite ] && command -v sqlite3 >/dev/null; then
                backup="/var/lib/tidemark/tidemark.sqlite.before-$2"
                sqlite3 /var/lib/tidemark/tidemark.sqlite ".backup '$backup'" && chown tidemark:tidemark "$backup" \
                    && chmod 0640 "$backup" && echo "tidemark: store backed up to $backup"
                # Keep the three newest upgrade backups: each is a whole copy of the store.
                ls -1t /var/lib/tidemark/tidemark.sqlite.before-* 2>/dev/null | tail -n +4 | while read -r old; do
                    rm -f "$old" && echo "tidemark: removed the old upgrade backup $old"
                done
            fi
            systemctl try-restart tidemark.service
        else
            systemctl enable tidemark.service >/dev/null 2>&1 || true
            echo "tidemark: installed and enabled, not started. Make keys (/usr/share/tidemark/keys.sh),"
            echo "tidemark: edit /etc/tidemark/config.json, then: systemctl start tidemark"
        fi
    fi
fi
exit 0
EOF

cat > "$stage/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
# On removal stop the agent (gracefully: SIGTERM). On upgrade it keeps running; postinst restarts it.
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl stop tidemark.service || true
    systemctl disable tidemark.service >/dev/null 2>&1 || true
fi
exit 0
EOF

cat > "$stage/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
# Purge removes the configuration and keys but never the data: the store is the firm's record.
if [ "$1" = purge ]; then
    rm -rf /etc/tidemark
    echo "tidemark: /var/lib/tidemark (the store) and the user tidemark were kept; remove them by hand if wanted"
fi
exit 0
EOF
chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"

# 4. The package (root-owned files without needing root or fakeroot).
dpkg-deb --root-owner-group --build "$stage" "$out/$package.deb" >/dev/null
echo "built $out/$package.deb"
dpkg-deb --field "$out/$package.deb" Package Version Architecture Depends
