//! [`FakeRunner`], a [`CommandRunner`] for tests only: it answers each
//! program with canned outputs, records every call, keeps written files in
//! memory, and can hold a fetch open (as a slow tar stream would) until the
//! test releases it. Clones share one state, so a test keeps a handle while
//! the code under test owns another.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{ClusterError, CommandRunner, Output};

/// One call the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `run(argv)`.
    Run(Vec<String>),
    /// `mkdirs(dir)`.
    Mkdirs(PathBuf),
    /// `exists(path)`.
    Exists(PathBuf),
    /// `write(path, bytes, mode)`.
    Write(PathBuf, u32),
    /// `remove(path)`.
    Remove(PathBuf),
    /// `fetch(dir, .., since)`.
    Fetch(PathBuf, Option<u64>),
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    /// Next answers of a program, in order.
    queued: HashMap<String, VecDeque<Output>>,
    /// The answer of a program once its queue is empty.
    always: HashMap<String, Output>,
    files: BTreeMap<PathBuf, Vec<u8>>,
    /// What `fetch` returns as the newest mtime.
    fetch_newest: Option<u64>,
    /// Fetches block while this is set.
    hold: bool,
    /// Fetches blocked right now.
    held: usize,
}

/// A runner that never leaves the process. See the module doc.
#[derive(Clone, Default)]
pub struct FakeRunner {
    state: Arc<(Mutex<State>, Condvar)>,
    remote: bool,
}

/// Output of a command that exited 0 and printed `stdout`.
pub fn ok(stdout: &str) -> Output {
    Output {
        status: 0,
        stdout: stdout.as_bytes().to_vec(),
        stderr: String::new(),
    }
}

/// Output of a command that exited `status` and said `stderr`.
pub fn failed(status: i32, stderr: &str) -> Output {
    Output {
        status,
        stdout: Vec::new(),
        stderr: stderr.to_string(),
    }
}

impl FakeRunner {
    /// A fake login node (files are local: nothing is fetched).
    pub fn local() -> FakeRunner {
        FakeRunner::default()
    }

    /// A fake remote login node (files are fetched).
    pub fn remote() -> FakeRunner {
        FakeRunner {
            remote: true,
            ..FakeRunner::default()
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock has failed already.
        self.state.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `program` answers `out` next (after earlier queued answers).
    pub fn answer(&self, program: &str, out: Output) {
        self.lock()
            .queued
            .entry(program.to_string())
            .or_default()
            .push_back(out);
    }

    /// `program` answers `out` whenever nothing is queued for it.
    pub fn always(&self, program: &str, out: Output) {
        self.lock().always.insert(program.to_string(), out);
    }

    /// What `fetch` reports as the newest mtime it saw.
    pub fn set_fetch_newest(&self, newest: Option<u64>) {
        self.lock().fetch_newest = newest;
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The argument vectors of every `run` of `program`.
    pub fn runs_of(&self, program: &str) -> Vec<Vec<String>> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Run(argv) if program_of(&argv) == Some(program) => Some(argv),
                _ => None,
            })
            .collect()
    }

    /// The `since` of every fetch.
    pub fn fetches(&self) -> Vec<Option<u64>> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Fetch(_, since) => Some(since),
                _ => None,
            })
            .collect()
    }

    /// The bytes last written to `path`.
    pub fn file(&self, path: &Path) -> Option<Vec<u8>> {
        self.lock().files.get(path).cloned()
    }

    /// From now on, every fetch blocks until [`FakeRunner::release_fetches`].
    pub fn hold_fetches(&self) {
        self.lock().hold = true;
    }

    /// Lets held fetches finish (and later ones run at once).
    pub fn release_fetches(&self) {
        self.lock().hold = false;
        self.state.1.notify_all();
    }

    /// Fetches blocked right now.
    pub fn held_fetches(&self) -> usize {
        self.lock().held
    }

    /// Waits until a fetch is blocked; false after `timeout`.
    pub fn wait_for_held_fetch(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut s = self.lock();
        while s.held == 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            s = match self.state.1.wait_timeout(s, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }
}

impl CommandRunner for FakeRunner {
    fn describe(&self) -> String {
        if self.remote {
            "ssh://fake@cluster:22".into()
        } else {
            "this machine".into()
        }
    }

    fn is_remote(&self) -> bool {
        self.remote
    }

    fn connects(&self) -> u32 {
        u32::from(self.remote)
    }

    fn run(&mut self, argv: &[String]) -> Result<Output, ClusterError> {
        let program = program_of(argv)
            .map(String::from)
            .ok_or_else(|| ClusterError::Refused("empty command".into()))?;
        let mut s = self.lock();
        s.calls.push(Call::Run(argv.to_vec()));
        let next = s.queued.get_mut(&program).and_then(VecDeque::pop_front);
        Ok(next
            .or_else(|| s.always.get(&program).cloned())
            .unwrap_or_else(|| ok("")))
    }

    fn home(&mut self) -> Result<PathBuf, ClusterError> {
        Ok(PathBuf::from("/home/fake"))
    }

    fn mkdirs(&mut self, dir: &Path) -> Result<(), ClusterError> {
        self.lock().calls.push(Call::Mkdirs(dir.to_path_buf()));
        Ok(())
    }

    fn exists(&mut self, path: &Path) -> Result<bool, ClusterError> {
        let mut s = self.lock();
        s.calls.push(Call::Exists(path.to_path_buf()));
        Ok(s.files.contains_key(path))
    }

    fn write(&mut self, path: &Path, bytes: &[u8], mode: u32) -> Result<(), ClusterError> {
        let mut s = self.lock();
        s.calls.push(Call::Write(path.to_path_buf(), mode));
        s.files.insert(path.to_path_buf(), bytes.to_vec());
        Ok(())
    }

    fn remove(&mut self, path: &Path) -> Result<(), ClusterError> {
        let mut s = self.lock();
        s.calls.push(Call::Remove(path.to_path_buf()));
        s.files.remove(path);
        Ok(())
    }

    fn fetch(
        &mut self,
        dir: &Path,
        _subdirs: &[&str],
        _into: &Path,
        since: Option<u64>,
    ) -> Result<Option<u64>, ClusterError> {
        let mut s = self.lock();
        s.calls.push(Call::Fetch(dir.to_path_buf(), since));
        if s.hold {
            s.held += 1;
            self.state.1.notify_all();
            while s.hold {
                s = match self.state.1.wait(s) {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                };
            }
            s.held -= 1;
        }
        Ok(s.fetch_newest.or(since))
    }
}

/// The program an argument vector runs: the first word, or for `env
/// NAME=value... program`, the program after the assignments.
fn program_of(argv: &[String]) -> Option<&str> {
    let mut words = argv.iter().map(String::as_str);
    let first = words.next()?;
    if first != "env" {
        return Some(first);
    }
    words.find(|w| !w.contains('='))
}
