//! `%slurm cache clear`: empties the result cache of this workdir
//! (`crate::cache`), so every item runs again.

use super::super::Magics;
use crate::cache::ResultCache;
use crate::error::{MagicError, io};
use crate::grammar::CacheAction;
use crate::render;
use crate::session::Display;

impl Magics {
    pub(super) fn cache_line(
        &mut self,
        action: CacheAction,
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        let cache = ResultCache::new(&self.ws.sluice_dir());
        match action {
            CacheAction::Clear => {
                let n = cache.clear().map_err(io("clearing the result cache"))?;
                display.show(
                    &render::pre(&format!(
                        "result cache cleared ({n} kept result{})",
                        if n == 1 { "" } else { "s" }
                    )),
                    None,
                );
            }
        }
        Ok(())
    }
}
