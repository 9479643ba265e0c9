#!/bin/sh
# Installs the Debian packages Meridian needs to build, run and test, and only those missing.
# Idempotent: a machine that has everything runs no apt-get at all. Needs root to install.
set -eu

packages="cmake g++ dpkg-dev systemd clang-16 libclang-rt-16-dev clang-format clang-tidy make pkg-config
libldns-dev libuv1-dev libtomlplusplus-dev catch2 libmaxminddb-dev libcurl4-openssl-dev nlohmann-json3-dev libcpp-httplib-dev libsystemd-dev
dnsutils bind9-dnsutils knot-dnsutils nsd knot ldnsutils python3 python3-dnspython python3-pytest python3-prometheus-client prometheus mmdb-bin chromium
etcd-server etcd-client bind9-utils dnsviz python3-cryptography"

missing=""
for p in $packages; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages:$missing (run as root to install them)" >&2
    exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing

# etcd-server's package starts a system etcd on 127.0.0.1:2379. The tests start their own on other
# ports and nothing here needs that one: stop it and keep it from starting at boot (on machines
# without systemd as init the package could not start it, and systemctl is not asked).
case " $missing " in
    *" etcd-server "*)
        if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
            systemctl disable --now etcd.service >/dev/null 2>&1 || true
        elif [ -x /etc/init.d/etcd ]; then
            /etc/init.d/etcd stop >/dev/null 2>&1 || true
            if command -v update-rc.d >/dev/null 2>&1; then
                update-rc.d etcd disable >/dev/null 2>&1 || true
            fi
        fi
        ;;
esac
