#!/usr/bin/env bash
# Checks the system tools dlexam needs (XeLaTeX with xeCJK, TikZ, pgfplots, amsmath, the Noto CJK
# fonts, poppler's pdftotext/pdftoppm/pdffonts, KaTeX and Chromium with its driver for dlexam
# serve and its browser test). Installs what is missing from Debian when run as
# root; otherwise prints the exact command to run and fails. Does nothing when all is present.
# The packages are listed once, in dlexam/system-packages.txt; every tool the checks below call
# (python3 venv/ensurepip, kpsewhich, fc-list, ...) comes from a package on that list.
#   scripts/ensure-system.sh --print-packages   prints that list, one package a line
set -euo pipefail

LIST="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/dlexam/system-packages.txt"
[ -r "$LIST" ] || { echo "ensure-system.sh: cannot read the package list $LIST" >&2; exit 1; }
# Words outside `#` comments, as dlexam.build.tex reads the same file.
mapfile -t PACKAGES < <(sed -e 's/#.*//' "$LIST" | tr -s ' \t' '\n' | sed -e '/^$/d')

if [ "${1:-}" = "--print-packages" ]; then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
fi

missing() {
  python3 -c 'import ensurepip, venv' 2>/dev/null || { echo "python3 venv/ensurepip"; return; }
  local tool
  # chromedriver's package depends on the browser's
  for tool in xelatex kpsewhich fc-list pdftotext pdftoppm pdffonts chromedriver; do
    command -v "$tool" >/dev/null || { echo "$tool"; return; }
  done
  local f
  for f in xeCJK.sty ctexhook.sty tikz.sty pgfplots.sty amsmath.sty booktabs.sty hyperref.sty \
           pzdr.tfm lmroman10-regular.otf; do
    [ -n "$(kpsewhich "$f" 2>/dev/null)" ] || { echo "$f"; return; }
  done
  [ -r /usr/share/javascript/katex/katex.min.js ] || { echo "KaTeX"; return; }
  local families
  families=$(fc-list : family 2>/dev/null || true)
  [[ "$families" == *"Noto Serif CJK TC"* ]] || { echo "Noto Serif CJK TC font"; return; }
  [[ "$families" == *"Noto Sans CJK TC"* ]] || { echo "Noto Sans CJK TC font"; return; }
}

what=$(missing || true)
[ -z "$what" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "dlexam needs $what. Install the TeX and font packages with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${PACKAGES[*]}" >&2
  exit 1
fi
echo "Installing TeX Live (XeLaTeX, xeCJK, TikZ/pgfplots) and the Noto CJK fonts (missing: $what)..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
what=$(missing || true)
if [ -n "$what" ]; then
  echo "Still missing after the install: $what" >&2
  exit 1
fi
