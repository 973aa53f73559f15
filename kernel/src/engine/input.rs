//! A cell's stdin read, answered from the front end.
//!
//! The runtime asks evcxr for input when a cell reads its stdin; evcxr
//! calls [`Asker::ask`]. When the execute request allowed stdin, the
//! cell's output so far is published (its prompt) and an `input_request`
//! goes to the stdin channel; the reply is the answer. Otherwise, or when
//! the cell is interrupted while waiting, the answer is end-of-file.

use std::time::Duration;

use jupyter_protocol::JupyterMessage;

use super::StdinAsk;
use super::interrupt::Interrupter;
use crate::runtime::answer;
use crate::streams::Streams;

/// What answering needs.
pub(super) struct Asker {
    pub stdin: StdinAsk,
    pub parent: JupyterMessage,
    pub allowed: bool,
    pub interrupter: Interrupter,
    pub streams: Option<Streams>,
}

impl Asker {
    /// The answer line for evcxr.
    pub(super) fn ask(&self, prompt: String, is_password: bool) -> String {
        if !self.allowed {
            return answer::encode(None);
        }
        if let Some(s) = &self.streams {
            s.publish();
        }
        let (tx, mut rx) = tokio::sync::oneshot::channel::<String>();
        let asked = (self.parent.clone(), prompt, is_password, tx);
        if self.stdin.send(asked).is_err() {
            return answer::encode(None);
        }
        loop {
            match rx.try_recv() {
                Ok(value) => return answer::encode(Some(&value)),
                Err(tokio::sync::oneshot::error::TryRecvError::Closed) => {
                    return answer::encode(None);
                }
                Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {
                    if self.interrupter.was_requested() {
                        // Dropping the receiver tells the stdin task to stop waiting.
                        return answer::encode(None);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
}
