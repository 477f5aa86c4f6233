#!/usr/bin/env bash
# System packages the agent, the end-to-end suites and the benchmarks need (Debian 12).
# Run as root. Safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
  wireguard-go wireguard-tools iproute2 nftables iptables iperf3 iputils-ping
  chromium postgresql kmod procps ca-certificates
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
