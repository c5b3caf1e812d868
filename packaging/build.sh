#!/usr/bin/env bash
# Builds the Debian package mbimd_<version>_<debarch>.deb (dpkg-deb) and the
# RPM mbimd-<version>-1.<arch>.rpm (rpmbuild, packaging/rpm/mbimd.spec) from
# one pair of binaries, so both packages carry the same mbimd and mbimctl.
#
#   packaging/build.sh [--bin-dir DIR] [--out DIR] [--deb-only | --rpm-only]
#
#   --bin-dir DIR  take mbimd and mbimctl from DIR (default: cargo build
#                  --release, then the release directory of cargo's target
#                  directory, CARGO_TARGET_DIR honoured)
#   --out DIR      where the packages go (default: <target dir>/packages)
#
# The version is the workspace's (cargo metadata), the architecture the
# build machine's (dpkg --print-architecture, uname -m). Environment:
# MBIMD_MAINTAINER ("Name <address>") for the deb's Maintainer field and
# changelog; SOURCE_DATE_EPOCH (default: the last commit's time) for dates.
# Prints the path of each package built, one a line, last.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

die() {
    echo "build.sh: error: $*" >&2
    exit 2
}
say() { echo "build.sh: $*" >&2; }
usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}
# need COMMAND PACKAGE: fail now, naming the package, rather than halfway.
need() {
    command -v "$1" >/dev/null 2>&1 ||
        die "$1 not found: install it (Debian: apt-get install $2)"
}

bin_dir=
out=
want_deb=1
want_rpm=1
while [ "$#" -gt 0 ]; do
    case "$1" in
    --bin-dir) bin_dir=${2:?--bin-dir needs a directory}; shift 2 ;;
    --bin-dir=*) bin_dir=${1#*=}; shift ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    --deb-only) want_rpm=0; shift ;;
    --rpm-only) want_deb=0; shift ;;
    -h | --help) usage ;;
    *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[ "$want_deb$want_rpm" != 00 ] || die "--deb-only and --rpm-only exclude each other"

need cargo "cargo (a Rust toolchain)"
need strip binutils
need gzip gzip
if [ "$want_deb" = 1 ]; then
    need dpkg dpkg
    need dpkg-deb dpkg
    need dpkg-shlibdeps dpkg-dev
fi
if [ "$want_rpm" = 1 ]; then
    need rpmbuild rpm
fi

# --- version and target directory, from cargo ---------------------------------------------------
metadata=$(cd "$repo" && cargo metadata --format-version 1 --no-deps)
version=$(grep -o '"name":"mbimd","version":"[^"]*"' <<<"$metadata" | sed -n 1p | sed 's/.*"version":"\([^"]*\)"/\1/')
target_dir=$(grep -o '"target_directory":"[^"]*"' <<<"$metadata" | sed 's/.*:"\([^"]*\)"/\1/')
[ -n "$version" ] || die "cargo metadata names no version for the package mbimd"
[ -n "$target_dir" ] || die "cargo metadata names no target directory"
homepage=$(grep -o '"name":"mbimd","version":"[^"]*".*' <<<"$metadata" | grep -o '"repository":"[^"]*"' | sed -n 1p | sed 's/.*:"\([^"]*\)"/\1/' || true)
homepage=${homepage:-https://example.invalid/mbimd}

if [ -z "$bin_dir" ]; then
    say "cargo build --release -p mbimd -p mbimctl"
    (cd "$repo" && cargo build --release --locked -p mbimd -p mbimctl >&2)
    bin_dir=$target_dir/release
fi
for b in mbimd mbimctl; do
    [ -x "$bin_dir/$b" ] || die "$bin_dir/$b: no such executable (build it, or give --bin-dir)"
done
out=${out:-$target_dir/packages}
mkdir -p "$out"
out=$(cd "$out" && pwd)

maintainer=${MBIMD_MAINTAINER:-mbimd maintainers <mbimd@example.invalid>}
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- the files both packages carry ---------------------------------------------------------------
stage=$work/stage
mkdir -p "$stage/interfaces"
for b in mbimd mbimctl; do
    # As dh_strip: no symbols, no .comment/.note (the build id stays: it
    # is .note.gnu.build-id, which --remove-section=.note does not match).
    strip --remove-section=.comment --remove-section=.note --strip-unneeded \
        -o "$stage/$b" "$bin_dir/$b"
    chmod 0755 "$stage/$b"
done
install -m 0644 "$repo/systemd/mbimd.service" "$repo/systemd/dev.mbimd.Mbimd1.conf" \
    "$repo/systemd/dev.mbimd.ModemManager1.conf" "$repo/systemd/ModemManager-mbimd.conf" \
    "$repo/systemd/mbimd.toml" "$repo/systemd/70-mbimd.rules" "$repo/systemd/mbimd.sysusers" \
    "$repo/systemd/mbimd.polkit.rules" "$repo/README.md" \
    "$here/licenses/LICENSE-MIT" "$here/licenses/LICENSE-APACHE" "$stage/"
install -m 0644 "$repo"/dbus-interfaces/dev.mbimd.*.xml "$stage/interfaces/"
# Manual pages, compressed as dh_compress and brp-compress would (-n: no name
# or time stamp, so the same page gives the same bytes).
mkdir -p "$stage/man"
for page in "$here"/man/*.[0-9]; do
    gzip -9n <"$page" >"$stage/man/$(basename "$page").gz"
    chmod 0644 "$stage/man/$(basename "$page").gz"
done
{
    echo "Rust crates linked statically into mbimd and mbimctl $version, with their licenses"
    echo "(cargo tree -e normal,no-proc-macro):"
    echo
    (cd "$repo" && cargo tree --offline --locked -p mbimd -p mbimctl -e normal,no-proc-macro \
        --prefix none --format '{p} {l}') |
        sed 's/ (\*)$//; s/ (\/[^)]*)//' | sort -u | grep -v '^$'
} >"$stage/crates.txt" || die "cargo tree could not list the linked crates"

built=()

# --- deb ------------------------------------------------------------------------------------------
build_deb() {
    local debarch root pkgdir doc depends size deb
    debarch=$(dpkg --print-architecture)
    # dpkg-shlibdeps wants a source tree: debian/control, and the package's
    # files under debian/<package>/.
    mkdir -p "$work/deb/debian"
    printf 'Source: mbimd\n\nPackage: mbimd\nArchitecture: any\n' >"$work/deb/debian/control"
    root=$work/deb/debian/mbimd
    doc=$root/usr/share/doc/mbimd
    install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/usr/lib/systemd/system" \
        "$root/usr/lib/systemd/system/ModemManager.service.d" \
        "$root/usr/lib/sysusers.d" "$root/usr/lib/udev/rules.d" \
        "$root/usr/share/polkit-1/rules.d" \
        "$root/usr/share/dbus-1/system.d" "$root/usr/share/dbus-1/interfaces" \
        "$root/etc/mbimd" "$doc"
    install -m 0755 "$stage/mbimd" "$stage/mbimctl" "$root/usr/bin/"
    install -m 0644 "$stage/mbimd.service" "$root/usr/lib/systemd/system/"
    install -m 0644 "$stage/mbimd.sysusers" "$root/usr/lib/sysusers.d/mbimd.conf"
    install -m 0644 "$stage/70-mbimd.rules" "$root/usr/lib/udev/rules.d/"
    install -m 0644 "$stage/mbimd.polkit.rules" "$root/usr/share/polkit-1/rules.d/50-mbimd.rules"
    install -m 0644 "$stage/dev.mbimd.Mbimd1.conf" "$stage/dev.mbimd.ModemManager1.conf" \
        "$root/usr/share/dbus-1/system.d/"
    install -m 0644 "$stage/ModemManager-mbimd.conf" \
        "$root/usr/lib/systemd/system/ModemManager.service.d/50-mbimd.conf"
    install -m 0644 "$stage/interfaces/"*.xml "$root/usr/share/dbus-1/interfaces/"
    install -m 0644 "$stage/mbimd.toml" "$root/etc/mbimd/"
    for page in "$stage"/man/*.gz; do
        section=${page%.gz}
        section=${section##*.}
        install -D -m 0644 "$page" "$root/usr/share/man/man$section/$(basename "$page")"
    done
    install -m 0644 "$stage/README.md" "$stage/crates.txt" "$here/deb/copyright" "$doc/"
    # Tags overridden on purpose, each with its reason (none today).
    if [ -f "$here/deb/lintian-overrides" ]; then
        install -D -m 0644 "$here/deb/lintian-overrides" "$root/usr/share/lintian/overrides/mbimd"
    fi
    {
        echo "mbimd ($version) unstable; urgency=medium"
        echo
        echo "  * Package built from the mbimd repository (packaging/build.sh)."
        echo
        echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
    } | gzip -9n >"$doc/changelog.gz"
    chmod 0644 "$doc/changelog.gz"

    install -m 0755 "$here/deb/postinst" "$here/deb/prerm" "$here/deb/postrm" "$root/DEBIAN/"
    # preinst carries the sysusers.d lines themselves (the file is not
    # unpacked yet when it runs): one declaration, systemd/mbimd.sysusers.
    awk -v file="$stage/mbimd.sysusers" '
        /^@SYSUSERS@$/ { while ((getline line < file) > 0) if (line !~ /^#/ && line != "") print line; next }
        { print }' "$here/deb/preinst" >"$root/DEBIAN/preinst"
    chmod 0755 "$root/DEBIAN/preinst"
    echo /etc/mbimd/mbimd.toml >"$root/DEBIAN/conffiles"

    # The libraries the binaries need (NEEDED), mapped to their packages with
    # the minimum versions their symbols require.
    depends=$(cd "$work/deb" && dpkg-shlibdeps -O -e"$root/usr/bin/mbimd" -e"$root/usr/bin/mbimctl" |
        sed -n 's/^shlibs:Depends=//p')
    [ -n "$depends" ] || die "dpkg-shlibdeps found no dependencies of mbimd"

    (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
        xargs -0 md5sum) >"$root/DEBIAN/md5sums"
    chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/conffiles"
    # Installed-Size as dpkg-gencontrol counts it: KiB per file, rounded up;
    # one per directory or link.
    size=$(find "$root" -path "$root/DEBIAN" -prune -o -mindepth 1 -printf '%y %s\n' |
        awk '$1 == "f" { s += int(($2 + 1023) / 1024); next } { s += 1 } END { print s }')

    cat >"$root/DEBIAN/control" <<EOF
Package: mbimd
Version: $version
Architecture: $debarch
Maintainer: $maintainer
Installed-Size: $size
Depends: $depends, systemd | systemd-standalone-sysusers | systemd-sysusers
Recommends: dbus, mobile-broadband-provider-info
Section: net
Priority: optional
Homepage: $homepage
Description: USB MBIM modem daemon
 mbimd drives USB MBIM cellular modems from Linux user space. A systemd
 service claims each MBIM function of a modem, maps every executor (one
 cellular stack of a multi-SIM modem) to a TUN network device carrying its
 packets, applies addresses, routes, DNS and MTU, runs the dual-SIM
 single-active slot-switch policy, and publishes all of it on D-Bus
 (dev.mbimd.Mbimd1, and ModemManager's org.freedesktop.ModemManager1 for
 NetworkManager and mmcli).
 .
 mbimctl is its command-line client, and decodes hex dumps of MBIM messages.
EOF
    chmod 0644 "$root/DEBIAN/control"
    # Mtimes from SOURCE_DATE_EPOCH: the same tree gives the same package.
    find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    deb=$out/mbimd_${version}_${debarch}.deb
    dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2
    built+=("$deb")
}

# --- rpm ------------------------------------------------------------------------------------------
build_rpm() {
    local arch top rpm
    arch=$(uname -m)
    top=$work/rpm
    mkdir -p "$top/BUILD" "$top/BUILDROOT" "$top/RPMS" "$top/SPECS" "$top/SRPMS" "$top/tmp"
    # Its own database: rpmbuild opens one, and the default on Debian is
    # ~/.rpmdb, which a package build has no business creating (its helper
    # processes find it through HOME, not through --dbpath).
    HOME=$top rpmbuild -bb --quiet --target "$arch" --dbpath "$top/db" \
        --define "_topdir $top" \
        --define "_tmppath $top/tmp" \
        --define "_sourcedir $stage" \
        --define "_rpmdir $out" \
        --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
        --define "mbimd_version $version" \
        --define "mbimd_changelog_date $(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH" '+%a %b %d %Y')" \
        --define "use_source_date_epoch_as_buildtime 1" \
        --define "clamp_mtime_to_source_date_epoch 1" \
        "$here/rpm/mbimd.spec" >&2
    rpm=$out/mbimd-$version-1.$arch.rpm
    [ -f "$rpm" ] || die "rpmbuild did not write $rpm"
    built+=("$rpm")
}

[ "$want_deb" = 0 ] || build_deb
[ "$want_rpm" = 0 ] || build_rpm
printf '%s\n' "${built[@]}"
