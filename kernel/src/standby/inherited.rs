//! What a process inherits from its launcher besides the environment: the
//! file-mode creation mask (`umask(2)`), the resource limits
//! (`getrlimit(2)`: open files, stack, address space, …), the nice value
//! (`getpriority(2)`) and the CPUs it may run on (`sched_getaffinity(2)`).
//!
//! A kernel Jupyter starts gets the server's; a standby got the ones of
//! the kernel that started it. A launch whose values differ (say `umask
//! 002` for a group's project directory, `ulimit -v` to cap a notebook's
//! memory, `nice` or `taskset` to keep it off other work) must not be
//! served by a standby with others, or the files the notebook writes and
//! the memory and CPUs it may use would not be what the user set. So all
//! are part of a launch's fingerprint
//! (`Launch::fingerprint`), and a standby is started with its launch's
//! values (`apply_in_child`).

use serde::{Deserialize, Serialize};

/// The limits compared and passed on, with their names (Linux's
/// `RLIMIT_*`, getrlimit(2)).
const RESOURCES: [(&str, libc::__rlimit_resource_t); 16] = [
    ("as", libc::RLIMIT_AS),
    ("core", libc::RLIMIT_CORE),
    ("cpu", libc::RLIMIT_CPU),
    ("data", libc::RLIMIT_DATA),
    ("fsize", libc::RLIMIT_FSIZE),
    ("locks", libc::RLIMIT_LOCKS),
    ("memlock", libc::RLIMIT_MEMLOCK),
    ("msgqueue", libc::RLIMIT_MSGQUEUE),
    ("nice", libc::RLIMIT_NICE),
    ("nofile", libc::RLIMIT_NOFILE),
    ("nproc", libc::RLIMIT_NPROC),
    ("rss", libc::RLIMIT_RSS),
    ("rtprio", libc::RLIMIT_RTPRIO),
    ("rttime", libc::RLIMIT_RTTIME),
    ("sigpending", libc::RLIMIT_SIGPENDING),
    ("stack", libc::RLIMIT_STACK),
];

/// One resource limit: soft and hard values as `getrlimit` gives them
/// (`RLIM_INFINITY` for none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    /// The `RLIMIT_*` resource number.
    pub resource: u32,
    /// The soft limit (what the process is held to).
    pub soft: u64,
    /// The hard limit (how far the soft one may be raised).
    pub hard: u64,
}

/// A process's mask and limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inherited {
    /// The file-mode creation mask, e.g. `0o022`.
    pub umask: u32,
    /// Every limit `RESOURCES` names that `getrlimit` could read.
    pub limits: Vec<Limit>,
    /// The nice value (-20 to 19).
    pub nice: i32,
    /// The CPUs it may run on, by number (empty when unknown).
    pub cpus: Vec<usize>,
}

impl Inherited {
    /// This process's mask and limits now.
    pub fn capture() -> Inherited {
        // umask(2) only sets: read it by setting and restoring. No other
        // thread exists when a kernel or standby captures its launch.
        // SAFETY: umask has no preconditions and cannot fail.
        let umask = unsafe {
            let old = libc::umask(0o022);
            libc::umask(old);
            old
        };
        let limits = RESOURCES
            .iter()
            .filter_map(|&(_, resource)| {
                let mut r = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                // SAFETY: `r` is a valid rlimit to write.
                let rc = unsafe { libc::getrlimit(resource, &mut r) };
                (rc == 0).then_some(Limit {
                    resource,
                    soft: r.rlim_cur,
                    hard: r.rlim_max,
                })
            })
            .collect();
        // SAFETY: getpriority has no preconditions; -1 is also a value,
        // which errno would tell apart (an error is not possible for
        // this process).
        let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        Inherited {
            umask: umask as u32,
            limits,
            nice,
            cpus: affinity(),
        }
    }

    /// The bytes a fingerprint covers.
    pub fn fingerprint_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "umask={:o}\0nice={}\0cpus={:?}\0",
            self.umask, self.nice, self.cpus
        )
        .into_bytes();
        for l in &self.limits {
            let name = RESOURCES
                .iter()
                .find(|(_, r)| *r == l.resource)
                .map_or("?", |(n, _)| n);
            out.extend(format!("{name}={}/{}\0", l.soft, l.hard).into_bytes());
        }
        out
    }

    /// What differs from `other`, for a refusal's message: `umask`, and
    /// the names of the limits.
    pub fn differences(&self, other: &Inherited) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.umask != other.umask {
            out.push("umask");
        }
        if self.nice != other.nice {
            out.push("nice");
        }
        if self.cpus != other.cpus {
            out.push("CPU affinity");
        }
        for &(name, resource) in &RESOURCES {
            let find = |i: &Inherited| i.limits.iter().find(|l| l.resource == resource).copied();
            if find(self) != find(other) {
                out.push(name);
            }
        }
        out
    }

    /// Sets these values in a child between `fork` and `exec` (a standby
    /// started for this launch). What cannot be set (a hard limit above
    /// the parent's, a lower nice value) stays as inherited, and the
    /// standby's fingerprint then says so.
    ///
    /// # Safety
    /// Only async-signal-safe calls: for `CommandExt::pre_exec`.
    pub unsafe fn apply_in_child(&self) {
        // SAFETY: umask and setrlimit are async-signal-safe and take
        // plain values.
        unsafe {
            libc::umask(self.umask as libc::mode_t);
            for l in &self.limits {
                let r = libc::rlimit {
                    rlim_cur: l.soft,
                    rlim_max: l.hard,
                };
                libc::setrlimit(l.resource as libc::__rlimit_resource_t, &r);
            }
            libc::setpriority(libc::PRIO_PROCESS, 0, self.nice);
            if !self.cpus.is_empty() {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                for &cpu in &self.cpus {
                    libc::CPU_SET(cpu, &mut set);
                }
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
            }
        }
    }
}

/// The CPUs this process may run on (empty when they cannot be read).
fn affinity() -> Vec<usize> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set, and the call
    // writes at most its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_mask_or_limit_is_named() {
        let here = Inherited::capture();
        assert!(
            here.limits
                .iter()
                .any(|l| l.resource == libc::RLIMIT_NOFILE)
        );
        assert_eq!(here.differences(&here.clone()), Vec::<&str>::new());
        let mut other = here.clone();
        other.umask ^= 0o020;
        if let Some(l) = other
            .limits
            .iter_mut()
            .find(|l| l.resource == libc::RLIMIT_NOFILE)
        {
            l.soft = l.soft.saturating_sub(1);
        }
        other.nice += 1;
        other.cpus.pop();
        assert_eq!(
            here.differences(&other),
            vec!["umask", "nice", "CPU affinity", "nofile"]
        );
        assert_ne!(here.fingerprint_bytes(), other.fingerprint_bytes());
    }
}
