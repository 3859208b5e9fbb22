#!/usr/bin/env bash
# The Raspberry Pi image's boot test (packaging/README.md "Raspberry Pi image"): boots the built
# image in qemu-system-aarch64 (-M virt, TCG, Cortex-A53: the Pi 3B+'s and Zero 2 W's core) with
# the image's own kernel and initrd from its boot partition, the hub's port and SSH forwarded to
# 127.0.0.1 only, and checks what an installer would see:
#   copy A, with Wi-Fi and SSH-key files dropped on its boot partition and the disk made 1 GiB
#   larger (a bigger card): the root filesystem grown, the Wi-Fi file applied and erased (its
#   passphrase nowhere on the Pi), SSH on with the key, hostname hearth, avahi and hearth.service
#   active, GET /api/v1/health ok, the setup code on the console login screen and the boot
#   partition equal to the hub's, setup refused without it (403 setup_code_invalid) and accepted
#   with it, both copies of the code gone after; a room made; a reboot keeps the owner and the room;
#   copy B, fresh from the same image, no files: SSH off, its own setup code, and after a clean
#   power-off its hub keys, machine-id and setup code share nothing with A's.
#   bash packaging/test/image-boot.test.sh [IMAGE]   # default: builds it (scripts/build-image)
# One emulated machine at a time; each boot takes minutes on a loaded 2-core machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/lib/env.sh
hearth_ensure_node
hearth_ensure_npm_packages
hearth_ensure_debs qemu-system-aarch64:qemu-system-arm mcopy:mtools debugfs:e2fsprogs e2fsck:e2fsprogs \
  ssh:openssh-client ssh-keygen:openssh-client xz:xz-utils curl:curl sfdisk:fdisk

fail() { printf 'image-boot.test: FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'image-boot.test: ok: %s\n' "$*"; }

image="${1:-}"
version="$(node -p 'require("./package.json").version')"
work="$(mktemp -d "${TMPDIR:-/var/tmp}/hearth-image-test.XXXXXX")"
qemu_pid=""
cleanup() {
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "$image" ]; then
  t0="$(date +%s)"
  image="$(bash scripts/build-image | tail -n 1)"
  ok "built $image in $(( $(date +%s) - t0 )) s"
fi
[ -f "$image" ] || fail "no image $image"
case "$image" in
  *.xz) xz -dc "$image" >"$work/base.img" ;;
  *) cp --sparse=always "$image" "$work/base.img" ;;
esac
ok "image $(basename "$image"): $(( $(stat -c %s "$image") / 1048576 )) MiB file, $(( $(stat -c %s "$work/base.img") / 1048576 )) MiB raw"

# The partitions, from the MBR: 1 boot (FAT), 2 root (ext4).
boot_off=$(( $(sfdisk --dump "$work/base.img" | sed -n 's/.*img1 : start= *\([0-9]*\).*/\1/p') * 512 ))
root_start=$(sfdisk --dump "$work/base.img" | sed -n 's/.*img2 : start= *\([0-9]*\).*/\1/p')
root_size=$(sfdisk --dump "$work/base.img" | sed -n 's/.*img2 : .*size= *\([0-9]*\).*/\1/p')
[ "$boot_off" -gt 0 ] && [ -n "$root_start" ] || fail "no two-partition MBR in the image: $(sfdisk --dump "$work/base.img")"
export MTOOLS_SKIP_CHECK=1
# raspi-firmware's copies: vmlinuz-<version> and initrd.img-<version>, named in config.txt.
boot_files="$(mdir -b -i "$work/base.img@@$boot_off" ::)"
kernel="$(printf '%s\n' "$boot_files" | sed -n 's#^::/\(vmlinuz-.*\)#\1#p' | sort -V | tail -n 1)"
initrd="$(printf '%s\n' "$boot_files" | sed -n 's#^::/\(initrd.img-.*\)#\1#p' | sort -V | tail -n 1)"
[ -n "$kernel" ] && [ -n "$initrd" ] || fail "no kernel/initrd on the boot partition: $boot_files"
mcopy -i "$work/base.img@@$boot_off" "::$kernel" "$work/vmlinuz" && mcopy -i "$work/base.img@@$boot_off" "::$initrd" "$work/initrd.img" &&
  mcopy -i "$work/base.img@@$boot_off" ::cmdline.txt ::config.txt "$work/" || fail "could not read the boot partition"
grep -q "^initramfs $initrd" "$work/config.txt" || fail "config.txt does not start $initrd: $(cat "$work/config.txt")"
grep -q 'root=LABEL=HEARTHROOT' "$work/cmdline.txt" || fail "cmdline.txt: $(cat "$work/cmdline.txt")"
ok "boot partition has the image's kernel $kernel, initrd $initrd and cmdline.txt ($(tr -d '\n' <"$work/cmdline.txt"))"

free_port() { node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }

# boot IMG NAME: starts the emulated Pi, console in $work/NAME.console; sets qemu_pid, http, sshp.
boot() {
  http="$(free_port)" sshp="$(free_port)"
  # The Pi's cmdline.txt names the Pi's serial ports; on -M virt the console is the PL011.
  nice -n 5 qemu-system-aarch64 -M virt -cpu cortex-a53 -smp 2 -m 1024 \
    -kernel "$work/vmlinuz" -initrd "$work/initrd.img" \
    -append "root=LABEL=HEARTHROOT rw rootwait console=ttyAMA0 net.ifnames=0" \
    -drive "if=none,id=disk,file=$1,format=raw" -device virtio-blk-pci,drive=disk \
    -netdev "user,id=net,hostfwd=tcp:127.0.0.1:$http-:8080,hostfwd=tcp:127.0.0.1:$sshp-:22" \
    -device virtio-net-pci,netdev=net,romfile= -device virtio-rng-pci \
    -display none -serial "file:$work/$2.console" -monitor "unix:$work/$2.monitor,server,nowait" \
    >"$work/$2.qemu.log" 2>&1 &
  qemu_pid=$!
  boot_t0="$(date +%s)"
}

# wait_health SECONDS: until GET /api/v1/health is 200 {"status":"ok"}; sets health_s.
wait_health() {
  local deadline=$(( $(date +%s) + $1 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    kill -0 "$qemu_pid" 2>/dev/null || fail "qemu exited: $(tail -n 5 "$work"/*.qemu.log)"
    if curl -s -m 5 -o "$work/health" "http://127.0.0.1:$http/api/v1/health" 2>/dev/null && grep -q '"status":"ok"' "$work/health"; then
      health_s=$(( $(date +%s) - boot_t0 ))
      return 0
    fi
    sleep 5
  done
  fail "no healthy /api/v1/health within $1 s; console tail: $(tail -n 30 "$work"/*.console | tr -d '\r')"
}

key="$work/id_ed25519"
ssh-keygen -q -t ed25519 -N '' -f "$key"
# ssh joins its arguments into one line for the Pi's shell: a pattern with spaces or shell
# characters goes in as one quoted string.
on_pi() {
  ssh -q -i "$key" -p "$sshp" -o StrictHostKeyChecking=no -o UserKnownHostsFile="$work/known_hosts" \
    -o ConnectTimeout=20 -o BatchMode=yes root@127.0.0.1 "$@"
}

# http METHOD PATH [BODY] [TOKEN]: prints the status; body in $work/body.
http() {
  local args=(-s -m 60 -o "$work/body" -w '%{http_code}' -X "$1")
  [ -n "${4:-}" ] && args+=(-H "authorization: Bearer $4")
  [ -n "${3:-}" ] && args+=(-H 'content-type: application/json' --data "$3")
  curl "${args[@]}" "http://127.0.0.1:$http/api/v1$2"
}
json() { node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const v = (0, eval)(`(j) => (${process.argv[2]})`)(j); process.stdout.write(v === undefined ? "" : String(v))' "$work/body" "$1"; }

# wait_for SECONDS CMD...: until CMD succeeds.
wait_for() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@"; do [ "$(date +%s)" -lt "$deadline" ] || return 1; sleep 3; done
}

# ---- copy A: an installer's card, with Wi-Fi and an SSH key dropped on it, 1 GiB bigger.
cp --sparse=always "$work/base.img" "$work/a.img"
truncate -s +1G "$work/a.img"
printf 'SSID=Hearth test net\r\nPASSPHRASE=correct horse battery\r\nCOUNTRY=gb\r\n' >"$work/hearth-wifi.txt"
cp "$key.pub" "$work/hearth-ssh-keys.txt"
mcopy -i "$work/a.img@@$boot_off" "$work/hearth-wifi.txt" "$work/hearth-ssh-keys.txt" ::/ || fail "mcopy onto copy A"
boot "$work/a.img" a
wait_health 1800
first_health_s="$health_s"
ok "copy A: GET /api/v1/health ok $health_s s after qemu started: $(cat "$work/health")"

wait_for 120 on_pi true || fail "no SSH with the key from hearth-ssh-keys.txt"
[ "$(on_pi systemctl is-active hearth.service)" = active ] || fail "hearth.service: $(on_pi systemctl status hearth.service | head)"
[ "$(on_pi hostname)" = hearth ] || fail "hostname: $(on_pi hostname)"
[ "$(on_pi systemctl is-active avahi-daemon.service)" = active ] || fail "avahi-daemon not active"
ok "hearth.service active, hostname hearth, avahi-daemon active (hearth.local), SSH on with the installer's key"
on_pi test ! -e /boot/firmware/hearth-ssh-keys.txt || fail "hearth-ssh-keys.txt still on the boot partition"
on_pi test ! -e /boot/firmware/hearth-wifi.txt || fail "hearth-wifi.txt not erased"
on_pi grep -q "country=GB" /etc/wpa_supplicant/wpa_supplicant-wlan0.conf || fail "no Wi-Fi settings: $(on_pi cat /etc/wpa_supplicant/wpa_supplicant-wlan0.conf 2>&1)"
on_pi "grep -Eq '^[[:space:]]psk=[0-9a-f]{64}\$' /etc/wpa_supplicant/wpa_supplicant-wlan0.conf" || fail "no derived PSK in the Wi-Fi settings"
clear="$(on_pi "grep -rls 'correct horse' /etc /var/lib /boot/firmware" || true)"
[ -z "$clear" ] || fail "the Wi-Fi passphrase is stored on the Pi in clear: $clear"
[ "$(on_pi systemctl is-enabled wpa_supplicant@wlan0.service)" = enabled ] || fail "wpa_supplicant@wlan0 not enabled"
ok "hearth-wifi.txt applied (country GB, derived PSK, wpa_supplicant@wlan0 enabled) and erased; the passphrase is nowhere in /etc, /var/lib, /boot/firmware"
root_kb="$(on_pi df -k --output=size / | tail -n 1 | tr -d ' ')"
[ "$root_kb" -gt $(( root_size / 2 + 900 * 1024 )) ] || fail "root filesystem not grown: ${root_kb} KiB, partition was $((root_size / 2)) KiB"
ok "root filesystem grown to the bigger disk: $((root_kb / 1024)) MiB (image: $((root_size / 2048)) MiB)"
on_pi systemd-analyze cat-config systemd/journald.conf | grep '^SystemMaxUse=64M' >/dev/null || fail "journald not capped"
on_pi test -d /var/log/journal || fail "the journal is not kept on the card"
used_mib="$(on_pi df -m --output=used / | tail -n 1 | tr -d ' ')"
ok "journald capped (SystemMaxUse=64M), installed $used_mib MiB used on root"
# Figures for the README: the hub's resident memory once healthy, and systemd's own boot timing.
hub_pid="$(on_pi systemctl show -p MainPID --value hearth.service)"
hub_rss_kib="$(on_pi cat "/proc/$hub_pid/status" | sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p')"
[ -n "$hub_rss_kib" ] || fail "no VmRSS for the hub (pid $hub_pid)"
ok "hub (pid $hub_pid) RSS $((hub_rss_kib / 1024)) MiB; $(on_pi systemd-analyze 2>/dev/null | head -n 1 || echo 'systemd-analyze: no figure')"

# The setup code: the hub's own, on the console login screen and on the boot partition.
code="$(on_pi cat /var/lib/hearth/setup-code | tr -d '[:space:]')"
[ -n "$code" ] || fail "no setup code on the Pi"
wait_for 120 on_pi test -f /boot/firmware/hearth-setup-code.txt || fail "no hearth-setup-code.txt on the boot partition"
on_pi cat /boot/firmware/hearth-setup-code.txt | grep "setup code: $code" >/dev/null || fail "boot partition code differs: $(on_pi cat /boot/firmware/hearth-setup-code.txt)"
wait_for 120 grep -q "First-run setup code: $code" "$work/a.console" || fail "the console login screen does not show the code; tail: $(tail -n 15 "$work/a.console")"
ok "setup code $code on the console login screen, in /boot/firmware/hearth-setup-code.txt, and = the hub's"

body='{"username":"owner","password":"a long passphrase for the image test","setupCode":"%s"}'
# shellcheck disable=SC2059
[ "$(http POST /setup '{"username":"owner","password":"a long passphrase for the image test"}')" = 403 ] && [ "$(json j.error.code)" = setup_code_invalid ] ||
  fail "setup without the code: $(cat "$work/body")"
# shellcheck disable=SC2059
[ "$(http POST /setup "$(printf "$body" ABCD-EFGH-JKMN)")" = 403 ] && [ "$(json j.error.code)" = setup_code_invalid ] ||
  fail "setup with a wrong code: $(cat "$work/body")"
# shellcheck disable=SC2059
[ "$(http POST /setup "$(printf "$body" "$code")")" = 201 ] || fail "setup with the code: $(cat "$work/body")"
ok "setup: no code 403 setup_code_invalid, wrong code 403 setup_code_invalid, the code 201"
login() {
  [ "$(http POST /auth/login '{"username":"owner","password":"a long passphrase for the image test"}')" = 200 ] || fail "owner login: $(cat "$work/body")"
  token="$(json j.accessToken)"
}
login
[ "$(http POST /rooms '{"name":"Kitchen"}' "$token")" = 201 ] || fail "POST /rooms: $(cat "$work/body")"
wait_for 60 on_pi test ! -e /boot/firmware/hearth-setup-code.txt || fail "the setup code is still on the boot partition after setup"
on_pi test ! -e /etc/issue.d/hearth.issue || fail "the setup code is still on the login screen after setup"
ok "owner logs in, room made; the code is gone from the boot partition and the login screen"
machine_a="$(on_pi cat /etc/machine-id)"
hostkey_a="$(on_pi ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub)"

# Reboot: the emulated machine restarts in place with the same disk.
on_pi systemctl reboot || true
wait_for 300 bash -c "! curl -s -m 3 -o /dev/null http://127.0.0.1:$http/api/v1/health" || fail "the hub did not go down for the reboot"
boot_t0="$(date +%s)"
wait_health 1800
ok "rebooted: health ok $health_s s after the reboot began"
reboot_health_s="$health_s"
login
[ "$(http GET /rooms "" "$token")" = 200 ] && [ "$(json 'j.map((r) => r.name).join()')" = Kitchen ] || fail "after reboot, rooms: $(cat "$work/body")"
[ "$(http POST /setup "$(printf "$body" "$code")")" = 409 ] || fail "setup after reboot: $(cat "$work/body")"
on_pi test ! -e /var/lib/hearth/setup-code || fail "a new setup code after the reboot, with an owner"
on_pi test ! -e /boot/firmware/hearth-setup-code.txt || fail "a setup code on the boot partition after the reboot"
ok "after the reboot the owner logs in, the room is there, setup answers 409, no setup code anywhere"
on_pi systemctl poweroff || true
wait "$qemu_pid" 2>/dev/null || true
qemu_pid=""

# ---- copy B: fresh from the same image, no files on its boot partition.
cp --sparse=always "$work/base.img" "$work/b.img"
boot "$work/b.img" b
wait_health 1800
ok "copy B: health ok $health_s s after qemu started"
wait_for 180 grep -q "First-run setup code: " "$work/b.console" || fail "copy B: no setup code on the console; tail: $(tail -n 15 "$work/b.console")"
code_b="$(tr -d '\r' <"$work/b.console" | sed -n 's/.*First-run setup code: \([A-Z0-9-]*\).*/\1/p' | tail -n 1)"
[ "$code_b" != "$code" ] || fail "copy B has A's setup code $code"
banner="$(timeout 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$sshp; timeout 10 head -c 64 <&3" 2>/dev/null || true)"
case "$banner" in SSH-*) fail "copy B answers SSH without a key file: $banner" ;; esac
ok "copy B: its own setup code ($code_b), SSH off (no banner on port 22)"
# A clean power-off through the emulated power button (systemd-logind), so the disk is consistent.
node -e 'const c = require("net").connect(process.argv[1], () => { c.end("system_powerdown\n"); setTimeout(() => process.exit(0), 1000); })' "$work/b.monitor"
for ((i = 0; i < 120; i++)); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 5; done
kill -0 "$qemu_pid" 2>/dev/null && fail "copy B did not power off from the power button in 10 minutes"
wait "$qemu_pid" 2>/dev/null || true
qemu_pid=""

# The two hubs' secrets, read from their disks: nothing in common.
for c in a b; do
  # Each copy's own root partition: copy A's was grown to its bigger disk at first boot.
  start="$(sfdisk --dump "$work/$c.img" | sed -n 's/.*img2 : start= *\([0-9]*\).*/\1/p')"
  size="$(sfdisk --dump "$work/$c.img" | sed -n 's/.*img2 : .*size= *\([0-9]*\).*/\1/p')"
  dd if="$work/$c.img" of="$work/$c.root" bs=512 skip="$start" count="$size" status=none
  rc=0
  e2fsck -fy "$work/$c.root" >"$work/$c.fsck" 2>&1 || rc=$?
  [ "$rc" -le 1 ] || fail "copy $c: e2fsck exit $rc: $(tail -n 5 "$work/$c.fsck")"
  for f in hearth.db hearth.db-wal; do debugfs -R "dump /var/lib/hearth/$f $work/$c-$f" "$work/$c.root" >/dev/null 2>&1 || true; done
  debugfs -R "dump /etc/machine-id $work/$c-machine-id" "$work/$c.root" >/dev/null 2>&1
done
[ -s "$work/a-hearth.db" ] && [ -s "$work/b-hearth.db" ] || fail "no hearth.db on a copy"
[ "$(cat "$work/a-machine-id")" = "$machine_a" ] || fail "copy A's machine-id on disk differs from what it said"
[ "$(cat "$work/a-machine-id")" != "$(cat "$work/b-machine-id")" ] || fail "both copies have machine-id $machine_a"
shared="$(node -e '
  const Database = require("better-sqlite3");
  const read = (f) => new Map(new Database(f, { readonly: true }).prepare("SELECT key, value FROM settings").all().map((r) => [r.key, r.value]));
  const [a, b] = [read(process.argv[1]), read(process.argv[2])];
  const secret = [...a.keys()].filter((k) => b.has(k) && /key|seed|secret/i.test(k));
  if (secret.length === 0) { console.log("NONE-FOUND"); process.exit(0); }
  console.error("secret settings compared: " + secret.join(", "));
  console.log(secret.filter((k) => a.get(k) === b.get(k)).join(","));
' "$work/a-hearth.db" "$work/b-hearth.db")" || fail "reading the hubs' settings"
[ "$shared" != NONE-FOUND ] || fail "no key settings found in hearth.db to compare"
[ -z "$shared" ] || fail "copies A and B share secret settings: $shared"
ok "copies A and B: different hub keys (every key/seed setting in hearth.db differs), machine-ids and setup codes; A's SSH host key $hostkey_a was made on the Pi"

echo "image-boot.test: figures: image $(( $(stat -c %s "$image") / 1048576 )) MiB file, $(( $(stat -c %s "$work/base.img") / 1048576 )) MiB raw, $used_mib MiB used on root; first boot to health ${first_health_s} s (A), ${health_s} s (B), reboot ${reboot_health_s} s under TCG; hub RSS $((hub_rss_kib / 1024)) MiB"
