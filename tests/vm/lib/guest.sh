# shellcheck shell=bash
# Helpers for the guest test scripts (tests/vm/guest/*.sh), sourced inside the VM as root.
#
# Every check prints one line "PASS: …", "FAIL: …" or "SKIP: …"; `finish` prints the counts
# and exits 1 if anything failed. A script that cannot run at all in this configuration calls
# `skip_all REASON` (exit 77, reported as skipped by run.sh).
#
# Environment (from run.sh via stage2.sh): VM_OUT (results share, writable), VM_REPO,
# VM_TEST, VM_MBIM_SIM (path of mbim-sim), VM_SIM_PROTOTYPE (set: use that Python prototype).

set -u
: "${VM_OUT:?}" "${VM_REPO:?}" "${VM_TEST:?}" "${VM_MBIM_SIM:?}"
VM_SIM_PROTOTYPE=${VM_SIM_PROTOTYPE:-}
SIM_CONTROL=/run/mbim-sim.sock
unset XDG_RUNTIME_DIR
MBIM_TIMEOUT=${MBIM_TIMEOUT:-30}

n_pass=0
n_fail=0
n_skip=0
pass() { echo "PASS: $*"; n_pass=$((n_pass + 1)); }
fail() { echo "FAIL: $*"; n_fail=$((n_fail + 1)); }
skip() { echo "SKIP: $*"; n_skip=$((n_skip + 1)); }
step() { echo "=== $* (t=$(cut -d" " -f1 /proc/uptime) s)"; }
skip_all() { echo "SKIP: $VM_TEST: $*"; exit 77; }

finish() {
    echo "$VM_TEST: $n_pass passed, $n_fail failed, $n_skip skipped"
    [ "$n_fail" -eq 0 ]
    exit $?
}

# Fatal: print FAIL and stop the script here (the remaining checks depend on this one).
abort() {
    fail "$*"
    echo "$VM_TEST: stopped early; $n_pass passed, $n_fail failed, $n_skip skipped"
    exit 1
}

# check DESC COMMAND...: PASS if COMMAND succeeds, FAIL otherwise. Returns the status, so
# under set -e use it in a condition or append "|| true".
check() {
    local desc=$1
    shift
    if "$@"; then
        pass "$desc"
    else
        fail "$desc"
        return 1
    fi
}

# wait_for SECONDS COMMAND... : true once COMMAND succeeds, false after SECONDS.
wait_for() {
    local limit=$(($1 * 10)) i=0
    shift
    while ! "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ "$i" -ge "$limit" ] && return 1
        sleep 0.1
    done
}

# wait_seconds SECONDS COMMAND...: the same by the clock (bash's SECONDS, no process per look)
# rather than by counting looks 0.1 s apart, for a check that runs a slow program (nmcli takes
# a good part of a second under TCG, so SECONDS * 10 looks would be many minutes).
wait_seconds() {
    local end=$((SECONDS + $1))
    shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.1
    done
}
exists() { [ -e "$1" ]; }
absent() { [ ! -e "$1" ]; }

# --- mbimcli -------------------------------------------------------------------------------
# mbim DEVICE ARGS...: runs mbimcli, output in $OUT (also appended to $VM_OUT/mbimcli.log);
# returns mbimcli's exit status.
#
# Inside a session (session_begin DEVICE … session_end DEVICE) every call keeps the MBIM
# session open (--no-close) and the next one joins it (--no-open=TRID) instead of opening a
# new one. The simulated modem, like a real one, drops its packet contexts when the host
# closes the MBIM session, so a connection made with mbimcli lasts only inside a session.
OUT=
declare -A SESSION=()
mbim() {
    local dev=$1 rc trid
    shift
    local extra=()
    case ${SESSION[$dev]:-} in
        "") ;;
        new) extra=(--no-close) ;;
        *) extra=("--no-open=${SESSION[$dev]}" --no-close) ;;
    esac
    rc=0
    OUT=$(timeout "$MBIM_TIMEOUT" mbimcli -d "$dev" "${extra[@]}" "$@" 2>&1) || rc=$?
    {
        echo "\$ mbimcli -d $dev ${extra[*]} $* (exit $rc)"
        echo "$OUT"
    } >>"$VM_OUT/mbimcli.log"
    if [ -n "${SESSION[$dev]:-}" ]; then
        if [[ $OUT =~ TRID:\ \'([0-9]+)\' ]]; then
            trid=${BASH_REMATCH[1]}
            SESSION[$dev]=$trid
        fi
    fi
    return "$rc"
}

# session_begin DEVICE: the following mbim calls on DEVICE share one MBIM session.
session_begin() { SESSION[$1]=new; }

# session_end DEVICE: closes the session (one last query without --no-close).
session_end() {
    local dev=$1 trid=${SESSION[$1]:-}
    unset "SESSION[$dev]"
    case $trid in
        "" | new) ;;
        *) mbim "$dev" "--no-open=$trid" --query-radio-state || true ;;
    esac
}

# subscriber_ready DEVICE [ICCID]: true if SUBSCRIBER_READY_STATUS says initialized (with
# that ICCID). For wait_for; $OUT keeps the last answer.
# shellcheck disable=SC2317 # called through wait_for
subscriber_ready() {
    mbim "$1" --query-subscriber-ready-status &&
        [ "$(field "Ready state")" = initialized ] &&
        { [ -z "${2:-}" ] || [ "$(field "SIM ICCID")" = "$2" ]; }
}

# expect_slot SLOT STATE [DESC]: $OUT (a --ms-query-slot-info-status answer) reports STATE
# (libmbim's nickname without its prefix: active, empty, off-empty, active-esim, …) for SLOT.
# libmbim 1.28 prints the nicknames with a "state-" prefix ('state-active'); later ones may not.
slot_state_in_out() { [[ $OUT =~ "Slot '$1': '"(state-)?"$2'" ]]; }
expect_slot() {
    if slot_state_in_out "$1" "$2"; then
        pass "${3:-slot $1 is $2}"
    else
        fail "${3:-slot $1 is $2}: got $(echo "$OUT" | grep -E "Slot '" | tr -d '\t' | tr '\n' ' ')"
    fi
}

# mbimcli_has FLAG: true if this mbimcli knows --FLAG.
mbimcli_has() { mbimcli --help-all 2>/dev/null | grep -q -- "--$1[=[:space:]]"; }

# query DESC DEVICE ARGS...: runs mbimcli; PASS/FAIL on its exit status; output in $OUT.
query() {
    local desc=$1
    shift
    if mbim "$@"; then
        pass "$desc"
        return 0
    fi
    fail "$desc: mbimcli exit status non-zero: $(echo "$OUT" | tail -n 3 | tr '\n' ' ')"
    return 1
}

# field NAME: the value of the first "NAME: 'value'" line of $OUT (mbimcli's layout), quotes
# removed. Shell built-ins only: every process started in the guest costs tens of
# milliseconds under TCG.
field() {
    local line quoted="^[[:space:]]*$1:[[:space:]]*'(.*)'\$" plain="^[[:space:]]*$1:[[:space:]]*(.*)\$"
    while IFS= read -r line; do
        if [[ $line =~ $quoted ]] || [[ $line =~ $plain ]]; then
            printf '%s\n' "${BASH_REMATCH[1]}"
            return 0
        fi
    done <<<"$OUT"
}

# expect_field NAME VALUE [DESC]: PASS if field NAME of $OUT equals VALUE.
expect_field() {
    local got
    got=$(field "$1")
    if [ "$got" = "$2" ]; then
        pass "${3:-$1} is '$2'"
    else
        fail "${3:-$1}: expected '$2', got '$got'"
    fi
}

# expect_match REGEX DESC: PASS if $OUT matches the extended REGEX.
expect_match() {
    if [[ $OUT =~ $1 ]]; then
        pass "$2"
    else
        fail "$2: no match for /$1/ in: $(echo "$OUT" | tr '\n' ' ' | cut -c1-300)"
    fi
}

# --- the simulator -------------------------------------------------------------------------
SIM_PID=
SIM_N=0
# sim_start ARGS...: starts `mbim-sim ARGS...` (or the prototype) in the background; its log
# goes to $VM_OUT/sim-N.log.
sim_start() {
    SIM_N=$((SIM_N + 1))
    local log=$VM_OUT/sim-$SIM_N.log
    echo "+ mbim-sim $*" >"$log"
    if [ -n "$VM_SIM_PROTOTYPE" ]; then
        python3 "$VM_SIM_PROTOTYPE" "$@" >>"$log" 2>&1 &
    else
        RUST_BACKTRACE=1 "$VM_MBIM_SIM" "$@" >>"$log" 2>&1 &
    fi
    SIM_PID=$!
}

sim_running() { [ -n "$SIM_PID" ] && kill -0 "$SIM_PID" 2>/dev/null; }

# sim_kill: ends the simulator started last (SIGTERM, then SIGKILL after 5 s).
sim_kill() {
    [ -n "$SIM_PID" ] || return 0
    kill "$SIM_PID" 2>/dev/null || true
    wait_for 5 eval '! kill -0 '"$SIM_PID" || kill -9 "$SIM_PID" 2>/dev/null || true
    wait "$SIM_PID" 2>/dev/null || true
    SIM_PID=
}

# ctl ARGS...: `mbim-sim ctl ARGS...` on the control socket; output in $OUT. The socket is
# mbim-sim's default (/run/mbim-sim.sock without XDG_RUNTIME_DIR), which serve is also given.
ctl() {
    local rc=0
    OUT=$(timeout 15 "$VM_MBIM_SIM" ctl "$@" 2>&1) || rc=$?
    {
        echo "\$ mbim-sim ctl $* (exit $rc)"
        echo "$OUT"
    } >>"$VM_OUT/ctl.log"
    return "$rc"
}

# scenario_args SCENARIO: mbim-sim's option for a scenario name ("dssa") or file (a path).
scenario_args() {
    case $1 in
        */*) echo "--scenario $1" ;;
        *) echo "--scenario-name $1" ;;
    esac
}

# attach_modem SCENARIO WDM-NODES [SERVE-ARGS...]: loads vhci-hcd and cdc_mbim, starts
# mbim-sim with the scenario (a name, or a path to a .toml) attached straight to vhci-hcd,
# and waits for the cdc-wdm nodes (/dev/cdc-wdm0 …). SERVE-ARGS go to `mbim-sim serve`
# (e.g. --forward DEV@NETNS). With VM_SIM_PROTOTYPE, the prototype's "direct" mode with as
# many functions stands in (it knows no scenarios).
attach_modem() {
    local scenario=$1 nodes=$2 last
    shift 2
    last=/dev/cdc-wdm$((nodes - 1))
    modprobe vhci-hcd || abort "modprobe vhci-hcd"
    modprobe cdc_mbim || abort "modprobe cdc_mbim"
    if [ -n "$VM_SIM_PROTOTYPE" ]; then
        sim_start direct --functions "$nodes"
    else
        # shellcheck disable=SC2046 # two words, no globbing characters
        sim_start serve $(scenario_args "$scenario") --attach --control "$SIM_CONTROL" "$@"
    fi
    if wait_for 30 exists "$last"; then
        pass "cdc_mbim bound the simulated modem ($scenario): $(echo /dev/cdc-wdm*)"
    else
        echo "--- simulator log"
        tail -n 30 "$VM_OUT/sim-$SIM_N.log"
        abort "no $last 30 s after starting the simulator ($scenario)"
    fi
}

# wwan_of DEVICE: the network interface of the MBIM function behind /dev/cdc-wdmN.
wwan_of() {
    local n d
    n=$(basename "$1")
    for d in "/sys/class/usbmisc/$n/device/net/"*; do
        [ -e "$d" ] && basename "$d" && return 0
    done
    return 1
}

# stop_mbimd PID DEVICE...: SIGTERM to mbimd (PID), which must stop within 30 s and leave
# none of its network devices (the DEVICEs, e.g. mbim0e0) behind.
stop_mbimd() {
    local pid=$1 device left=
    shift
    kill -TERM "$pid"
    if wait_for 30 eval '! kill -0 '"$pid"; then
        pass "mbimd stopped"
    else
        fail "mbimd still running 30 s after SIGTERM"
        kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    for device in "$@"; do
        [ ! -e "/sys/class/net/$device" ] || left="$left $device"
    done
    if [ -z "$left" ]; then
        pass "$* removed"
    else
        fail "outlived mbimd:$left"
    fi
}

# start_unit UNIT: systemctl start UNIT, or the end of its journal and abort.
start_unit() {
    if systemctl start "$1"; then
        pass "systemctl start $1"
    else
        journalctl -u "$1" --no-pager | tail -n 30
        abort "$1 did not start"
    fi
}

# install_packaged_mbimd: installs mbimd as the deb and rpm do (packaging/check.sh checks that
# they carry these files) and does what their postinst does: the user mbimd (its uid in
# $mbimd_uid), the unit, udev rule, bus policies, ModemManager's drop-in, polkit rule, and the
# packaged mbimd.toml with a profile for the simulated network's APN. Needs systemd as PID 1.
install_packaged_mbimd() {
    local mbimd sys
    step "mbimd installed as the packages install it"
    mbimd=$(dirname "$VM_MBIM_SIM")/mbimd
    [ -x "$mbimd" ] || abort "no $mbimd (tests/vm/run.sh builds it)"
    sys=$VM_REPO/systemd
    # preinst: the user first, from the sysusers.d lines on stdin, so udevd knows
    # it whenever it first reads 70-mbimd.rules.
    grep -v '^#' "$sys/mbimd.sysusers" |
        systemd-sysusers --replace=/usr/lib/sysusers.d/mbimd.conf -
    install -m 0755 "$mbimd" /usr/bin/mbimd
    install -D -m 0644 "$sys/mbimd.service" /usr/lib/systemd/system/mbimd.service
    install -D -m 0644 "$sys/mbimd.sysusers" /usr/lib/sysusers.d/mbimd.conf
    install -D -m 0644 "$sys/70-mbimd.rules" /usr/lib/udev/rules.d/70-mbimd.rules
    install -D -m 0644 "$sys/dev.mbimd.Mbimd1.conf" /usr/share/dbus-1/system.d/dev.mbimd.Mbimd1.conf
    install -D -m 0644 "$sys/dev.mbimd.ModemManager1.conf" \
        /usr/share/dbus-1/system.d/dev.mbimd.ModemManager1.conf
    install -D -m 0644 "$sys/ModemManager-mbimd.conf" \
        /usr/lib/systemd/system/ModemManager.service.d/50-mbimd.conf
    install -D -m 0644 "$sys/mbimd.polkit.rules" /usr/share/polkit-1/rules.d/50-mbimd.rules
    # The packaged configuration (DNS backend "auto"), with the simulated network's APN.
    mkdir -p /etc/mbimd
    cp "$sys/mbimd.toml" /etc/mbimd/mbimd.toml
    grep -q '^backend = "auto"$' /etc/mbimd/mbimd.toml || abort "the packaged mbimd.toml has no backend = \"auto\""
    printf '\n[[profiles]]\nname = "simulated"\napn = "internet"\n' >>/etc/mbimd/mbimd.toml
    # What postinst does.
    systemd-sysusers /usr/lib/sysusers.d/mbimd.conf
    udevadm control --reload-rules
    busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig
    systemctl daemon-reload
    mbimd_uid=$(id -u mbimd) || abort "systemd-sysusers created no user mbimd"
    pass "user mbimd (uid $mbimd_uid) created by systemd-sysusers"
}

BUS_PID=
# start_private_bus: a system bus of the guest's own for mbimd and busctl (and systemd-resolved,
# which connects after dropping to its own user: the socket's directory is world-readable),
# with an open policy (the tests are its only clients; eavesdropping for dbus-monitor). Exports
# DBUS_SYSTEM_BUS_ADDRESS; the daemon logs to $VM_OUT/dbus.log and is killed on exit.
start_private_bus() {
    { command -v dbus-daemon && command -v busctl; } >/dev/null || abort "no dbus-daemon or busctl"
    local dir
    dir=$(mktemp -d)
    chmod 755 "$dir"
    cat >"$dir/bus.conf" <<XML
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$dir/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
XML
    dbus-daemon --config-file="$dir/bus.conf" --nofork --nopidfile >"$VM_OUT/dbus.log" 2>&1 &
    BUS_PID=$!
    export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$dir/bus"
    if wait_for 10 bus_answers; then pass "dbus-daemon answers"; else abort "no dbus-daemon"; fi
}
# shellcheck disable=SC2317 # called through wait_for
bus_answers() { busctl --system list >/dev/null 2>&1; }

# Leave the simulator log tails and the kernel log in the results share on exit.
guest_cleanup() {
    local rc=$?
    if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ "$SIM_N" -gt 0 ]; then
        echo "--- tail of $VM_OUT/sim-$SIM_N.log"
        tail -n 20 "$VM_OUT/sim-$SIM_N.log"
    fi
    sim_kill
    [ -z "$BUS_PID" ] || kill "$BUS_PID" 2>/dev/null || true
    return "$rc"
}
trap guest_cleanup EXIT
