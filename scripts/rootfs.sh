#!/usr/bin/env bash
# A Debian 13 (trixie, glibc 2.41) root for the current stack on hosts whose glibc is older than 2.39
# (ml-metadata 1.21 needs GLIBCXX_3.4.32, TFDV 1.21 needs GLIBC_2.38). Needs root.
#
#   scripts/rootfs.sh build          build the root, or reuse a finished one (about 2 minutes the first time)
#   scripts/rootfs.sh run CMD...     run CMD inside it, in the same directory as here
#   scripts/rootfs.sh path           print where the root is
#
# The root lives in .rootfs/trixie (gitignored; GLASSBOX_ROOTFS moves it). `run` mounts /proc, /sys, /dev, the
# repository (at the same path, so a venv built inside has the same paths inside and out) and ../shared into
# it, in a private mount namespace: the mounts are gone when the command ends, however it ends, and the trap
# unmounts them as well. Python 3.12: trixie ships only 3.13 and no registry reachable here serves a CPython
# build, so the host's pyenv 3.12 (PYTHON312 overrides) is copied into the root at the path it has here;
# its extension modules load against trixie's libssl3t64, libffi8, libsqlite3-0, ... installed below.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
root=${GLASSBOX_ROOTFS:-$repo/.rootfs/trixie}
suite=trixie
# g++: TFDV 1.21 needs pyfarmhash, which has no wheel and is built from source. python3-dev: trixie's
# Python headers, and through libpython3.13-stdlib the shared libraries the copied 3.12's modules need.
packages=(g++ make git ca-certificates python3-dev python3-venv
          libssl3t64 libffi8 libsqlite3-0 libbz2-1.0 liblzma5 zlib1g libreadline8t64 libncursesw6
          libexpat1 libuuid1 libnsl2 libgdbm6t64
          chromium graphviz mariadb-server-core mariadb-client-core postgresql)  # as .ci/run installs on a host: the
          # report, site and lineage-graph tests, the metadata store server the concurrent-runs test starts, and the
          # PostgreSQL server of the decision-record tests (postgresql: 17 here, in /usr/lib/postgresql/17/bin)

say() { echo "rootfs: $*" >&2; }
die() { echo "rootfs: $*" >&2; exit 1; }

find_python312() {
  local candidate
  if [ -n "${PYTHON312:-}" ]; then candidate=$PYTHON312
  elif command -v pyenv >/dev/null 2>&1; then
    candidate=$(ls -d "$(pyenv root)"/versions/3.12*/bin/python3.12 2>/dev/null | sort -V | tail -n 1)
  fi
  [ -n "${candidate:-}" ] && [ -x "$candidate" ] ||
    die "the current stack needs a Python 3.12 to copy into the root and none was found: install one (pyenv install 3.12) or point PYTHON312 at its bin/python3.12."
  # The installation's prefix: bin/python3.12 -> prefix.
  cd "$(dirname "$(readlink -f "$candidate")")/.." && pwd
}

# Everything that decides what the root holds; a root built from another recipe gets the packages again.
recipe() { printf '%s\n' "$suite" "${packages[@]}" "$(find_python312)"; }

mounts=()
unmount_all() {
  local i
  for (( i=${#mounts[@]}-1; i>=0; i-- )); do umount -l "${mounts[i]}" 2>/dev/null || true; done
  mounts=()
}
bind() {  # bind SOURCE TARGET-INSIDE-ROOT [ro]
  mkdir -p "$root$2"
  mount --rbind "$1" "$root$2"
  mounts+=("$root$2")
  if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$root$2" 2>/dev/null || true; fi
}
mount_all() {
  mount -t proc proc "$root/proc"; mounts+=("$root/proc")
  bind /sys /sys
  bind /dev /dev
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  cp -L /etc/hosts "$root/etc/hosts"
  bind "$repo" "$repo"
  # A git worktree keeps its objects in the main checkout's .git.
  local common
  common=$(git -C "$repo" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
  case "$common" in ""|"$repo"/*) ;; *) bind "$common" "$common" ;; esac
  if [ -d "$repo/../shared" ]; then bind "$(cd "$repo/../shared" && pwd)" "$(cd "$repo/../shared" && pwd)" ro; fi
}

in_root() {  # in_root CMD...: a clean environment, so the host's pip settings (local wheel folders) stay out.
  local keep=() name
  for name in TERM CI COLUMNS PIP_DEFAULT_TIMEOUT PIP_DISABLE_PIP_VERSION_CHECK $(compgen -e | grep -E "^GLASSBOX_" | grep -v "^GLASSBOX_ROOTFS_NS$" || true); do
    [ -n "${!name:-}" ] && keep+=("$name=${!name}")
  done
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    "${keep[@]}" "$@"
}

build() {
  local start stamp python_prefix
  start=$(date +%s)
  stamp=$root/etc/glassbox-rootfs
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(recipe | sha256sum | cut -d' ' -f1)" ]; then
    say "reusing $root (built $(date -r "$stamp" '+%F %T'))"
    return 0
  fi
  if [ ! -x "$root/usr/bin/apt-get" ]; then
    command -v debootstrap >/dev/null 2>&1 || {
      say "installing debootstrap on the host"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    }
    local mirror=${GLASSBOX_DEBIAN_MIRROR:-}
    [ -n "$mirror" ] || mirror=$(grep -h -o -E '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list.d/* /etc/apt/sources.list 2>/dev/null |
                                   head -n 1 | awk '{print $2}' || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    say "debootstrap --variant=minbase $suite into $root from $mirror (about 1 minute)"
    rm -rf "$root.partial"
    mkdir -p "$(dirname "$root")"
    debootstrap --variant=minbase "$suite" "$root.partial" "$mirror" > "$(dirname "$root")/debootstrap.log" 2>&1 ||
      die "debootstrap failed; the last lines of $(dirname "$root")/debootstrap.log: $(tail -n 3 "$(dirname "$root")/debootstrap.log")"
    mv "$root.partial" "$root"
  fi
  trap unmount_all EXIT INT TERM
  mount_all
  say "installing ${packages[*]} inside"
  # No service starts inside the root while packages install (policy-rc.d), and PostgreSQL makes no cluster of its
  # own: the tests initdb theirs in a temporary folder.
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
  chmod +x "$root/usr/sbin/policy-rc.d"
  mkdir -p "$root/etc/postgresql-common/createcluster.d"
  echo "create_main_cluster = false" > "$root/etc/postgresql-common/createcluster.d/glassbox.conf"
  in_root apt-get update -qq
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  rm -f "$root/usr/sbin/policy-rc.d"
  in_root apt-get clean
  # The host's CA bundle (it may hold certificates that Debian's does not) and pip configuration.
  cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  [ -f /etc/pip.conf ] && cp -L /etc/pip.conf "$root/etc/pip.conf"
  python_prefix=$(find_python312)
  say "copying $python_prefix into the root"
  rm -rf "${root:?}$python_prefix"
  mkdir -p "$root$(dirname "$python_prefix")"
  cp -a "$python_prefix" "$root$python_prefix"
  in_root "$python_prefix/bin/python3.12" -c 'import ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid, venv, ensurepip' ||
    die "the copied Python 3.12 cannot load its own modules inside the root"
  unmount_all
  trap - EXIT INT TERM
  recipe | sha256sum | cut -d' ' -f1 > "$stamp"
  say "built $root in $(( $(date +%s) - start )) s ($(du -sh --one-file-system "$root" | cut -f1))"
}

run() {
  [ -f "$root/etc/glassbox-rootfs" ] || die "no finished root at $root: run scripts/rootfs.sh build first."
  local here
  here=$(pwd)
  case "$here" in "$repo"|"$repo"/*) ;; *) here=$repo ;; esac
  trap unmount_all EXIT
  trap 'unmount_all; exit 130' INT
  trap 'unmount_all; exit 143' TERM
  mount_all
  local rc=0
  in_root /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$here" "$@" || rc=$?
  return "$rc"
}

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot and mounts)."
case "${1:-}" in
  path) echo "$root" ;;
  build|run)
    # A private mount namespace: whatever happens to this script, its mounts never outlive it.
    if [ -z "${GLASSBOX_ROOTFS_NS:-}" ]; then
      GLASSBOX_ROOTFS_NS=1 exec unshare --mount --propagation private -- "$0" "$@"
    fi
    cmd=$1; shift
    if [ "$cmd" = build ]; then build; else [ $# -gt 0 ] || die "run needs a command"; run "$@"; fi
    ;;
  *) die "usage: scripts/rootfs.sh build | run CMD... | path" ;;
esac
