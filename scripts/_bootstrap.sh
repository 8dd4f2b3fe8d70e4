# Shared by scripts/demo and scripts/test: make .venv with trunkctl installed.
# Works from a fresh Debian 12 as root: installs python3-venv with apt when needed.

die() { printf 'error: %s\n' "$1" >&2; [ -n "${2:-}" ] && printf 'next step: %s\n' "$2" >&2; exit 3; }

require_root() {
    [ "$(id -u)" = 0 ] || die "the sandbox needs root (debootstrap, chroot, mount)" \
        "run it as root: sudo $0"
}

apt_install() {
    # apt_install PKG... — install Debian packages quietly, updating the index once.
    if [ -z "${_APT_UPDATED:-}" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed" \
            "check the network and /etc/apt/sources.list, then run again"
        _APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
        || die "apt-get install $* failed" "run 'apt-get install $*' to see why"
}

python_ok() {
    command -v python3 >/dev/null && python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'
}

ensure_venv() {
    # ensure_venv [EXTRAS] — .venv with trunkctl (editable) and the given extras.
    local extras="${1:-}"
    python_ok || apt_install python3 python3-venv
    python_ok || die "trunkctl needs Python >= 3.11" "install python3 (3.11+) and run again"
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv 2>/dev/null || { rm -rf .venv; apt_install python3-venv; python3 -m venv .venv; } \
            || die "could not create .venv" "apt-get install python3-venv, then run again"
    fi
    local spec="."
    [ -n "$extras" ] && spec=".[$extras]"
    .venv/bin/python -m pip install -q --disable-pip-version-check -e "$spec" \
        || die "pip could not install trunkctl" "check access to PyPI, then run again"
}
