//! The hand-written PromQL parser: precedence climbing over the token stream, then Prometheus's
//! type checks, with errors in Prometheus's words and byte ranges.

use lookout_tsdb::{METRIC_NAME, MatchOp, Matcher};

use crate::ast::*;
use crate::error::{ParseError, ParseErrors};
use crate::lexer::{Tok, Token, lex};
use crate::signatures;

/// Parses a PromQL expression.
///
/// On failure every error found is returned (the first one is what Prometheus would report).
pub fn parse(input: &str) -> Result<Expr, ParseErrors> {
    let located = |mut es: Vec<ParseError>| {
        for e in &mut es {
            e.locate(input);
        }
        ParseErrors(es)
    };
    let toks = lex(input).map_err(|e| located(vec![e]))?;
    if let Some(e) = check_balance(&toks) {
        return Err(located(vec![e]));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        errors: Vec::new(),
        depth: 0,
    };
    let res = p.parse_all();
    match res {
        Ok(e) if p.errors.is_empty() => Ok(e),
        Ok(_) => Err(located(p.errors)),
        Err(e) => {
            let mut es = vec![e];
            es.extend(p.errors);
            Err(located(es))
        }
    }
}

type PResult<T> = Result<T, ParseError>;

/// Prometheus's lexer reports unbalanced brackets before any grammar error, in these words.
fn check_balance(toks: &[Token]) -> Option<ParseError> {
    let mut stack: Vec<&Token> = Vec::new();
    for t in toks {
        let (open, close, name) = match t.tok {
            Tok::LParen | Tok::LBrace | Tok::LBracket => {
                stack.push(t);
                continue;
            }
            Tok::RParen => (Tok::LParen, ")", "parenthesis"),
            Tok::RBrace => (Tok::LBrace, "}", "brace"),
            Tok::RBracket => (Tok::LBracket, "]", "bracket"),
            Tok::Eof => {
                let open = stack.last()?;
                let msg = match open.tok {
                    Tok::LParen => "unclosed left parenthesis",
                    Tok::LBrace => "unexpected end of input inside braces",
                    _ => "unexpected end of input inside brackets",
                };
                return Some(ParseError::new(Span::new(open.span.start, t.span.end), msg));
            }
            _ => continue,
        };
        match stack.pop() {
            Some(o) if o.tok == open => {}
            _ => {
                return Some(ParseError::new(
                    t.span,
                    format!("unexpected right {name} {close:?}"),
                ));
            }
        }
    }
    None
}

/// Deep nesting is refused instead of overflowing the stack (wasm stacks are small).
const MAX_DEPTH: usize = 200;

const UNARY_PREC: u8 = 6;

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    /// Non-fatal (type) errors; parsing continues after them.
    errors: Vec<ParseError>,
    depth: usize,
}

fn is_keyword(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    matches!(
        w.as_str(),
        "and"
            | "or"
            | "unless"
            | "atan2"
            | "by"
            | "without"
            | "on"
            | "ignoring"
            | "group_left"
            | "group_right"
            | "bool"
            | "offset"
    ) || AggOp::from_name(&w).is_some()
}

impl Parser {
    fn tok(&self, i: usize) -> &Token {
        &self.toks[i.min(self.toks.len() - 1)]
    }
    fn peek(&self) -> &Tok {
        &self.tok(self.pos).tok
    }
    fn span(&self) -> Span {
        self.tok(self.pos).span
    }
    fn prev_span(&self) -> Span {
        self.tok(self.pos.saturating_sub(1)).span
    }
    fn next(&mut self) -> Token {
        let t = self.tok(self.pos).clone();
        // Past the end the position keeps counting, so one step back is always the token just
        // taken (the token list ends with `Eof`, which `tok` repeats).
        self.pos += 1;
        t
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s.eq_ignore_ascii_case(w))
    }
    fn unexpected(&self, ctx: &str) -> ParseError {
        let t = self.tok(self.pos);
        let msg = if ctx.is_empty() {
            format!("unexpected {}", t.tok.describe())
        } else {
            format!("unexpected {} in {ctx}", t.tok.describe())
        };
        ParseError::new(t.span, msg)
    }
    fn expect(&mut self, tok: Tok, ctx: &str) -> PResult<Token> {
        if *self.peek() == tok {
            Ok(self.next())
        } else {
            let mut e = self.unexpected(ctx);
            e.message = format!("{}, expected {}", e.message, tok.describe());
            Err(e)
        }
    }
    fn type_error(&mut self, span: Span, msg: String) {
        self.errors.push(ParseError::new(span, msg));
    }

    fn parse_all(&mut self) -> PResult<Expr> {
        if *self.peek() == Tok::Eof {
            return Err(ParseError::new(self.span(), "no expression found in input"));
        }
        let e = self.expr(0)?;
        if *self.peek() != Tok::Eof {
            return Err(self.unexpected(""));
        }
        Ok(e)
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(self.span(), "expression nested too deeply"));
        }
        Ok(())
    }

    fn peek_binop(&self) -> Option<BinOp> {
        Some(match self.peek() {
            Tok::Add => BinOp::Add,
            Tok::Sub => BinOp::Sub,
            Tok::Mul => BinOp::Mul,
            Tok::Div => BinOp::Div,
            Tok::Mod => BinOp::Mod,
            Tok::Pow => BinOp::Pow,
            Tok::TrimUpper => BinOp::TrimUpper,
            Tok::TrimLower => BinOp::TrimLower,
            Tok::Eql => BinOp::Eql,
            Tok::Neq => BinOp::Neq,
            Tok::Gtr => BinOp::Gtr,
            Tok::Lss => BinOp::Lss,
            Tok::Gte => BinOp::Gte,
            Tok::Lte => BinOp::Lte,
            Tok::Ident(w) => match w.to_ascii_lowercase().as_str() {
                "and" => BinOp::And,
                "or" => BinOp::Or,
                "unless" => BinOp::Unless,
                "atan2" => BinOp::Atan2,
                _ => return None,
            },
            _ => return None,
        })
    }

    fn expr(&mut self, min_prec: u8) -> PResult<Expr> {
        self.enter()?;
        let mut lhs = self.unary()?;
        while let Some(op) = self.peek_binop() {
            let prec = op.precedence();
            if prec < min_prec {
                break;
            }
            let op_span = self.next().span;
            let (return_bool, matching) = self.bin_modifiers(op)?;
            let next_min = if op.right_assoc() { prec } else { prec + 1 };
            let rhs = self.expr(next_min)?;
            lhs = self.binary(op, op_span, lhs, rhs, return_bool, matching);
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn bin_modifiers(&mut self, op: BinOp) -> PResult<(bool, Option<(VectorMatching, Span)>)> {
        let mut return_bool = false;
        if self.is_word("bool") {
            let s = self.next().span;
            if !op.is_comparison() {
                self.type_error(
                    s,
                    "bool modifier can only be used on comparison operators".into(),
                );
            }
            return_bool = true;
        }
        let mut matching = None;
        if self.is_word("on") || self.is_word("ignoring") {
            let start = self.span();
            let on = self.is_word("on");
            self.next();
            let labels = self.label_list()?;
            let mut m = VectorMatching {
                card: Cardinality::OneToOne,
                labels,
                on,
                include: Vec::new(),
                fill_left: None,
                fill_right: None,
            };
            if self.is_word("group_left") || self.is_word("group_right") {
                let gs = self.span();
                m.card = if self.is_word("group_left") {
                    Cardinality::ManyToOne
                } else {
                    Cardinality::OneToMany
                };
                self.next();
                if *self.peek() == Tok::LParen {
                    m.include = self.label_list()?;
                }
                if op.is_set() {
                    self.type_error(
                        gs,
                        format!("no grouping allowed for \"{}\" operation", op.as_str()),
                    );
                }
                for l in &m.include {
                    if m.on && m.labels.contains(l) {
                        self.type_error(
                            gs,
                            format!("label \"{l}\" must not occur in ON and GROUP clause at once"),
                        );
                    }
                }
            }
            matching = Some((m, start.to(self.prev_span())));
        } else if self.is_word("group_left") || self.is_word("group_right") {
            return Err(self.unexpected(
                "binary expression; group modifiers need on(...) or ignoring(...) first",
            ));
        }
        // `fill(v)`, `fill_left(v)`, `fill_right(v)`; without the parenthesis `fill` is a metric.
        while (self.is_word("fill") || self.is_word("fill_left") || self.is_word("fill_right"))
            && *self.tok(self.pos + 1).tok_ref() == Tok::LParen
        {
            let fs = self.span();
            let which = match self.next().tok {
                Tok::Ident(w) => w.to_ascii_lowercase(),
                _ => String::new(),
            };
            self.next();
            let mut sign = 1.0;
            while matches!(self.peek(), Tok::Sub | Tok::Add) {
                if *self.peek() == Tok::Sub {
                    sign = -sign;
                }
                self.next();
            }
            let v = match self.next().tok {
                Tok::Number(v) => sign * v,
                Tok::Duration(ms) => sign * ms as f64 / 1000.0,
                _ => {
                    self.pos -= 1;
                    let mut e = self.unexpected("fill modifier");
                    e.message.push_str(", expected number");
                    return Err(e);
                }
            };
            self.expect(Tok::RParen, "fill modifier")?;
            if op.is_set() {
                self.type_error(
                    fs,
                    format!(
                        "fill modifier not allowed for \"{}\" operation",
                        op.as_str()
                    ),
                );
            }
            let (m, _) = matching.get_or_insert_with(|| {
                (
                    VectorMatching {
                        card: Cardinality::OneToOne,
                        labels: Vec::new(),
                        on: false,
                        include: Vec::new(),
                        fill_left: None,
                        fill_right: None,
                    },
                    fs,
                )
            });
            if which != "fill_right" {
                m.fill_left = Some(v);
            }
            if which != "fill_left" {
                m.fill_right = Some(v);
            }
        }
        Ok((return_bool, matching))
    }

    fn binary(
        &mut self,
        op: BinOp,
        op_span: Span,
        lhs: Expr,
        rhs: Expr,
        return_bool: bool,
        matching: Option<(VectorMatching, Span)>,
    ) -> Expr {
        let span = lhs.span().to(rhs.span());
        let (lt, rt) = (lhs.value_type(), rhs.value_type());
        let ok_type = |t: ValueType| t == ValueType::Scalar || t == ValueType::Vector;
        if !ok_type(lt) || !ok_type(rt) {
            self.type_error(
                span,
                "binary expression must contain only scalar and instant vector types".into(),
            );
        } else if lt == ValueType::Scalar
            && rt == ValueType::Scalar
            && op.is_comparison()
            && !return_bool
        {
            self.type_error(
                span,
                "comparisons between scalars must use BOOL modifier".into(),
            );
        } else if op.is_set() && (lt == ValueType::Scalar || rt == ValueType::Scalar) {
            self.type_error(
                span,
                format!(
                    "set operator \"{}\" not allowed in binary scalar expression",
                    op.as_str()
                ),
            );
        }
        let both_vectors = lt == ValueType::Vector && rt == ValueType::Vector;
        let matching = match matching {
            Some((m, ms)) => {
                if !both_vectors && ok_type(lt) && ok_type(rt) {
                    self.type_error(
                        ms,
                        "vector matching only allowed between instant vectors".into(),
                    );
                }
                Some(m)
            }
            None if both_vectors => Some(VectorMatching {
                card: Cardinality::OneToOne,
                labels: Vec::new(),
                on: false,
                include: Vec::new(),
                fill_left: None,
                fill_right: None,
            }),
            None => None,
        };
        let matching = matching.map(|mut m| {
            if op.is_set() {
                m.card = Cardinality::ManyToMany;
            }
            m
        });
        let _ = op_span;
        Expr::Binary(Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
            return_bool,
            matching,
            span,
        })
    }

    fn unary(&mut self) -> PResult<Expr> {
        let op = match self.peek() {
            Tok::Add => UnaryOp::Pos,
            Tok::Sub => UnaryOp::Neg,
            _ => {
                let p = self.primary()?;
                return self.postfix(p);
            }
        };
        let start = self.next().span;
        let inner = self.expr(UNARY_PREC)?;
        let span = start.to(inner.span());
        if let Expr::Number(mut n) = inner {
            if op == UnaryOp::Neg {
                n.value = -n.value;
            }
            n.span = span;
            return Ok(Expr::Number(n));
        }
        let t = inner.value_type();
        if t != ValueType::Scalar && t != ValueType::Vector {
            self.type_error(
                span,
                format!("unary expression only allowed on expressions of type scalar or instant vector, got {:?}", t.name()),
            );
        }
        Ok(Expr::Unary(Unary {
            op,
            expr: Box::new(inner),
            span,
        }))
    }

    fn primary(&mut self) -> PResult<Expr> {
        let t = self.next();
        match t.tok {
            Tok::Number(v) => Ok(Expr::Number(NumberLiteral {
                value: v,
                duration: false,
                span: t.span,
            })),
            Tok::Duration(ms) => Ok(Expr::Number(NumberLiteral {
                value: ms as f64 / 1000.0,
                duration: true,
                span: t.span,
            })),
            Tok::Str(s) => Ok(Expr::String(StringLiteral {
                value: s,
                span: t.span,
            })),
            Tok::LParen => {
                let inner = self.expr(0)?;
                let end = self.expect(Tok::RParen, "parenthesized expression")?;
                Ok(Expr::Paren(Paren {
                    expr: Box::new(inner),
                    span: t.span.to(end.span),
                }))
            }
            Tok::LBrace => {
                self.pos -= 1;
                self.selector(None, t.span)
            }
            Tok::Ident(word) => self.ident_expr(word, t.span),
            _ => {
                self.pos -= 1;
                Err(self.unexpected(""))
            }
        }
    }

    fn ident_expr(&mut self, word: String, span: Span) -> PResult<Expr> {
        if let Some(op) = AggOp::from_name(&word)
            && (matches!(self.peek(), Tok::LParen) || self.is_word("by") || self.is_word("without"))
        {
            return self.aggregate(op, span);
        }
        if *self.peek() == Tok::LParen {
            let Some(func) = signatures::function(&word) else {
                return Err(ParseError::new(
                    span,
                    format!("unknown function with name {word:?}"),
                ));
            };
            return self.call(func, span);
        }
        if is_keyword(&word) {
            self.pos -= 1;
            return Err(self.unexpected(""));
        }
        self.selector(Some(word), span)
    }

    fn call(&mut self, func: &'static signatures::Function, start: Span) -> PResult<Expr> {
        self.expect(Tok::LParen, "function call")?;
        let mut args = Vec::new();
        while *self.peek() != Tok::RParen {
            let errors_before = self.errors.len();
            let arg = self.expr(0)?;
            // info()'s label selector may consist of matchers that all accept "" (it filters
            // info series, it does not select series on its own).
            if func.name == "info" && args.len() == 1 && matches!(arg, Expr::Vector(_)) {
                let mut k = errors_before;
                while k < self.errors.len() {
                    if self.errors[k]
                        .message
                        .starts_with("vector selector must contain")
                    {
                        self.errors.remove(k);
                    } else {
                        k += 1;
                    }
                }
            }
            args.push(arg);
            if *self.peek() == Tok::Comma {
                self.next();
            } else if *self.peek() != Tok::RParen {
                let e = self.unexpected("function call argument list");
                return Err(e);
            }
        }
        let end = self.next().span;
        let span = start.to(end);
        self.check_call(func, &args, span);
        Ok(Expr::Call(Call { func, args, span }))
    }

    fn check_call(&mut self, func: &signatures::Function, args: &[Expr], span: Span) {
        let n = func.arg_types.len();
        let got = args.len();
        if func.variadic == 0 && got != n {
            self.type_error(
                span,
                format!(
                    "expected {n} argument(s) in call to {:?}, got {got}",
                    func.name
                ),
            );
            return;
        }
        if func.variadic != 0 {
            // As Prometheus: the last argument type is optional; with a positive `variadic` it
            // may appear at most that many times, with a negative one any number of times.
            let min = n.saturating_sub(1);
            if got < min {
                self.type_error(
                    span,
                    format!(
                        "expected at least {min} argument(s) in call to {:?}, got {got}",
                        func.name
                    ),
                );
                return;
            }
            let max = n + func.variadic.max(0) as usize - 1;
            if func.variadic > 0 && got > max {
                self.type_error(
                    span,
                    format!(
                        "expected at most {max} argument(s) in call to {:?}, got {got}",
                        func.name
                    ),
                );
                return;
            }
        }
        for (i, a) in args.iter().enumerate() {
            let want = func.arg_types[i.min(n.saturating_sub(1))];
            let t = a.value_type();
            if t != want {
                self.type_error(
                    a.span(),
                    format!(
                        "expected type {} in call to function {:?}, got {}",
                        want.name(),
                        func.name,
                        t.name()
                    ),
                );
            }
        }
    }

    fn aggregate(&mut self, op: AggOp, start: Span) -> PResult<Expr> {
        let mut grouping = Vec::new();
        let mut without = false;
        let mut has_grouping = false;
        if self.is_word("by") || self.is_word("without") {
            without = self.is_word("without");
            self.next();
            grouping = self.label_list()?;
            has_grouping = true;
        }
        let lp = self.expect(Tok::LParen, "aggregation")?;
        let mut args = Vec::new();
        while *self.peek() != Tok::RParen {
            args.push(self.expr(0)?);
            if *self.peek() == Tok::Comma {
                self.next();
            } else if *self.peek() != Tok::RParen {
                return Err(self.unexpected("aggregation"));
            }
        }
        let mut end = self.next().span;
        if self.is_word("by") || self.is_word("without") {
            if has_grouping {
                return Err(self.unexpected("aggregation; grouping may only be given once"));
            }
            without = self.is_word("without");
            self.next();
            grouping = self.label_list()?;
            has_grouping = true;
            end = self.prev_span();
        }
        let span = start.to(end);
        let want = if op.param_type().is_some() { 2 } else { 1 };
        if args.len() != want {
            return Err(ParseError::new(
                lp.span.to(end),
                format!(
                    "wrong number of arguments for aggregate expression provided, expected {want}, got {}",
                    args.len()
                ),
            ));
        }
        let expr = args
            .pop()
            .ok_or_else(|| ParseError::new(span, "missing aggregation argument"))?;
        let param = args.pop();
        if let (Some(p), Some(want)) = (&param, op.param_type()) {
            let t = p.value_type();
            if t != want {
                self.type_error(
                    p.span(),
                    format!(
                        "expected type {} in aggregation parameter, got {}",
                        want.name(),
                        t.name()
                    ),
                );
            }
        }
        if expr.value_type() != ValueType::Vector {
            self.type_error(
                expr.span(),
                format!(
                    "expected type instant vector in aggregation expression, got {}",
                    expr.value_type().name()
                ),
            );
        }
        Ok(Expr::Aggregate(Aggregate {
            op,
            expr: Box::new(expr),
            param: param.map(Box::new),
            grouping,
            without,
            has_grouping,
            span,
        }))
    }

    /// `(a, b, "c.d")`, trailing comma allowed.
    fn label_list(&mut self) -> PResult<Vec<String>> {
        self.expect(Tok::LParen, "grouping opts")?;
        let mut out = Vec::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::RParen => break,
                Tok::Ident(s) => {
                    if s.contains(':') {
                        return Err(ParseError::new(t.span, format!("invalid label name {s:?}")));
                    }
                    out.push(s)
                }
                Tok::Str(s) => out.push(s),
                Tok::Number(_) if !self.source_word().is_empty() => out.push(self.source_word()),
                _ => {
                    self.pos -= 1;
                    let mut e = self.unexpected("grouping opts");
                    e.message.push_str(", expected label");
                    return Err(e);
                }
            }
            match self.peek() {
                Tok::Comma => {
                    self.next();
                }
                Tok::RParen => {}
                _ => {
                    let mut e = self.unexpected("grouping opts");
                    e.message.push_str(", expected \",\" or \")\"");
                    return Err(e);
                }
            }
        }
        Ok(out)
    }

    /// A vector selector, `name` already consumed (or None when starting at `{`).
    fn selector(&mut self, name: Option<String>, start: Span) -> PResult<Expr> {
        let mut name = name;
        let mut matchers: Vec<Matcher> = Vec::new();
        let mut end = start;
        if *self.peek() == Tok::LBrace {
            self.next();
            loop {
                let t = self.next();
                let label = match t.tok {
                    Tok::RBrace => {
                        end = t.span;
                        break;
                    }
                    Tok::Ident(s) => s,
                    Tok::Number(_) if !self.source_word().is_empty() => self.source_word(),
                    Tok::Str(s) => {
                        if matches!(self.peek(), Tok::Comma | Tok::RBrace) {
                            if let Some(n) = &name {
                                return Err(ParseError::new(
                                    t.span,
                                    format!("metric name must not be set twice: {n:?} or {s:?}"),
                                ));
                            }
                            name = Some(s);
                            if *self.peek() == Tok::Comma {
                                self.next();
                            }
                            continue;
                        }
                        s
                    }
                    _ => {
                        self.pos -= 1;
                        let mut e = self.unexpected("label matching");
                        e.message.push_str(", expected label");
                        return Err(e);
                    }
                };
                let op = match self.next().tok {
                    Tok::Assign => MatchOp::Equal,
                    Tok::Neq => MatchOp::NotEqual,
                    Tok::EqlRegex => MatchOp::RegexMatch,
                    Tok::NeqRegex => MatchOp::RegexNoMatch,
                    _ => {
                        self.pos -= 1;
                        let mut e = self.unexpected("label matching");
                        e.message.push_str(", expected label matching operator");
                        return Err(e);
                    }
                };
                let vt = self.next();
                let Tok::Str(value) = vt.tok else {
                    self.pos -= 1;
                    let mut e = self.unexpected("label matching");
                    e.message.push_str(", expected string");
                    return Err(e);
                };
                let m = Matcher::new(op, label.clone(), value)
                    .map_err(|e| ParseError::new(t.span.to(vt.span), e.to_string()))?;
                if label == METRIC_NAME && name.is_some() && op == MatchOp::Equal {
                    return Err(ParseError::new(
                        t.span.to(vt.span),
                        format!(
                            "metric name must not be set twice: {:?} or {:?}",
                            name.clone().unwrap_or_default(),
                            m.value()
                        ),
                    ));
                }
                matchers.push(m);
                match self.peek() {
                    Tok::Comma => {
                        self.next();
                    }
                    Tok::RBrace => {}
                    _ => {
                        let mut e = self.unexpected("label matching");
                        e.message.push_str(", expected \",\" or \"}\"");
                        return Err(e);
                    }
                }
            }
        }
        if let Some(n) = &name {
            let m = Matcher::new(MatchOp::Equal, METRIC_NAME, n.clone())
                .map_err(|e| ParseError::new(start, e.to_string()))?;
            matchers.insert(0, m);
        }
        let span = start.to(end);
        if !matchers.iter().any(|m| !m.matches("")) {
            self.type_error(
                span,
                "vector selector must contain at least one non-empty matcher".into(),
            );
        }
        Ok(Expr::Vector(VectorSelector {
            name,
            matchers,
            offset: None,
            at: None,
            anchored: false,
            smoothed: false,
            span,
        }))
    }

    fn source_word(&self) -> String {
        // Numbers are never label names except the words `inf`/`nan`, which the lexer turned into
        // numbers; recover the text from the token value.
        match &self.tok(self.pos - 1).tok {
            Tok::Number(v) if v.is_nan() => "nan".into(),
            Tok::Number(v) if v.is_infinite() => "inf".into(),
            _ => String::new(),
        }
    }

    fn postfix(&mut self, mut e: Expr) -> PResult<Expr> {
        loop {
            match self.peek() {
                Tok::LBracket => {
                    let lb = self.next().span;
                    let range = self.duration_expr(0)?;
                    if *self.peek() == Tok::Colon {
                        self.next();
                        let step = if *self.peek() == Tok::RBracket {
                            None
                        } else {
                            Some(self.duration_expr(0)?)
                        };
                        let rb = self.expect(Tok::RBracket, "subquery selector")?;
                        if e.value_type() != ValueType::Vector {
                            self.type_error(
                                e.span().to(rb.span),
                                format!(
                                    "subquery is only allowed on instant vector, got {} instead",
                                    e.value_type().name()
                                ),
                            );
                        }
                        let span = e.span().to(rb.span);
                        e = Expr::Subquery(Subquery {
                            expr: Box::new(e),
                            range: fold_duration(range),
                            step: step.map(fold_duration),
                            offset: None,
                            at: None,
                            span,
                        });
                    } else {
                        let rb = self.expect(Tok::RBracket, "matrix selector")?;
                        match e {
                            Expr::Vector(vs) => {
                                if vs.offset.is_some() || vs.at.is_some() {
                                    return Err(ParseError::new(
                                        lb,
                                        "no offset or @ modifiers allowed before range",
                                    ));
                                }
                                let span = vs.span.to(rb.span);
                                e = Expr::Matrix(MatrixSelector {
                                    selector: vs,
                                    range: fold_duration(range),
                                    span,
                                });
                            }
                            _ => {
                                return Err(ParseError::new(
                                    e.span().to(rb.span),
                                    "ranges only allowed for vector selectors",
                                ));
                            }
                        }
                    }
                }
                Tok::Ident(w) if w.eq_ignore_ascii_case("offset") => {
                    let os = self.next().span;
                    let d = self.offset_duration()?;
                    let end = self.prev_span();
                    let slot = match &mut e {
                        Expr::Vector(v) => Some((&mut v.offset, &mut v.span)),
                        Expr::Matrix(m) => Some((&mut m.selector.offset, &mut m.span)),
                        Expr::Subquery(s) => Some((&mut s.offset, &mut s.span)),
                        _ => None,
                    };
                    match slot {
                        Some((o, span)) => {
                            if o.is_some() {
                                return Err(ParseError::new(
                                    os,
                                    "offset may not be set multiple times",
                                ));
                            }
                            *o = Some(d);
                            *span = span.to(end);
                        }
                        None => {
                            return Err(ParseError::new(
                                os,
                                "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                            ));
                        }
                    }
                }
                Tok::Ident(w)
                    if w.eq_ignore_ascii_case("anchored") || w.eq_ignore_ascii_case("smoothed") =>
                {
                    let anchored = w.eq_ignore_ascii_case("anchored");
                    let ms = self.next().span;
                    let (sel, span) = match &mut e {
                        Expr::Vector(v) if !anchored => (v, ms),
                        Expr::Matrix(m) => (&mut m.selector, ms),
                        _ => {
                            let which = if anchored { "anchored" } else { "smoothed" };
                            return Err(ParseError::new(
                                ms,
                                format!(
                                    "{which} modifier must be preceded by a range vector selector{}",
                                    if anchored {
                                        ""
                                    } else {
                                        " or an instant vector selector"
                                    }
                                ),
                            ));
                        }
                    };
                    if sel.anchored || sel.smoothed {
                        return Err(ParseError::new(
                            span,
                            "anchored and smoothed modifiers may be set only once",
                        ));
                    }
                    if anchored {
                        sel.anchored = true;
                    } else {
                        sel.smoothed = true;
                    }
                    match &mut e {
                        Expr::Vector(v) => v.span = v.span.to(span),
                        Expr::Matrix(m) => m.span = m.span.to(span),
                        _ => {}
                    }
                }
                Tok::At => {
                    let ats = self.next().span;
                    let at = self.at_modifier()?;
                    let end = self.prev_span();
                    let slot = match &mut e {
                        Expr::Vector(v) => Some((&mut v.at, &mut v.span)),
                        Expr::Matrix(m) => Some((&mut m.selector.at, &mut m.span)),
                        Expr::Subquery(s) => Some((&mut s.at, &mut s.span)),
                        _ => None,
                    };
                    match slot {
                        Some((a, span)) => {
                            if a.is_some() {
                                return Err(ParseError::new(
                                    ats,
                                    "@ <timestamp> may not be set multiple times",
                                ));
                            }
                            *a = Some(at);
                            *span = span.to(end);
                        }
                        None => {
                            return Err(ParseError::new(
                                ats,
                                "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                            ));
                        }
                    }
                }
                _ => return Ok(e),
            }
        }
    }

    fn at_modifier(&mut self) -> PResult<AtModifier> {
        let mut neg = false;
        match self.peek() {
            Tok::Sub => {
                neg = true;
                self.next();
            }
            Tok::Add => {
                self.next();
            }
            _ => {}
        }
        let t = self.next();
        let v = match t.tok {
            Tok::Number(v) => v,
            Tok::Duration(ms) => ms as f64 / 1000.0,
            Tok::Ident(w)
                if !neg && (w.eq_ignore_ascii_case("start") || w.eq_ignore_ascii_case("end")) =>
            {
                self.expect(Tok::LParen, "@ modifier")?;
                self.expect(Tok::RParen, "@ modifier")?;
                return Ok(if w.eq_ignore_ascii_case("start") {
                    AtModifier::Start
                } else {
                    AtModifier::End
                });
            }
            _ => {
                self.pos -= 1;
                let mut e = self.unexpected("@");
                e.message.push_str(", expected timestamp");
                return Err(e);
            }
        };
        let v = if neg { -v } else { v };
        let ms = v * 1000.0;
        if !ms.is_finite() || ms.abs() > (1u64 << 52) as f64 {
            return Err(ParseError::new(
                t.span,
                format!("timestamp out of bounds for @ modifier: {v}"),
            ));
        }
        Ok(AtModifier::Time(ms.round() as i64))
    }

    /// The duration after `offset`: a signed literal, a parenthesized duration expression or a
    /// duration function; binary operators after it belong to the enclosing expression.
    fn offset_duration(&mut self) -> PResult<DurationExpr> {
        match self.peek() {
            Tok::Sub => {
                self.next();
                let inner = self.offset_duration()?;
                Ok(match inner {
                    DurationExpr::Literal(ms) => DurationExpr::Literal(-ms),
                    other => DurationExpr::Neg(Box::new(other)),
                })
            }
            Tok::Add => {
                self.next();
                self.offset_duration()
            }
            _ => Ok(fold_duration(self.duration_primary()?)),
        }
    }

    fn peek_dur_op(&self) -> Option<BinOp> {
        Some(match self.peek() {
            Tok::Add => BinOp::Add,
            Tok::Sub => BinOp::Sub,
            Tok::Mul => BinOp::Mul,
            Tok::Div => BinOp::Div,
            Tok::Mod => BinOp::Mod,
            Tok::Pow => BinOp::Pow,
            _ => return None,
        })
    }

    fn duration_expr(&mut self, min_prec: u8) -> PResult<DurationExpr> {
        self.enter()?;
        let mut lhs = match self.peek() {
            Tok::Sub => {
                self.next();
                let inner = self.duration_expr(UNARY_PREC)?;
                match inner {
                    DurationExpr::Literal(ms) => DurationExpr::Literal(-ms),
                    DurationExpr::Number(v) => DurationExpr::Number(-v),
                    other => DurationExpr::Neg(Box::new(other)),
                }
            }
            Tok::Add => {
                self.next();
                self.duration_expr(UNARY_PREC)?
            }
            _ => self.duration_primary()?,
        };
        while let Some(op) = self.peek_dur_op() {
            let prec = op.precedence();
            if prec < min_prec {
                break;
            }
            self.next();
            let next_min = if op.right_assoc() { prec } else { prec + 1 };
            let rhs = self.duration_expr(next_min)?;
            lhs = DurationExpr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn duration_primary(&mut self) -> PResult<DurationExpr> {
        let t = self.next();
        match t.tok {
            Tok::Duration(ms) => Ok(DurationExpr::Literal(ms)),
            Tok::Number(v) => Ok(DurationExpr::Number(v)),
            Tok::LParen => {
                let inner = self.duration_expr(0)?;
                self.expect(Tok::RParen, "duration expression")?;
                Ok(DurationExpr::Paren(Box::new(inner)))
            }
            Tok::Ident(w) => {
                let lw = w.to_ascii_lowercase();
                match lw.as_str() {
                    "step" | "range" => {
                        self.expect(Tok::LParen, "duration expression")?;
                        self.expect(Tok::RParen, "duration expression")?;
                        Ok(if lw == "step" {
                            DurationExpr::Step
                        } else {
                            DurationExpr::Range
                        })
                    }
                    "min_of" | "max_of" => {
                        self.expect(Tok::LParen, "duration expression")?;
                        let a = self.duration_expr(0)?;
                        self.expect(Tok::Comma, "duration expression")?;
                        let b = self.duration_expr(0)?;
                        self.expect(Tok::RParen, "duration expression")?;
                        let (a, b) = (Box::new(a), Box::new(b));
                        Ok(if lw == "min_of" {
                            DurationExpr::MinOf(a, b)
                        } else {
                            DurationExpr::MaxOf(a, b)
                        })
                    }
                    _ => {
                        self.pos -= 1;
                        let mut e = self.unexpected("duration expression");
                        e.message.push_str(", expected duration");
                        Err(e)
                    }
                }
            }
            _ => {
                self.pos -= 1;
                let mut e = self.unexpected("duration expression");
                e.message.push_str(", expected duration");
                Err(e)
            }
        }
    }
}

/// A lone number in a duration position means seconds; keep it as a literal so it prints as one.
fn fold_duration(d: DurationExpr) -> DurationExpr {
    match d {
        DurationExpr::Number(v)
            if v.is_finite() && (v * 1000.0).fract() == 0.0 && (v * 1000.0).abs() < 9.0e18 =>
        {
            DurationExpr::Literal((v * 1000.0) as i64)
        }
        other => other,
    }
}
