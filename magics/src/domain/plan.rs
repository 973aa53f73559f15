//! [`TaskPlan`]: what a magic cell decided to run, handed from the plan
//! stage to submit (and recorded in the ledger).

use super::backend::Backend;
use super::dependency::Dependency;
use super::job::JobKind;
use super::resources::Resources;

/// What to run: one array of `elements()` elements over `items` items.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskPlan {
    /// The NAME results are bound to.
    pub name: String,
    /// Which magic made it (decides how results are bound).
    pub kind: JobKind,
    /// Where it runs.
    pub backend: Backend,
    /// Number of items (1 for a run job).
    pub items: usize,
    /// Items per array element (`--chunk`; at least 1).
    pub chunk: usize,
    /// The Rust type of one item's result, as the session names it.
    pub result_type: String,
    /// Jobs it waits for.
    pub deps: Vec<Dependency>,
    /// What each element asks for.
    pub resources: Resources,
    /// `--no-wait`: queue it and return at once.
    pub no_wait: bool,
    /// `--retries N`: failed elements are resubmitted up to N times.
    pub retries: u32,
    /// `--cache` (or the session's `%slurm config --cache on`): items whose
    /// results the result cache holds are not run (`cache/`).
    pub cache: bool,
}

impl TaskPlan {
    /// Array elements: `ceil(items / chunk)`.
    pub fn elements(&self) -> usize {
        self.items.div_ceil(self.chunk.max(1))
    }

    /// The items of array element `element` (the last may be short).
    pub fn items_of(&self, element: usize) -> std::ops::Range<usize> {
        items_of(self.items, self.chunk, element)
    }
}

/// The items of array element `element` when `items` are packed `chunk` to
/// an element: `element*chunk .. min((element+1)*chunk, items)`, saturating.
pub fn items_of(items: usize, chunk: usize, element: usize) -> std::ops::Range<usize> {
    let chunk = chunk.max(1);
    let start = element.saturating_mul(chunk).min(items);
    start..start.saturating_add(chunk).min(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_and_their_items() {
        assert_eq!(items_of(5, 2, 0), 0..2);
        assert_eq!(items_of(5, 2, 2), 4..5);
        assert_eq!(items_of(5, 2, 9), 5..5);
        assert_eq!(items_of(5, 0, 1), 1..2);
        assert_eq!(items_of(usize::MAX, 2, usize::MAX), usize::MAX..usize::MAX);
    }
}
