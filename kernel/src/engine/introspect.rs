//! `complete_request` and `inspect_request` on the evcxr context.
//!
//! Jupyter counts cursor positions in Unicode characters, evcxr in bytes;
//! both directions are converted here. Completions are bare names (`drain`,
//! not evcxr's call snippet `drain(range)`). `context` is code that goes
//! before the request's (items-only cells waiting to be built), so their
//! names complete and inspect too.

use evcxr::CommandContext;
use jupyter_protocol::{CompleteReply, CompleteRequest, InspectReply, InspectRequest, ReplyStatus};

use crate::completion;
use crate::display;
use crate::std_private;

/// What evcxr's hover says when it knows nothing about the name.
const NOTHING_FOUND: &str = "No documentation found";

/// `user_defines(name)`: whether the notebook's own code defines `fn name`
/// (kept even when std has a private method of that name).
pub(super) fn complete(
    ctx: &mut CommandContext,
    req: &CompleteRequest,
    context: &str,
    user_defines: &dyn Fn(&str) -> bool,
) -> CompleteReply {
    if let Some(reply) = completion::magic_completions(&req.code, req.cursor_pos) {
        return reply;
    }
    let byte_pos = completion::char_to_byte(&req.code, req.cursor_pos);
    // evcxr reads commands only at the top of a cell: no context before them.
    let context = if req.code.trim_start().starts_with(':') {
        ""
    } else {
        context
    };
    let code = format!("{context}{}", req.code);
    match ctx.completions(&code, context.len() + byte_pos) {
        Ok(c) => {
            let mut names = completion::clean(c.completions.iter().map(|c| c.code.as_str()));
            names.retain(|n| !std_private::is_private(n) || user_defines(n));
            let back = |offset: usize| offset.saturating_sub(context.len()).min(req.code.len());
            CompleteReply {
                matches: names,
                cursor_start: completion::byte_to_char(&req.code, back(c.start_offset)),
                cursor_end: completion::byte_to_char(&req.code, back(c.end_offset)),
                metadata: Default::default(),
                status: ReplyStatus::Ok,
                error: None,
            }
        }
        Err(e) => {
            tracing::debug!("completion failed: {e}");
            complete_empty(req)
        }
    }
}

pub(super) fn complete_empty(req: &CompleteRequest) -> CompleteReply {
    CompleteReply {
        matches: vec![],
        cursor_start: req.cursor_pos,
        cursor_end: req.cursor_pos,
        metadata: Default::default(),
        status: ReplyStatus::Ok,
        error: None,
    }
}

pub(super) fn inspect(
    ctx: &mut CommandContext,
    req: &InspectRequest,
    context: &str,
) -> InspectReply {
    let byte_pos = completion::char_to_byte(&req.code, req.cursor_pos);
    // A notebook variable under the cursor: its type is the most useful answer.
    if let Some(word) = completion::word_at(&req.code, byte_pos) {
        let ty = ctx
            .variables_and_types()
            .find(|(name, _)| *name == word)
            .map(|(_, ty)| ty.to_string());
        if let Some(ty) = ty {
            return found(&format!("{word}: {ty}"), None);
        }
    }
    // Hover needs the cursor inside or at the end of a word.
    let pos = completion::word_end(&req.code, byte_pos);
    match ctx.hover_at(&format!("{context}{}", req.code), context.len() + pos) {
        // evcxr answers "No documentation found" rather than nothing.
        Ok((plain, html)) if !plain.trim().is_empty() && plain.trim() != NOTHING_FOUND => {
            if html.trim().is_empty() {
                found(&plain, None)
            } else {
                let (plain, html) = super::doc_text::tidy(&html);
                found(&plain, Some(&html))
            }
        }
        Ok(_) => inspect_empty(),
        Err(e) => {
            tracing::debug!("inspect failed: {e}");
            inspect_empty()
        }
    }
}

fn found(plain: &str, html: Option<&str>) -> InspectReply {
    let mut map = serde_json::Map::new();
    map.insert("text/plain".into(), plain.into());
    if let Some(html) = html.filter(|h| !h.trim().is_empty()) {
        map.insert("text/html".into(), html.into());
    }
    let data = serde_json::from_value(serde_json::Value::Object(map))
        .unwrap_or_else(|_| display::bundle("text/plain", plain));
    InspectReply {
        found: true,
        data,
        metadata: Default::default(),
        status: ReplyStatus::Ok,
        error: None,
    }
}

pub(super) fn inspect_empty() -> InspectReply {
    InspectReply {
        found: false,
        data: Default::default(),
        metadata: Default::default(),
        status: ReplyStatus::Ok,
        error: None,
    }
}
