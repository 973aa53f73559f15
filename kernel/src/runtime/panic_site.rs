//! Which cell's library the panicking code is in.
//!
//! evcxr links every cell against one shared `libstd`, so all cells share
//! one panic hook, installed by the latest cell: the hook alone cannot
//! tell which cell's code panicked (a closure an earlier cell stored, a
//! thread it started). The stack can: walking it from the hook outwards,
//! the first frame in a cell's library after the frames of `libstd` is
//! where the panic was raised. When the cells link `std` statically
//! (evcxr's `:allow_static_linking`), each library has its own hook, and
//! the library of the hook is the one that panicked.

use std::ffi::{CStr, c_void};
use std::sync::Mutex;

/// The cells' libraries: path as loaded, evcxr's build number.
static LIBRARIES: Mutex<Vec<(String, u64)>> = Mutex::new(Vec::new());

/// Records a loaded cell library.
pub fn loaded(path: &str, build: u64) {
    if let Ok(mut libs) = LIBRARIES.lock() {
        libs.push((path.to_string(), build));
    }
}

/// evcxr's build number of the library whose code is panicking on this
/// thread (0 when it cannot be told).
pub fn build() -> u64 {
    let mut frames = [std::ptr::null_mut::<c_void>(); 64];
    // SAFETY: backtrace writes at most `frames.len()` addresses.
    let n = unsafe { libc::backtrace(frames.as_mut_ptr(), frames.len() as libc::c_int) };
    let Ok(libs) = LIBRARIES.lock() else {
        return 0;
    };
    let cell_build = |file: &str| libs.iter().find(|(p, _)| p == file).map(|(_, b)| *b);
    let mut hook = None;
    let mut after_std = false;
    for &ip in &frames[..n.max(0) as usize] {
        let Some(file) = library_of(ip) else { continue };
        if file.contains("/libstd-") {
            after_std = hook.is_some();
            continue;
        }
        if let Some(build) = cell_build(&file) {
            match hook {
                None => hook = Some(build),
                Some(_) if after_std => return build,
                Some(_) => {}
            }
        }
    }
    hook.unwrap_or(0)
}

/// The file of the object that holds `ip`.
fn library_of(ip: *mut c_void) -> Option<String> {
    // SAFETY: dladdr fills the Dl_info for an address; the name it points
    // to belongs to the loader and is copied at once.
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        if libc::dladdr(ip, &mut info) == 0 || info.dli_fname.is_null() {
            return None;
        }
        Some(
            CStr::from_ptr(info.dli_fname)
                .to_string_lossy()
                .into_owned(),
        )
    }
}
