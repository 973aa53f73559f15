//! Reading the small files sluice keeps beside the kept sessions (lock
//! files naming a pid, the `first-deps` history, the dependency profile)
//! without trusting what is at their paths.
//!
//! Those directories outlive every kernel and anything can end up there:
//! a FIFO, whose `open(2)` for reading blocks until a writer comes (a
//! kernel would wait forever before its first cell), a link to
//! `/dev/zero`, which never ends, or a file far larger than sluice ever
//! writes. Every read here opens without blocking (`O_NONBLOCK`), takes
//! regular files only, and stops past a size limit: anything else is
//! treated as no file.

use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// Opens `path` for reading if it is a regular file (following links),
/// without blocking on a FIFO or a device.
pub fn open_regular(path: &Path) -> Option<File> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    f.metadata().ok()?.is_file().then_some(f)
}

/// The bytes of the regular file at `path`, when it has at most `limit`
/// of them.
pub fn read_at_most(path: &Path, limit: u64) -> Option<Vec<u8>> {
    let f = open_regular(path)?;
    let mut bytes = Vec::new();
    f.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .ok()?;
    (bytes.len() as u64 <= limit).then_some(bytes)
}

/// [`read_at_most`] as UTF-8 text.
pub fn read_text_at_most(path: &Path, limit: u64) -> Option<String> {
    String::from_utf8(read_at_most(path, limit)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_regular_files_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, "1234\n").expect("write");
        assert_eq!(read_text_at_most(&file, 5).as_deref(), Some("1234\n"));
        assert_eq!(read_text_at_most(&file, 4), None);
        assert_eq!(read_text_at_most(&dir.path().join("missing"), 5), None);
        assert_eq!(read_text_at_most(dir.path(), 5), None);
        // A FIFO nobody writes: no wait.
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: a valid C string and mode.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(read_text_at_most(&fifo, 5), None);
        assert!(open_regular(&fifo).is_none());
        // A link to a device that never ends.
        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).expect("symlink");
        assert_eq!(read_at_most(&zero, 1 << 20), None);
        // A link to a regular file is followed.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).expect("symlink");
        assert_eq!(read_text_at_most(&link, 5).as_deref(), Some("1234\n"));
    }
}
