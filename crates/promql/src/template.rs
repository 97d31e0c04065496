//! Dashboard queries are PromQL templates: Grafana's variable references (`$x`, `${x}`,
//! `${x:format}`, `[[x]]`) stand where label values, durations or whole selectors go. The page
//! interpolates them before it evaluates; the relay, which knows no variable's value, still has
//! to know what a dashboard reads — to scope its tokens — and the page what to subscribe to
//! before its variables are known. [`selectors`] answers both from the query text alone.

use crate::ast::Expr;
use lookout_tsdb::Matcher;

/// Where a variable reference stands in the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Inside a string: a label value or a regex.
    String,
    /// A range, a subquery step or an offset (`[$w]`, `[5m:$s]`, `offset $o`): a duration.
    Duration,
    /// Anywhere else: a number, a whole selector, a function's argument.
    Expr,
}

/// Replaces every variable reference in `text` with what `with(name, place)` returns.
pub fn replace_variables(text: &str, mut with: impl FnMut(&str, Place) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // The quote of the string the scan is in, and whether the last character was a backslash.
    let (mut quote, mut escaped) = (None::<char>, false);
    let mut track = |s: &str, quote: &mut Option<char>| {
        for c in s.chars() {
            match *quote {
                Some(q) if escaped => {
                    escaped = false;
                    let _ = q;
                }
                Some(q) if c == '\\' && q != '`' => escaped = true,
                Some(q) if c == q => *quote = None,
                Some(_) => {}
                None if matches!(c, '"' | '\'' | '`') => *quote = Some(c),
                None => {}
            }
        }
    };
    while let Some(i) = rest.find(['$', '[']) {
        out.push_str(&rest[..i]);
        track(&rest[..i], &mut quote);
        let at = &rest[i..];
        let found = if let Some(inner) = at.strip_prefix("${") {
            inner.find('}').map(|j| {
                let name = inner[..j].split(':').next().unwrap_or("").trim();
                (name, j + 3)
            })
        } else if let Some(inner) = at.strip_prefix("[[") {
            inner.find("]]").map(|j| {
                let name = inner[..j].split(':').next().unwrap_or("").trim();
                (name, j + 4)
            })
        } else if let Some(inner) = at.strip_prefix('$') {
            let n = inner
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(inner.len());
            (n > 0).then_some((&inner[..n], n + 1))
        } else {
            None
        };
        match found {
            Some((name, len)) => {
                let before = out.trim_end();
                let after = at[len..].trim_start();
                let place = if quote.is_some() {
                    Place::String
                } else if before.ends_with('[')
                    || (before.ends_with(':') && after.starts_with(']'))
                    || before.ends_with("offset")
                {
                    Place::Duration
                } else {
                    Place::Expr
                };
                out.push_str(&with(name, place));
                rest = &at[len..];
            }
            None => {
                out.push_str(&at[..1]);
                track(&at[..1], &mut quote);
                rest = &at[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Replaces every variable reference left in `text` with `mark`.
pub fn mark_variables(text: &str, mark: &str) -> String {
    replace_variables(text, |_, _| mark.to_owned())
}

const MARK: &str = "__lookout_var__";

/// The selectors a query template reads, each without its matchers on variables (a variable
/// may take any value), duplicates once. Variables in ranges and steps read as one minute.
/// A query that does not parse is the parser's error. A selector left with no matcher reads
/// every series: a dashboard whose query names its metric in a regex variable can show
/// anything. A variable elsewhere (a number, a whole selector) reads as `0`.
pub fn selectors(expr: &str) -> Result<Vec<Vec<Matcher>>, crate::ParseErrors> {
    let text = replace_variables(expr, |_, place| {
        match place {
            Place::String => MARK,
            Place::Duration => "1m",
            Place::Expr => "0",
        }
        .to_owned()
    });
    let parsed = crate::parse(&text)?;
    let mut out: Vec<Vec<Matcher>> = Vec::new();
    parsed.walk(&mut |e| {
        let m = match e {
            Expr::Vector(v) => &v.matchers,
            Expr::Matrix(m) => &m.selector.matchers,
            _ => return,
        };
        let kept: Vec<Matcher> = m
            .iter()
            .filter(|m| !m.value().contains(MARK))
            .cloned()
            .collect();
        let key = |v: &[Matcher]| {
            v.iter()
                .map(|m| (m.name().to_owned(), m.op(), m.value().to_owned()))
                .collect::<Vec<_>>()
        };
        if !out.iter().any(|o| key(o) == key(&kept)) {
            out.push(kept);
        }
    });
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn shown(expr: &str) -> Vec<String> {
        selectors(expr)
            .unwrap()
            .iter()
            .map(|s| {
                s.iter()
                    .map(|m| format!("{}{}{:?}", m.name(), m.op().as_str(), m.value()))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    }

    #[test]
    fn references_of_every_form_are_replaced_and_ranges_stay_durations() {
        assert_eq!(
            mark_variables(r#"x{a="$a", b=~"${b:regex}", c="[[c]]"}[5m]"#, "M"),
            r#"x{a="M", b=~"M", c="M"}[5m]"#
        );
        let mut seen = Vec::new();
        let out = replace_variables(
            r#"rate(x{a="it's \"$q\" [$r]"}[$__rate_interval]) + y[1h:$step] offset $o > $z"#,
            |n, p| {
                seen.push((n.to_owned(), p));
                match p {
                    Place::String => "S",
                    Place::Duration => "1m",
                    Place::Expr => "0",
                }
                .into()
            },
        );
        assert_eq!(
            out,
            r#"rate(x{a="it's \"S\" [S]"}[1m]) + y[1h:1m] offset 1m > 0"#
        );
        use Place::*;
        let names: Vec<(&str, Place)> = seen.iter().map(|(n, p)| (n.as_str(), *p)).collect();
        assert_eq!(
            names,
            [
                ("q", String),
                ("r", String),
                ("__rate_interval", Duration),
                ("step", Duration),
                ("o", Duration),
                ("z", Expr)
            ]
        );
        // A `$` or `[` that is no reference stays.
        assert_eq!(mark_variables("x[5m] $ $1", "M"), "x[5m] $ M");
    }

    #[test]
    fn selectors_drop_matchers_on_variables_and_keep_the_rest() {
        assert_eq!(
            shown(
                r#"sum by (route) (rate(http_requests_total{job=~"$job", code=~"5.."}[$__rate_interval])) / on() group_left sum(rate(http_requests_total{job=~"$job"}[$__rate_interval]))"#
            ),
            [
                r#"__name__="http_requests_total",code=~"5..""#,
                r#"__name__="http_requests_total""#
            ]
        );
        // A metric named in a regex variable leaves a selector that reads everything; a
        // variable standing for a whole selector reads as a number, and selects nothing.
        assert_eq!(shown(r#"{__name__=~"$metric"}"#), [""]);
        assert_eq!(shown("up > $threshold"), [r#"__name__="up""#]);
        assert!(selectors("rate(x[").is_err());
    }
}
