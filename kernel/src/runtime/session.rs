//! The session process: the one that holds the notebook's variables and
//! runs the cells, on its main thread.
//!
//! For each `LOAD_AND_RUN` the supervisor passes on, it takes a snapshot
//! (`snapshot.rs`), loads the cell's library, lets the session's own code in
//! it attach (`sluice_session_attach`: where to send frames), calls the
//! cell's function with the variable store, flushes the buffered stdout of
//! every library loaded so far (`print!` without a newline shows by the
//! cell's end; between cells it is flushed every 50 ms, for threads that
//! print) and reports `Done`. It writes nothing on its stdout but the
//! frames the session's code asks for; all else there is the cell's.

use std::ffi::{CStr, CString, c_void};
use std::os::fd::RawFd;

use super::evcxr_protocol::parse_load_and_run;
use super::frames;
use super::line_reader::{LineReader, Read};
use super::report::Report;
use super::snapshot::{self, Before};
use super::{environment, fds, frame_writer, overflow, panic_site};

/// The environment variable that makes the binary a session process:
/// `commands,reports,supervisor,token,snapshots`.
pub const SESSION_VAR: &str = "SLUICE_SESSION";
/// How often buffered output is flushed between cells.
const IDLE_FLUSH_MS: i32 = 50;
/// The person's own `GLIBC_TUNABLES`, restored for the cells.
pub const TUNABLES_VAR: &str = "SLUICE_SESSION_TUNABLES";

/// How the supervisor set this process up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// Where `LOAD_AND_RUN` lines arrive.
    pub commands: RawFd,
    /// Where reports go.
    pub reports: RawFd,
    /// The supervisor's pid.
    pub supervisor: u32,
    /// The frame token.
    pub token: String,
    /// Take snapshots.
    pub snapshots: bool,
}

impl Setup {
    /// The value of [`SESSION_VAR`].
    pub fn encode(&self) -> String {
        format!(
            "{},{},{},{},{}",
            self.commands,
            self.reports,
            self.supervisor,
            self.token,
            u8::from(self.snapshots)
        )
    }

    /// Reads [`SESSION_VAR`].
    pub fn decode(text: &str) -> Option<Setup> {
        let mut parts = text.split(',');
        let setup = Setup {
            commands: parts.next()?.parse().ok()?,
            reports: parts.next()?.parse().ok()?,
            supervisor: parts.next()?.parse().ok()?,
            token: parts.next()?.to_string(),
            snapshots: parts.next()? == "1",
        };
        (parts.next().is_none() && setup.token.len() == frames::TOKEN_LEN).then_some(setup)
    }
}

type UserFn = extern "C" fn(*mut c_void) -> *mut c_void;
type AttachFn = extern "C" fn(usize, usize);
type FlushFn = extern "C" fn();

struct Session {
    setup: Setup,
    /// Flush functions of every library loaded (libraries are never unloaded).
    flushes: Vec<FlushFn>,
    store: *mut c_void,
}

/// The supervisor blocks SIGCHLD, SIGTERM and SIGHUP for its signalfd, and
/// a mask survives exec: unblock them here, so the session — and every
/// program a cell starts, which inherits its mask — gets them as usual.
fn unblock_inherited_signals() {
    // SAFETY: the set is initialised by sigemptyset before use; the mask
    // change applies to this thread, the session's only one at this point.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGCHLD, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
}

/// Publishes the session's environment for the magics if it changed.
fn publish_environment() {
    environment::publish(crate::standby::adoption::is_pending());
}

/// Runs the session process; never returns.
pub fn run(setup: Setup) -> ! {
    for fd in [setup.commands, setup.reports] {
        let _ = fds::set_cloexec(fd, true);
    }
    // SAFETY: getppid takes no arguments. The supervisor set PDEATHSIG
    // before exec; if it already died, stop here.
    if unsafe { libc::getppid() } as u32 != setup.supervisor {
        std::process::exit(0);
    }
    frame_writer::set_token(&setup.token);
    unblock_inherited_signals();
    if let Err(e) = overflow::install(setup.reports) {
        eprintln!("sluice: cannot watch for stack overflows: {e}");
    }
    let mut session = Session {
        setup,
        flushes: Vec::new(),
        store: std::ptr::null_mut(),
    };
    publish_environment();
    let mut commands = LineReader::default();
    loop {
        if !readable_within(session.setup.commands, IDLE_FLUSH_MS) {
            // Between cells: what threads printed without a newline shows
            // now, not at the end of the next cell; what they changed in
            // the environment is published.
            session.flush_all();
            publish_environment();
            continue;
        }
        match commands.read_from(session.setup.commands) {
            Ok(Read::Lines(lines)) => {
                for line in lines {
                    match parse_load_and_run(&line) {
                        Some((library, function)) => session.run_cell(library, function),
                        None => eprintln!("sluice: unknown runtime command {line:?}"),
                    }
                }
            }
            Ok(Read::Closed) | Err(_) => std::process::exit(0),
        }
    }
}

impl Session {
    fn report(&self, report: &Report) {
        let _ = fds::write_all(self.setup.reports, &report.line());
    }

    fn run_cell(&mut self, library: &str, function: &str) {
        // Before the snapshot: a restored session keeps the launcher's
        // directory and variables too.
        crate::standby::adoption::apply_pending();
        publish_environment();
        match snapshot::before_cell(self.setup.snapshots, self.setup.supervisor) {
            Before::TookOver => {
                publish_environment();
                self.report(&Report::Ready {
                    pid: std::process::id(),
                });
                return;
            }
            Before::Taken { pid, micros } => self.report(&Report::Snapshot(Ok((pid, micros)))),
            Before::Skipped(why) => self.report(&Report::Snapshot(Err(why))),
        }
        let user_fn = match self.load(library, function) {
            Ok(f) => f,
            Err(error) => {
                self.report(&Report::NotRun { error });
                return;
            }
        };
        self.store = user_fn(self.store);
        self.flush_all();
        publish_environment();
        self.report(&Report::Done);
    }

    /// Loads the cell's library and attaches the session's code in it.
    fn load(&mut self, library: &str, function: &str) -> Result<UserFn, String> {
        let path = CString::new(library).map_err(|e| e.to_string())?;
        let name = CString::new(function).map_err(|e| e.to_string())?;
        // SAFETY: dlopen/dlsym with NUL-terminated strings; the library is
        // evcxr's build of the cell and is never unloaded, so the function
        // pointers taken from it stay valid. The symbols have the types
        // evcxr's and the session's generated code give them.
        unsafe {
            let handle = libc::dlopen(path.as_ptr(), libc::RTLD_LAZY | libc::RTLD_LOCAL);
            if handle.is_null() {
                return Err(dl_error());
            }
            let attach = libc::dlsym(handle, c"sluice_session_attach".as_ptr());
            if !attach.is_null() {
                let attach: AttachFn = std::mem::transmute(attach);
                attach(
                    frame_writer::emit as *const () as usize,
                    frame_writer::panic as *const () as usize,
                );
            }
            let flush = libc::dlsym(handle, c"sluice_session_flush".as_ptr());
            if !flush.is_null() {
                self.flushes
                    .push(std::mem::transmute::<*mut c_void, FlushFn>(flush));
            }
            let f = libc::dlsym(handle, name.as_ptr());
            if f.is_null() {
                return Err(dl_error());
            }
            panic_site::loaded(library, build_of(function));
            Ok(std::mem::transmute::<*mut c_void, UserFn>(f))
        }
    }

    /// Writes out what the cells' `print!`s left in their buffers.
    fn flush_all(&self) {
        for flush in &self.flushes {
            flush();
        }
        // SAFETY: fflush(NULL) flushes every C stdio stream.
        unsafe { libc::fflush(std::ptr::null_mut()) };
    }
}

/// evcxr's build number, from the cell function's name (`run_user_code_7` → 7).
fn build_of(function: &str) -> u64 {
    function
        .rsplit('_')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Whether `fd` has something to read (or was closed) within `ms`.
fn readable_within(fd: RawFd, ms: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll reads and writes the one pollfd passed.
    let n = unsafe { libc::poll(&mut p, 1, ms) };
    n != 0
}

fn dl_error() -> String {
    // SAFETY: dlerror returns a NUL-terminated string or null.
    unsafe {
        let e = libc::dlerror();
        if e.is_null() {
            "unknown dynamic loading error".into()
        } else {
            CStr::from_ptr(e).to_string_lossy().into_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_round_trips() {
        let s = Setup {
            commands: 5,
            reports: 7,
            supervisor: 1234,
            token: "0123456789abcdef0123456789abcdef".into(),
            snapshots: true,
        };
        assert_eq!(Setup::decode(&s.encode()), Some(s));
        assert_eq!(Setup::decode("1,2,3"), None);
        assert_eq!(build_of("run_user_code_12"), 12);
        assert_eq!(build_of("other"), 0);
    }
}
