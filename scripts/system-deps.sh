#!/usr/bin/env bash
# Installs the Debian packages the project needs when they are missing:
#   gettext            compiles the Chinese translations (msgfmt)
#   libpango, libharfbuzz-subset0
#                      WeasyPrint's text layout; without harfbuzz-subset CJK font
#                      subsetting is ~45x slower
#   fonts-noto-cjk     a CJK font, so pages and PDFs show Chinese, not boxes
#   poppler-utils      pdftotext/pdffonts/pdftoppm, used by tests to read PDFs
#   chromium           the browser the browser tests drive (never downloaded by Playwright)
#   libreoffice-calc-nogui
#                      soffice --headless: tests open the exported .xlsx files and
#                      check that they recalculate to the same totals
#   python3-uno        LibreOffice's Python bridge: a test edits one cell of a signed
#                      ledger in LibreOffice and checks verify_ledger names it
#   postgresql-client  pg_dump / pg_restore for manage.py backup and restore (only
#                      when no pg_dump is on PATH: a server's own tools will do)
set -euo pipefail

packages=(gettext libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk poppler-utils chromium libreoffice-calc-nogui python3-uno)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
command -v pg_dump >/dev/null || missing+=(postgresql-client)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  apt=(apt-get)
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  apt=(sudo apt-get)
else
  echo "error: these Debian packages are missing and this user cannot install them: ${missing[*]}" >&2
  echo "Ask an administrator to run: apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}"
