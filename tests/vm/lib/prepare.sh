#!/usr/bin/env bash
# Prepare what the VM boots, cached under $VM_DIR (target/vm by default):
#   $VM_DIR/kernel/<kver>/          a stock Debian bookworm linux-image-6.1.0-*-amd64, unpacked,
#                                   with `depmod -b` run on its module tree;
#   $VM_DIR/initramfs-<kver>.cpio.gz  busybox (static) + the modules that mount the host's root
#                                   over virtio-9p with an overlay, + lib/init as /init.
# Prints "KVER=<kver>" on its last line of stdout. Sourced helpers: none; run as a script.
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

echo "KVER=$kver"
