#!/usr/bin/env bash
# `make fresh-check`: the README's two commands, `make book` then `make test`, in a minimal Debian 12
# root, from a clone of the current commit (HEAD: uncommitted files do not count). Run it before a
# change to set-up is called done. Needs root (debootstrap, mount, chroot); takes a while (TeX Live
# and the Python packages are installed from scratch).
#
# The root is `debootstrap --variant=minbase bookworm` with python3, python3-venv, make, git and
# ca-certificates, from Debian's packages. That bootstrap is cached (pristine, never entered) in
# $FRESH_DIR/base; each check runs in a fresh copy of it, removed afterwards.
#
# PyTorch: the test extra pins torch==2.13.0. PyPI's Linux wheel of it is the CUDA build (about
# 0.5 GB, plus several GB of nvidia-*/cuda-* wheels it requires); the CPU build is only on
# PyTorch's own index. Machines that run the tests (this one, CI) carry the CPU wheel in a local
# wheel folder, which pip finds through its `find-links` setting. The check mirrors that: when
# $FRESH_WHEELS (default /opt/wheels) exists on the host, it is bind-mounted read-only at the same
# path in the root and PIP_FIND_LINKS points pip at it; nothing else of the host's pip set-up is
# carried over (everything else comes from PyPI). FRESH_WHEELS= (empty) runs without it, as a
# machine with no wheel folder would (and downloads the CUDA build).
#
# TLS: when the host trusts more certificate authorities than Debian's bundle (a TLS-inspecting
# proxy), pip in the root gets a copy of the host's bundle as PIP_CERT (FRESH_CA, default $PIP_CERT
# or /etc/ssl/certs/ca-certificates.crt; empty for none). apt uses Debian's http mirror.
#
# Variables: FRESH_DIR (default /var/tmp/dlexam-fresh), FRESH_MIRROR (default
# http://deb.debian.org/debian), FRESH_WHEELS (default /opt/wheels), FRESH_CA, FRESH_KEEP=1 keeps
# the root.
set -euo pipefail

SUITE=bookworm
INCLUDE=python3,python3-venv,make,git,ca-certificates
DIR=${FRESH_DIR:-/var/tmp/dlexam-fresh}
MIRROR=${FRESH_MIRROR:-http://deb.debian.org/debian}
WHEELS=${FRESH_WHEELS-/opt/wheels}
CA=${FRESH_CA-${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}}

if [ "$(id -u)" -ne 0 ]; then
  echo "make fresh-check needs root (it runs debootstrap, mount and chroot): run it as root," \
       "e.g. sudo make fresh-check" >&2
  exit 1
fi

REPO=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)
COMMIT=$(git -C "$REPO" rev-parse HEAD)
if [ -n "$(git -C "$REPO" status --porcelain)" ]; then
  echo "fresh-check: note: uncommitted changes are not checked (the check clones $COMMIT)"
fi

now() { date +%s; }
took() { local s=$(( $(now) - $1 )); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

mkdir -p "$DIR/logs"
LOG="$DIR/logs/fresh-check-${COMMIT:0:12}-$(date +%Y%m%dT%H%M%S).log"
exec > >(tee -a "$LOG") 2>&1
echo "fresh-check of $COMMIT ($(date -u +%FT%TZ)); full log: $LOG"

if ! command -v debootstrap >/dev/null; then
  echo "Installing debootstrap from Debian..."
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap \
    >/dev/null
fi

# The pristine bootstrap, made once per (suite, include list, mirror).
BASE="$DIR/base"
STAMP="$SUITE $INCLUDE $MIRROR"
t=$(now)
if [ -f "$DIR/base.stamp" ] && [ "$(cat "$DIR/base.stamp")" = "$STAMP" ] && [ -d "$BASE" ]; then
  bootstrap="cached"
else
  echo "debootstrap --variant=minbase --include=$INCLUDE $SUITE $MIRROR ..."
  rm -rf --one-file-system "$BASE" "$BASE.new" "$DIR/base.stamp"
  debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$BASE.new" "$MIRROR" \
    > "$DIR/logs/debootstrap.log" 2>&1 \
    || { echo "debootstrap failed; see $DIR/logs/debootstrap.log" >&2; exit 1; }
  mv "$BASE.new" "$BASE"
  echo "$STAMP" > "$DIR/base.stamp"
  bootstrap=$(took "$t")
fi

ROOT="$DIR/root.$$"
MOUNTS=()
cleanup() {
  local status=$? i
  for (( i=${#MOUNTS[@]}-1; i>=0; i-- )); do
    umount -R "${MOUNTS[i]}" 2>/dev/null || umount -R -l "${MOUNTS[i]}" 2>/dev/null || true
  done
  if [ -d "$ROOT" ]; then
    if findmnt -rn -o TARGET | grep -q "^$ROOT/"; then
      echo "fresh-check: something is still mounted under $ROOT; left in place" >&2
    elif [ "${FRESH_KEEP:-0}" = 1 ]; then
      echo "fresh-check: root kept in $ROOT (chroot $ROOT /bin/bash)"
    else
      rm -rf --one-file-system "$ROOT"
    fi
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t=$(now)
cp -a "$BASE" "$ROOT"
copy=$(took "$t")
mnt() { mount "$@"; MOUNTS+=("${@: -1}"); }
mnt -t proc proc "$ROOT/proc"
mnt -t sysfs sysfs "$ROOT/sys"
mnt --rbind /dev "$ROOT/dev"
mount --make-rslave "$ROOT/dev"
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
# debootstrap writes no /etc/hosts, which every installed Debian has (the installer and cloud
# images write it): without it "localhost" does not resolve, and Selenium reaches chromedriver
# at localhost (the browser test). The root gets the loopback lines an installed system has.
[ -e "$ROOT/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$ROOT/etc/hosts"
PIPENV=()
if [ -n "$WHEELS" ] && [ -d "$WHEELS" ]; then
  mkdir -p "$ROOT$WHEELS"
  mnt --bind "$WHEELS" "$ROOT$WHEELS"
  mount -o remount,bind,ro "$ROOT$WHEELS"
  PIPENV=("PIP_FIND_LINKS=$WHEELS")
  echo "pip finds local wheels in $WHEELS (read-only): $(ls "$WHEELS" | tr '\n' ' ')"
else
  echo "no local wheel folder: pip takes everything from PyPI"
fi
# pip checks TLS against its own bundle, or PIP_CERT. When the host trusts certificate authorities
# that Debian's bundle lacks (a proxy that inspects TLS, as on this project's machines; the host's
# pip is given its bundle the same way), pip in the root is given a copy of the host's bundle;
# the root's own trust store is left as Debian made it.
if [ -n "$CA" ] && [ -r "$CA" ] && ! cmp -s "$CA" "$ROOT/etc/ssl/certs/ca-certificates.crt"; then
  cp "$CA" "$ROOT/etc/ssl/fresh-check-host-ca.crt"
  PIPENV+=("PIP_CERT=/etc/ssl/fresh-check-host-ca.crt")
  echo "pip trusts the host's certificate bundle $CA ($(grep -c BEGIN "$CA") certificates;" \
       "Debian's in the root: $(grep -c BEGIN "$ROOT/etc/ssl/certs/ca-certificates.crt"))"
fi

git clone -q --no-checkout "$REPO" "$ROOT/root/dlexam"
git -C "$ROOT/root/dlexam" checkout -q --detach "$COMMIT"

inroot() {
  chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${PIPENV[@]}" "$@"
}
inroot dpkg-query -W -f '${Package}\n' | sort > "$DIR/logs/packages-before.txt"

run() {  # run NAME: `make NAME` in the clone; sets result_NAME and time_NAME
  local t rc=0
  t=$(now)
  echo "== make $1 =="
  inroot /bin/sh -c "cd /root/dlexam && make $1" || rc=$?
  printf -v "time_$1" '%s' "$(took "$t")"
  if [ "$rc" -eq 0 ]; then printf -v "result_$1" 'passed'; else printf -v "result_$1" 'FAILED (%d)' "$rc"; fi
  return 0
}
run book
[ "$result_book" != passed ] || [ -f "$ROOT/root/dlexam/out/answer-book.pdf" ] \
  || result_book="FAILED (no out/answer-book.pdf)"
inroot dpkg-query -W -f '${Package}\n' | sort > "$DIR/logs/packages-after.txt"
run test

installed=$(comm -13 "$DIR/logs/packages-before.txt" "$DIR/logs/packages-after.txt")
comm -13 "$DIR/logs/packages-before.txt" "$DIR/logs/packages-after.txt" \
  > "$DIR/logs/packages-installed.txt"
pytest_line=$(grep -aE '^=+ .*(passed|failed|error).* in [0-9.]+s' "$LOG" | tail -1 \
  | sed -e 's/^=* *//' -e 's/ *=*$//' || true)
disk=$(du -sh --one-file-system "$ROOT" | cut -f1)
venv=$(du -sh "$ROOT/root/dlexam/.venv" 2>/dev/null | cut -f1)

cat <<SUMMARY

== fresh-check summary ($COMMIT) ==
debootstrap ($SUITE minbase, +$INCLUDE): $bootstrap; copy of the pristine root: $copy
Debian packages before make book: $(wc -l < "$DIR/logs/packages-before.txt"), installed by it: \
$(echo "$installed" | grep -c .) (list: $DIR/logs/packages-installed.txt)
make book: $result_book in $time_book
make test: $result_test in $time_test${pytest_line:+ (pytest: $pytest_line)}
disk used by the root: $disk (of which .venv: ${venv:-none})
SUMMARY
[ "$result_book" = passed ] && [ "$result_test" = passed ]
