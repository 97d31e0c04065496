//! Label sets: the identity of a series.

use std::fmt;
use std::sync::Arc;

/// The label that holds a series' metric name.
pub const METRIC_NAME: &str = "__name__";

/// A set of `name="value"` pairs, sorted by name, names unique. `__name__` is a label like any other.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Labels(Vec<(Arc<str>, Arc<str>)>);

impl Labels {
    /// Builds a label set; pairs are sorted by name, a later duplicate name wins, empty values are
    /// dropped (in Prometheus an empty value means the label is absent).
    pub fn new<N: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (N, V)>) -> Self {
        let mut v: Vec<(Arc<str>, Arc<str>)> = Vec::new();
        for (n, val) in pairs {
            let (n, val) = (n.as_ref(), val.as_ref());
            match v.binary_search_by(|(k, _)| (**k).cmp(n)) {
                Ok(i) => v[i].1 = Arc::from(val),
                Err(i) => v.insert(i, (Arc::from(n), Arc::from(val))),
            }
        }
        v.retain(|(_, val)| !val.is_empty());
        Labels(v)
    }

    /// The value of label `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(name))
            .ok()
            .map(|i| &*self.0[i].1)
    }

    /// The metric name (`__name__`), if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// Pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (&**n, &**v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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
        let l = Labels::new([("job", "api"), ("__name__", "up"), ("a", "x\"y"), ("job", "db"), ("e", "")]);
        assert_eq!(l.get("job"), Some("db"));
        assert_eq!(l.get("e"), None);
        assert_eq!(l.to_string(), r#"up{a="x\"y", job="db"}"#);
    }
}
