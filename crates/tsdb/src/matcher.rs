//! Label matchers with Prometheus semantics: `=`, `!=`, `=~`, `!~`, regexes fully anchored.

use std::fmt;

use crate::sort::SortDyn;
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
    regex: Option<crate::regex::Regex>,
    shape: Shape,
}

/// What the index can do with a matcher without running its regex on every value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `=` / `!=`: one value.
    Literal(String),
    /// A regex that is an alternation of literals, `a|b|c`: a handful of lookups.
    Set(Vec<String>),
    /// Any other regex; values must start with `prefix`, and if `rest_any` the remainder is
    /// `.*`, so the prefix alone decides.
    Regex { prefix: String, rest_any: bool },
}

/// Characters with a meaning in Rust/RE2 regex syntax.
fn is_meta(c: char) -> bool {
    matches!(
        c,
        '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$'
    )
}

fn shape_of(op: MatchOp, value: &str) -> Shape {
    if matches!(op, MatchOp::Equal | MatchOp::NotEqual) {
        return Shape::Literal(value.to_owned());
    }
    if !value.chars().any(|c| is_meta(c) && c != '|') {
        let mut set: Vec<String> = value.split('|').map(str::to_owned).collect();
        set.sort_by_dyn(Ord::cmp);
        set.dedup();
        return Shape::Set(set);
    }
    // A top-level `|` anywhere makes the leading literal only one branch's prefix.
    if value.contains('|') {
        return Shape::Regex {
            prefix: String::new(),
            rest_any: false,
        };
    }
    let end = value.find(is_meta).unwrap_or(value.len());
    let (prefix, rest) = value.split_at(end);
    // A quantifier right after the literal applies to its last character, so that character
    // is not a sure prefix (`ab?` does not require "ab").
    let prefix = match rest.chars().next() {
        Some('*' | '?' | '{') => {
            let mut p = prefix.to_owned();
            p.pop();
            p
        }
        _ => prefix.to_owned(),
    };
    let rest_any = rest == ".*" && prefix.len() == end;
    Shape::Regex { prefix, rest_any }
}

impl Matcher {
    /// Builds a matcher; a regex that does not compile is an error naming it.
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, Error> {
        let (name, value) = (name.into(), value.into());
        let regex = match op {
            MatchOp::RegexMatch | MatchOp::RegexNoMatch => {
                // Prometheus anchors the whole expression and lets `.` match newlines.
                let anchored = format!("^(?s:{value})$");
                Some(crate::regex::Regex::new(&anchored).map_err(|e| {
                    Error::new(ErrorKind::InvalidRegex {
                        pattern: value.clone(),
                        reason: e.to_string(),
                    })
                })?)
            }
            _ => None,
        };
        let shape = shape_of(op, &value);
        Ok(Matcher {
            name,
            op,
            value,
            regex,
            shape,
        })
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
    pub(crate) fn shape(&self) -> &Shape {
        &self.shape
    }

    /// Whether a label value (`""` when the label is absent) satisfies this matcher.
    pub fn matches(&self, v: &str) -> bool {
        // A literal alternation is answered without the regex engine.
        let regex_hit = |re: &crate::regex::Regex| match &self.shape {
            Shape::Set(set) => set.iter().any(|s| s == v),
            _ => re.is_match(v),
        };
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => v == self.value,
            (MatchOp::NotEqual, _) => v != self.value,
            (MatchOp::RegexMatch, Some(re)) => regex_hit(re),
            (MatchOp::RegexNoMatch, Some(re)) => !regex_hit(re),
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

    #[test]
    fn shapes_pick_the_fast_paths() {
        let shape = |v: &str| Matcher::new(MatchOp::RegexMatch, "x", v).unwrap().shape;
        assert_eq!(shape("b|a|b"), Shape::Set(vec!["a".into(), "b".into()]));
        assert_eq!(
            shape("5.."),
            Shape::Regex {
                prefix: "5".into(),
                rest_any: false
            }
        );
        assert_eq!(
            shape("api-.*"),
            Shape::Regex {
                prefix: "api-".into(),
                rest_any: true
            }
        );
        assert_eq!(
            shape("ab?c"),
            Shape::Regex {
                prefix: "a".into(),
                rest_any: false
            }
        );
        assert_eq!(
            shape("a.*|b"),
            Shape::Regex {
                prefix: "".into(),
                rest_any: false
            }
        );
        assert_eq!(
            shape("(?i)abc"),
            Shape::Regex {
                prefix: "".into(),
                rest_any: false
            }
        );
    }

    #[test]
    fn literal_set_agrees_with_the_regex() {
        let m = Matcher::new(MatchOp::RegexMatch, "x", "get|post|").unwrap();
        assert!(m.matches("get") && m.matches("") && !m.matches("getpost") && !m.matches("put"));
        let n = Matcher::new(MatchOp::RegexNoMatch, "x", "get|post").unwrap();
        assert!(!n.matches("get") && n.matches("") && n.matches("put"));
    }
}
