#!/usr/bin/env bash
# System packages the agent, the end-to-end suites and the benchmarks need (Debian 12).
# Run as root. Safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
  wireguard-go wireguard-tools iproute2 nftables iptables iperf3 iputils-ping
  chromium postgresql haproxy kmod procps ca-certificates openssl
)
# Debian's kubectl only where the machine has none: an image may already carry a newer one.
command -v kubectl >/dev/null || packages+=(kubernetes-client)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
