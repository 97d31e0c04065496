//! The PromQL tokenizer: turns query text into tokens with byte spans.
//!
//! It is context free on purpose: keywords are left as identifiers and the parser decides what a
//! word means where it stands (a label may be called `on` or `by`), which keeps the lexer small.

use crate::ast::Span;
use crate::error::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A word: metric name, label name, keyword or function name (may contain `:`).
    Ident(String),
    /// A number literal (decimal, hex, `Inf`, `NaN`).
    Number(f64),
    /// A duration literal such as `1h30m`, in milliseconds.
    Duration(i64),
    /// A string literal, unescaped.
    Str(String),
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Colon,
    At,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    /// `</`: trim a native histogram's observations above a value.
    TrimUpper,
    /// `>/`: trim a native histogram's observations below a value.
    TrimLower,
    Eql,
    Neq,
    Lte,
    Lss,
    Gte,
    Gtr,
    EqlRegex,
    NeqRegex,
    Assign,
    Eof,
}

impl Tok {
    /// How Prometheus names the token in "unexpected ..." messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("identifier {s:?}"),
            Tok::Number(_) => "number".into(),
            Tok::Duration(_) => "duration".into(),
            Tok::Str(_) => "string".into(),
            Tok::LParen => "\"(\"".into(),
            Tok::RParen => "\")\"".into(),
            Tok::LBrace => "\"{\"".into(),
            Tok::RBrace => "\"}\"".into(),
            Tok::LBracket => "\"[\"".into(),
            Tok::RBracket => "\"]\"".into(),
            Tok::Comma => "\",\"".into(),
            Tok::Colon => "\":\"".into(),
            Tok::At => "\"@\"".into(),
            Tok::Eof => "end of input".into(),
            other => format!("{:?}", other.op_str().unwrap_or("?")),
        }
    }

    pub(crate) fn op_str(&self) -> Option<&'static str> {
        Some(match self {
            Tok::Add => "+",
            Tok::Sub => "-",
            Tok::Mul => "*",
            Tok::Div => "/",
            Tok::Mod => "%",
            Tok::Pow => "^",
            Tok::TrimUpper => "</",
            Tok::TrimLower => ">/",
            Tok::Eql => "==",
            Tok::Neq => "!=",
            Tok::Lte => "<=",
            Tok::Lss => "<",
            Tok::Gte => ">=",
            Tok::Gtr => ">",
            Tok::EqlRegex => "=~",
            Tok::NeqRegex => "!~",
            Tok::Assign => "=",
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
}

impl Token {
    pub(crate) fn tok_ref(&self) -> &Tok {
        &self.tok
    }
}

pub(crate) fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

/// Splits the whole input into tokens, ending with `Eof`.
pub(crate) fn lex(input: &str) -> Result<Vec<Token>, ParseError> {
    let b = input.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let simple = |t: Tok, n: usize| (t, n);
        let (tok, len) = match c {
            b'(' => simple(Tok::LParen, 1),
            b')' => simple(Tok::RParen, 1),
            b'{' => simple(Tok::LBrace, 1),
            b'}' => simple(Tok::RBrace, 1),
            b'[' => simple(Tok::LBracket, 1),
            b']' => simple(Tok::RBracket, 1),
            b',' => simple(Tok::Comma, 1),
            b'@' => simple(Tok::At, 1),
            b'+' => simple(Tok::Add, 1),
            b'-' => simple(Tok::Sub, 1),
            b'*' => simple(Tok::Mul, 1),
            b'/' => simple(Tok::Div, 1),
            b'%' => simple(Tok::Mod, 1),
            b'^' => simple(Tok::Pow, 1),
            b'=' => match b.get(i + 1) {
                Some(b'=') => simple(Tok::Eql, 2),
                Some(b'~') => simple(Tok::EqlRegex, 2),
                _ => simple(Tok::Assign, 1),
            },
            b'!' => match b.get(i + 1) {
                Some(b'=') => simple(Tok::Neq, 2),
                Some(b'~') => simple(Tok::NeqRegex, 2),
                _ => {
                    return Err(ParseError::new(
                        Span::new(i, i + 1),
                        "unexpected character after '!': ".to_string()
                            + &input[i + 1..]
                                .chars()
                                .next()
                                .map(String::from)
                                .unwrap_or_default(),
                    ));
                }
            },
            b'<' => match b.get(i + 1) {
                Some(b'=') => simple(Tok::Lte, 2),
                Some(b'/') => simple(Tok::TrimUpper, 2),
                _ => simple(Tok::Lss, 1),
            },
            b'>' => match b.get(i + 1) {
                Some(b'=') => simple(Tok::Gte, 2),
                Some(b'/') => simple(Tok::TrimLower, 2),
                _ => simple(Tok::Gtr, 1),
            },
            b':' => simple(Tok::Colon, 1),
            b'"' | b'\'' | b'`' => {
                let (s, n) = lex_string(input, i)?;
                (Tok::Str(s), n)
            }
            c if c.is_ascii_digit()
                || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                let (t, n) = lex_number(input, i)?;
                (t, n)
            }
            c if is_ident_start(c) => {
                let mut j = i + 1;
                while j < b.len() && is_ident_char(b[j]) {
                    j += 1;
                }
                let word = &input[i..j];
                let lower = word.to_ascii_lowercase();
                if lower == "inf" {
                    (Tok::Number(f64::INFINITY), j - i)
                } else if lower == "nan" {
                    (Tok::Number(f64::NAN), j - i)
                } else {
                    (Tok::Ident(word.to_string()), j - i)
                }
            }
            _ => {
                let ch = input[i..].chars().next().unwrap_or('?');
                return Err(ParseError::new(
                    Span::new(i, i + ch.len_utf8()),
                    format!("unexpected character: {ch:?}"),
                ));
            }
        };
        i += len;
        out.push(Token {
            tok,
            span: Span::new(start, i),
        });
    }
    out.push(Token {
        tok: Tok::Eof,
        span: Span::new(b.len(), b.len()),
    });
    Ok(out)
}

fn lex_string(input: &str, start: usize) -> Result<(String, usize), ParseError> {
    let b = input.as_bytes();
    let q = b[start];
    let mut i = start + 1;
    let mut out: Vec<u8> = Vec::new();
    if q == b'`' {
        while i < b.len() && b[i] != b'`' {
            i += 1;
        }
        if i >= b.len() {
            return Err(ParseError::new(
                Span::new(start, b.len()),
                "unterminated raw string",
            ));
        }
        return Ok((input[start + 1..i].to_string(), i + 1 - start));
    }
    loop {
        let Some(ch) = input[i..].chars().next() else {
            return Err(ParseError::new(
                Span::new(start, b.len()),
                "unterminated quoted string",
            ));
        };
        if ch == '\n' {
            return Err(ParseError::new(
                Span::new(start, i),
                "unterminated quoted string",
            ));
        }
        if ch as u32 == q as u32 {
            return Ok((decode_bytes(&out), i + 1 - start));
        }
        if ch != '\\' {
            out.extend_from_slice(ch.encode_utf8(&mut [0u8; 4]).as_bytes());
            i += ch.len_utf8();
            continue;
        }
        let esc_start = i;
        i += 1;
        let Some(e) = input[i..].chars().next() else {
            return Err(ParseError::new(
                Span::new(start, b.len()),
                "unterminated quoted string",
            ));
        };
        i += e.len_utf8();
        let bad = |i: usize| ParseError::new(Span::new(esc_start, i), "unknown escape sequence");
        let mut push = |c: char| out.extend_from_slice(c.encode_utf8(&mut [0u8; 4]).as_bytes());
        match e {
            'a' => push('\u{7}'),
            'b' => push('\u{8}'),
            'f' => push('\u{c}'),
            'n' => push('\n'),
            'r' => push('\r'),
            't' => push('\t'),
            'v' => push('\u{b}'),
            '\\' => push('\\'),
            '"' | '\'' if e as u32 == q as u32 => push(e),
            '0'..='7' => {
                let digits = input.get(i - 1..i + 2).ok_or_else(|| bad(i))?;
                let v = u32::from_str_radix(digits, 8).map_err(|_| bad(i))?;
                if v > 255 {
                    return Err(bad(i + 2));
                }
                // Octal and \x escapes are bytes, as in Go; invalid UTF-8 is kept (see decode_bytes).
                out.push(v as u8);
                i += 2;
            }
            'x' => {
                let digits = input.get(i..i + 2).ok_or_else(|| bad(i))?;
                let v = u8::from_str_radix(digits, 16).map_err(|_| bad(i))?;
                out.push(v);
                i += 2;
            }
            'u' | 'U' => {
                let n = if e == 'u' { 4 } else { 8 };
                let digits = input.get(i..i + n).ok_or_else(|| bad(i))?;
                let v = u32::from_str_radix(digits, 16).map_err(|_| bad(i))?;
                push(char::from_u32(v).ok_or_else(|| bad(i + n))?);
                i += n;
            }
            _ => return Err(bad(i)),
        }
    }
}

/// First of the private-use code points that stand for bytes of invalid UTF-8 in a string
/// literal (Go strings may hold any bytes; Rust strings may not). `quote` prints them back as
/// `\xNN` and label-name checks refuse them.
pub(crate) const RAW_BYTE_BASE: u32 = 0x10_FF00;

fn decode_bytes(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        s.push_str(chunk.valid());
        for &x in chunk.invalid() {
            s.push(char::from_u32(RAW_BYTE_BASE + x as u32).unwrap_or('\u{FFFD}'));
        }
    }
    s
}

/// Units of a Prometheus duration, longest spelling first so `ms` wins over `m`.
const UNITS: [(&str, i64); 7] = [
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
    ("w", 604_800_000),
    ("y", 31_536_000_000),
];

/// Parses `1h30m`-style text (whole string) into milliseconds.
pub(crate) fn parse_duration(s: &str) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut total: i64 = 0;
    let mut last_unit = usize::MAX;
    while i < b.len() {
        let ds = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if ds == i {
            return None;
        }
        let n: i64 = s[ds..i].parse().ok()?;
        let (ui, (_, mult)) = UNITS
            .iter()
            .enumerate()
            .find(|(_, (u, _))| s[i..].starts_with(u))?;
        i += UNITS[ui].0.len();
        // Units must go from largest to smallest, each at most once (as in Prometheus).
        let rank = 6 - ui;
        if last_unit != usize::MAX && rank <= last_unit {
            return None;
        }
        last_unit = rank;
        total = total.checked_add(n.checked_mul(*mult)?)?;
    }
    Some(total)
}

fn lex_number(input: &str, start: usize) -> Result<(Tok, usize), ParseError> {
    let b = input.as_bytes();
    let mut i = start;
    let bad = |end: usize| {
        ParseError::new(
            Span::new(start, end),
            "bad number or duration syntax: \"".to_string() + &input[start..end] + "\"",
        )
    };
    if b[i] == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X')) {
        i += 2;
        let ds = i;
        while i < b.len() && b[i].is_ascii_hexdigit() {
            i += 1;
        }
        if ds == i || b.get(i).is_some_and(|c| is_ident_char(*c)) {
            return Err(bad(i.max(ds)));
        }
        let v = u64::from_str_radix(&input[ds..i], 16).map_err(|_| bad(i))?;
        return Ok((Tok::Number(v as f64), i - start));
    }
    // Try a duration first: digits followed by a unit letter.
    let mut j = i;
    while j < b.len() && (b[j].is_ascii_alphanumeric()) {
        j += 1;
    }
    let word = &input[i..j];
    if word.bytes().any(|c| c.is_ascii_alphabetic())
        && let Some(ms) = parse_duration(word)
    {
        return Ok((Tok::Duration(ms), j - start));
    }
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut k = i + 1;
        if k < b.len() && (b[k] == b'+' || b[k] == b'-') {
            k += 1;
        }
        if k < b.len() && b[k].is_ascii_digit() {
            while k < b.len() && b[k].is_ascii_digit() {
                k += 1;
            }
            i = k;
        }
    }
    if i < b.len() && ((is_ident_char(b[i]) && b[i] != b':') || b[i] == b'.') {
        let mut k = i;
        while k < b.len() && ((is_ident_char(b[k]) && b[k] != b':') || b[k] == b'.') {
            k += 1;
        }
        return Err(bad(k));
    }
    let v: f64 = input[start..i].parse().map_err(|_| bad(i))?;
    Ok((Tok::Number(v), i - start))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_numbers() {
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("30m1s"), Some(1_801_000));
        assert_eq!(parse_duration("1m1h"), None);
        let toks: Vec<Tok> = lex("0x1F 1e3 5m .5 2. NaN")
            .unwrap()
            .into_iter()
            .map(|t| t.tok)
            .collect();
        assert!(matches!(toks[0], Tok::Number(v) if v == 31.0));
        assert!(matches!(toks[1], Tok::Number(v) if v == 1000.0));
        assert!(matches!(toks[2], Tok::Duration(300_000)));
        assert!(matches!(toks[3], Tok::Number(v) if v == 0.5));
        assert!(matches!(toks[4], Tok::Number(v) if v == 2.0));
        assert!(matches!(toks[5], Tok::Number(v) if v.is_nan()));
    }
}
