//! Signals to the processes a test started, by system call rather than by
//! running `kill` (procps, which a bare Debian image lacks).

use rustix::process::{kill_process, Pid, Signal};

/// Sends SIGTERM to the process `pid` (a child's `Child::id`): the daemons
/// clean up on it, where SIGKILL would leave their devices behind.
pub fn terminate(pid: u32) -> std::io::Result<()> {
    send(pid, Signal::TERM)
}

/// Sends SIGHUP to the process `pid`: the daemons reload their
/// configuration on it.
pub fn hang_up(pid: u32) -> std::io::Result<()> {
    send(pid, Signal::HUP)
}

/// Sends SIGKILL to the process `pid`, for a child that a thread of the
/// test owns (so `Child::kill` is out of reach) and that has hung.
pub fn kill(pid: u32) -> std::io::Result<()> {
    send(pid, Signal::KILL)
}

fn send(pid: u32, signal: Signal) -> std::io::Result<()> {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| std::io::Error::other(format!("{pid} is not a process id")))?;
    kill_process(pid, signal).map_err(std::io::Error::from)
}
