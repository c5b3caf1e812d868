#!/usr/bin/env bash
# Prepare what the VM boots, cached under $VM_DIR (target/vm by default):
#   $VM_DIR/kernel/<kver>/          a stock Debian bookworm linux-image-6.1.0-*-amd64, unpacked,
#                                   with `depmod -b` run on its module tree;
#   $VM_DIR/initramfs-<kver>.cpio.gz  busybox (static) + the modules that mount the host's root
#                                   over virtio-9p with an overlay, + lib/init as /init.
#   $VM_DIR/resolved/<version>/     systemd-resolved and the libsystemd-shared of the same
#                                   version, unpacked (never installed: its postinst rewires
#                                   /etc/resolv.conf), for guest/resolved.sh.
# Prints "RESOLVED=<dir>" (empty when it could not be fetched: the guest test then skips) and
# "KVER=<kver>" as its last two lines of stdout. Sourced helpers: none; run as a script.
#
# Environment: VM_DIR, VM_KERNEL_PKG (a linux-image package name, to pin one).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
VM_DIR=${VM_DIR:?VM_DIR must be set}
mkdir -p "$VM_DIR/dl" "$VM_DIR/kernel"

log() { echo "vm-prepare: $*" >&2; }

apt_updated=
apt_update_once() {
    [ -n "$apt_updated" ] && return 0
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    apt_updated=1
}

# The newest linux-image-6.1.0-N-amd64 that apt knows about.
newest_kernel_pkg() {
    apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null |
        awk '{print $1}' | sort -V | tail -n 1
}

# Kernel: reuse the one cached unless a specific package is asked for.
pkg=${VM_KERNEL_PKG:-}
if [ -z "$pkg" ]; then
    cached=$(find "$VM_DIR/kernel" -mindepth 2 -maxdepth 2 -name .ready -printf '%h\n' 2>/dev/null |
        xargs -r -n1 basename | sort -V | tail -n 1)
    if [ -n "$cached" ]; then
        pkg=linux-image-$cached
    else
        pkg=$(newest_kernel_pkg)
        if [ -z "$pkg" ]; then
            apt_update_once
            pkg=$(newest_kernel_pkg)
        fi
        [ -n "$pkg" ] || { log "no linux-image-6.1.0-*-amd64 package known to apt"; exit 1; }
    fi
fi
kver=${pkg#linux-image-}
kdir=$VM_DIR/kernel/$kver

if [ ! -e "$kdir/.ready" ]; then
    log "fetching $pkg"
    rm -rf "$kdir"
    rm -f "$VM_DIR"/dl/"${pkg}"_*.deb
    if ! (cd "$VM_DIR/dl" && apt-get download -q "$pkg" >&2); then
        apt_update_once
        (cd "$VM_DIR/dl" && apt-get download -q "$pkg" >&2)
    fi
    deb=$(ls "$VM_DIR"/dl/"${pkg}"_*.deb)
    mkdir -p "$kdir.tmp"
    dpkg-deb -x "$deb" "$kdir.tmp"
    # bookworm packages ship /lib/modules; later ones /usr/lib/modules. Normalise to lib/modules.
    if [ ! -d "$kdir.tmp/lib/modules/$kver" ] && [ -d "$kdir.tmp/usr/lib/modules/$kver" ]; then
        mkdir -p "$kdir.tmp/lib/modules"
        mv "$kdir.tmp/usr/lib/modules/$kver" "$kdir.tmp/lib/modules/"
    fi
    [ -f "$kdir.tmp/boot/vmlinuz-$kver" ] || { log "no boot/vmlinuz-$kver in $deb"; exit 1; }
    depmod -b "$kdir.tmp" "$kver"
    touch "$kdir.tmp/.ready"
    mv "$kdir.tmp" "$kdir"
    rm -f "$deb"
fi

# Initramfs: rebuilt when /init, busybox or the kernel changes (a few hundred milliseconds).
initrd=$VM_DIR/initramfs-$kver.cpio.gz
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { log "busybox (busybox-static) is missing"; exit 1; }
# busybox-static installs /bin/busybox; prefer it over another busybox on PATH.
[ -x /bin/busybox ] && busybox=/bin/busybox
stamp=$( (echo "$kver"; sha256sum "$here/init" "$busybox" "$0") | sha256sum | cut -c1-16)
if [ ! -e "$initrd" ] || [ "$(cat "$initrd.stamp" 2>/dev/null)" != "$stamp" ]; then
    log "building initramfs for $kver"
    root=$VM_DIR/initramfs.tmp
    rm -rf "$root"
    mkdir -p "$root"/bin "$root"/ko "$root"/proc "$root"/sys "$root"/dev "$root"/host \
        "$root"/ovl "$root"/newroot "$root"/out
    cp "$busybox" "$root/bin/busybox"
    for a in sh mount umount mkdir insmod switch_root poweroff cat echo sleep sed; do
        ln -s busybox "$root/bin/$a"
    done
    # Modules in load order, dependencies first, as modprobe itself would load them.
    for m in virtio_pci 9pnet_virtio 9p overlay; do
        modprobe -d "$kdir" -S "$kver" --show-depends "$m"
    done | awk '$1 == "insmod" && !seen[$2]++ {print $2}' >"$root/ko/list"
    : >"$root/ko/order"
    while read -r ko; do
        name=$(basename "$ko")
        case $name in
            *.ko.xz) xz -dc "$ko" >"$root/ko/${name%.xz}"; name=${name%.xz} ;;
            *.ko.zst) zstd -qdc "$ko" >"$root/ko/${name%.zst}"; name=${name%.zst} ;;
            *) cp "$ko" "$root/ko/$name" ;;
        esac
        echo "$name" >>"$root/ko/order"
    done <"$root/ko/list"
    rm "$root/ko/list"
    [ -s "$root/ko/order" ] || { log "no modules resolved for the initramfs"; exit 1; }
    cp "$here/init" "$root/init"
    chmod 755 "$root/init"
    (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd.tmp"
    mv "$initrd.tmp" "$initrd"
    echo "$stamp" >"$initrd.stamp"
    rm -rf "$root"
fi

# systemd-resolved: the host's systemd version when apt still has it, else the candidate.
# libsystemd-shared is a private library tied to its exact version, so the one of the same
# version is unpacked beside it and the guest puts it on LD_LIBRARY_PATH.
resolved_dir() {
    find "$VM_DIR/resolved" -mindepth 2 -maxdepth 2 -name .ready -printf '%h\n' 2>/dev/null |
        sort -V | tail -n 1
}
fetch_resolved() {
    local want candidate version dir debs
    want=$(dpkg-query -W -f='${Version}' systemd 2>/dev/null || true)
    for version in "$want" candidate; do
        if [ "$version" = candidate ]; then
            candidate=$(apt-cache policy systemd-resolved 2>/dev/null | sed -n 's/^ *Candidate: //p')
            [ -n "$candidate" ] && [ "$candidate" != "(none)" ] || return 1
            version=$candidate
        fi
        [ -n "$version" ] || continue
        dir=$VM_DIR/resolved/$version
        rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/dl"
        if (cd "$dir.tmp/dl" && apt-get download -q "systemd-resolved=$version" \
            "libsystemd-shared=$version" >&2); then
            for debs in "$dir.tmp"/dl/*.deb; do dpkg-deb -x "$debs" "$dir.tmp"; done
            rm -rf "$dir.tmp/dl"
            # bookworm ships /lib/systemd; later releases /usr/lib/systemd.
            if [ ! -e "$dir.tmp/lib/systemd/systemd-resolved" ] &&
                [ -e "$dir.tmp/usr/lib/systemd/systemd-resolved" ]; then
                mkdir -p "$dir.tmp/lib/systemd"
                ln -s ../../usr/lib/systemd/systemd-resolved "$dir.tmp/lib/systemd/systemd-resolved"
            fi
            if LD_LIBRARY_PATH=$(dirname "$(find "$dir.tmp" -name 'libsystemd-shared-*.so' | head -n 1)") \
                "$dir.tmp/lib/systemd/systemd-resolved" --version >&2; then
                touch "$dir.tmp/.ready"
                rm -rf "$dir"
                mv "$dir.tmp" "$dir"
                return 0
            fi
            log "the unpacked systemd-resolved $version does not run here"
        fi
        rm -rf "$dir.tmp"
    done
    return 1
}
resolved=$(resolved_dir)
if [ -z "$resolved" ]; then
    log "fetching systemd-resolved (unpacked only, not installed)"
    if ! fetch_resolved; then
        apt_update_once
        fetch_resolved || log "no systemd-resolved package could be fetched: guest/resolved.sh will skip"
    fi
    resolved=$(resolved_dir)
fi

echo "RESOLVED=$resolved"
echo "KVER=$kver"
