//! Reading requests off a ROUTER socket: signature check first, then a
//! lenient parse.
//!
//! The HMAC is verified by jupyter-zmq-client before anything is parsed; a
//! message that fails it is returned as [`WireError::Rejected`] and never
//! handled. The parse is ours rather than the crate's because real clients
//! omit optional fields the crate's types require (jupyter_client sends a
//! history `search` without `unique` or `n`): such fields get the defaults
//! the messaging spec gives them.

use jupyter_protocol::{Header, JupyterMessage, JupyterMessageContent};
use jupyter_zmq_client::{Connection, RawMessage, RuntimeError};
use serde_json::Value;
use zeromq::SocketRecv;

/// Why a message was not returned.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Bad framing or a bad/missing signature: dropped, never executed.
    #[error("rejected: {0}")]
    Rejected(#[source] RuntimeError),
    /// Signed correctly but not a message we can read (bad JSON, bad UTF-8, bad fields).
    #[error("unreadable {msg_type} message: {source}")]
    Unreadable {
        /// The header's msg_type, if the header parsed.
        msg_type: String,
        /// What failed.
        #[source]
        source: serde_json::Error,
    },
    /// The socket itself failed.
    #[error("socket error: {0}")]
    Socket(#[from] zeromq::ZmqError),
}

/// Receives, verifies and parses one message.
pub async fn read<S: SocketRecv>(conn: &mut Connection<S>) -> Result<JupyterMessage, WireError> {
    let multipart = conn.socket.recv().await?;
    let raw = RawMessage::from_multipart(multipart, &conn.mac).map_err(WireError::Rejected)?;
    parse(raw)
}

fn parse(raw: RawMessage) -> Result<JupyterMessage, WireError> {
    let unreadable = |msg_type: &str| {
        let msg_type = msg_type.to_string();
        move |source| WireError::Unreadable {
            msg_type: msg_type.clone(),
            source,
        }
    };
    let header: Header = serde_json::from_slice(&raw.jparts[0]).map_err(unreadable("?"))?;
    let parent_header: Option<Header> = serde_json::from_slice(&raw.jparts[1]).ok();
    let metadata: Value =
        serde_json::from_slice(&raw.jparts[2]).map_err(unreadable(&header.msg_type))?;
    let mut content: Value =
        serde_json::from_slice(&raw.jparts[3]).map_err(unreadable(&header.msg_type))?;
    fill_defaults(&header.msg_type, &mut content);
    let content = JupyterMessageContent::from_type_and_content(&header.msg_type, content)
        .map_err(unreadable(&header.msg_type))?;
    Ok(JupyterMessage {
        zmq_identities: raw.zmq_identities,
        header,
        parent_header,
        metadata,
        content,
        buffers: raw.jparts.get(4..).map(<[_]>::to_vec).unwrap_or_default(),
        channel: None,
    })
}

/// Spec defaults for fields that clients leave out.
fn fill_defaults(msg_type: &str, content: &mut Value) {
    let Some(obj) = content.as_object_mut() else {
        return;
    };
    let mut default = |key: &str, value: Value| {
        obj.entry(key).or_insert(value);
    };
    match msg_type {
        "history_request" => {
            default("output", Value::Bool(false));
            default("raw", Value::Bool(true));
            default("unique", Value::Bool(false));
            default("n", Value::from(0));
            default("start", Value::from(0));
            default("stop", Value::from(0));
            default("pattern", Value::from("*"));
        }
        "execute_request" => {
            default("silent", Value::Bool(false));
            default("store_history", Value::Bool(true));
            default("user_expressions", Value::Object(Default::default()));
            default("allow_stdin", Value::Bool(true));
            default("stop_on_error", Value::Bool(true));
        }
        "inspect_request" => default("detail_level", Value::from(0)),
        "shutdown_request" => default("restart", Value::Bool(false)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_search_without_optional_fields_parses() {
        let mut content = serde_json::json!({"hist_access_type": "search", "pattern": "6*", "raw": true, "output": false});
        fill_defaults("history_request", &mut content);
        let parsed = JupyterMessageContent::from_type_and_content("history_request", content);
        assert!(parsed.is_ok(), "{parsed:?}");
    }

    #[test]
    fn execute_with_only_code_parses() {
        let mut content = serde_json::json!({"code": "1"});
        fill_defaults("execute_request", &mut content);
        assert!(JupyterMessageContent::from_type_and_content("execute_request", content).is_ok());
    }
}
