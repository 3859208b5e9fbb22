# The packaged hub's smoke test, shared by deb.test.sh (the native package) and deb-arm64.test.sh
# (the arm64 package under qemu-user): start the extracted hub on its bundled node through the
# packaged launcher, then check what leaves it over HTTP and MQTT. Sourced, not run. The caller
# defines fail MESSAGE and ok MESSAGE, sets smoke_dir to its temp dir, calls smoke_cleanup on exit,
# and has this machine's node and curl on PATH. JSON is read and the MQTT device run on this
# machine's node (with the checkout's mqtt.js): fast, and independent of the runtime under test.
# Sets: smoke_hub_pid, smoke_base (http://127.0.0.1:PORT), smoke_mqtt (port), smoke_token,
# smoke_start_s (hub start to a healthy answer, seconds).

# smoke_json FILE EXPR: prints EXPR evaluated with `j` the JSON in FILE ('' for undefined).
smoke_json() {
  node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const v = (0, eval)(`(j) => (${process.argv[2]})`)(j); process.stdout.write(v === undefined ? "" : String(v))' "$1" "$2"
}

# smoke_http METHOD PATH [BODY]: prints the status code; the body goes to $smoke_out. With
# smoke_token set, sends it as the bearer token. (Called in $(...), so it sets no variables.)
smoke_http() {
  smoke_out="$smoke_dir/http-body"
  local args=(-s -o "$smoke_out" -w '%{http_code}' -X "$1")
  [ -n "${smoke_token:-}" ] && args+=(-H "authorization: Bearer $smoke_token")
  [ $# -ge 3 ] && args+=(-H 'content-type: application/json' --data "$3")
  curl "${args[@]}" "$smoke_base$2"
}

# smoke_start_hub X DATA LOG TIMEOUT_S: the extracted package X's hub (its launcher, its packaged
# hearth.json; flags override paths and ports), loopback only, until GET /api/v1/health answers.
smoke_hub_pid=""
smoke_start_hub() {
  smoke_out="$smoke_dir/http-body"
  local x="$1" data="$2" log="$3" timeout_s="$4" t0 tenths
  t0="$(date +%s%N)"
  "$x/usr/lib/hearth/bin/hearth-hub" --config "$x/etc/hearth/hearth.json" --data "$data" --host 127.0.0.1 \
    --http-port 0 --mqtt-port 0 --mqtts-port 0 --https-port 0 --mdns off --log-level info >"$log" 2>&1 &
  smoke_hub_pid=$!
  for ((tenths = 0; tenths < timeout_s * 10; tenths++)); do
    [ -s "$data/ports.json" ] && break
    kill -0 "$smoke_hub_pid" 2>/dev/null || fail "the extracted hub exited"
    sleep 0.1
  done
  [ -s "$data/ports.json" ] || fail "no $data/ports.json after $timeout_s s"
  smoke_base="http://127.0.0.1:$(smoke_json "$data/ports.json" j.http)"
  smoke_mqtt="$(smoke_json "$data/ports.json" j.mqtt)"
  curl -sf -o /dev/null "$smoke_base/api/v1/health" || fail "GET /api/v1/health after ports.json"
  smoke_start_s="$(( ($(date +%s%N) - t0) / 1000000 ))"
  smoke_start_s="$((smoke_start_s / 1000)).$(printf '%03d' $((smoke_start_s % 1000)))"
}

# smoke_health_and_ui X VERSION: health ok with the package's version; / is the packaged web UI,
# and its entry script goes out as the packaged brotli copy to a client that accepts br.
smoke_health_and_ui() {
  local x="$1" version="$2"
  [ "$(smoke_http GET /api/v1/health)" = 200 ] || fail "GET /api/v1/health"
  [ "$(smoke_json "$smoke_out" j.status)" = ok ] && [ "$(smoke_json "$smoke_out" j.version)" = "$version" ] ||
    fail "health: $(cat "$smoke_out")"
  ok "extracted hub: GET /api/v1/health -> $(cat "$smoke_out")"
  [ "$(smoke_http GET /)" = 200 ] || fail "GET /"
  cmp -s "$smoke_out" "$x/usr/lib/hearth/ui/dist/index.html" || fail "/ does not serve the packaged ui/dist/index.html"
  ok "GET / serves the packaged web UI"
  local entry
  entry="$(grep -o '/assets/index-[^"]*\.js' "$x/usr/lib/hearth/ui/dist/index.html")" || fail "no entry script in the packaged index.html"
  curl -sf -H 'accept-encoding: br' -D "$smoke_dir/entry.headers" -o "$smoke_dir/entry.br" "$smoke_base$entry" || fail "GET $entry"
  grep -qi '^content-encoding: br' "$smoke_dir/entry.headers" || fail "$entry is not sent as brotli to a client that accepts it"
  cmp -s "$smoke_dir/entry.br" "$x/usr/lib/hearth/ui/dist$entry.br" || fail "$entry as brotli is not the packaged .br copy"
  ok "GET $entry with Accept-Encoding: br sends the packaged brotli copy"
}

# smoke_setup_with_code X DATA: the first-run setup as a browser does it, with the one-time code
# from DATA/setup-code, which the packaged `hearth-admin setup-code` prints too. Sets smoke_token.
smoke_setup_with_code() {
  local x="$1" data="$2" code printed
  [ -f "$data/setup-code" ] || fail "no $data/setup-code on first start"
  [ "$(stat -c %a "$data/setup-code")" = 600 ] || fail "setup-code has mode $(stat -c %a "$data/setup-code"), not 600"
  code="$(tr -d '[:space:]' <"$data/setup-code")"
  printed="$("$x/usr/bin/hearth-admin" setup-code --data "$data" 2>&1)" || fail "hearth-admin setup-code: $printed"
  [ "$printed" = "$code" ] || fail "hearth-admin setup-code printed '$printed', DATA/setup-code holds '$code'"
  smoke_token=""
  [ "$(smoke_http GET /api/v1/devices)" = 409 ] && [ "$(smoke_json "$smoke_out" j.error.code)" = setup_required ] ||
    fail "before setup, GET /api/v1/devices: $(cat "$smoke_out")"
  local body='{"username":"owner","password":"a long passphrase for the smoke test","setupCode":"%s"}'
  # shellcheck disable=SC2059
  [ "$(smoke_http POST /api/v1/setup "$(printf "$body" WRONG-CODE-0000)")" = 403 ] &&
    [ "$(smoke_json "$smoke_out" j.error.code)" = setup_code_invalid ] || fail "setup with a wrong code: $(cat "$smoke_out")"
  # shellcheck disable=SC2059
  [ "$(smoke_http POST /api/v1/setup "$(printf "$body" "$code")")" = 201 ] || fail "setup with the code: $(cat "$smoke_out")"
  [ ! -e "$data/setup-code" ] || fail "DATA/setup-code is still there after setup"
  [ "$(smoke_http POST /api/v1/auth/login '{"username":"owner","password":"a long passphrase for the smoke test"}')" = 200 ] ||
    fail "login as the new owner: $(cat "$smoke_out")"
  smoke_token="$(smoke_json "$smoke_out" j.accessToken)"
  [ -n "$smoke_token" ] || fail "login gave no access token"
  ok "setup with the one-time code from DATA/setup-code (= hearth-admin setup-code): wrong code 403 setup_code_invalid, right code 201, code gone; owner logs in"
}

# smoke_mqtt_device_history: needs smoke_token. Adds an MQTT device; mqtt-device.mjs connects as
# it with its own credentials (after a wrong password is refused), says online and reports 42.5 W,
# which shows in the device's state; a command through the API reaches the device and its
# confirmation answers 200; the reading is in a history query; the device leaving shows offline.
smoke_device_pid=""
smoke_mqtt_device_history() {
  local id password from i
  from="$(($(date +%s) * 1000 - 60000))"
  [ "$(smoke_http POST /api/v1/devices '{"name":"Smoke plug","driver":"mqtt","capabilities":["switch","power"]}')" = 201 ] ||
    fail "POST /api/v1/devices: $(cat "$smoke_out")"
  id="$(smoke_json "$smoke_out" j.device.id)"
  password="$(smoke_json "$smoke_out" j.mqtt.password)"
  [ -n "$id" ] && [ -n "$password" ] || fail "the new device has no id or MQTT password: $(cat "$smoke_out")"
  node "$(dirname "${BASH_SOURCE[0]}")/mqtt-device.mjs" "$smoke_mqtt" "$id" "$password" >"$smoke_dir/device.log" 2>&1 &
  smoke_device_pid=$!
  for ((i = 0; i < 1200; i++)); do
    grep -qsx ready "$smoke_dir/device.log" && break
    kill -0 "$smoke_device_pid" 2>/dev/null || fail "the MQTT device exited: $(cat "$smoke_dir/device.log")"
    sleep 0.1
  done
  grep -qsx ready "$smoke_dir/device.log" || fail "the MQTT device did not get ready: $(cat "$smoke_dir/device.log")"
  smoke_poll_device "$id" 'j.available && j.state.power === 42.5' || fail "device after its telemetry: $(cat "$smoke_out")"
  ok "MQTT device $id: wrong password refused (CONNACK 4); connected, online and 42.5 W show in GET /api/v1/devices/$id"
  [ "$(smoke_http POST "/api/v1/devices/$id/commands" '{"capability":"switch","value":true}')" = 200 ] &&
    [ "$(smoke_json "$smoke_out" j.state.switch)" = true ] || fail "command switch=true: $(cat "$smoke_out")"
  grep -qx 'command switch=true' "$smoke_dir/device.log" || fail "the device did not get the command: $(cat "$smoke_dir/device.log")"
  ok "POST /api/v1/devices/$id/commands switch=true: the device got it over MQTT, its confirmation answered 200"
  # History is written in batches (history.flushIntervalMs, 1 s by default): poll, bounded.
  local query="/api/v1/history?device=$id&capability=power&from=$from&to=$(($(date +%s) * 1000 + 60000))"
  for ((i = 0; i < 600; i++)); do
    [ "$(smoke_http GET "$query")" = 200 ] || fail "GET $query: $(cat "$smoke_out")"
    [ "$(smoke_json "$smoke_out" 'j.points.some((p) => p.mean === 42.5)')" = true ] && break
    sleep 0.1
  done
  [ "$(smoke_json "$smoke_out" 'j.points.some((p) => p.mean === 42.5)')" = true ] || fail "history: $(cat "$smoke_out")"
  ok "history query: the 42.5 W reading is in tier $(smoke_json "$smoke_out" j.tier)"
  kill -TERM "$smoke_device_pid"; wait "$smoke_device_pid" || fail "the MQTT device did not stop cleanly"
  smoke_device_pid=""
  smoke_poll_device "$id" 'j.available === false' || fail "device after it disconnected: $(cat "$smoke_out")"
  ok "the device disconnected: it shows offline"
}

# smoke_poll_device ID EXPR: GET the device until EXPR (over `j`, the device) holds; 60 s at most.
smoke_poll_device() {
  local i
  for ((i = 0; i < 600; i++)); do
    [ "$(smoke_http GET "/api/v1/devices/$1")" = 200 ] || fail "GET /api/v1/devices/$1: $(cat "$smoke_out")"
    [ "$(smoke_json "$smoke_out" "$2")" = true ] && return 0
    sleep 0.1
  done
  return 1
}

# smoke_cleanup: for the caller's EXIT trap; stops whatever the smoke steps left running.
smoke_cleanup() {
  local pid
  for pid in "$smoke_device_pid" "$smoke_hub_pid"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  done
}

# smoke_stop_hub: SIGTERM, and the hub exits 0.
smoke_stop_hub() {
  local code
  kill -TERM "$smoke_hub_pid"
  set +e; wait "$smoke_hub_pid"; code=$?; set -e
  smoke_hub_pid=""
  [ "$code" = 0 ] || fail "the hub exited $code on SIGTERM"
  ok "SIGTERM: the hub stopped cleanly"
}
