//! Stopping evcxr's cargo builds. evcxr compiles a cell by running cargo
//! (and cargo its rustc children) from this process, with no way to cancel
//! it; an interrupt that arrives while a cell compiles, and retiring the
//! session (restart, shutdown), kill those builds so the cell ends at once
//! and no compiler is left running. The builds are found in `/proc`: the
//! `cargo` processes whose parent is this process, and their descendants.

use std::collections::HashMap;

/// `(pid, parent pid, command name)` of every process in `/proc`.
fn processes() -> Vec<(u32, u32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // `pid (comm) state ppid ...`; comm may hold spaces and parens.
            let open = stat.find('(')?;
            let close = stat.rfind(')')?;
            let comm = stat.get(open + 1..close)?.to_string();
            let ppid: u32 = stat
                .get(close + 2..)?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((pid, ppid, comm))
        })
        .collect()
}

/// The cargo builds this process started, each with its descendants
/// (deepest last), from one reading of `/proc`.
fn builds(me: u32, procs: &[(u32, u32, String)]) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (pid, ppid, _) in procs {
        children.entry(*ppid).or_default().push(*pid);
    }
    let mut out = Vec::new();
    for (pid, ppid, comm) in procs {
        if *ppid != me || comm != "cargo" {
            continue;
        }
        let mut stack = vec![*pid];
        while let Some(p) = stack.pop() {
            out.push(p);
            stack.extend(children.get(&p).into_iter().flatten());
        }
    }
    out
}

/// Kills every cargo build this process started and its rustc children;
/// returns how many processes were signalled.
pub fn stop_builds() -> usize {
    let targets = builds(std::process::id(), &processes());
    for &pid in targets.iter().rev() {
        if let Ok(pid) = i32::try_from(pid) {
            // SAFETY: kill(2) of a process that was a descendant of ours
            // when /proc was read just now; at worst ESRCH.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
    targets.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_is_its_cargo_and_every_descendant() {
        let procs = vec![
            (10, 1, "sluice".to_string()),
            (11, 10, "cargo".to_string()),
            (12, 11, "rustc".to_string()),
            (13, 12, "cc".to_string()),
            (14, 10, "sluice-runtime".to_string()),
            (15, 14, "cargo".to_string()),
            (16, 1, "cargo".to_string()),
        ];
        let mut b = builds(10, &procs);
        b.sort();
        assert_eq!(b, vec![11, 12, 13]);
    }
}
