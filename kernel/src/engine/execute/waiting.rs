//! The engine's side of items-only cells that wait (see
//! `deferred_items.rs`): checking one instead of building it, building the
//! waiting items before cells that cannot share their block, and the block a
//! plain cell is evaluated in.

use std::collections::HashMap;

use jupyter_protocol::ErrorOutput;

use super::super::deferred_items::{self, Assembled, Shape, Source};
use super::super::magic_bridge::EvcxrSession;
use super::{OtherCells, Outcome, Worker, compile_error_in, simple_error};

impl Worker {
    /// The block evcxr evaluates for a plain cell: the binds of finished
    /// magic cells and the waiting items-only cells, then the cell (one
    /// build instead of several). Before an evcxr command, or a cell that
    /// redefines a type they read into, the binds are evaluated on their own. Also says whether binds are in the block.
    pub(super) fn block_for(
        &mut self,
        cell: &str,
        shape: Option<&Shape>,
    ) -> Result<(Assembled, bool), ErrorOutput> {
        let mut prelude = self.magics.pending_prelude();
        // Before a command, and before a cell that redefines a type the
        // binds read into, the binds are evaluated on their own.
        // A cell that returns early would skip the binds' variables too
        // (see `early_return.rs`).
        if prelude.is_some()
            && (deferred_items::starts_with_command(cell)
                || self.magics.binds_use_types_defined_in(cell)
                || super::super::early_return::top_level_return(cell).is_some())
        {
            let ctx = self
                .ctx
                .as_mut()
                .map_err(|r| simple_error("EngineUnavailable", r))?;
            let mut session = EvcxrSession {
                ctx,
                streams: self.streams.as_ref(),
                cache: &mut self.cache,
            };
            self.magics
                .flush_pending(&mut session)
                .map_err(|e| simple_error("BindError", &e.to_string()))?;
            prelude = None;
        }
        let binds = prelude.is_some();
        if let Some(block) = self.items.combine(prelude.as_deref(), cell, shape) {
            return Ok((block, binds));
        }
        // The waiting items cannot come before this cell: build them first.
        self.build_waiting_items()?;
        self.items
            .combine(prelude.as_deref(), cell, shape)
            .map(|block| (block, binds))
            .ok_or_else(|| simple_error("Error", "the cell could not be combined with the session"))
    }

    /// Builds the waiting items-only cells on their own (before a cell that
    /// cannot share their block, a magic cell or an evcxr command).
    pub(super) fn build_waiting_items(&mut self) -> Result<(), ErrorOutput> {
        let Some(block) = self.items.alone() else {
            return Ok(());
        };
        let ctx = self
            .ctx
            .as_mut()
            .map_err(|r| simple_error("EngineUnavailable", r))?;
        self.cache.before(ctx, &block.code);
        let result = ctx.execute(&block.code);
        if let Some(s) = &self.streams {
            s.flush();
        }
        match result {
            Ok(_) => {
                self.items.clear();
                Ok(())
            }
            Err(evcxr::Error::CompilationErrors(errors)) => {
                let first = errors
                    .iter()
                    .filter_map(|e| primary_line(e).and_then(|l| block.source_of(l)))
                    .find_map(|s| match s {
                        Source::Deferred(n) => Some(n),
                        _ => None,
                    })
                    .or_else(|| self.items.cells().first().copied())
                    .unwrap_or_default();
                Err(self.items_failed(&errors, &block, first))
            }
            Err(e) => Err(simple_error(
                "Error",
                &format!(
                    "building the items of {} failed: {e}; they are kept, run this cell again",
                    cell_list(&self.items.cells())
                ),
            )),
        }
    }

    /// The waiting items did not build (an error only a full build finds,
    /// such as a link error): they are dropped, the error is shown against
    /// the cell that defined them.
    fn items_failed(
        &mut self,
        errors: &[evcxr::CompilationError],
        block: &Assembled,
        cell: usize,
    ) -> ErrorOutput {
        let cells = self.items.cells();
        self.items.clear();
        let source = Source::Deferred(cell);
        let (first, last) = block.lines_of(source).unwrap_or((1, 0));
        let code = block.code_of(source).unwrap_or_default();
        let others = self.other_cells(Some(block));
        let mut err = compile_error_in(errors, &code, first - 1, last, &others);
        err.ename = "DeferredItemsError".into();
        err.traceback.insert(
            0,
            format!(
                "The items of {} were type-checked when they ran and built with the next cell; the build failed, so they are not defined. Fix cell [{cell}] and run it again.",
                cell_list(&cells)
            ),
        );
        err.evalue = format!("cell [{cell}]: {}", err.evalue);
        err
    }

    /// An items-only cell (new names, no dependencies in the session, no
    /// magic binds waiting) is type-checked now and waits to be built with
    /// the next cell. `None`: run it the usual way.
    pub(super) fn try_defer(&mut self, count: usize, code: &str, shape: &Shape) -> Option<Outcome> {
        if self.cache.has_dependencies() || self.magics.pending_prelude().is_some() {
            return None;
        }
        let ctx = self.ctx.as_ref().ok()?;
        if !self
            .items
            .may_wait(shape, &|n| ctx.defined_item_names().any(|d| d == n))
        {
            return None;
        }
        let block = match self.items.with_candidate(count, code, shape) {
            Some(block) => block,
            None => {
                if let Err(e) = self.build_waiting_items() {
                    return Some(Outcome::Err(e));
                }
                self.items.with_candidate(count, code, shape)?
            }
        };
        let ctx = self.ctx.as_mut().ok()?;
        let started = std::time::Instant::now();
        let errors: Vec<evcxr::CompilationError> = match ctx.check(&block.code) {
            Ok(all) => all.into_iter().filter(|e| e.level() == "error").collect(),
            Err(e) => {
                tracing::debug!("check of an items-only cell failed to run: {e}");
                return None;
            }
        };
        tracing::debug!(
            "items-only cell: check {:.1} ms, {} error(s)",
            started.elapsed().as_secs_f64() * 1e3,
            errors.len()
        );
        if errors.is_empty() {
            self.items.push(count, code, shape.clone());
            self.magics.record_cell(count, code);
            return Some(Outcome::Ok(HashMap::new()));
        }
        let own = Source::Deferred(count);
        let ours = errors.iter().all(|e| {
            e.is_from_user_code() && primary_line(e).and_then(|l| block.source_of(l)) == Some(own)
        });
        if ours {
            // The cell's part may come before the waiting ones (an impl
            // goes under its type): spans past its lines are theirs.
            let (start, last) = block.lines_of(own).unwrap_or((1, usize::MAX));
            let others = self.other_cells(Some(&block));
            return Some(Outcome::Err(compile_error_in(
                &errors,
                code,
                start - 1,
                last,
                &others,
            )));
        }
        // Errors elsewhere (say, against a waiting cell's items): build the
        // waiting items alone, then run this cell the usual way.
        if let Err(e) = self.build_waiting_items() {
            return Some(Outcome::Err(e));
        }
        None
    }
}

impl Worker {
    /// Where an error's spans outside its cell are looked for: the waiting
    /// cells in `block`, and the cells that ran (newest first), each named
    /// `cell[N]` by its execution count, as panics name them.
    pub(super) fn other_cells(&self, block: Option<&Assembled>) -> OtherCells<'_> {
        let parts = block
            .into_iter()
            .flat_map(|b| {
                b.ranges
                    .iter()
                    .filter_map(|(source, first, last)| match source {
                        Source::Deferred(n) => {
                            Some((format!("cell[{n}]"), *first, *last, b.code_of(*source)?))
                        }
                        _ => None,
                    })
            })
            .collect();
        let earlier = self
            .executed
            .iter()
            .rev()
            .map(|(n, code)| (format!("cell[{n}]"), code.as_str()))
            .collect();
        // sluice's own items in the session (its API module, the display
        // trait) are no cell's.
        let items = self
            .ctx
            .as_ref()
            .map(|ctx| {
                ctx.defined_item_names()
                    .filter(|n| !n.starts_with("__") && !n.starts_with("sluice"))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        OtherCells {
            parts,
            earlier,
            items,
        }
    }
}

/// The line of an error's primary span in the evaluated block.
pub(super) fn primary_line(e: &evcxr::CompilationError) -> Option<usize> {
    e.spanned_messages()
        .iter()
        .find(|m| m.is_primary && m.span.is_some())
        .and_then(|m| m.span.map(|s| s.start_line))
}

/// `[3], [4]`
/// `cell [3]`, `cells [3], [4]`: the cells named, in the right number.
fn cell_list(cells: &[usize]) -> String {
    let list = cells
        .iter()
        .map(|c| format!("[{c}]"))
        .collect::<Vec<_>>()
        .join(", ");
    match cells.len() {
        1 => format!("cell {list}"),
        _ => format!("cells {list}"),
    }
}

#[cfg(test)]
mod tests {
    use super::cell_list;

    #[test]
    fn cells_are_named_in_the_right_number() {
        assert_eq!(cell_list(&[3]), "cell [3]");
        assert_eq!(cell_list(&[3, 4]), "cells [3], [4]");
    }
}
