//! Label sets: the identity of a series.
//!
//! A store holds one `Labels` per series, so its size is most of a series' overhead. The pairs are
//! packed into one shared allocation (varint lengths, then the strings back to back) instead of a
//! vector of string pointers: 16 bytes inline plus the text, instead of 32 bytes per pair.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The label that holds a series' metric name.
pub const METRIC_NAME: &str = "__name__";

/// A set of `name="value"` pairs, sorted by name, names unique. `__name__` is a label like any other.
///
/// Cloning is a reference-count increment. Equal sets have equal bytes, so equality and hashing
/// work on the packed form; ordering compares pair by pair (name, then value).
#[derive(Clone)]
pub struct Labels(Arc<[u8]>);

impl Default for Labels {
    fn default() -> Self {
        Labels(Arc::from(&[0u8][..]))
    }
}

impl Labels {
    /// Builds a label set; pairs are sorted by name, a later duplicate name wins, empty values are
    /// dropped (in Prometheus an empty value means the label is absent).
    pub fn new<N: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (N, V)>) -> Self {
        let mut v: Vec<(String, String)> = Vec::new();
        for (n, val) in pairs {
            let (n, val) = (n.as_ref(), val.as_ref());
            match v.binary_search_by(|(k, _)| k.as_str().cmp(n)) {
                Ok(i) => v[i].1 = val.to_owned(),
                Err(i) => v.insert(i, (n.to_owned(), val.to_owned())),
            }
        }
        v.retain(|(_, val)| !val.is_empty());
        Self::from_sorted(v.iter().map(|(n, v)| (n.as_str(), v.as_str())))
    }

    /// Packs pairs that are already sorted by unique name with non-empty values.
    pub(crate) fn from_sorted<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> Self {
        let mut buf = Vec::new();
        let n = pairs.clone().count();
        put_uvarint(&mut buf, n as u64);
        for (name, value) in pairs.clone() {
            put_uvarint(&mut buf, name.len() as u64);
            put_uvarint(&mut buf, value.len() as u64);
        }
        for (name, value) in pairs {
            buf.extend_from_slice(name.as_bytes());
            buf.extend_from_slice(value.as_bytes());
        }
        Labels(Arc::from(buf))
    }

    /// The value of label `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        // Label sets are small (a handful of pairs), so a scan beats building a search structure.
        for (n, v) in self.iter() {
            match n.cmp(name) {
                Ordering::Equal => return Some(v),
                Ordering::Greater => return None,
                Ordering::Less => {}
            }
        }
        None
    }

    /// The metric name (`__name__`), if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// Pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let b = &self.0[..];
        let mut hdr = 0usize;
        let n = get_uvarint(b, &mut hdr) as usize;
        // The text starts after the 2n lengths; find it once.
        let mut text = hdr;
        for _ in 0..2 * n {
            get_uvarint(b, &mut text);
        }
        let mut text_pos = text;
        (0..n).map(move |_| {
            let nl = get_uvarint(b, &mut hdr) as usize;
            let vl = get_uvarint(b, &mut hdr) as usize;
            let name = str_at(b, text_pos, nl);
            let value = str_at(b, text_pos + nl, vl);
            text_pos += nl + vl;
            (name, value)
        })
    }

    pub fn len(&self) -> usize {
        let mut p = 0;
        get_uvarint(&self.0, &mut p) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes held by this label set (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        // Arc's two reference counts precede the bytes.
        self.0.len() + 16
    }
}

/// The bytes were written by `from_sorted` from `&str`s, so they are valid UTF-8 at every
/// boundary; the check is cheap for short strings and keeps the crate free of `unsafe`.
fn str_at(b: &[u8], at: usize, len: usize) -> &str {
    b.get(at..at + len)
        .and_then(|s| std::str::from_utf8(s).ok())
        .unwrap_or("")
}

pub(crate) fn put_uvarint(buf: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        buf.push((x as u8) | 0x80);
        x >>= 7;
    }
    buf.push(x as u8);
}

/// Reads a varint written by `put_uvarint` from trusted bytes (returns 0 past the end).
fn get_uvarint(b: &[u8], pos: &mut usize) -> u64 {
    let mut x = 0u64;
    let mut shift = 0;
    while let Some(&byte) = b.get(*pos) {
        *pos += 1;
        x |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 || shift >= 63 {
            break;
        }
        shift += 7;
    }
    x
}

impl PartialEq for Labels {
    fn eq(&self, o: &Self) -> bool {
        self.0 == o.0
    }
}
impl Eq for Labels {}

impl Hash for Labels {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state)
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Pair by pair, as sorting `Vec<(name, value)>` would.
impl Ord for Labels {
    fn cmp(&self, o: &Self) -> Ordering {
        self.iter().cmp(o.iter())
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Prometheus's text form: `name{a="b", c="d"}`, values escaped as in the exposition format.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = self.metric_name() {
            f.write_str(name)?;
        }
        f.write_str("{")?;
        let mut first = true;
        for (n, v) in self.iter().filter(|(n, _)| *n != METRIC_NAME) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{n}=\"")?;
            for c in v.chars() {
                match c {
                    '\\' => f.write_str("\\\\")?,
                    '"' => f.write_str("\\\"")?,
                    '\n' => f.write_str("\\n")?,
                    c => write!(f, "{c}")?,
                }
            }
            f.write_str("\"")?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_deduplicated_and_printed() {
        let l = Labels::new([
            ("job", "api"),
            ("__name__", "up"),
            ("a", "x\"y"),
            ("job", "db"),
            ("e", ""),
        ]);
        assert_eq!(l.get("job"), Some("db"));
        assert_eq!(l.get("e"), None);
        assert_eq!(l.len(), 3);
        assert_eq!(l.to_string(), r#"up{a="x\"y", job="db"}"#);
    }

    #[test]
    fn ordering_is_pairwise_not_bytewise() {
        // Packed bytes would put "ab" first ('b' < 'x' after the shared "a"); pairs compare names first.
        let a = Labels::new([("a", "x")]);
        let ab = Labels::new([("ab", "a")]);
        assert!(a < ab);
        assert_eq!(Labels::new::<&str, &str>([]), Labels::default());
        assert!(Labels::default().is_empty());
    }

    #[test]
    fn long_and_unicode_values_survive() {
        let long = "é".repeat(300);
        let l = Labels::new([("k", long.as_str()), ("z", "\0")]);
        assert_eq!(l.get("k"), Some(long.as_str()));
        assert_eq!(l.get("z"), Some("\0"));
        assert_eq!(l.iter().count(), 2);
    }
}
