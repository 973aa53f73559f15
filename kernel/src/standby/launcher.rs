//! The launcher: the process Jupyter starts (`sluice kernel -f FILE`)
//! offers FILE to a waiting standby, and when the standby takes it, stays
//! alive as Jupyter's handle on the kernel until the kernel ends.

use std::io::Read as _;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use super::request::{self, Reply, Request};
use super::{Launch, Place};

/// How long the launcher waits for the standby's answer (it answers once
/// its own warm-up is over, which a recent standby may still be doing).
const ANSWER_LIMIT: Duration = Duration::from_secs(30);

/// Offers the connection to the standby. The socket when a standby became
/// the kernel (the caller then calls [`wait_for_kernel`]); None when there
/// is none, or it refused, or did not answer: the caller starts the kernel
/// itself. Never an error for the user; the reason goes to the log.
pub fn offer(launch: &Launch, connection_file: &Path) -> Option<UnixStream> {
    let place = Place::for_launch(launch)?;
    let Ok(mut stream) = UnixStream::connect(&place.socket) else {
        tracing::info!("no standby waits for this binary and environment; starting afresh");
        return None;
    };
    let connection_file = std::path::absolute(connection_file).ok()?;
    let req = Request {
        launch: launch.clone(),
        connection_file,
        leave: false,
    };
    let started = std::time::Instant::now();
    let sent = stream
        .set_write_timeout(Some(ANSWER_LIMIT))
        .and_then(|()| request::send(&mut stream, &req, &[1, 2]))
        .and_then(|()| stream.set_read_timeout(Some(ANSWER_LIMIT)))
        .and_then(|()| request::read_answer(&stream));
    match sent {
        Ok(Reply::Adopted) => {
            tracing::info!(
                "a standby kernel took this connection in {:.0} ms",
                started.elapsed().as_secs_f64() * 1e3
            );
            Some(stream)
        }
        Ok(Reply::Refused(why)) => {
            tracing::info!("the standby kernel refused this launch ({why}); starting afresh");
            None
        }
        Err(e) => {
            tracing::info!("no answer from the standby kernel ({e}); starting afresh");
            None
        }
    }
}

/// Waits until the kernel that took the connection ends (the socket
/// closes), then returns. Jupyter's signals to this process end it
/// (default dispositions), which the kernel notices the same way.
pub fn wait_for_kernel(mut stream: UnixStream) {
    let _ = stream.set_read_timeout(None);
    let mut buf = [0u8; 64];
    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
}
