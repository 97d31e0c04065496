//! Token classes for editors: the lexer's tokens with a class each (keyword, function, metric,
//! label, string, number, duration, operator), for syntax highlighting.

use crate::ast::Span;
use crate::lexer::{Tok, lex};

/// What a token is, as an editor colours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenClass {
    Keyword,
    Function,
    Metric,
    Label,
    String,
    Number,
    Duration,
    Operator,
    Punctuation,
}

impl TokenClass {
    /// A short CSS-friendly name: `kw`, `fn`, `metric`, `label`, `str`, `num`, `dur`, `op`, `punct`.
    pub fn css(self) -> &'static str {
        match self {
            TokenClass::Keyword => "kw",
            TokenClass::Function => "fn",
            TokenClass::Metric => "metric",
            TokenClass::Label => "label",
            TokenClass::String => "str",
            TokenClass::Number => "num",
            TokenClass::Duration => "dur",
            TokenClass::Operator => "op",
            TokenClass::Punctuation => "punct",
        }
    }
}

/// The tokens of `text` with their classes. Text the lexer rejects (an unterminated string, a
/// stray character) ends the list: what comes before it is still classed.
pub fn highlight(text: &str) -> Vec<(Span, TokenClass)> {
    let tokens = match lex(text) {
        Ok(t) => t,
        Err(e) => lex(&text[..e.span.start.min(text.len())]).unwrap_or_default(),
    };
    let mut out = Vec::with_capacity(tokens.len());
    let mut braces = 0usize;
    // Inside `by (...)`/`on (...)` grouping lists, identifiers are label names.
    let mut grouping = false;
    for (i, t) in tokens.iter().enumerate() {
        let next = tokens.get(i + 1).map(|t| &t.tok);
        let class = match &t.tok {
            Tok::Eof => break,
            Tok::Ident(w) => {
                let lower = w.to_ascii_lowercase();
                if braces > 0 || grouping {
                    TokenClass::Label
                } else if matches!(
                    lower.as_str(),
                    "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
                ) {
                    if next == Some(&Tok::LParen) {
                        grouping = true;
                    }
                    TokenClass::Keyword
                } else if next == Some(&Tok::LParen)
                    || crate::ast::AggOp::from_name(&lower).is_some()
                {
                    TokenClass::Function
                } else if matches!(
                    lower.as_str(),
                    "and" | "or" | "unless" | "atan2" | "bool" | "offset"
                ) {
                    TokenClass::Keyword
                } else {
                    TokenClass::Metric
                }
            }
            Tok::Str(_) => TokenClass::String,
            Tok::Number(_) => TokenClass::Number,
            Tok::Duration(_) => TokenClass::Duration,
            Tok::LBrace => {
                braces += 1;
                TokenClass::Punctuation
            }
            Tok::RBrace => {
                braces = braces.saturating_sub(1);
                TokenClass::Punctuation
            }
            Tok::RParen => {
                grouping = false;
                TokenClass::Punctuation
            }
            Tok::LParen | Tok::LBracket | Tok::RBracket | Tok::Comma | Tok::Colon => {
                TokenClass::Punctuation
            }
            _ => TokenClass::Operator,
        };
        out.push((t.span, class));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_context() {
        let text = "sum by (job) (rate(x_total{code=~\"5..\"}[5m])) > bool 0.5";
        let got: Vec<(&str, &str)> = highlight(text)
            .into_iter()
            .map(|(s, c)| (&text[s.start..s.end], c.css()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("sum", "fn"),
                ("by", "kw"),
                ("(", "punct"),
                ("job", "label"),
                (")", "punct"),
                ("(", "punct"),
                ("rate", "fn"),
                ("(", "punct"),
                ("x_total", "metric"),
                ("{", "punct"),
                ("code", "label"),
                ("=~", "op"),
                ("\"5..\"", "str"),
                ("}", "punct"),
                ("[", "punct"),
                ("5m", "dur"),
                ("]", "punct"),
                (")", "punct"),
                (")", "punct"),
                (">", "op"),
                ("bool", "kw"),
                ("0.5", "num"),
            ]
        );
        // An unterminated string: the tokens before it are still classed.
        let partial = highlight("rate(x{a=\"oops");
        assert_eq!(partial.len(), 6, "{partial:?}");
    }
}
