//! The dashboard model read from and written to `serde_json::Value` by hand.
//!
//! Derived serde code was the page's largest single cost after Leptos: every struct with
//! `#[serde(flatten)]` (how the model keeps the fields it does not understand) deserializes
//! through serde's buffered `Content` path, instantiated once per struct and per deserializer
//! (ARCHITECTURE.md, "Bundle size"). Here each struct is one small function over a JSON object:
//! take the fields it knows, keep the rest. The text itself is still parsed and printed by
//! serde_json (`Value`), once per document.
//!
//! Reading is Grafana-tolerant: a missing field or a `null` leaves the field's default, a whole
//! number may be written as `3.0`. A value of the wrong kind is an error naming where it is
//! (`panels[2].gridPos.w: expected a whole number, found the string "x"`).

use serde_json::{Map, Value};

/// The fields of an object that the model does not read, kept to be written back.
pub type Extra = Map<String, Value>;

/// What was wrong, and where: `at` is the path from the document's root, filled in on the way
/// out of the nested readers.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub at: String,
    pub message: String,
}

impl Error {
    fn expected(what: &str, found: &Value) -> Error {
        let found = match found {
            Value::Null => "null".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => format!("the number {n}"),
            Value::String(s) if s.len() > 40 => "a string".to_owned(),
            Value::String(s) => format!("the string {s:?}"),
            Value::Array(_) => "a list".to_owned(),
            Value::Object(_) => "an object".to_owned(),
        };
        Error {
            at: String::new(),
            message: format!("expected {what}, found {found}"),
        }
    }

    /// `expected one of a, b, c, found ...`.
    pub fn expected_one_of(names: &[&str], found: &Value) -> Error {
        Error::expected(&format!("one of {}", names.join(", ")), found)
    }

    /// The same error one level further out: under `key` of an object, or at `[index]`.
    pub fn under(mut self, step: &str) -> Error {
        let sep = if self.at.is_empty() || self.at.starts_with('[') {
            ""
        } else {
            "."
        };
        self.at = format!("{step}{sep}{}", self.at);
        self
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.at.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.at, self.message)
        }
    }
}

/// A value the model reads from JSON.
pub trait Read: Sized {
    fn read(v: Value) -> Result<Self, Error>;
}

/// A value the model writes as JSON.
pub trait Write {
    fn write(&self) -> Value;
}

impl Read for Value {
    fn read(v: Value) -> Result<Self, Error> {
        Ok(v)
    }
}

impl Read for String {
    fn read(v: Value) -> Result<Self, Error> {
        match v {
            Value::String(s) => Ok(s),
            other => Err(Error::expected("a string", &other)),
        }
    }
}

impl Read for bool {
    fn read(v: Value) -> Result<Self, Error> {
        v.as_bool()
            .ok_or_else(|| Error::expected("true or false", &v))
    }
}

impl Read for f64 {
    fn read(v: Value) -> Result<Self, Error> {
        v.as_f64().ok_or_else(|| Error::expected("a number", &v))
    }
}

impl Read for u32 {
    fn read(v: Value) -> Result<Self, Error> {
        let n = v.as_u64().or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        });
        n.and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| Error::expected("a whole number", &v))
    }
}

/// `null` is `None` (an absent field is too: see [`Obj::set`]).
impl<T: Read> Read for Option<T> {
    fn read(v: Value) -> Result<Self, Error> {
        match v {
            Value::Null => Ok(None),
            v => T::read(v).map(Some),
        }
    }
}

impl<T: Read> Read for Vec<T> {
    fn read(v: Value) -> Result<Self, Error> {
        let Value::Array(items) = v else {
            return Err(Error::expected("a list", &v));
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| T::read(item).map_err(|e| e.under(&format!("[{i}]"))))
            .collect()
    }
}

impl Write for Value {
    fn write(&self) -> Value {
        self.clone()
    }
}

impl Write for String {
    fn write(&self) -> Value {
        Value::String(self.clone())
    }
}

impl Write for bool {
    fn write(&self) -> Value {
        Value::Bool(*self)
    }
}

impl Write for f64 {
    /// NaN and infinities have no JSON number: `null`, as serde writes them.
    fn write(&self) -> Value {
        Value::from(*self)
    }
}

impl Write for u32 {
    fn write(&self) -> Value {
        Value::from(*self)
    }
}

impl<T: Write> Write for Vec<T> {
    fn write(&self) -> Value {
        Value::Array(self.iter().map(Write::write).collect())
    }
}

/// An object being read: fields are taken out one by one, what is left is the `Extra`.
#[derive(Debug)]
pub struct Obj(Map<String, Value>);

impl Obj {
    pub fn new(v: Value) -> Result<Obj, Error> {
        match v {
            Value::Object(m) => Ok(Obj(m)),
            other => Err(Error::expected("an object", &other)),
        }
    }

    /// Reads `key` into `field`; absent or `null` leaves `field` as it is (its default: `None`
    /// for an `Option`).
    pub fn set<T: Read>(&mut self, key: &str, field: &mut T) -> Result<(), Error> {
        match self.0.remove(key) {
            None | Some(Value::Null) => Ok(()),
            Some(v) => {
                *field = T::read(v).map_err(|e| e.under(key))?;
                Ok(())
            }
        }
    }

    /// Reads `key` into `field` when it is readable; a value of the wrong kind is skipped and
    /// the field keeps its default (for the renderers' view, which draws what it can).
    pub fn lenient<T: Read>(&mut self, key: &str, field: &mut T) {
        if let Some(v) = self.0.remove(key)
            && let Ok(x) = T::read(v)
        {
            *field = x;
        }
    }

    /// The fields not taken.
    pub fn rest(self) -> Extra {
        self.0
    }
}

/// An object being written, starting from the fields kept in its `Extra`.
#[derive(Debug)]
pub struct Out(Map<String, Value>);

impl Out {
    pub fn new(extra: &Extra) -> Out {
        Out(extra.clone())
    }

    pub fn put<T: Write + ?Sized>(&mut self, key: &str, v: &T) -> &mut Out {
        self.0.insert(key.to_owned(), v.write());
        self
    }

    /// Writes `v` when it is `Some`.
    pub fn opt<T: Write>(&mut self, key: &str, v: &Option<T>) -> &mut Out {
        if let Some(v) = v {
            self.put(key, v);
        }
        self
    }

    /// Writes `v` unless it is `null`.
    pub fn value(&mut self, key: &str, v: &Value) -> &mut Out {
        if !v.is_null() {
            self.0.insert(key.to_owned(), v.clone());
        }
        self
    }

    pub fn done(&mut self) -> Value {
        Value::Object(std::mem::take(&mut self.0))
    }
}

/// A closed set of names (`lowercase` or `camelCase` strings in Grafana's JSON) as an enum.
macro_rules! names {
    ($ty:ident { $($variant:ident = $name:literal),+ $(,)? }) => {
        impl $ty {
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }
        }
        impl $crate::json::Read for $ty {
            fn read(v: serde_json::Value) -> Result<Self, $crate::json::Error> {
                match v.as_str() {
                    $(Some($name) => Ok($ty::$variant),)+
                    _ => Err($crate::json::Error::expected_one_of(&[$($name),+], &v)),
                }
            }
        }
        impl $crate::json::Write for $ty {
            fn write(&self) -> serde_json::Value {
                serde_json::Value::from(self.name())
            }
        }
    };
}
pub(crate) use names;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn numbers_strings_and_lists_read_with_the_path_of_what_is_wrong() {
        assert_eq!(u32::read(json!(3)), Ok(3));
        assert_eq!(
            u32::read(json!(3.0)),
            Ok(3),
            "Grafana writes some integers as floats"
        );
        assert!(u32::read(json!(-1)).is_err());
        assert!(u32::read(json!(2.5)).is_err());
        assert!(u32::read(json!(5_000_000_000u64)).is_err());
        let e = Vec::<u32>::read(json!([1, "x"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "[1]: expected a whole number, found the string \"x\""
        );
        let mut o = Obj::new(json!({"a": {"b": [0, true]}})).unwrap();
        let mut inner = Value::Null;
        o.set("a", &mut inner).unwrap();
        let mut o2 = Obj::new(inner).unwrap();
        let mut b: Vec<u32> = Vec::new();
        let e = o2.set("b", &mut b).unwrap_err().under("a");
        assert_eq!(e.to_string(), "a.b[1]: expected a whole number, found true");
        let top = Vec::<u32>::read(json!({})).unwrap_err().under("variables");
        assert_eq!(
            top.to_string(),
            "variables: expected a list, found an object"
        );
        let inner = Vec::<u32>::read(json!([true]))
            .unwrap_err()
            .under("variables");
        assert_eq!(
            inner.to_string(),
            "variables[0]: expected a whole number, found true"
        );
        assert!(String::read(json!(1)).is_err());
        assert_eq!(f64::read(json!(1)), Ok(1.0));
    }

    #[wasm_bindgen_test]
    fn absent_and_null_keep_the_default_and_the_rest_is_kept() {
        let mut o = Obj::new(json!({"x": null, "y": 2, "z": "kept"})).unwrap();
        let (mut x, mut y, mut w) = (7u32, 0u32, None::<u32>);
        o.set("x", &mut x).unwrap();
        o.set("y", &mut y).unwrap();
        o.set("w", &mut w).unwrap();
        assert_eq!((x, y, w), (7, 2, None));
        assert_eq!(Option::<u32>::read(json!(null)), Ok(None));
        assert_eq!(Option::<u32>::read(json!(1)), Ok(Some(1)));
        assert_eq!(Value::Object(o.rest()), json!({"z": "kept"}));
        assert!(Obj::new(json!([1])).is_err());
        let mut bad = Obj::new(json!({"n": "x"})).unwrap();
        let mut n = 4u32;
        bad.lenient("n", &mut n);
        assert_eq!(n, 4);
    }

    #[wasm_bindgen_test]
    fn written_objects_keep_extra_and_skip_none_and_null() {
        let extra = json!({"kept": 1}).as_object().unwrap().clone();
        let v = Out::new(&extra)
            .put("a", &2u32)
            .opt::<String>("b", &None)
            .opt("c", &Some(true))
            .value("d", &Value::Null)
            .put("e", &f64::NAN)
            .done();
        assert_eq!(v, json!({"kept": 1, "a": 2, "c": true, "e": null}));
    }
}
