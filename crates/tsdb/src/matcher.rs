//! Label matchers with Prometheus semantics: `=`, `!=`, `=~`, `!~`, regexes fully anchored.

use std::fmt;

use crate::{Error, ErrorKind};

/// The four matcher operators of PromQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    Equal,
    NotEqual,
    RegexMatch,
    RegexNoMatch,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::RegexMatch => "=~",
            MatchOp::RegexNoMatch => "!~",
        }
    }
}

/// One `name op "value"` condition on a series' labels. A label that is absent has the value "".
#[derive(Clone)]
pub struct Matcher {
    name: String,
    op: MatchOp,
    value: String,
    regex: Option<regex::Regex>,
}

impl Matcher {
    /// Builds a matcher; a regex that does not compile is an error naming it.
    pub fn new(op: MatchOp, name: impl Into<String>, value: impl Into<String>) -> Result<Self, Error> {
        let (name, value) = (name.into(), value.into());
        let regex = match op {
            MatchOp::RegexMatch | MatchOp::RegexNoMatch => {
                // Prometheus anchors the whole expression and lets `.` match newlines.
                let anchored = format!("^(?s:{value})$");
                Some(regex::Regex::new(&anchored).map_err(|e| {
                    Error::new(ErrorKind::InvalidRegex { pattern: value.clone(), reason: e.to_string() })
                })?)
            }
            _ => None,
        };
        Ok(Matcher { name, op, value, regex })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn op(&self) -> MatchOp {
        self.op
    }
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether a label value (`""` when the label is absent) satisfies this matcher.
    pub fn matches(&self, v: &str) -> bool {
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => v == self.value,
            (MatchOp::NotEqual, _) => v != self.value,
            (MatchOp::RegexMatch, Some(re)) => re.is_match(v),
            (MatchOp::RegexNoMatch, Some(re)) => !re.is_match(v),
            (_, None) => false,
        }
    }
}

impl PartialEq for Matcher {
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name && self.op == o.op && self.value == o.value
    }
}
impl Eq for Matcher {}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_is_anchored_and_empty_matches_absent() {
        let m = Matcher::new(MatchOp::RegexMatch, "code", "5..").unwrap();
        assert!(m.matches("503"));
        assert!(!m.matches("2503"));
        let e = Matcher::new(MatchOp::RegexMatch, "x", "a|").unwrap();
        assert!(e.matches(""));
        assert!(Matcher::new(MatchOp::RegexMatch, "x", "(").is_err());
    }
}
