//! The PromQL syntax tree and its printer (canonical text, as Prometheus's `String()` writes it).
//!
//! The tree is plain data: it holds no evaluation state, so one parsed query can be evaluated
//! many times, concurrently, against different stores.

use std::fmt::{self, Write as _};

use lookout_tsdb::{MatchOp, Matcher};

use crate::signatures::Function;

/// A byte range in the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
    pub(crate) fn to(self, other: Span) -> Span {
        Span::new(self.start, other.end.max(self.start))
    }
}

/// The type an expression evaluates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Scalar,
    Vector,
    Matrix,
    String,
}

impl ValueType {
    /// The name Prometheus uses in type errors.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::Vector => "instant vector",
            ValueType::Matrix => "range vector",
            ValueType::String => "string",
        }
    }
}

/// A PromQL expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(NumberLiteral),
    String(StringLiteral),
    Vector(VectorSelector),
    Matrix(MatrixSelector),
    Subquery(Subquery),
    Paren(Paren),
    Unary(Unary),
    Binary(Binary),
    Call(Call),
    Aggregate(Aggregate),
}

#[derive(Debug, Clone, PartialEq)]
pub struct NumberLiteral {
    pub value: f64,
    /// Written as a duration (`5m`); the value is then in seconds.
    pub duration: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StringLiteral {
    pub value: String,
    pub span: Span,
}

/// `name{matchers} @ t offset d`.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSelector {
    /// The metric name when written outside the braces (or as a lone quoted name inside).
    pub name: Option<String>,
    /// All matchers, including the `__name__` one derived from `name`.
    pub matchers: Vec<Matcher>,
    pub offset: Option<DurationExpr>,
    pub at: Option<AtModifier>,
    /// `anchored`: range functions start from the last sample before the window.
    pub anchored: bool,
    /// `smoothed`: values are interpolated at the window's (or the instant's) edges.
    pub smoothed: bool,
    pub span: Span,
}

/// `selector[range]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixSelector {
    pub selector: VectorSelector,
    pub range: DurationExpr,
    pub span: Span,
}

/// `expr[range:step]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Subquery {
    pub expr: Box<Expr>,
    pub range: DurationExpr,
    pub step: Option<DurationExpr>,
    pub offset: Option<DurationExpr>,
    pub at: Option<AtModifier>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Paren {
    pub expr: Box<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Unary {
    pub op: UnaryOp,
    pub expr: Box<Expr>,
    pub span: Span,
}

/// Binary operators, in Prometheus's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    /// `</`, native histograms only.
    TrimUpper,
    /// `>/`, native histograms only.
    TrimLower,
    Eql,
    Neq,
    Gtr,
    Lss,
    Gte,
    Lte,
    And,
    Or,
    Unless,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Pow => "^",
            BinOp::Atan2 => "atan2",
            BinOp::TrimUpper => "</",
            BinOp::TrimLower => ">/",
            BinOp::Eql => "==",
            BinOp::Neq => "!=",
            BinOp::Gtr => ">",
            BinOp::Lss => "<",
            BinOp::Gte => ">=",
            BinOp::Lte => "<=",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Unless => "unless",
        }
    }
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eql | BinOp::Neq | BinOp::Gtr | BinOp::Lss | BinOp::Gte | BinOp::Lte
        )
    }
    pub fn is_set(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Unless)
    }
    /// Binding strength; higher binds tighter.
    pub(crate) fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And | BinOp::Unless => 2,
            BinOp::Eql | BinOp::Neq | BinOp::Gtr | BinOp::Lss | BinOp::Gte | BinOp::Lte => 3,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul
            | BinOp::Div
            | BinOp::Mod
            | BinOp::Atan2
            | BinOp::TrimUpper
            | BinOp::TrimLower => 5,
            BinOp::Pow => 7,
        }
    }
    pub(crate) fn right_assoc(self) -> bool {
        self == BinOp::Pow
    }
}

/// How many series of each side may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cardinality {
    OneToOne,
    ManyToOne,
    OneToMany,
    ManyToMany,
}

/// `on(...)`/`ignoring(...)` and `group_left(...)`/`group_right(...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorMatching {
    pub card: Cardinality,
    /// The `on`/`ignoring` labels.
    pub labels: Vec<String>,
    /// `on` rather than `ignoring`.
    pub on: bool,
    /// Labels copied from the "one" side with `group_left(...)`/`group_right(...)`.
    pub include: Vec<String>,
    /// `fill_left(v)` / `fill(v)`: value for a missing left-hand sample (the "many" side once
    /// `group_right` swapped the sides, as Prometheus evaluates it).
    pub fill_left: Option<f64>,
    /// `fill_right(v)` / `fill(v)`: value for a missing right-hand ("one" side) sample.
    pub fill_right: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Binary {
    pub op: BinOp,
    pub lhs: Box<Expr>,
    pub rhs: Box<Expr>,
    pub return_bool: bool,
    /// Present when both sides are vectors (set by the parser).
    pub matching: Option<VectorMatching>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub func: &'static Function,
    pub args: Vec<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggOp {
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    Quantile,
    CountValues,
    Topk,
    Bottomk,
    Limitk,
    LimitRatio,
}

impl AggOp {
    pub const ALL: [AggOp; 14] = [
        AggOp::Sum,
        AggOp::Avg,
        AggOp::Count,
        AggOp::Min,
        AggOp::Max,
        AggOp::Group,
        AggOp::Stddev,
        AggOp::Stdvar,
        AggOp::Quantile,
        AggOp::CountValues,
        AggOp::Topk,
        AggOp::Bottomk,
        AggOp::Limitk,
        AggOp::LimitRatio,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            AggOp::Sum => "sum",
            AggOp::Avg => "avg",
            AggOp::Count => "count",
            AggOp::Min => "min",
            AggOp::Max => "max",
            AggOp::Group => "group",
            AggOp::Stddev => "stddev",
            AggOp::Stdvar => "stdvar",
            AggOp::Quantile => "quantile",
            AggOp::CountValues => "count_values",
            AggOp::Topk => "topk",
            AggOp::Bottomk => "bottomk",
            AggOp::Limitk => "limitk",
            AggOp::LimitRatio => "limit_ratio",
        }
    }
    pub fn from_name(s: &str) -> Option<AggOp> {
        AggOp::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
    }
    /// The type of the parameter, for aggregations that take one.
    pub fn param_type(self) -> Option<ValueType> {
        match self {
            AggOp::Quantile | AggOp::Topk | AggOp::Bottomk | AggOp::Limitk | AggOp::LimitRatio => {
                Some(ValueType::Scalar)
            }
            AggOp::CountValues => Some(ValueType::String),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub op: AggOp,
    pub expr: Box<Expr>,
    pub param: Option<Box<Expr>>,
    pub grouping: Vec<String>,
    pub without: bool,
    /// `by`/`without` was written (even if empty), so the printer keeps it.
    pub has_grouping: bool,
    pub span: Span,
}

/// `@ <time>`, `@ start()`, `@ end()`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AtModifier {
    /// Milliseconds since the epoch.
    Time(i64),
    Start,
    End,
}

/// A duration that may be computed: `5m`, `1h+30m`, `step()*2`, `min_of(range(), 1h)`.
#[derive(Debug, Clone, PartialEq)]
pub enum DurationExpr {
    /// Milliseconds, written as a duration or a number of seconds.
    Literal(i64),
    /// A plain number of seconds inside arithmetic.
    Number(f64),
    Step,
    Range,
    Neg(Box<DurationExpr>),
    Paren(Box<DurationExpr>),
    Binary(BinOp, Box<DurationExpr>, Box<DurationExpr>),
    MinOf(Box<DurationExpr>, Box<DurationExpr>),
    MaxOf(Box<DurationExpr>, Box<DurationExpr>),
}

impl DurationExpr {
    /// Computes the duration in milliseconds, given the query's step and range.
    pub fn eval_ms(&self, step_ms: i64, range_ms: i64) -> f64 {
        self.eval_secs(step_ms, range_ms) * 1000.0
    }

    fn eval_secs(&self, step_ms: i64, range_ms: i64) -> f64 {
        let e = |d: &DurationExpr| d.eval_secs(step_ms, range_ms);
        match self {
            DurationExpr::Literal(ms) => *ms as f64 / 1000.0,
            DurationExpr::Number(v) => *v,
            DurationExpr::Step => step_ms as f64 / 1000.0,
            DurationExpr::Range => range_ms as f64 / 1000.0,
            DurationExpr::Neg(d) => -e(d),
            DurationExpr::Paren(d) => e(d),
            DurationExpr::MinOf(a, b) => e(a).min(e(b)),
            DurationExpr::MaxOf(a, b) => e(a).max(e(b)),
            DurationExpr::Binary(op, a, b) => {
                let (a, b) = (e(a), e(b));
                match op {
                    BinOp::Add => a + b,
                    BinOp::Sub => a - b,
                    BinOp::Mul => a * b,
                    BinOp::Div => a / b,
                    BinOp::Mod => a % b,
                    BinOp::Pow => a.powf(b),
                    _ => f64::NAN,
                }
            }
        }
    }

    /// Whether the value depends on the query (`step()`, `range()`).
    pub fn is_constant(&self) -> bool {
        match self {
            DurationExpr::Literal(_) | DurationExpr::Number(_) => true,
            DurationExpr::Step | DurationExpr::Range => false,
            DurationExpr::Neg(d) | DurationExpr::Paren(d) => d.is_constant(),
            DurationExpr::Binary(_, a, b)
            | DurationExpr::MinOf(a, b)
            | DurationExpr::MaxOf(a, b) => a.is_constant() && b.is_constant(),
        }
    }
}

impl Expr {
    /// The static type of the expression.
    pub fn value_type(&self) -> ValueType {
        match self {
            Expr::Number(_) => ValueType::Scalar,
            Expr::String(_) => ValueType::String,
            Expr::Vector(_) => ValueType::Vector,
            Expr::Matrix(_) | Expr::Subquery(_) => ValueType::Matrix,
            Expr::Paren(p) => p.expr.value_type(),
            Expr::Unary(u) => u.expr.value_type(),
            Expr::Binary(b) => {
                if b.lhs.value_type() == ValueType::Scalar
                    && b.rhs.value_type() == ValueType::Scalar
                {
                    ValueType::Scalar
                } else {
                    ValueType::Vector
                }
            }
            Expr::Call(c) => c.func.return_type,
            Expr::Aggregate(_) => ValueType::Vector,
        }
    }

    /// The byte range the expression covers.
    pub fn span(&self) -> Span {
        match self {
            Expr::Number(n) => n.span,
            Expr::String(s) => s.span,
            Expr::Vector(v) => v.span,
            Expr::Matrix(m) => m.span,
            Expr::Subquery(s) => s.span,
            Expr::Paren(p) => p.span,
            Expr::Unary(u) => u.span,
            Expr::Binary(b) => b.span,
            Expr::Call(c) => c.span,
            Expr::Aggregate(a) => a.span,
        }
    }

    /// Calls `f` on this node and every node below it, parents first.
    pub fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Number(_) | Expr::String(_) | Expr::Vector(_) | Expr::Matrix(_) => {}
            Expr::Subquery(s) => s.expr.walk(f),
            Expr::Paren(p) => p.expr.walk(f),
            Expr::Unary(u) => u.expr.walk(f),
            Expr::Binary(b) => {
                b.lhs.walk(f);
                b.rhs.walk(f);
            }
            Expr::Call(c) => c.args.iter().for_each(|a| a.walk(f)),
            Expr::Aggregate(a) => {
                if let Some(p) = &a.param {
                    p.walk(f);
                }
                a.expr.walk(f);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Printer

/// Formats a float as Go's `%v` does (shortest digits, exponent outside [1e-4, 1e21)).
pub fn format_go_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let e = format!("{v:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..21).contains(&exp) {
        let (sign, digits) = mant
            .strip_prefix('-')
            .map(|m| ("-", m))
            .unwrap_or(("", mant));
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{digits}e{esign}{:02}", exp.abs())
    } else {
        format!("{v}")
    }
}

/// Prometheus's duration text: `1h30m`, `5m`, `0s`, with a sign for negatives.
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ms.unsigned_abs();
    if ms < 0 {
        out.push('-');
    }
    for (unit, mult) in [
        ("y", 31_536_000_000u64),
        ("w", 604_800_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if rest >= mult {
            let _ = write!(out, "{}{unit}", rest / mult);
            rest %= mult;
        }
    }
    out
}

/// Quotes a string the way Go's `%q` does for the characters that matter in PromQL.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) >= crate::lexer::RAW_BYTE_BASE => {
                let _ = write!(out, "\\x{:02x}", c as u32 - crate::lexer::RAW_BYTE_BASE);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A label or metric name as PromQL accepts it: bare when it is a plain identifier.
pub fn format_name(s: &str) -> String {
    if is_plain_label_name(s) {
        s.to_string()
    } else {
        quote(s)
    }
}

pub(crate) fn is_plain_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

fn is_plain_metric_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_' || b[0] == b':')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b':')
}

fn write_list(f: &mut fmt::Formatter<'_>, names: &[String]) -> fmt::Result {
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        f.write_str(&format_name(n))?;
    }
    Ok(())
}

impl fmt::Display for DurationExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationExpr::Literal(ms) => f.write_str(&format_duration(*ms)),
            DurationExpr::Number(v) => f.write_str(&format_go_float(*v)),
            DurationExpr::Step => f.write_str("step()"),
            DurationExpr::Range => f.write_str("range()"),
            DurationExpr::Neg(d) => write!(f, "-{d}"),
            DurationExpr::Paren(d) => write!(f, "({d})"),
            DurationExpr::Binary(op, a, b) => write!(f, "{a} {} {b}", op.as_str()),
            DurationExpr::MinOf(a, b) => write!(f, "min_of({a}, {b})"),
            DurationExpr::MaxOf(a, b) => write!(f, "max_of({a}, {b})"),
        }
    }
}

fn write_offset(f: &mut fmt::Formatter<'_>, d: &DurationExpr) -> fmt::Result {
    match d {
        DurationExpr::Literal(_) | DurationExpr::Neg(_) | DurationExpr::Paren(_) => {
            write!(f, " offset {d}")
        }
        DurationExpr::Step
        | DurationExpr::Range
        | DurationExpr::MinOf(..)
        | DurationExpr::MaxOf(..) => {
            write!(f, " offset {d}")
        }
        _ => write!(f, " offset ({d})"),
    }
}

fn write_at(f: &mut fmt::Formatter<'_>, at: &AtModifier) -> fmt::Result {
    match at {
        AtModifier::Time(ms) => {
            write!(f, " @ {}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000)).and_then(|_| Ok(()))
        }
        AtModifier::Start => f.write_str(" @ start()"),
        AtModifier::End => f.write_str(" @ end()"),
    }
}

fn write_range(f: &mut fmt::Formatter<'_>, d: &DurationExpr) -> fmt::Result {
    write!(f, "{d}")
}

impl VectorSelector {
    fn fmt_selector(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest: Vec<&Matcher> = Vec::new();
        let mut name_written = false;
        if let Some(name) = &self.name
            && is_plain_metric_name(name)
        {
            f.write_str(name)?;
            name_written = true;
        }
        for m in &self.matchers {
            if name_written
                && m.name() == lookout_tsdb::METRIC_NAME
                && m.op() == MatchOp::Equal
                && Some(m.value()) == self.name.as_deref()
            {
                continue;
            }
            rest.push(m);
        }
        if name_written && rest.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, m) in rest.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if !name_written
                && m.name() == lookout_tsdb::METRIC_NAME
                && m.op() == MatchOp::Equal
                && self.name.as_deref() == Some(m.value())
            {
                f.write_str(&quote(m.value()))?;
                continue;
            }
            write!(
                f,
                "{}{}{}",
                format_name(m.name()),
                m.op().as_str(),
                quote(m.value())
            )?;
        }
        f.write_str("}")
    }

    fn fmt_modifiers(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(at) = &self.at {
            write_at(f, at)?;
        }
        if let Some(o) = &self.offset {
            write_offset(f, o)?;
        }
        if self.anchored {
            f.write_str(" anchored")?;
        }
        if self.smoothed {
            f.write_str(" smoothed")?;
        }
        Ok(())
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Number(n) => {
                if n.duration
                    && n.value.is_finite()
                    && n.value >= 0.0
                    && (n.value * 1000.0).fract() == 0.0
                {
                    f.write_str(&format_duration((n.value * 1000.0) as i64))
                } else {
                    f.write_str(&format_go_float(n.value))
                }
            }
            Expr::String(s) => f.write_str(&quote(&s.value)),
            Expr::Vector(v) => {
                v.fmt_selector(f)?;
                v.fmt_modifiers(f)
            }
            Expr::Matrix(m) => {
                m.selector.fmt_selector(f)?;
                f.write_str("[")?;
                write_range(f, &m.range)?;
                f.write_str("]")?;
                m.selector.fmt_modifiers(f)
            }
            Expr::Subquery(s) => {
                write!(f, "{}[", s.expr)?;
                write_range(f, &s.range)?;
                f.write_str(":")?;
                if let Some(st) = &s.step {
                    write_range(f, st)?;
                }
                f.write_str("]")?;
                if let Some(at) = &s.at {
                    write_at(f, at)?;
                }
                if let Some(o) = &s.offset {
                    write_offset(f, o)?;
                }
                Ok(())
            }
            Expr::Paren(p) => write!(f, "({})", p.expr),
            Expr::Unary(u) => {
                let op = if u.op == UnaryOp::Neg { "-" } else { "+" };
                write!(f, "{op}{}", u.expr)
            }
            Expr::Binary(b) => {
                write!(f, "{} {}", b.lhs, b.op.as_str())?;
                if b.return_bool {
                    f.write_str(" bool")?;
                }
                if let Some(m) = &b.matching {
                    if !m.labels.is_empty() || m.on {
                        f.write_str(if m.on { " on (" } else { " ignoring (" })?;
                        write_list(f, &m.labels)?;
                        f.write_str(")")?;
                    }
                    match m.card {
                        Cardinality::ManyToOne | Cardinality::OneToMany => {
                            if m.labels.is_empty() && !m.on {
                                f.write_str(" ignoring ()")?;
                            }
                            let side = if m.card == Cardinality::ManyToOne {
                                "left"
                            } else {
                                "right"
                            };
                            write!(f, " group_{side} (")?;
                            write_list(f, &m.include)?;
                            f.write_str(")")?;
                        }
                        _ => {}
                    }
                    match (m.fill_left, m.fill_right) {
                        (Some(l), Some(r)) if l.to_bits() == r.to_bits() => {
                            write!(f, " fill({})", format_go_float(l))?
                        }
                        (l, r) => {
                            if let Some(l) = l {
                                write!(f, " fill_left({})", format_go_float(l))?;
                            }
                            if let Some(r) = r {
                                write!(f, " fill_right({})", format_go_float(r))?;
                            }
                        }
                    }
                }
                write!(f, " {}", b.rhs)
            }
            Expr::Call(c) => {
                write!(f, "{}(", c.func.name)?;
                for (i, a) in c.args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            Expr::Aggregate(a) => {
                f.write_str(a.op.as_str())?;
                if a.has_grouping {
                    f.write_str(if a.without { " without (" } else { " by (" })?;
                    write_list(f, &a.grouping)?;
                    f.write_str(") ")?;
                }
                f.write_str("(")?;
                if let Some(p) = &a.param {
                    write!(f, "{p}, ")?;
                }
                write!(f, "{})", a.expr)
            }
        }
    }
}
