#!/bin/sh
# Runs inside the image's root tree (arm64, under qemu-user, chrooted by scripts/build-image, step
# 3): installs the Hearth .deb ($DEB) and the image's own files (packaging/image/files, copied to
# /tmp/hearth-image-files), makes the initramfs, and sets the image up. Nothing run here may make
# a secret or a per-machine id: those are made on the Pi at first boot.
set -eu
export DEBIAN_FRONTEND=noninteractive
files=/tmp/hearth-image-files
t0="${HEARTH_BUILD_LOG_T0:-$(date +%s)}"
log() { s=$(($(date +%s) - t0)); printf 'hearth: [%d:%02d] customize.sh: %s\n' $((s / 60)) $((s % 60)) "$*" >&2; }

# No service starts in the chroot (there is no systemd here; this makes sure of it).
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d

# Hearth: its Depends came in with the tree (scripts/build-image), so nothing is fetched: dpkg
# stops here if one is missing. The postinst makes the hearth user and the empty /var/lib/hearth
# and enables hearth.service.
log "dpkg -i $(basename "$DEB")"
dpkg -i "$DEB"

# The image's files (units, scripts, settings); existing directories keep their modes.
tar -C "$files" -cf - . | tar -C / -xf - --no-same-owner --no-overwrite-dir

# The Pi's boot files: raspi-firmware's kernel hook writes cmdline.txt with this root and copies
# the kernel, initrd and device trees to /boot/firmware. Run now that ROOTPART is set.
# Boot messages on the screen (the last console), a login prompt on the serial pins too.
sed -i -e 's/^#\?ROOTPART=.*/ROOTPART=LABEL=HEARTHROOT/' -e 's/^#\?CONSOLES=.*/CONSOLES="ttyS1,115200 tty0"/' /etc/default/raspi-firmware
grep -q '^ROOTPART=LABEL=HEARTHROOT' /etc/default/raspi-firmware || echo 'ROOTPART=LABEL=HEARTHROOT' >>/etc/default/raspi-firmware
# update-initramfs was a no-op while the packages were configured (scripts/build-image): back,
# and the initramfs made once, now, with the image's module set (etc/initramfs-tools: what a Pi
# needs to find its root on the SD card or a USB disk, not Debian's every-machine default).
if [ -e /usr/sbin/update-initramfs.hearth-build ]; then
  rm -f /usr/sbin/update-initramfs
  dpkg-divert --quiet --local --rename --divert /usr/sbin/update-initramfs.hearth-build --remove /usr/sbin/update-initramfs
fi
for modules in /lib/modules/*; do
  kver="$(basename "$modules")"
  log "update-initramfs -c -k $kver"
  [ -e "/boot/initrd.img-$kver" ] || update-initramfs -c -k "$kver"
  log "initramfs made: $(du -k "/boot/initrd.img-$kver" | cut -f1) KiB"
  # The hook acts only when called as from a kernel package's configure step.
  DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware "$kver" "/boot/vmlinuz-$kver"
done
grep -q 'root=LABEL=HEARTHROOT' /boot/firmware/cmdline.txt || { echo "customize.sh: cmdline.txt has no root=LABEL=HEARTHROOT: $(cat /boot/firmware/cmdline.txt)" >&2; exit 1; }

echo hearth >/etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\thearth\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n' >/etc/hosts

# Networking: systemd-networkd (DHCP on any wired or Wi-Fi interface), systemd-resolved for DNS
# (its fallback servers off: see resolved.conf.d), avahi for hearth.local, timesyncd with no
# server of its own (see timesyncd.conf.d). The Wi-Fi interface is brought up by
# wpa_supplicant@wlan0 once the installer's Wi-Fi file was applied (hearth-firstboot).
systemctl enable systemd-networkd.service systemd-resolved.service systemd-timesyncd.service avahi-daemon.service
systemctl enable hearth-firstboot.service hearth-setup-code.service hearth-setup-code.path hearth.service
# Not needed with networkd (and it would wait for an interface that may never come).
systemctl disable systemd-networkd-wait-online.service 2>/dev/null || true
systemctl mask systemd-networkd-wait-online.service
# SSH is off until the installer puts a key on the boot partition (hearth-firstboot); the host
# keys openssh-server's postinst made here would be shared by every Pi flashed from this image.
systemctl disable ssh.service 2>/dev/null || true
rm -f /etc/ssh/ssh_host_*
# Checking for package updates would contact Debian's servers by itself: off (apt still works by hand).
systemctl mask apt-daily.timer apt-daily-upgrade.timer

# Nothing is carried from the build machine or made here that must differ per Pi.
rm -f /var/lib/systemd/random-seed /var/lib/dbus/machine-id
rm -rf /var/lib/hearth/* /var/log/journal/* /var/cache/apt/*.bin
: >/etc/machine-id

rm -f /usr/sbin/policy-rc.d
# Last: from here on the chroot has no DNS of its own.
ln -sf ../run/systemd/resolve/stub-resolv.conf /etc/resolv.conf
log done
