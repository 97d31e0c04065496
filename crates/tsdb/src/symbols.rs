//! Interned label strings: each distinct name and value is held once per store, and a series
//! holds its label set as a short run of varint symbol ids.
//!
//! Label text is most of what a series costs beyond its samples (a typical set is ~100 bytes of
//! text over 5-6 pairs, most of it repeated across series: metric names, jobs, codes), so a
//! series keeping ~15-25 bytes of symbol ids instead of its own packed copy is the largest single
//! saving in `memory_per_series_100k`. Symbols are reference-counted by the series using them,
//! so removing series frees strings no live series needs.

use std::hash::Hasher;

use hashbrown::HashTable;

use crate::labels::put_uvarint;
use crate::store::WordHasher;

/// The store's strings by symbol id, and ids by string.
#[derive(Debug, Default)]
pub(crate) struct Symbols {
    /// A string and how many label sets use it (a name or value used twice in one set counts
    /// twice); 0 marks a free slot.
    strings: Vec<(Box<str>, u32)>,
    free: Vec<u32>,
    by_str: HashTable<u32>,
}

fn hash_str(s: &str) -> u64 {
    let mut h = WordHasher::default();
    h.write(s.as_bytes());
    h.finish()
}

impl Symbols {
    /// The id of `s`, added if new; counts one more use.
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        let h = hash_str(s);
        let strings = &self.strings;
        if let Some(&id) = self
            .by_str
            .find(h, |&i| strings.get(i as usize).is_some_and(|e| &*e.0 == s))
        {
            if let Some(e) = self.strings.get_mut(id as usize) {
                e.1 += 1;
            }
            return id;
        }
        let id = match self.free.pop() {
            Some(id) => {
                self.strings[id as usize] = (s.into(), 1);
                id
            }
            None => {
                self.strings.push((s.into(), 1));
                (self.strings.len() - 1) as u32
            }
        };
        let strings = &self.strings;
        self.by_str.insert_unique(h, id, |&i| {
            strings.get(i as usize).map_or(0, |e| hash_str(&e.0))
        });
        id
    }

    /// The string of a symbol ("" for an id that is not one).
    #[inline]
    pub(crate) fn get(&self, id: u32) -> &str {
        self.strings.get(id as usize).map_or("", |e| &e.0)
    }

    /// Counts one use less; the string is freed when no label set uses it.
    pub(crate) fn release(&mut self, id: u32) {
        let Some(e) = self.strings.get_mut(id as usize) else {
            return;
        };
        e.1 = e.1.saturating_sub(1);
        if e.1 > 0 {
            return;
        }
        let h = hash_str(&e.0);
        if let Ok(entry) = self.by_str.find_entry(h, |&i| i == id) {
            entry.remove();
        }
        self.strings[id as usize].0 = Box::default();
        self.free.push(id);
    }

    /// Interns a label set's strings into its symbol form.
    pub(crate) fn encode<'a>(
        &mut self,
        len: usize,
        pairs: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> SymbolLabels {
        let mut buf = Vec::with_capacity(1 + 2 * len);
        put_uvarint(&mut buf, len as u64);
        for (n, v) in pairs {
            put_uvarint(&mut buf, u64::from(self.intern(n)));
            put_uvarint(&mut buf, u64::from(self.intern(v)));
        }
        SymbolLabels(buf.into_boxed_slice())
    }

    /// Releases every string of a label set.
    pub(crate) fn release_all(&mut self, labels: &SymbolLabels) {
        for (n, v) in labels.ids() {
            self.release(n);
            self.release(v);
        }
    }

    /// `(name, value)` pairs of a label set, in name order.
    pub(crate) fn pairs<'a>(
        &'a self,
        labels: &'a SymbolLabels,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + Clone + 'a {
        labels.ids().map(|(n, v)| (self.get(n), self.get(v)))
    }

    /// The value of label `name` in a set.
    pub(crate) fn value<'a>(&'a self, labels: &'a SymbolLabels, name: &str) -> Option<&'a str> {
        self.pairs(labels).find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Heap bytes: strings, their slots and the lookup table.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.strings.iter().map(|e| e.0.len()).sum::<usize>()
            + self.strings.capacity() * std::mem::size_of::<(Box<str>, u32)>()
            + self.free.capacity() * 4
            + self.by_str.capacity() * 5
    }
}

/// A label set as symbol ids: a varint pair count, then name and value ids as varints.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SymbolLabels(Box<[u8]>);

impl SymbolLabels {
    /// `(name id, value id)` pairs.
    pub(crate) fn ids(&self) -> impl Iterator<Item = (u32, u32)> + Clone + '_ {
        let b = &self.0[..];
        let mut pos = 0;
        let n = get_uvarint(b, &mut pos);
        (0..n).map(move |_| {
            let name = get_uvarint(b, &mut pos) as u32;
            let value = get_uvarint(b, &mut pos) as u32;
            (name, value)
        })
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.len()
    }
}

/// Reads a varint written by `put_uvarint` (store-internal bytes; 0 past the end).
#[inline]
fn get_uvarint(b: &[u8], pos: &mut usize) -> u64 {
    let mut x = 0u64;
    let mut shift = 0;
    while let Some(&byte) = b.get(*pos) {
        *pos += 1;
        x |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 || shift >= 63 {
            break;
        }
        shift += 7;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_shared_counted_and_freed() {
        let mut s = Symbols::default();
        let a = s.encode(2, [("job", "api"), ("x", "api")].into_iter());
        let b = s.encode(1, [("job", "db")].into_iter());
        assert_eq!(
            s.pairs(&a).collect::<Vec<_>>(),
            vec![("job", "api"), ("x", "api")]
        );
        assert_eq!(s.value(&b, "job"), Some("db"));
        assert_eq!(s.value(&b, "x"), None);
        // "job", "api", "x", "db": four strings.
        assert_eq!(s.by_str.len(), 4);
        s.release_all(&a);
        assert_eq!(s.by_str.len(), 2, "api and x are gone, job stays for b");
        assert_eq!(s.pairs(&b).collect::<Vec<_>>(), vec![("job", "db")]);
        // A freed slot is reused, and the new string is found by its text.
        let c = s.encode(1, [("job", "new")].into_iter());
        assert_eq!(s.strings.len(), 4);
        assert_eq!(s.value(&c, "job"), Some("new"));
        let again = s.encode(1, [("job", "new")].into_iter());
        assert_eq!(again, c);
    }
}
