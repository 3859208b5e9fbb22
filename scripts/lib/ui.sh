# The web UI build: `ui/dist` is made from the sources by Vite and kept out of git, so every entry
# point that serves or tests the UI builds it when it is missing or out of date. "Out of date" is a
# hash of everything the build reads (sources, public files, index.html, package and build config
# with its plugins, and the shared workspaces under packages/: the model, and the relay protocol
# the remote mode imports)
# compared with the one stamped into dist/ by the last build: about 20 ms when nothing changed.
# Sourced by scripts/run; also runnable on its own (`bash scripts/lib/ui.sh`, used by the UI tests).

hearth_ui_hash() {
  local root="$1"
  (cd "$root/ui" && find src public index.html package.json vite.config.ts build-plugins tsconfig.json ../packages -type f -print0 2>/dev/null |
    LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

hearth_ensure_ui() {
  local root="${HEARTH_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
  local stamp="$root/ui/dist/.build-stamp" want
  want="$(hearth_ui_hash "$root")"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  # One build at a time: `npm start` and `npm test` may both find the UI stale.
  (
    flock 9
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
    printf 'hearth: building the web UI\n' >&2
    (cd "$root/ui" && npx --no-install vite build --logLevel warn >&2) || { printf 'hearth: web UI build failed\n' >&2; exit 1; }
    echo "$want" >"$stamp"
  ) 9>"$root/ui/.build-lock"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  hearth_ensure_ui
fi
