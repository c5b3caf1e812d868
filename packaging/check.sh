#!/usr/bin/env bash
# Builds the .deb and the .rpm from the debug binaries a test run has built
# (packaging/build.sh --bin-dir <target>/debug) and checks them with tools
# that did not make them: dpkg-deb, dpkg, lintian, rpm, readelf/objdump,
# systemd-analyze, and the packaged mbimd itself.
#
#   packaging/check.sh
#
# One line per check, "PASS name" or "FAIL name: why"; ends with "N passed,
# M failed" and exits 1 if any check failed, 2 if it could not run at all
# (a tool it could not install: it names the package). Installs what it
# needs with apt-get when run as root (as CI does, on a bare Debian too).
# Everything it makes lives in one temporary directory: packages are
# installed into scratch roots with their own dpkg and rpm databases, never
# into this machine's.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

die() {
    echo "check.sh: error: $*" >&2
    exit 2
}

# --- tools: install what is missing (CI runs as root on Debian) -------------------------------
missing=()
need() { # need COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}
need cargo cargo
need dpkg-deb dpkg
need dpkg-shlibdeps dpkg-dev
need rpmbuild rpm
need readelf binutils
need objdump binutils
need strip binutils
need systemd-analyze systemd
need gzip gzip
need md5sum coreutils
need lintian lintian
# The manual pages are rendered as man does (man-db brings groff-base).
need man man-db
need rpm2cpio rpm2cpio
need cpio cpio
# systemd-analyze verify resolves the unit's dependencies, dbus.socket among them.
[ -e /usr/lib/systemd/system/dbus.socket ] || missing+=(dbus-system-bus-common)
apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "$@" ||
        { apt-get update -q && apt-get install -y -q --no-install-recommends "$@"; }
}
if [ "${#missing[@]}" -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    [ "$(id -u)" = 0 ] || die "missing packages (install them as root): ${missing[*]}"
    echo "check.sh: installing ${missing[*]}"
    apt_install "${missing[@]}" >&2 || die "could not install ${missing[*]}"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# rpm's default database on Debian is ~/.rpmdb: every rpm call gets one of
# its own, and a HOME of its own for the helpers rpm runs.
rpmq() { HOME=$tmp rpm --dbpath "$tmp/rpmdb" "$@"; }

passed=0
failed=0
pass() {
    echo "PASS $1"
    passed=$((passed + 1))
}
fail() {
    echo "FAIL $1: $2"
    failed=$((failed + 1))
}
# verdict NAME PROBLEMS: PASS when PROBLEMS is empty, else FAIL with them.
verdict() {
    if [ -z "$2" ]; then pass "$1"; else fail "$1" "$(printf '%s' "$2" | tr '\n' ';' | sed 's/;$//; s/;/; /g')"; fi
}
# same_set NAME EXPECTED ACTUAL: the two newline-separated lists hold the same lines.
same_set() {
    local extra lacking
    extra=$(comm -13 <(sort -u <<<"$2") <(sort -u <<<"$3") | sed 's/^/unexpected /')
    lacking=$(comm -23 <(sort -u <<<"$2") <(sort -u <<<"$3") | sed 's/^/missing /')
    verdict "$1" "$extra${extra:+${lacking:+$'\n'}}$lacking"
}

# --- build the packages from the debug binaries ------------------------------------------------
echo "== cargo build -p mbimd -p mbimctl (debug)"
(cd "$repo" && cargo build -p mbimd -p mbimctl)
target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps |
    grep -o '"target_directory":"[^"]*"' | sed 's/.*:"\([^"]*\)"/\1/')
version=$(cd "$repo" && cargo metadata --format-version 1 --no-deps |
    grep -o '"name":"mbimd","version":"[^"]*"' | sed -n 1p | sed 's/.*"version":"\([^"]*\)"/\1/')
[ -n "$target_dir" ] && [ -n "$version" ] || die "cargo metadata gave no target directory or version"
debarch=$(dpkg --print-architecture)
arch=$(uname -m)

echo "== packaging/build.sh --bin-dir $target_dir/debug"
if "$here/build.sh" --bin-dir "$target_dir/debug" --out "$tmp/out" >"$tmp/built"; then
    pass "build.sh builds both packages"
else
    fail "build.sh builds both packages" "exit status $?"
fi
deb=$tmp/out/mbimd_${version}_${debarch}.deb
rpm=$tmp/out/mbimd-$version-1.$arch.rpm
problems=
for f in "$deb" "$rpm"; do
    [ -f "$f" ] || problems+="no $(basename "$f")"$'\n'
done
verdict "package file names (mbimd_${version}_${debarch}.deb, mbimd-$version-1.$arch.rpm)" "$problems"
[ -f "$deb" ] && [ -f "$rpm" ] || {
    echo "$passed passed, $((failed + 1)) failed"
    exit 1
}

# What both packages must install, beside the documentation.
payload="/etc/mbimd/mbimd.toml
/usr/bin/mbimctl
/usr/bin/mbimd
/usr/lib/systemd/system/mbimd.service
/usr/lib/sysusers.d/mbimd.conf
/usr/lib/udev/rules.d/70-mbimd.rules
/usr/lib/systemd/system/ModemManager.service.d/50-mbimd.conf
/usr/share/dbus-1/system.d/dev.mbimd.Mbimd1.conf
/usr/share/dbus-1/system.d/dev.mbimd.ModemManager1.conf
/usr/share/polkit-1/rules.d/50-mbimd.rules
/usr/share/man/man1/mbimctl.1.gz
/usr/share/man/man5/mbimd.toml.5.gz
/usr/share/man/man8/mbimd.8.gz"
for x in "$repo"/dbus-interfaces/dev.mbimd.*.xml; do
    payload+=$'\n'"/usr/share/dbus-1/interfaces/$(basename "$x")"
done
# Which file of the repository each installed file is.
source_of() {
    case "$1" in
    /etc/mbimd/mbimd.toml) echo "$repo/systemd/mbimd.toml" ;;
    /usr/lib/systemd/system/mbimd.service) echo "$repo/systemd/mbimd.service" ;;
    /usr/share/dbus-1/system.d/dev.mbimd.Mbimd1.conf) echo "$repo/systemd/dev.mbimd.Mbimd1.conf" ;;
    /usr/share/dbus-1/system.d/dev.mbimd.ModemManager1.conf) echo "$repo/systemd/dev.mbimd.ModemManager1.conf" ;;
    /usr/lib/systemd/system/ModemManager.service.d/50-mbimd.conf) echo "$repo/systemd/ModemManager-mbimd.conf" ;;
    /usr/lib/sysusers.d/mbimd.conf) echo "$repo/systemd/mbimd.sysusers" ;;
    /usr/lib/udev/rules.d/70-mbimd.rules) echo "$repo/systemd/70-mbimd.rules" ;;
    /usr/share/polkit-1/rules.d/50-mbimd.rules) echo "$repo/systemd/mbimd.polkit.rules" ;;
    /usr/share/dbus-1/interfaces/*) echo "$repo/dbus-interfaces/$(basename "$1")" ;;
    esac
}

# --- the paths the daemon and its unit expect ------------------------------------------------
problems=
grep -q 'pub const DEFAULT_PATH: &str = "/etc/mbimd/mbimd.toml";' "$repo/daemon/src/config.rs" ||
    problems+="daemon/src/config.rs DEFAULT_PATH is not /etc/mbimd/mbimd.toml"$'\n'
grep -q 'pub const DEFAULT_PATH: &str = "/var/lib/mbimd/slots.toml";' "$repo/daemon/src/policy/store.rs" ||
    problems+="the slot store's DEFAULT_PATH is not under /var/lib/mbimd"$'\n'
grep -qx 'ExecStart=/usr/bin/mbimd' "$repo/systemd/mbimd.service" ||
    problems+="the unit's ExecStart is not /usr/bin/mbimd"$'\n'
grep -qx 'StateDirectory=mbimd' "$repo/systemd/mbimd.service" ||
    problems+="the unit's StateDirectory is not mbimd (/var/lib/mbimd, which purge removes)"$'\n'
grep -qx 'BusName=dev.mbimd.Mbimd1' "$repo/systemd/mbimd.service" ||
    problems+="the unit's BusName is not the name the packaged policy lets root own"$'\n'
# The user the unit runs as is the one sysusers creates, udev hands the
# modems to, the bus policy lets own the name and the polkit rule names.
grep -qx 'User=mbimd' "$repo/systemd/mbimd.service" ||
    problems+="the unit's User is not mbimd"$'\n'
grep -q '^u mbimd - ' "$repo/systemd/mbimd.sysusers" ||
    problems+="mbimd.sysusers does not create the user mbimd"$'\n'
grep -q 'OWNER="mbimd"' "$repo/systemd/70-mbimd.rules" ||
    problems+="70-mbimd.rules gives the modems to no user mbimd"$'\n'
grep -q '<policy user="mbimd">' "$repo/systemd/dev.mbimd.Mbimd1.conf" ||
    problems+="the bus policy does not let the user mbimd own the name"$'\n'
grep -q '<policy user="mbimd">' "$repo/systemd/dev.mbimd.ModemManager1.conf" &&
    grep -q '<allow own="org.freedesktop.ModemManager1"/>' "$repo/systemd/dev.mbimd.ModemManager1.conf" ||
    problems+="the ModemManager API's bus policy does not let the user mbimd own its name"$'\n'
grep -q 'ID_MM_DEVICE_IGNORE}="1"' "$repo/systemd/70-mbimd.rules" ||
    problems+="70-mbimd.rules does not keep ModemManager off the modems mbimd drives"$'\n'
grep -q '^ExecCondition=.*busctl --system status org.freedesktop.ModemManager1' \
    "$repo/systemd/ModemManager-mbimd.conf" ||
    problems+="ModemManager's drop-in does not skip it while mbimd owns the name"$'\n'
grep -q '^Before=.*ModemManager.service' "$repo/systemd/mbimd.service" ||
    problems+="the unit is not ordered before ModemManager.service (its drop-in asks for the name)"$'\n'
grep -q 'subject.user !== "mbimd"' "$repo/systemd/mbimd.polkit.rules" ||
    problems+="the polkit rule is not for the user mbimd"$'\n'
verdict "installed paths are the ones the daemon and the unit use" "$problems"

# === the deb =======================================================================================
echo "== deb: $(basename "$deb")"
info=$(dpkg-deb --info "$deb")
field() { dpkg-deb --field "$deb" "$1"; }
problems=
[ "$(field Package)" = mbimd ] || problems+="Package: $(field Package)"$'\n'
[ "$(field Version)" = "$version" ] || problems+="Version: $(field Version), not $version"$'\n'
[ "$(field Architecture)" = "$debarch" ] || problems+="Architecture: $(field Architecture)"$'\n'
[ "$(field Section)" = net ] || problems+="Section: $(field Section)"$'\n'
[ "$(field Priority)" = optional ] || problems+="Priority: $(field Priority)"$'\n'
[ "$(field Recommends)" = "dbus, mobile-broadband-provider-info" ] || problems+="Recommends: $(field Recommends)"$'\n'
grep -Eq '^.+ <[^@ ]+@[^> ]+>$' <<<"$(field Maintainer)" || problems+="Maintainer: $(field Maintainer)"$'\n'
description=$(field Description)
[ "$(head -n 1 <<<"$description" | wc -c)" -gt 10 ] || problems+="no short description"$'\n'
[ "$(wc -l <<<"$description")" -ge 3 ] || problems+="no long description"$'\n'
verdict "deb: control fields (dpkg-deb --info)" "$problems"

# Installed-Size against the sizes dpkg-deb lists: at least the bytes, at
# most one KiB more per entry.
contents=$(dpkg-deb --contents "$deb")
size=$(field Installed-Size)
bounds=$(awk '{ b += $3; n++ } END { printf "%d %d", b / 1024, b / 1024 + n + 1 }' <<<"$contents")
if [[ "$size" =~ ^[0-9]+$ ]] && [ "$size" -ge "${bounds% *}" ] && [ "$size" -le "${bounds#* }" ]; then
    pass "deb: Installed-Size $size KiB matches the contents"
else
    fail "deb: Installed-Size matches the contents" "Installed-Size: $size, contents ${bounds% *}..${bounds#* } KiB"
fi

# The file list, modes and owners (dpkg-deb --contents).
files=$(awk '$1 ~ /^-/ { sub(/^\./, "", $6); print $6 }' <<<"$contents")
same_set "deb: file list" "$payload
/usr/share/doc/mbimd/README.md
/usr/share/doc/mbimd/changelog.gz
/usr/share/doc/mbimd/copyright
/usr/share/doc/mbimd/crates.txt" "$(grep -v '^/usr/share/lintian/overrides/mbimd$' <<<"$files")"
problems=$(awk '
    { sub(/^\./, "", $6) }
    $2 != "root/root" { print $6 " owned by " $2 }
    $1 ~ /^d/ && $1 != "drwxr-xr-x" { print $6 " " $1 }
    $1 ~ /^-/ && $6 ~ /^\/usr\/bin\// && $1 != "-rwxr-xr-x" { print $6 " " $1 ", not 0755" }
    $1 ~ /^-/ && $6 !~ /^\/usr\/bin\// && $1 != "-rw-r--r--" { print $6 " " $1 ", not 0644" }
    $1 !~ /^[-d]/ { print $6 " is neither file nor directory" }' <<<"$contents")
verdict "deb: modes and owners (binaries 0755, other files 0644, all root)" "$problems"

# The control archive.
ctrl=$tmp/deb-control
dpkg-deb --control "$deb" "$ctrl"
if [ "$(cat "$ctrl/conffiles" 2>/dev/null)" = /etc/mbimd/mbimd.toml ]; then
    pass "deb: conffiles is /etc/mbimd/mbimd.toml"
else
    fail "deb: conffiles is /etc/mbimd/mbimd.toml" "conffiles: $(tr '\n' ' ' <"$ctrl/conffiles" 2>/dev/null || echo absent)"
fi
problems=
for s in preinst postinst prerm postrm; do
    f=$ctrl/$s
    if [ ! -f "$f" ]; then problems+="no $s"$'\n'; continue; fi
    [ -x "$f" ] || problems+="$s not executable"$'\n'
    [ "$(head -n 1 "$f")" = '#!/bin/sh' ] || problems+="$s does not start with #!/bin/sh"$'\n'
    grep -qx 'set -e' "$f" || problems+="$s lacks set -e"$'\n'
    sh -n "$f" 2>/dev/null || problems+="$s: sh -n fails"$'\n'
    # Every live systemd step is behind the running-systemd test.
    grep -n 'systemctl\|deb-systemd-invoke' "$f" | grep -v 'command -v' >/dev/null &&
        ! grep -q '/run/systemd/system' "$f" && problems+="$s calls systemd without checking it runs"$'\n'
done
grep -q 'rm -rf "${DPKG_ROOT:-}/var/lib/mbimd"' "$ctrl/postrm" || problems+="postrm does not remove /var/lib/mbimd on purge"$'\n'
# preinst creates the user from the very lines of systemd/mbimd.sysusers.
[ "$(sed -n "/<<'SYSUSERS'/,/^SYSUSERS$/p" "$ctrl/preinst" | sed '1d;$d')" = \
    "$(grep -v '^#' "$repo/systemd/mbimd.sysusers" | grep -v '^$')" ] ||
    problems+="preinst does not carry the lines of systemd/mbimd.sysusers"$'\n'
verdict "deb: maintainer scripts (sh -n, set -e, systemd guarded, preinst creates the user)" "$problems"

# The package's own files, unpacked: md5sums, stripped binaries, the sources.
unpacked=$tmp/deb-tree
dpkg-deb --extract "$deb" "$unpacked"
if (cd "$unpacked" && md5sum --check --quiet "$ctrl/md5sums") >/dev/null 2>&1 &&
    [ "$(wc -l <"$ctrl/md5sums")" = "$(grep -c . <<<"$files")" ]; then
    pass "deb: md5sums cover every file and match"
else
    fail "deb: md5sums cover every file and match" "md5sum --check fails or misses files"
fi
problems=
for b in mbimd mbimctl; do
    sections=$(readelf -W -S "$unpacked/usr/bin/$b")
    grep -q ' \.symtab ' <<<"$sections" && problems+="$b has a symbol table"$'\n'
    # .debug_gdb_scripts is loaded (flag A), not debug information: strip keeps it.
    grep ' \.debug_' <<<"$sections" | grep -v '\.debug_gdb_scripts' >/dev/null &&
        problems+="$b has debug sections"$'\n'
done
verdict "deb: binaries stripped" "$problems"
problems=
while read -r p; do
    src=$(source_of "$p")
    [ -z "$src" ] || cmp -s "$src" "$unpacked$p" || problems+="$p differs from ${src#"$repo"/}"$'\n'
done <<<"$payload"
verdict "deb: unit, bus policy, configuration and interfaces are the repository's" "$problems"

# The manual pages: the repository's, and groff renders each without a
# warning (what lintian's groff-message tag reports).
problems=
for page in "$repo"/packaging/man/*.[0-9]; do
    name=$(basename "$page")
    packaged=$unpacked/usr/share/man/man${name##*.}/$name.gz
    if ! zcat "$packaged" 2>/dev/null | cmp -s - "$page"; then
        problems+="$name.gz is missing or is not packaging/man/$name"$'\n'
        continue
    fi
    warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
        man --warnings -E UTF-8 -l -Tutf8 -Z "$packaged" 2>&1 >/dev/null) ||
        warnings+=" (man failed)"
    [ -z "$warnings" ] || problems+="$name: $warnings"$'\n'
done
verdict "deb: manual pages mbimd(8), mbimctl(1), mbimd.toml(5) render without warnings" "$problems"

# Depends, recomputed: every NEEDED library's package (dpkg -S), and libc6
# at least the highest GLIBC_ symbol version the binaries use.
depends=$(field Depends)
problems=
needed=$(for b in mbimd mbimctl; do readelf -d "$unpacked/usr/bin/$b"; done |
    sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u)
for lib in $needed; do
    # No early exit in a pipe reader: under pipefail, the writer's SIGPIPE
    # would fail the whole script.
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l && !found { print $NF; found = 1 }')
    owner=$( { dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null; } |
        sed -n 1p | cut -d: -f1)
    if [ -z "$owner" ]; then
        problems+="no package owns $lib ($path)"$'\n'
    elif ! grep -Eq "(^|, )$owner( |,|$)" <<<"$depends"; then
        problems+="Depends lacks $owner (for $lib)"$'\n'
    fi
done
glibc=$(for b in mbimd mbimctl; do objdump -T "$unpacked/usr/bin/$b"; done |
    grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
floor=$(grep -o 'libc6 (>= [^)]*)' <<<"$depends" | sed 's/libc6 (>= \(.*\))/\1/')
if [ -z "$floor" ]; then
    problems+="Depends has no libc6 (>= …)"$'\n'
elif ! dpkg --compare-versions "$floor" ge "$glibc"; then
    problems+="libc6 (>= $floor) is below GLIBC_$glibc, which the binaries use"$'\n'
fi
verdict "deb: Depends ($depends) covers $(echo $needed | tr ' ' ',') and GLIBC_$glibc" "$problems"

# lintian: its errors and warnings fail the check (a tag the package means
# to carry goes into deb/lintian-overrides).
lintian_out=$(lintian --no-tag-display-limit "$deb" 2>&1) || true
grep '^[IP]: ' <<<"$lintian_out" | sed 's/^/  lintian /' || true
errors=$(grep -E '^(E|W): ' <<<"$lintian_out" || true)
verdict "deb: lintian reports no errors or warnings" "$errors"

# --- deb: install, upgrade, remove, purge in a scratch root ----------------------------------
# dpkg --root with --force-script-chrootless runs the maintainer scripts
# here with DPKG_ROOT set, as on a machine without a running systemd; they
# must act on that tree only (deb-systemd-helper honours DPKG_ROOT).
root=$tmp/deb-root
# /etc as every root has it: preinst creates the user mbimd in its passwd.
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
dpkg_root() {
    dpkg --root="$root" --force-script-chrootless --force-not-root --log=/dev/null "$@"
}
wants=etc/systemd/system/multi-user.target.wants/mbimd.service
host_state() {
    # What the scripts could touch on this machine by mistake.
    ls -l "/$wants" /etc/systemd/system/mbimd.service \
        /var/lib/systemd/deb-systemd-helper-enabled/mbimd.service.dsh-also \
        /var/lib/mbimd /etc/mbimd 2>&1 || true
}
host_before=$(host_state)
if dpkg_root --force-depends --install "$deb" >"$tmp/dpkg.log" 2>&1; then
    problems=
    while read -r p; do [ -f "$root$p" ] || problems+="$p not installed"$'\n'; done <<<"$payload"
    [ -L "$root/$wants" ] || problems+="mbimd.service not enabled in the root"$'\n'
    # postinst ran systemd-sysusers on the root: a system user without a
    # login shell, its group of the same name.
    user=$(grep '^mbimd:' "$root/etc/passwd" 2>/dev/null || true)
    IFS=: read -r _ _ uid gid _ home shell <<<"$user"
    if [ -z "$user" ]; then
        problems+="postinst created no user mbimd in the root's /etc/passwd"$'\n'
    else
        [ "${uid:-1000}" -lt 1000 ] || problems+="mbimd's uid $uid is not a system uid"$'\n'
        [ "$(grep "^mbimd:" "$root/etc/group" | cut -d: -f3)" = "$gid" ] ||
            problems+="mbimd's primary group is not the group mbimd"$'\n'
        [ "$home" = /var/lib/mbimd ] || problems+="mbimd's home is $home"$'\n'
        case "$shell" in */nologin) ;; *) problems+="mbimd's shell is $shell" ;; esac
    fi
    [ "$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status}' mbimd 2>/dev/null)" = "install ok installed" ] ||
        problems+="dpkg does not list mbimd as installed"$'\n'
    verdict "deb: dpkg --root install (postinst creates the user mbimd and enables the unit in that root)" "$problems"
else
    fail "deb: dpkg --root install" "$(tail -n 3 "$tmp/dpkg.log" | tr '\n' ' ')"
fi

problems=
for b in mbimd mbimctl; do
    "$root/usr/bin/$b" --help >"$tmp/help" 2>&1 || problems+="$b --help exits $?"$'\n'
    grep -q '^Usage: ' "$tmp/help" || problems+="$b --help prints no usage"$'\n'
done
verdict "deb: installed mbimd --help and mbimctl --help run" "$problems"

# The packaged configuration, read by the packaged daemon; and, so that
# the check can fail, a broken copy refused.
if out=$("$root/usr/bin/mbimd" --check-config --config "$root/etc/mbimd/mbimd.toml" 2>&1); then
    pass "deb: the installed mbimd accepts the installed /etc/mbimd/mbimd.toml"
else
    fail "deb: the installed mbimd accepts the installed /etc/mbimd/mbimd.toml" "$out"
fi
sed 's/^metric = 700$/metric = "seven hundred"/' "$root/etc/mbimd/mbimd.toml" >"$tmp/broken.toml"
status=0
out=$("$root/usr/bin/mbimd" --check-config --config "$tmp/broken.toml" 2>&1) || status=$?
if [ "$status" = 2 ] && grep -q 'broken.toml:[0-9]*:[0-9]*' <<<"$out"; then
    pass "deb: the installed mbimd refuses a broken configuration (exit 2, with its place)"
else
    fail "deb: the installed mbimd refuses a broken configuration" "exit $status: $out"
fi

# Upgrade (the same version again): the admin's configuration stays.
echo "# changed by the admin" >>"$root/etc/mbimd/mbimd.toml"
mkdir -p "$root/var/lib/mbimd" && echo "# slots" >"$root/var/lib/mbimd/slots.toml"
if dpkg_root --force-depends --install "$deb" >"$tmp/dpkg.log" 2>&1 &&
    grep -q '^# changed by the admin$' "$root/etc/mbimd/mbimd.toml"; then
    pass "deb: reinstall keeps the changed conffile"
else
    fail "deb: reinstall keeps the changed conffile" "$(tail -n 3 "$tmp/dpkg.log" | tr '\n' ' ')"
fi

problems=
dpkg_root --remove mbimd >"$tmp/dpkg.log" 2>&1 || problems+="dpkg --remove: $(tail -n 2 "$tmp/dpkg.log" | tr '\n' ' ')"$'\n'
[ ! -e "$root/usr/bin/mbimd" ] || problems+="/usr/bin/mbimd left"$'\n'
grep -q '^# changed by the admin$' "$root/etc/mbimd/mbimd.toml" 2>/dev/null || problems+="conffile gone on remove"$'\n'
[ -f "$root/var/lib/mbimd/slots.toml" ] || problems+="/var/lib/mbimd gone on remove"$'\n'
[ "$(readlink "$root/etc/systemd/system/mbimd.service" 2>/dev/null)" = /dev/null ] ||
    problems+="unit not masked on remove (as debhelper does)"$'\n'
verdict "deb: remove keeps the conffile and /var/lib/mbimd" "$problems"

problems=
dpkg_root --purge mbimd >"$tmp/dpkg.log" 2>&1 || problems+="dpkg --purge: $(tail -n 2 "$tmp/dpkg.log" | tr '\n' ' ')"$'\n'
for p in /etc/mbimd /var/lib/mbimd "/$wants" /etc/systemd/system/mbimd.service \
    /var/lib/systemd/deb-systemd-helper-enabled/mbimd.service.dsh-also; do
    [ ! -e "$root$p" ] && [ ! -L "$root$p" ] || problems+="$p left after purge"$'\n'
done
[ -z "$(dpkg-query --admindir="$root/var/lib/dpkg" -W mbimd 2>/dev/null)" ] || problems+="dpkg still lists mbimd"$'\n'
verdict "deb: purge removes the conffile, /var/lib/mbimd and the enablement" "$problems"

if [ "$(host_state)" = "$host_before" ]; then
    pass "deb: the maintainer scripts left this machine's systemd and /etc alone"
else
    fail "deb: the maintainer scripts left this machine alone" "$(diff <(echo "$host_before") <(host_state) | tr '\n' ' ')"
fi

# --- the unit, as packaged ------------------------------------------------------------------
# systemd-analyze verify resolves ExecStart= and the unit's dependencies in
# --root: the package's tree, with this machine's units (sysinit.target,
# dbus.socket…) and busctl (ExecReload=) beside it.
vroot=$tmp/verify-root
cp -a "$unpacked" "$vroot"
cp -an /usr/lib/systemd/system/. "$vroot/usr/lib/systemd/system/"
cp /usr/bin/busctl "$vroot/usr/bin/"
if out=$(systemd-analyze verify --root="$vroot" mbimd.service 2>&1) && [ -z "$out" ]; then
    pass "unit: systemd-analyze verify mbimd.service (in the package's tree)"
else
    fail "unit: systemd-analyze verify mbimd.service" "$out"
fi

# The sandbox, as systemd scores it (lower is safer; ModemManager's unit
# scores 6.5): 2.0 at most, so a device-facing parser bug stays contained.
# tests/vm/guest/sandbox.sh shows the same unit holding under a real systemd.
score=$(systemd-analyze security --offline=true --root="$vroot" mbimd.service 2>&1 |
    sed -n 's/.*Overall exposure level for mbimd.service: \([0-9.]*\).*/\1/p')
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
    pass "unit: systemd-analyze security exposure $score (at most 2.0)"
else
    fail "unit: systemd-analyze security exposure at most 2.0" "exposure ${score:-unknown}"
fi

# === the rpm =======================================================================================
echo "== rpm: $(basename "$rpm")"
tag() { rpmq -qp --qf "%{$1}" "$rpm"; }
problems=
rpmq -qip "$rpm" >"$tmp/rpm-info" 2>&1 || problems+="rpm -qip fails: $(head -n 1 "$tmp/rpm-info")"$'\n'
[ "$(tag NAME)" = mbimd ] || problems+="Name: $(tag NAME)"$'\n'
[ "$(tag VERSION)" = "$version" ] || problems+="Version: $(tag VERSION), not $version"$'\n'
[ "$(tag RELEASE)" = 1 ] || problems+="Release: $(tag RELEASE)"$'\n'
[ "$(tag ARCH)" = "$arch" ] || problems+="Architecture: $(tag ARCH)"$'\n'
license=$(sed -n 's/^license = "\(.*\)"$/\1/p' "$repo/Cargo.toml")
[ "$(tag LICENSE)" = "$license" ] || problems+="License: $(tag LICENSE), Cargo.toml says $license"$'\n'
[ -n "$(tag SUMMARY)" ] && [ "$(tag DESCRIPTION | wc -l)" -ge 3 ] || problems+="no summary or description"$'\n'
verdict "rpm: header (rpm -qip)" "$problems"

rpm_files=$(rpmq -qlp "$rpm" | grep -v '^/usr/lib/\.build-id')
rpm_regular=$(rpmq -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpm" | awk '$1 ~ /^-/ { print $2 }' |
    grep -v '^/usr/lib/\.build-id')
same_set "rpm: file list (rpm -qlp)" "$payload
/usr/share/doc/mbimd-$version/README.md
/usr/share/doc/mbimd-$version/crates.txt
/usr/share/licenses/mbimd-$version/LICENSE-APACHE
/usr/share/licenses/mbimd-$version/LICENSE-MIT" "$rpm_regular"
grep -qx /etc/mbimd <<<"$rpm_files" && pass "rpm: owns /etc/mbimd" || fail "rpm: owns /etc/mbimd" "not in rpm -qlp"

problems=$(rpmq -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILENAMES}\n]' "$rpm" |
    grep -v ' /usr/lib/\.build-id' | awk '
    $2 != "root" || $3 != "root" { print $4 " owned by " $2 ":" $3 }
    $1 ~ /^d/ && $1 != "drwxr-xr-x" { print $4 " " $1 }
    $1 ~ /^-/ && $4 ~ /^\/usr\/bin\// && $1 != "-rwxr-xr-x" { print $4 " " $1 ", not 0755" }
    $1 ~ /^-/ && $4 !~ /^\/usr\/bin\// && $1 != "-rw-r--r--" { print $4 " " $1 ", not 0644" }')
verdict "rpm: modes and owners (binaries 0755, other files 0644, all root)" "$problems"

flags=$(rpmq -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpm" | awk '$2 == "/etc/mbimd/mbimd.toml" { print $1 }')
if [ "$(rpmq -qcp "$rpm")" = /etc/mbimd/mbimd.toml ] && [[ "$flags" == *c* && "$flags" == *n* ]]; then
    pass "rpm: /etc/mbimd/mbimd.toml is the one %config(noreplace) (rpm -qcp)"
else
    fail "rpm: config files (rpm -qcp)" "config: $(rpmq -qcp "$rpm" | tr '\n' ' '), flags of mbimd.toml: $flags"
fi

problems=
scripts=$(rpmq -qp --scripts "$rpm")
for s in preinstall postinstall preuninstall postuninstall; do
    grep -q "^$s scriptlet" <<<"$scripts" || problems+="no $s scriptlet"$'\n'
done
for t in PREIN POSTIN PREUN POSTUN; do
    body=$(tag "$t")
    sh -n <<<"$body" 2>/dev/null || problems+="$t: sh -n fails"$'\n'
    # Live systemd steps only behind the running-systemd test; offline ones
    # (preset, disable with --no-reload) tolerate systemctl's absence.
    grep -v -- '--no-reload' <<<"$body" | grep 'systemctl' >/dev/null && ! grep -q '/run/systemd/system' <<<"$body" &&
        problems+="$t calls systemd without checking it runs"$'\n'
    grep 'systemctl\|busctl' <<<"$body" | grep -v '|| :' | grep -v '\\$' >/dev/null && problems+="$t: a systemctl or busctl that can fail the scriptlet"$'\n'
done
grep -q 'preset mbimd.service' <<<"$(tag POSTIN)" || problems+="%post does not apply the preset on install"$'\n'
grep -qF "$(grep -v '^#' "$repo/systemd/mbimd.sysusers" | grep -v '^$')" <<<"$(tag PREIN)" ||
    problems+="%pre does not create the user from systemd/mbimd.sysusers' lines"$'\n'
grep -q 'try-restart mbimd.service' <<<"$(tag POSTUN)" || problems+="%postun does not restart on upgrade"$'\n'
grep -q 'disable --now mbimd.service' <<<"$(tag PREUN)" || problems+="%preun does not stop on erase"$'\n'
verdict "rpm: scriptlets (rpm -qp --scripts)" "$problems"

problems=
requires=$(rpmq -qp --requires "$rpm")
grep -qx dbus <<<"$requires" || problems+="no Requires: dbus"$'\n'
recommends=$(rpmq -qp --recommends "$rpm")
grep -qx mobile-broadband-provider-info <<<"$recommends" ||
    problems+="no Recommends: mobile-broadband-provider-info"$'\n'
grep -qx "libc.so.6(GLIBC_$glibc)(64bit)\|libc.so.6(GLIBC_$glibc)" <<<"$requires" ||
    problems+="no generated requirement on libc.so.6(GLIBC_$glibc)"$'\n'
for lib in $needed; do
    grep -q "^$lib" <<<"$requires" || problems+="nothing requires $lib"$'\n'
done
verdict "rpm: Requires (dbus, and generated from the binaries) and Recommends" "$problems"

# Same binaries and files in both packages.
rpm_tree=$tmp/rpm-tree
mkdir -p "$rpm_tree"
(cd "$rpm_tree" && rpm2cpio "$rpm" | cpio -idm --quiet)
problems=
while read -r p; do cmp -s "$unpacked$p" "$rpm_tree$p" || problems+="$p differs"$'\n'; done <<<"$payload"
verdict "rpm and deb install the same files" "$problems"

# --- rpm: install and erase in a scratch root ------------------------------------------------
# Without --noscripts rpm would run the scriptlets chrooted into a root
# that has no /bin/sh; they are checked above.
rroot=$tmp/rpm-root
mkdir -p "$rroot"
problems=
HOME=$tmp rpm --root "$rroot" --initdb || problems+="rpm --initdb fails"$'\n'
if HOME=$tmp rpm --root "$rroot" -i --nodeps --noscripts "$rpm" >"$tmp/rpm.log" 2>&1; then
    while read -r p; do [ -f "$rroot$p" ] || problems+="$p not installed"$'\n'; done <<<"$payload"
    [ "$(stat -c %a "$rroot/usr/bin/mbimd")" = 755 ] || problems+="/usr/bin/mbimd not 0755"$'\n'
    [ "$(stat -c %a "$rroot/etc/mbimd/mbimd.toml")" = 644 ] || problems+="mbimd.toml not 0644"$'\n'
    HOME=$tmp rpm --root "$rroot" -q mbimd >/dev/null || problems+="rpm -q mbimd in the root fails"$'\n'
else
    problems+="rpm -i: $(tail -n 3 "$tmp/rpm.log" | tr '\n' ' ')"$'\n'
fi
verdict "rpm: rpm --root install" "$problems"

problems=
for b in mbimd mbimctl; do
    "$rroot/usr/bin/$b" --help >"$tmp/help" 2>&1 || problems+="$b --help exits $?"$'\n'
    grep -q '^Usage: ' "$tmp/help" || problems+="$b --help prints no usage"$'\n'
done
out=$("$rroot/usr/bin/mbimd" --check-config --config "$rroot/etc/mbimd/mbimd.toml" 2>&1) ||
    problems+="mbimd --check-config refuses the packaged configuration: $out"$'\n'
verdict "rpm: installed mbimd and mbimctl run, and accept the packaged configuration" "$problems"

problems=
echo "# changed by the admin" >>"$rroot/etc/mbimd/mbimd.toml"
HOME=$tmp rpm --root "$rroot" -e --noscripts mbimd >"$tmp/rpm.log" 2>&1 ||
    problems+="rpm -e: $(tail -n 2 "$tmp/rpm.log" | tr '\n' ' ')"$'\n'
[ ! -e "$rroot/usr/bin/mbimd" ] || problems+="/usr/bin/mbimd left"$'\n'
grep -q '^# changed by the admin$' "$rroot/etc/mbimd/mbimd.toml.rpmsave" 2>/dev/null ||
    problems+="the changed configuration was not kept as mbimd.toml.rpmsave"$'\n'
! HOME=$tmp rpm --root "$rroot" -q mbimd >/dev/null 2>&1 || problems+="rpm still lists mbimd"$'\n'
verdict "rpm: rpm -e removes the files and keeps a changed configuration (.rpmsave)" "$problems"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
