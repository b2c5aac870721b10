//! What the generator needs from the operating system: enough file descriptors for its sockets,
//! and, from `/proc`, the memory and CPU time of a process (the server's, or its own).

use std::time::Instant;

use anyhow::bail;

/// `USER_HZ`, the unit of CPU times in `/proc/*/stat`: 100 on every Linux architecture since the
/// kernel stopped exporting its internal HZ to user space.
const TICKS_PER_SEC: f64 = 100.0;

/// Descriptors beyond the sockets: stdio, the runtime, the HTTP pool, the odd file.
const FD_HEADROOM: u64 = 64;

/// Raises the soft `RLIMIT_NOFILE` towards the hard limit and fails early, with the fix spelled
/// out, if `sockets` still would not fit: otherwise the run dies half-way with EMFILE and
/// measures the generator's limit rather than the server.
pub fn ensure_fd_limit(sockets: u64) -> anyhow::Result<()> {
    let need = sockets + FD_HEADROOM;
    let soft = rlimit::increase_nofile_limit(need.max(65_536)).unwrap_or(0);
    if soft < need {
        bail!(
            "this run needs about {need} open files but the limit is {soft}; raise it first, \
             e.g. `ulimit -n 65536` (as root, or after raising the hard limit in \
             /etc/security/limits.conf), then run again"
        );
    }
    Ok(())
}

/// `VmRSS` of `pid` in KiB, or `None` if the process is gone or unreadable.
pub fn rss_kb(pid: u32) -> Option<u64> {
    parse_vm_rss(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// The generator's own `VmRSS` in KiB.
pub fn own_rss_kb() -> Option<u64> {
    parse_vm_rss(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// The host's `TcpExt: ListenOverflows` counter from `/proc/net/netstat`.
pub fn listen_overflows() -> Option<u64> {
    parse_netstat(
        &std::fs::read_to_string("/proc/net/netstat").ok()?,
        "TcpExt:",
        "ListenOverflows",
    )
}

/// `/proc/net/netstat` holds pairs of lines per group: names, then values in the same order.
fn parse_netstat(text: &str, group: &str, field: &str) -> Option<u64> {
    let mut lines = text.lines().filter(|l| l.starts_with(group));
    let names = lines.next()?;
    let values = lines.next()?;
    let index = names.split_whitespace().position(|n| n == field)?;
    values.split_whitespace().nth(index)?.parse().ok()
}

/// CPU time (user + system) of `pid` (or `self`) in ticks.
fn cpu_ticks(pid: &str) -> Option<u64> {
    parse_stat_cpu(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// CPU time, in ticks, of every process named `comm` (a database's backends, which come and
/// go). A process that exits within a window takes its time with it, so this under-counts
/// short-lived ones; a connection pool's backends live through the run.
fn named_cpu_ticks(comm: &str) -> Option<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        if !name
            .to_str()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if parse_stat_comm(&stat) == Some(comm) {
            total += parse_stat_cpu(&stat).unwrap_or(0);
        }
    }
    Some(total)
}

/// The `(comm)` field of `/proc/PID/stat`, without its parentheses.
fn parse_stat_comm(stat: &str) -> Option<&str> {
    stat.get(stat.find('(')? + 1..stat.rfind(')')?)
}

/// utime and stime are fields 14 and 15; counting starts after the `(comm)` field, which may
/// itself contain spaces and parentheses.
fn parse_stat_cpu(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Busy time of the whole host (all cores) in ticks: everything but idle and iowait, from the
/// aggregate `cpu` line of `/proc/stat`.
fn host_busy_ticks() -> Option<u64> {
    parse_host_busy(&std::fs::read_to_string("/proc/stat").ok()?)
}

fn parse_host_busy(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice, already in user/nice]
    let busy: u64 = ticks.iter().take(8).sum::<u64>() - ticks.get(3)? - ticks.get(4)?;
    Some(busy)
}

/// CPU used over a window, in % of one core.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    pub server: Option<f64>,
    /// The database server's processes (`--db-process`), if named.
    pub db: Option<f64>,
    /// Near 100 % means the figures measure the generator, not the server.
    pub generator: Option<f64>,
    /// Everything else on the host: on a shared machine, a neighbour (a compiler, say) taking
    /// the server's core makes the server look slower than it is.
    pub others: Option<f64>,
}

/// Measures [`CpuUse`] from `start` to `finish`.
pub struct CpuWindow {
    server_pid: Option<String>,
    server_start: Option<u64>,
    db_comm: Option<String>,
    db_start: Option<u64>,
    own_start: Option<u64>,
    host_start: Option<u64>,
    started: Instant,
}

impl CpuWindow {
    /// Starts measuring the target's server (`--server-pid`) and database (`--db-process`).
    pub fn start(target: &crate::cli::Target) -> CpuWindow {
        Self::start_pids(target.server_pid, target.db_process.as_deref())
    }

    fn start_pids(server_pid: Option<u32>, db_comm: Option<&str>) -> CpuWindow {
        let server_pid = server_pid.map(|p| p.to_string());
        CpuWindow {
            server_start: server_pid.as_deref().and_then(cpu_ticks),
            db_start: db_comm.and_then(named_cpu_ticks),
            db_comm: db_comm.map(str::to_string),
            own_start: cpu_ticks("self"),
            host_start: host_busy_ticks(),
            server_pid,
            started: Instant::now(),
        }
    }

    pub fn finish(&self) -> CpuUse {
        let secs = self.started.elapsed().as_secs_f64();
        let pct = |start: Option<u64>, now: Option<u64>| {
            let used = now?.checked_sub(start?)? as f64 / TICKS_PER_SEC;
            (secs > 0.0).then(|| used * 100.0 / secs)
        };
        let server = pct(
            self.server_start,
            self.server_pid.as_deref().and_then(cpu_ticks),
        );
        let generator = pct(self.own_start, cpu_ticks("self"));
        let db = pct(
            self.db_start,
            self.db_comm.as_deref().and_then(named_cpu_ticks),
        );
        let host = pct(self.host_start, host_busy_ticks());
        // Without the server's pid its use is unknown, and so is the rest's.
        let others = host
            .zip(server)
            .zip(generator)
            .map(|((h, s), g)| (h - s - g - db.unwrap_or(0.0)).max(0.0));
        CpuUse {
            server,
            db,
            generator,
            others,
        }
    }
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vm_rss_line() {
        let status = "Name:\tparley\nVmPeak:\t  9000 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(12345));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
    }

    #[test]
    fn parses_cpu_fields_after_comm() {
        // comm with a space and a parenthesis, utime 250, stime 50.
        let stat = "42 (my (odd) proc) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(parse_stat_cpu(stat), Some(300));
        assert_eq!(parse_stat_cpu("garbage"), None);
    }

    #[test]
    fn cpu_window_sees_own_work() {
        let window = CpuWindow::start_pids(Some(std::process::id()), None);
        let spin = Instant::now();
        let mut x = 0u64;
        while spin.elapsed().as_millis() < 300 {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let cpu = window.finish();
        // Coarse (10 ms ticks, other tests running): only check that work was seen at all.
        assert!(cpu.generator.is_some_and(|p| p > 10.0), "{cpu:?}");
        assert!(cpu.server.is_some_and(|p| p > 10.0), "{cpu:?}");
        assert!(cpu.others.is_some_and(|p| p >= 0.0), "{cpu:?}");
    }

    #[test]
    fn named_processes_are_summed() {
        let stat = "42 (my (odd) proc) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(parse_stat_comm(stat), Some("my (odd) proc"));
        assert_eq!(parse_stat_comm("garbage"), None);
        let own = std::fs::read_to_string("/proc/self/comm").unwrap();
        assert!(named_cpu_ticks(own.trim()).is_some());
        assert_eq!(named_cpu_ticks("no-such-process-name"), Some(0));
    }

    #[test]
    fn host_busy_excludes_idle_and_iowait() {
        let stat = "cpu  100 5 50 1000 20 1 2 3 0 0\ncpu0 50 2 25 500 10 0 1 1 0 0\n";
        assert_eq!(parse_host_busy(stat), Some(100 + 5 + 50 + 1 + 2 + 3));
        assert_eq!(parse_host_busy("intr 1 2 3\n"), None);
    }

    #[test]
    fn parses_netstat_pairs() {
        let text = "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 0 142 143\n\
                    IpExt: InNoRoutes\nIpExt: 5\n";
        assert_eq!(parse_netstat(text, "TcpExt:", "ListenOverflows"), Some(142));
        assert_eq!(parse_netstat(text, "IpExt:", "InNoRoutes"), Some(5));
        assert_eq!(parse_netstat(text, "TcpExt:", "Nope"), None);
    }

    #[test]
    fn reads_own_rss() {
        let kb = own_rss_kb().expect("/proc/self/status is readable on Linux");
        assert!(kb > 0);
        assert_eq!(rss_kb(std::process::id()).map(|v| v > 0), Some(true));
    }

    #[test]
    fn small_fd_needs_pass() {
        assert!(ensure_fd_limit(10).is_ok());
    }
}
