//! How many bytes still wait in the pipe that carries the evaluation
//! child's stderr to evcxr's reader thread. With it, a flush knows when
//! everything the child wrote has been read, instead of waiting for stderr
//! to stay quiet for a fixed time after every cell.

use std::os::fd::RawFd;

/// The read end, in this process, of the child's stderr pipe.
pub struct StderrProbe {
    /// The child it was found for.
    pub pid: u32,
    /// `pipe:[inode]`, to notice the fd being reused for something else.
    pipe: String,
    fd: RawFd,
}

impl StderrProbe {
    /// Finds the pipe behind the child's fd 2 among this process's fds.
    pub fn for_child(pid: u32) -> Option<StderrProbe> {
        let pipe = std::fs::read_link(format!("/proc/{pid}/fd/2"))
            .ok()?
            .to_string_lossy()
            .into_owned();
        if !pipe.starts_with("pipe:") {
            return None;
        }
        for entry in std::fs::read_dir("/proc/self/fd").ok()?.flatten() {
            let same = std::fs::read_link(entry.path())
                .map(|l| l.to_string_lossy() == pipe)
                .unwrap_or(false);
            if same && let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse().ok()) {
                return Some(StderrProbe { pid, pipe, fd });
            }
        }
        None
    }

    /// Bytes written by the child and not yet read; None if the probe no
    /// longer applies (the pipe is gone).
    pub fn pending(&self) -> Option<usize> {
        let now = std::fs::read_link(format!("/proc/self/fd/{}", self.fd)).ok()?;
        if now.to_string_lossy() != self.pipe {
            return None;
        }
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one c_int through the pointer, which
        // points at `n`; the fd was just checked to be the pipe.
        let r = unsafe { libc::ioctl(self.fd, libc::FIONREAD, &mut n) };
        (r == 0).then_some(n.max(0) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::StderrProbe;
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    #[test]
    fn sees_unread_bytes_of_a_childs_stderr() {
        let mut child = Command::new("sh")
            .args(["-c", "printf 'abc' >&2; sleep 5"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sh");
        let probe = StderrProbe::for_child(child.id()).expect("probe");
        // The shell writes soon after it starts; wait for it (bounded).
        let mut pending = probe.pending();
        for _ in 0..100 {
            if pending == Some(3) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            pending = probe.pending();
        }
        assert_eq!(pending, Some(3));
        let _ = child.stdin.take().map(|mut s| s.write_all(b""));
        let _ = child.kill();
        let _ = child.wait();
    }
}
