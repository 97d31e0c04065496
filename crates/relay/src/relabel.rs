//! Relabeling: `relabel_configs` and `metric_relabel_configs` with every Prometheus action and
//! Prometheus's exact rules (anchored regexes, `$1`/`${name}` expansion, empty value deletes,
//! invalid target names skipped, `hashmod` over the MD5 of the joined values).

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// A label set being rewritten: name -> value, sorted by name. Empty values do not exist (a
/// label set to "" is deleted), as in Prometheus.
pub type LabelMap = BTreeMap<String, String>;

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Set `target_label` to `replacement` (with regex groups expanded) when the regex matches.
    #[default]
    Replace,
    /// Drop the target or sample unless the regex matches the joined source values.
    Keep,
    /// Drop the target or sample when the regex matches the joined source values.
    Drop,
    /// Keep only when the joined source values equal the value of `target_label`.
    KeepEqual,
    /// Drop when the joined source values equal the value of `target_label`.
    DropEqual,
    /// Set `target_label` to the MD5 of the joined source values modulo `modulus`.
    HashMod,
    /// Copy every label whose name matches the regex to the name given by `replacement`.
    LabelMap,
    /// Remove every label whose name matches the regex.
    LabelDrop,
    /// Remove every label whose name does not match the regex.
    LabelKeep,
    /// Set `target_label` to the joined source values in lower case.
    Lowercase,
    /// Set `target_label` to the joined source values in upper case.
    Uppercase,
}

/// A regex as relabeling uses it: anchored at both ends, `.` matching newlines too.
#[derive(Clone)]
pub struct RelabelRegex {
    source: String,
    regex: regex::Regex,
}

impl RelabelRegex {
    pub fn new(source: &str) -> Result<Self, String> {
        let regex = regex::Regex::new(&format!("^(?s:{source})$"))
            .map_err(|e| format!("invalid regex {source:?}: {e}"))?;
        Ok(RelabelRegex {
            source: source.to_owned(),
            regex,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn is_match(&self, s: &str) -> bool {
        self.regex.is_match(s)
    }
}

impl Default for RelabelRegex {
    fn default() -> Self {
        // Prometheus's default regex.
        RelabelRegex::new("(.*)").unwrap_or_else(|_| unreachable!("a constant regex compiles"))
    }
}

impl fmt::Debug for RelabelRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.source)
    }
}

impl PartialEq for RelabelRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl<'de> Deserialize<'de> for RelabelRegex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::config::parse_scalar(d, "a regular expression", RelabelRegex::new)
    }
}

/// One relabeling rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelabelConfig {
    /// Labels whose values are joined with `separator` and matched against `regex`.
    #[serde(default)]
    pub source_labels: Vec<String>,
    /// Joins the source values. Default `;`.
    #[serde(default = "default_separator")]
    pub separator: String,
    /// The label written by `replace`, `hashmod`, `lowercase`, `uppercase`; compared by
    /// `keepequal`/`dropequal`. For `replace` it may use `$1`-style references.
    #[serde(default)]
    pub target_label: String,
    /// Anchored at both ends. Default `(.*)`.
    #[serde(default)]
    pub regex: RelabelRegex,
    /// For `hashmod`: the modulus.
    #[serde(default)]
    pub modulus: u64,
    /// For `replace` and `labelmap`: the new value (or name), with `$1`, `${1}`, `${name}`
    /// expanded from the regex's groups. Default `$1`.
    #[serde(default = "default_replacement")]
    pub replacement: String,
    /// What the rule does. Default `replace`.
    #[serde(default)]
    pub action: Action,
}

fn default_separator() -> String {
    ";".to_owned()
}
fn default_replacement() -> String {
    "$1".to_owned()
}

impl Default for RelabelConfig {
    fn default() -> Self {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: default_separator(),
            target_label: String::new(),
            regex: RelabelRegex::default(),
            modulus: 0,
            replacement: default_replacement(),
            action: Action::Replace,
        }
    }
}

/// Prometheus's legacy label name rule (what 2.x validates target labels against).
pub fn is_valid_label_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

impl RelabelConfig {
    /// Prometheus's config-time checks for a rule.
    pub fn validate(&self) -> Result<(), String> {
        use Action::*;
        if self.action == HashMod && self.modulus == 0 {
            return Err("relabel configuration for hashmod requires non-zero modulus".into());
        }
        let needs_target = matches!(
            self.action,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        );
        if needs_target && self.target_label.is_empty() {
            return Err(format!(
                "relabel configuration for {} action requires 'target_label' value",
                self.action_name()
            ));
        }
        let template_ok = self
            .target_label
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c == b'{' || c == b'}');
        if self.action == Replace && !template_ok {
            return Err(format!(
                "{:?} is invalid 'target_label' for replace action",
                self.target_label
            ));
        }
        if matches!(
            self.action,
            Lowercase | Uppercase | HashMod | KeepEqual | DropEqual
        ) && !is_valid_label_name(&self.target_label)
        {
            return Err(format!(
                "{:?} is invalid 'target_label' for {} action",
                self.target_label,
                self.action_name()
            ));
        }
        if matches!(self.action, KeepEqual | DropEqual)
            && (self.regex != RelabelRegex::default()
                || self.modulus != 0
                || self.separator != default_separator()
                || self.replacement != default_replacement())
        {
            return Err(format!(
                "{} action requires only 'source_labels' and 'target_label', and no other fields",
                self.action_name()
            ));
        }
        if matches!(self.action, LabelDrop | LabelKeep)
            && (!self.source_labels.is_empty()
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != default_separator()
                || self.replacement != default_replacement())
        {
            return Err(format!(
                "{} action requires only 'regex', and no other fields",
                self.action_name()
            ));
        }
        Ok(())
    }

    fn action_name(&self) -> &'static str {
        match self.action {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }
}

fn set(labels: &mut LabelMap, name: String, value: String) {
    if value.is_empty() {
        labels.remove(&name);
    } else {
        labels.insert(name, value);
    }
}

/// Applies `rules` in order. Returns false when a rule drops the target or sample.
pub fn relabel(labels: &mut LabelMap, rules: &[RelabelConfig]) -> bool {
    rules.iter().all(|r| apply(labels, r))
}

fn apply(labels: &mut LabelMap, cfg: &RelabelConfig) -> bool {
    let mut val = String::new();
    for (i, name) in cfg.source_labels.iter().enumerate() {
        if i > 0 {
            val.push_str(&cfg.separator);
        }
        if let Some(v) = labels.get(name) {
            val.push_str(v);
        }
    }
    let target_value = || labels.get(&cfg.target_label).map_or("", String::as_str);
    match cfg.action {
        Action::Drop => !cfg.regex.is_match(&val),
        Action::Keep => cfg.regex.is_match(&val),
        Action::DropEqual => val != target_value(),
        Action::KeepEqual => val == target_value(),
        Action::Replace => {
            let Some(caps) = cfg.regex.regex.captures(&val) else {
                return true;
            };
            let mut target = String::new();
            caps.expand(&cfg.target_label, &mut target);
            if !is_valid_label_name(&target) {
                return true;
            }
            let mut res = String::new();
            caps.expand(&cfg.replacement, &mut res);
            set(labels, target, res);
            true
        }
        Action::Lowercase => {
            set(labels, cfg.target_label.clone(), val.to_lowercase());
            true
        }
        Action::Uppercase => {
            set(labels, cfg.target_label.clone(), val.to_uppercase());
            true
        }
        Action::HashMod => {
            let digest = md5(val.as_bytes());
            let mut last = [0u8; 8];
            last.copy_from_slice(&digest[8..]);
            let m = u64::from_be_bytes(last) % cfg.modulus.max(1);
            set(labels, cfg.target_label.clone(), m.to_string());
            true
        }
        Action::LabelMap => {
            let mut add = Vec::new();
            for (name, value) in labels.iter() {
                if cfg.regex.is_match(name) {
                    let new = cfg.regex.regex.replace_all(name, cfg.replacement.as_str());
                    add.push((new.into_owned(), value.clone()));
                }
            }
            for (n, v) in add {
                set(labels, n, v);
            }
            true
        }
        Action::LabelDrop => {
            labels.retain(|n, _| !cfg.regex.is_match(n));
            true
        }
        Action::LabelKeep => {
            labels.retain(|n, _| cfg.regex.is_match(n));
            true
        }
    }
}

/// MD5 (RFC 1321), only for `hashmod`, whose sharding must agree with Prometheus's.
fn md5(input: &[u8]) -> [u8; 16] {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: [u32; 64] =
        std::array::from_fn(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32);
    let mut msg = input.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((input.len() as u64).wrapping_mul(8)).to_le_bytes());
    let (mut a0, mut b0, mut c0, mut d0) = (
        0x6745_2301u32,
        0xefcd_ab89u32,
        0x98ba_dcfeu32,
        0x1032_5476u32,
    );
    for block in msg.chunks_exact(64) {
        let m: [u32; 16] = std::array::from_fn(|i| {
            u32::from_le_bytes([
                block[4 * i],
                block[4 * i + 1],
                block[4 * i + 2],
                block[4 * i + 3],
            ])
        });
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    let mut out = [0u8; 16];
    for (i, w) in [a0, b0, c0, d0].iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rules(yaml: &str) -> Vec<RelabelConfig> {
        let r: Vec<RelabelConfig> = serde_yaml_ng::from_str(yaml).unwrap();
        for x in &r {
            x.validate().unwrap();
        }
        r
    }

    fn map(pairs: &[(&str, &str)]) -> LabelMap {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn md5_known_answers() {
        let hex = |d: [u8; 16]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(hex(md5(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            hex(md5(b"The quick brown fox jumps over the lazy dog")),
            "9e107d9d372bb6826bd81d3542a419d6"
        );
    }

    #[test]
    fn replace_expands_groups_and_skips_invalid_targets() {
        let r = rules(
            r#"
- source_labels: [__address__]
  regex: '([^:]+):(\d+)'
  target_label: host
  replacement: '${1}'
- source_labels: [a]
  regex: '(.*)'
  target_label: '${1}'
  replacement: x
- source_labels: [missing]
  target_label: host2
"#,
        );
        let mut l = map(&[("__address__", "node1:9100"), ("a", "1bad")]);
        assert!(relabel(&mut l, &r));
        assert_eq!(l.get("host").map(String::as_str), Some("node1"));
        assert!(
            !l.contains_key("1bad"),
            "invalid target label name is skipped"
        );
        // Empty replacement result deletes the (absent) target: nothing added.
        assert!(!l.contains_key("host2"));
    }

    #[test]
    fn regex_is_anchored_and_keep_drop_work() {
        let r = rules("- source_labels: [job]\n  regex: nod\n  action: keep\n");
        assert!(!relabel(&mut map(&[("job", "node")]), &r));
        assert!(relabel(&mut map(&[("job", "nod")]), &r));
        let r = rules("- source_labels: [a, b]\n  regex: 'x;y'\n  action: drop\n");
        assert!(!relabel(&mut map(&[("a", "x"), ("b", "y")]), &r));
    }

    #[test]
    fn equal_actions_labelmap_labeldrop_case_and_hashmod() {
        let r = rules(
            r#"
- source_labels: [a]
  target_label: b
  action: keepequal
- regex: '__meta_(.+)'
  action: labelmap
- regex: 'tmp_.*'
  action: labeldrop
- source_labels: [a]
  target_label: up
  action: uppercase
- source_labels: [a]
  target_label: shard
  modulus: 8
  action: hashmod
"#,
        );
        let mut l = map(&[
            ("a", "Ab"),
            ("b", "Ab"),
            ("__meta_zone", "eu"),
            ("tmp_x", "1"),
        ]);
        assert!(relabel(&mut l, &r));
        assert_eq!(l.get("zone").map(String::as_str), Some("eu"));
        assert!(!l.contains_key("tmp_x"));
        assert_eq!(l.get("up").map(String::as_str), Some("AB"));
        let shard: u64 = l["shard"].parse().unwrap();
        assert!(shard < 8);
        assert!(!relabel(&mut map(&[("a", "1"), ("b", "2")]), &r[..1]));
    }

    #[test]
    fn config_checks_match_prometheus() {
        let bad = [
            "action: hashmod\ntarget_label: x",
            "action: lowercase",
            "action: labeldrop\nregex: x\nsource_labels: [a]",
            "action: keepequal\ntarget_label: x\nregex: y",
        ];
        for y in bad {
            let r: RelabelConfig = serde_yaml_ng::from_str(y).unwrap();
            assert!(r.validate().is_err(), "{y}");
        }
        assert!(serde_yaml_ng::from_str::<RelabelConfig>("regex: '('").is_err());
        assert!(serde_yaml_ng::from_str::<RelabelConfig>("action: explode").is_err());
    }
}
