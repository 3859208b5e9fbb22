# Shared by every entry point: make sure the runtime, npm packages and Debian packages a command
# needs are there, installing what is missing, and put the runtime first on PATH.
# Sourced (not executed) so PATH reaches the caller. Fast when everything is in place: only file
# checks, no network, no npm.

HEARTH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HEARTH_NODE_MAJOR=24
HEARTH_RUNTIME_DIR="$HEARTH_ROOT/.runtime"

hearth_log() { printf 'hearth: %s\n' "$*" >&2; }
hearth_die() { printf 'hearth: %s\n' "$*" >&2; exit 1; }

hearth_node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# Node 24 LTS: the system's if it is new enough, else the one installed from the npm registry
# into .runtime (the node-linux-<arch> packages hold the official binary).
hearth_ensure_node() {
  local sys_node
  sys_node="$(command -v node || true)"
  if [ -n "$sys_node" ] && [ "$(hearth_node_major "$sys_node")" -ge "$HEARTH_NODE_MAJOR" ]; then
    return 0
  fi
  local arch
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    armv7l) arch=armv7l ;;
    *) hearth_die "no Node $HEARTH_NODE_MAJOR runtime package for $(uname -m)" ;;
  esac
  local pkg="node-linux-$arch"
  local dir="$HEARTH_RUNTIME_DIR/node_modules/$pkg"
  if [ ! -x "$dir/bin/node" ] || [ "$(hearth_node_major "$dir/bin/node")" != "$HEARTH_NODE_MAJOR" ]; then
    command -v npm >/dev/null || hearth_die "npm is needed to install Node $HEARTH_NODE_MAJOR"
    hearth_log "installing Node $HEARTH_NODE_MAJOR runtime ($pkg) into .runtime"
    mkdir -p "$HEARTH_RUNTIME_DIR"
    [ -f "$HEARTH_RUNTIME_DIR/package.json" ] || echo '{"private":true}' >"$HEARTH_RUNTIME_DIR/package.json"
    npm install --prefix "$HEARTH_RUNTIME_DIR" --no-audit --no-fund --loglevel=error "$pkg@$HEARTH_NODE_MAJOR" >&2 ||
      hearth_die "could not install $pkg@$HEARTH_NODE_MAJOR"
  fi
  export PATH="$dir/bin:$PATH"
  # Native modules built from source must use this runtime's headers, not the system's.
  export npm_config_nodedir="$dir"
}

# npm packages: `npm ci` when the lockfile or the runtime changed since the last install.
hearth_ensure_npm_packages() {
  local stamp="$HEARTH_ROOT/node_modules/.hearth-install-stamp"
  local want
  want="$(node -p 'process.version')-$(cksum <"$HEARTH_ROOT/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  hearth_log "installing npm packages"
  (cd "$HEARTH_ROOT" && npm ci --no-audit --no-fund --loglevel=error >&2) || hearth_die "npm ci failed"
  echo "$want" >"$stamp"
}

# Debian packages, given as "command:package" pairs; installs those whose command is missing.
hearth_ensure_debs() {
  local missing=() pair
  for pair in "$@"; do
    # Daemons such as mosquitto live in /usr/sbin, which is not on every user's PATH.
    # An empty command (":package", for libraries) always counts as missing.
    local cmd="${pair%%:*}"
    if [ -n "$cmd" ] && { command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ]; }; then continue; fi
    missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || hearth_die "missing Debian packages: ${missing[*]} (run as root or install them)"
    sudo="sudo"
  fi
  hearth_log "installing Debian packages: ${missing[*]}"
  # Update the package lists once per machine boot at most; installs fail on stale lists.
  if [ ! -f /tmp/.hearth-apt-updated ]; then
    $sudo apt-get update -qq >&2 || hearth_die "apt-get update failed"
    touch /tmp/.hearth-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
    hearth_die "apt-get install ${missing[*]} failed"
}
