#!/usr/bin/env bash
# Install the vbp-agent systemd unit for the checkout this script lives in.
# Usage: bash systemd/install.sh   (as root; `make install` runs it)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
unit_dir="${UNIT_DIR:-/etc/systemd/system}"
conf_dir="${CONF_DIR:-/etc/vbp-agent}"

sed "s#/opt/vbp-agent#${here}#g" "$here/systemd/vbp-agent.service" > "$unit_dir/vbp-agent.service"
install -d -m 0750 "$conf_dir" "$conf_dir/credentials"
if [ ! -e "$conf_dir/agent.toml" ]; then
  install -m 0640 "$here/config/agent.example.toml" "$conf_dir/agent.toml"
  echo "wrote $conf_dir/agent.toml from the example: edit it, then run: vbp-agent -c $conf_dir/agent.toml config check"
fi
echo "installed $unit_dir/vbp-agent.service"
echo "put each password in $conf_dir/credentials/<name> (mode 0600), matching the unit's LoadCredential= lines"
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  echo "start it with: systemctl enable --now vbp-agent && systemctl status vbp-agent"
else
  echo "systemd is not running here: the unit is installed but not loaded"
fi
