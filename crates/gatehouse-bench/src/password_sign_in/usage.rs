//! CPU and context-switch accounting from `/proc`, for the server, its hashing threads, this
//! process and the machine.

/// CPU seconds (user + system) in a `stat(5)` file's text, and the command name it gives.
fn stat_cpu_secs(stat: &str) -> (&str, f64) {
    // The command name is in parentheses and may hold spaces.
    let (name, rest) = stat
        .split_once('(')
        .and_then(|(_, r)| r.rsplit_once(')'))
        .unwrap_or(("", ""));
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name; 100 Hz.
    (name, (ticks(11) + ticks(12)) / 100.0)
}

/// CPU seconds (user + system) the process has used so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat_cpu_secs(&stat).1
}

/// What the server's threads have used so far: the hashing threads' (`password-hash-N`) CPU
/// seconds, and context switches of all its threads (each a wake-up or a preemption).
fn server_threads(pid: u32) -> (f64, f64) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return (0.0, 0.0);
    };
    let (mut hashing, mut switches) = (0.0, 0.0);
    for task in tasks.flatten() {
        let path = task.path();
        if let Ok(stat) = std::fs::read_to_string(path.join("stat")) {
            let (name, secs) = stat_cpu_secs(&stat);
            if name.starts_with("password-hash") {
                hashing += secs;
            }
        }
        let status = std::fs::read_to_string(path.join("status")).unwrap_or_default();
        switches += status
            .lines()
            .filter(|line| line.contains("ctxt_switches:"))
            .filter_map(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
            .sum::<f64>();
    }
    (hashing, switches)
}

/// CPU seconds used so far by the server, its hashing threads and this process, and the
/// machine's idle and stolen seconds: read at both edges of a measured window.
#[derive(Clone, Copy, Default)]
pub(super) struct Usage {
    pub(super) server: f64,
    pub(super) hashing: f64,
    /// The server's context switches.
    pub(super) switches: f64,
    pub(super) clients: f64,
    pub(super) idle: f64,
    pub(super) steal: f64,
}

impl Usage {
    pub(super) fn read(server_pid: u32) -> Self {
        let (idle, steal) = machine_idle_and_steal();
        let (hashing, switches) = server_threads(server_pid);
        Self {
            server: cpu_secs(server_pid),
            hashing,
            switches,
            clients: cpu_secs(std::process::id()),
            idle,
            steal,
        }
    }

    /// Applies `f` field by field.
    pub(super) fn zip(self, other: Usage, f: impl Fn(f64, f64) -> f64) -> Usage {
        Usage {
            server: f(self.server, other.server),
            hashing: f(self.hashing, other.hashing),
            switches: f(self.switches, other.switches),
            clients: f(self.clients, other.clients),
            idle: f(self.idle, other.idle),
            steal: f(self.steal, other.steal),
        }
    }

    /// What was used between `earlier` and this reading.
    pub(super) fn since(self, earlier: Usage) -> Usage {
        self.zip(earlier, |later, earlier| later - earlier)
    }
}

/// Idle and stolen seconds of the whole machine so far (`/proc/stat`, 100 Hz).
fn machine_idle_and_steal() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    let field = |i: usize| fields.get(i).copied().unwrap_or(0.0) / 100.0;
    // user nice system idle iowait irq softirq steal: idle and iowait are idle time.
    (field(3) + field(4), field(7))
}
