//! What a launcher and a standby say to each other on the socket.
//!
//! Launcher → standby: a 4-byte little-endian length, then that many bytes
//! of JSON ([`Request`]), with the launcher's stdout and stderr attached
//! (`fd_pass`). Standby → launcher: one line, `adopted` or
//! `refused: <why>`. After `adopted` nothing more is said: the socket stays
//! open as long as both live, and its end tells each that the other is gone.

use std::io::{self, BufRead as _, Read as _, Write as _};
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use super::{Launch, fd_pass};

/// A request is at most this long (an environment of a few hundred kB).
const MAX_LEN: usize = 4 << 20;

/// A launcher offers its kernel connection to the standby (or, with
/// `leave`, a kernel or a newer standby asks it to go: `eviction.rs`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Request {
    /// The launcher's environment and directory.
    pub launch: Launch,
    /// Jupyter's connection file (absolute).
    pub connection_file: PathBuf,
    /// Not a launch: the standby is asked to leave; the other fields are
    /// empty then.
    #[serde(default)]
    pub leave: bool,
}

/// The standby's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The standby is now the kernel.
    Adopted,
    /// It is not; the launcher starts the kernel itself.
    Refused(String),
}

/// Writes `req` with `fds` attached.
///
/// # Errors
/// The socket write failed.
pub fn send(stream: &mut UnixStream, req: &Request, fds: &[RawFd]) -> io::Result<()> {
    let json = serde_json::to_vec(req).map_err(io::Error::other)?;
    let len = u32::try_from(json.len()).map_err(io::Error::other)?;
    let mut data = len.to_le_bytes().to_vec();
    data.extend_from_slice(&json);
    fd_pass::send(stream, &data, fds)
}

/// Reads a request and the descriptors that came with it.
///
/// # Errors
/// The socket read failed, or the request is too long or not a request.
pub fn receive(stream: &mut UnixStream) -> io::Result<(Request, Vec<OwnedFd>)> {
    let mut first = vec![0u8; 64 * 1024];
    let (n, fds) = fd_pass::recv(stream, &mut first)?;
    first.truncate(n);
    while first.len() < 4 {
        let mut more = [0u8; 4];
        let m = stream.read(&mut more[..4 - first.len()])?;
        if m == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        first.extend_from_slice(&more[..m]);
    }
    let len = u32::from_le_bytes([first[0], first[1], first[2], first[3]]) as usize;
    if len > MAX_LEN {
        return Err(io::Error::other(format!("request of {len} bytes")));
    }
    let mut json = first.split_off(4);
    if json.len() < len {
        let mut rest = vec![0u8; len - json.len()];
        stream.read_exact(&mut rest)?;
        json.extend_from_slice(&rest);
    }
    json.truncate(len);
    let req = serde_json::from_slice(&json).map_err(io::Error::other)?;
    Ok((req, fds))
}

/// Writes the answer line.
///
/// # Errors
/// The socket write failed.
pub fn answer(stream: &mut UnixStream, reply: &Reply) -> io::Result<()> {
    let line = match reply {
        Reply::Adopted => "adopted\n".to_string(),
        Reply::Refused(why) => format!("refused: {}\n", why.replace('\n', " ")),
    };
    stream.write_all(line.as_bytes())
}

/// Reads the answer line (the caller sets the read timeout).
///
/// # Errors
/// The socket read failed or closed before a whole line.
pub fn read_answer(stream: &UnixStream) -> io::Result<Reply> {
    let mut line = String::new();
    io::BufReader::new(stream).read_line(&mut line)?;
    match line.strip_suffix('\n') {
        Some("adopted") => Ok(Reply::Adopted),
        Some(other) => Ok(Reply::Refused(
            other.strip_prefix("refused: ").unwrap_or(other).to_string(),
        )),
        None => Err(io::ErrorKind::UnexpectedEof.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd as _;

    #[test]
    fn a_request_round_trips_with_its_descriptors() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let mut env = std::collections::BTreeMap::new();
        env.insert("JPY_SESSION_NAME".into(), "x.ipynb".into());
        env.insert("BIG".into(), "v".repeat(100_000));
        let req = Request {
            launch: Launch {
                env,
                cwd: "/tmp".into(),
                inherited: super::super::inherited::Inherited::capture(),
            },
            connection_file: "/tmp/k.json".into(),
            leave: false,
        };
        let writer = std::thread::spawn(move || {
            let out = std::io::stdout();
            send(&mut a, &req, &[out.as_raw_fd()]).unwrap();
            a
        });
        let (got, fds) = receive(&mut b).unwrap();
        assert_eq!(got.launch.env["BIG"].len(), 100_000);
        assert_eq!(got.connection_file, PathBuf::from("/tmp/k.json"));
        assert_eq!(fds.len(), 1);
        let mut a = writer.join().unwrap();
        answer(&mut b, &Reply::Refused("no\nway".into())).unwrap();
        assert_eq!(read_answer(&a).unwrap(), Reply::Refused("no way".into()));
        answer(&mut b, &Reply::Adopted).unwrap();
        assert_eq!(read_answer(&a).unwrap(), Reply::Adopted);
        a.flush().unwrap();
    }
}
