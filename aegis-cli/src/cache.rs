//! Where compiled code is cached between runs, and the `--cache-dir` / `--no-cache` flags.

use std::path::PathBuf;

use clap::Args;

/// Flags choosing the compile cache.
#[derive(Debug, Clone, Default, Args)]
pub struct CacheArgs {
    /// Directory of the compile cache (default: $AEGIS_CACHE_DIR, else
    /// $XDG_CACHE_HOME/aegis, else ~/.cache/aegis). Aegis writes only in its
    /// subdirectory `aegis-compile-cache-v1`. The path must be private to the
    /// user: cached code is loaded without validation. The policy option
    /// `compile_cache`.
    #[arg(long, visible_alias = "compile-cache", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Compile from scratch and leave the cache alone.
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
}

impl CacheArgs {
    /// The cache directory to use: `--cache-dir`, else `configured` (a
    /// policy file's `compile_cache`), else the default; `None` when caching
    /// is off or no home is known.
    pub fn dir(&self, configured: Option<PathBuf>) -> Option<PathBuf> {
        if self.no_cache {
            return None;
        }
        let env = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        self.cache_dir
            .clone()
            .or(configured)
            .or_else(|| env("AEGIS_CACHE_DIR"))
            .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("aegis")))
            .or_else(|| env("HOME").map(|d| d.join(".cache/aegis")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_dir_wins_and_no_cache_turns_it_off() {
        let args = CacheArgs {
            cache_dir: Some("/x/y".into()),
            no_cache: false,
        };
        assert_eq!(args.dir(Some("/z".into())), Some(PathBuf::from("/x/y")));
        let off = CacheArgs {
            cache_dir: None,
            no_cache: true,
        };
        assert_eq!(off.dir(Some("/z".into())), None);
        let configured = CacheArgs::default();
        assert_eq!(configured.dir(Some("/z".into())), Some(PathBuf::from("/z")));
    }
}
