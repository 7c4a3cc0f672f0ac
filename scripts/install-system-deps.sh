#!/usr/bin/env bash
# Install the Debian packages msuinspect and its tests use, only if something is missing.
#   runtime: libarchive13 (LZX fast path), libmspack0 (LZX/Quantum fallback, via cabextract)
#   tests:   cabextract and 7zip (extraction oracles), osslsigncode (signature oracle),
#            gcab (fixture generator), libarchive-tools (bsdtar, benchmark only),
#            chromium and chromium-driver (the scan HTML report in a headless browser),
#            xorriso (builds the ISO 9660 / Joliet image the scan-an-image test reads)
set -euo pipefail

need=()
command -v cabextract >/dev/null 2>&1 || need+=(cabextract)
command -v 7zz >/dev/null 2>&1 || need+=(7zip)
command -v osslsigncode >/dev/null 2>&1 || need+=(osslsigncode)
command -v gcab >/dev/null 2>&1 || need+=(gcab)
command -v bsdtar >/dev/null 2>&1 || need+=(libarchive-tools)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v xorriso >/dev/null 2>&1 || need+=(xorriso)
ldconfig -p 2>/dev/null | grep -q 'libarchive\.so\.13' || need+=(libarchive13)
ldconfig -p 2>/dev/null | grep -q 'libmspack\.so\.0' || need+=(libmspack0)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${need[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "error: need root (or sudo) to install: ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# libarchive-tools must match the installed libarchive13; upgrade them together
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" libarchive13 >/dev/null
