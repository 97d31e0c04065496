//! The regex engine behind `=~`/`!~` matchers, and re-exported for `label_replace` and the page's
//! variable regexes so the whole page links one engine.
//!
//! Natively this is the `regex` crate (lazy DFA, literal prefilters: the relay's selects over 100k
//! series need them). In the page (wasm32) it is `regex-lite`, the same API without the DFAs and
//! Unicode tables: 242 KiB less gzipped bundle (767 -> 525 KiB). The differences are the ones RE2/Go
//! (Prometheus) mostly shares with `regex-lite`: `\d`, `\w`, `\s` and `\b` are ASCII, `(?i)`
//! folds ASCII only, and `\p{..}` classes are rejected (a clear error naming the pattern).
#[cfg(not(target_arch = "wasm32"))]
pub use ::regex::{Captures, Error, Regex};
#[cfg(target_arch = "wasm32")]
pub use ::regex_lite::{Captures, Error, Regex};
