//! The page's store on disk: a base snapshot plus "since" deltas in the origin private file
//! system, listed by a small manifest that is written last.
//!
//! Every file is replaced through `createWritable`, which swaps the new contents in only when
//! the write completes, and a snapshot file is only ever named by a manifest after it was
//! written whole. A tab killed at any point therefore leaves a manifest naming complete files;
//! each snapshot also carries its own CRC-32s, so a damaged delta is dropped (with what follows
//! it) and the rest restored. Files no manifest names are deleted after the manifest is written.
//!
//! One tab writes (it holds the Web Lock [`WRITER_LOCK`] for its life); others only read.
//! Reading and writing a set of files happens under [`FILES_LOCK`] (shared to read, exclusive to
//! write), so a reader never sees a base deleted by a compaction under it.

use lookout_tsdb::{Retention, Store};

use super::opfs::{self, Directory, FsError};

/// The directory under the origin private file system.
pub const DIR: &str = "lookout-cache";
pub const MANIFEST: &str = "manifest";
pub const FILES_LOCK: &str = "lookout-cache-files";
pub const WRITER_LOCK: &str = "lookout-cache-writer";
/// Compact into a new base past this many deltas...
const MAX_DELTAS: usize = 48;
/// ... or when the deltas together exceed this share of the base (and this floor).
const DELTA_SHARE: f64 = 0.5;
const DELTA_FLOOR: u64 = 256 << 10;

/// Which files make up the cache, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Bumped on every write: names new files and tells a new writer whether its store still
    /// matches the files.
    pub generation: u64,
    pub base: Option<(String, u64)>,
    pub deltas: Vec<(String, u64)>,
    /// Newest sample timestamp in the cache, ms.
    pub newest: Option<i64>,
}

impl Manifest {
    pub fn encode(&self) -> String {
        let mut out = format!("lookout-cache 1\ngeneration {}\n", self.generation);
        if let Some(t) = self.newest {
            out.push_str(&format!("newest {t}\n"));
        }
        if let Some((name, bytes)) = &self.base {
            out.push_str(&format!("base {name} {bytes}\n"));
        }
        for (name, bytes) in &self.deltas {
            out.push_str(&format!("delta {name} {bytes}\n"));
        }
        out
    }

    /// Parses a manifest; anything unexpected is an error naming the line (the cache is then
    /// treated as empty, never half-trusted).
    pub fn decode(text: &str) -> Result<Manifest, String> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, "lookout-cache 1")) => {}
            other => return Err(format!("not a version 1 cache manifest: {other:?}")),
        }
        let mut m = Manifest::default();
        for (i, line) in lines {
            let bad = || format!("manifest line {}: {line:?}", i + 1);
            let fields: Vec<&str> = line.split(' ').collect();
            match fields.as_slice() {
                ["generation", n] => m.generation = n.parse().map_err(|_| bad())?,
                ["newest", t] => m.newest = Some(t.parse().map_err(|_| bad())?),
                [kind @ ("base" | "delta"), name, bytes] => {
                    if !valid_file_name(name, kind) {
                        return Err(bad());
                    }
                    let entry = ((*name).to_owned(), bytes.parse().map_err(|_| bad())?);
                    if *kind == "base" {
                        if m.base.is_some() {
                            return Err(bad());
                        }
                        m.base = Some(entry);
                    } else {
                        m.deltas.push(entry);
                    }
                }
                [""] => {}
                _ => return Err(bad()),
            }
        }
        if m.base.is_none() && !m.deltas.is_empty() {
            return Err("manifest lists deltas without a base".into());
        }
        Ok(m)
    }

    /// The files the manifest names.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.base
            .iter()
            .chain(&self.deltas)
            .map(|(name, _)| name.as_str())
    }

    /// Whether the next write should be a new base rather than one more delta.
    pub fn needs_compaction(&self) -> bool {
        let Some((_, base)) = self.base else {
            return true;
        };
        let deltas: u64 = self.deltas.iter().map(|d| d.1).sum();
        self.deltas.len() >= MAX_DELTAS
            || (deltas > DELTA_FLOOR && deltas as f64 > base as f64 * DELTA_SHARE)
    }
}

fn valid_file_name(name: &str, kind: &str) -> bool {
    name.strip_prefix(kind)
        .and_then(|r| r.strip_prefix('-'))
        .and_then(|r| r.strip_suffix(".lkts"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Newest sample timestamp in a store.
pub fn newest_sample(store: &Store) -> Option<i64> {
    (0..store.id_bound())
        .filter_map(|i| store.time_range(lookout_tsdb::SeriesId(i)))
        .map(|r| r.1)
        .max()
}

/// What a restore found.
#[derive(Debug)]
pub struct Restored {
    pub store: Store,
    pub manifest: Manifest,
    /// Files that could not be used (damaged or missing), with why; the rest was restored.
    pub problems: Vec<String>,
}

/// Reads the cache under the shared files lock. `Ok(None)`: nothing cached yet.
pub async fn restore() -> Result<Option<Restored>, FsError> {
    let dir = opfs::directory(DIR).await?;
    opfs::with_lock(FILES_LOCK, false, async move { read_all(&dir).await }).await?
}

async fn read_all(dir: &Directory) -> Result<Option<Restored>, FsError> {
    let Some(text) = opfs::read(dir, MANIFEST).await? else {
        return Ok(None);
    };
    let mut problems = Vec::new();
    let manifest = match Manifest::decode(&String::from_utf8_lossy(&text)) {
        Ok(m) => m,
        Err(e) => {
            problems.push(e);
            return Ok(Some(Restored {
                store: Store::default(),
                manifest: Manifest::default(),
                problems,
            }));
        }
    };
    let mut store = Store::default();
    for (i, name) in manifest.files().enumerate() {
        let result = match opfs::read(dir, name).await? {
            None => Err("missing".to_owned()),
            Some(bytes) if i == 0 => Store::from_snapshot(&bytes)
                .map(|s| store = s)
                .map_err(|e| e.to_string()),
            Some(bytes) => store
                .apply_snapshot(&bytes)
                .map(|_| ())
                .map_err(|e| e.to_string()),
        };
        if let Err(e) = result {
            // A delta only makes sense on top of all before it: stop at the first bad one.
            problems.push(format!("{name}: {e}"));
            break;
        }
    }
    Ok(Some(Restored {
        store,
        manifest,
        problems,
    }))
}

/// Deletes the whole cache.
pub async fn clear() -> Result<(), FsError> {
    opfs::with_lock(FILES_LOCK, true, async { opfs::remove_tree(DIR).await }).await?
}

/// What a flush did, for the settings panel and the user.
#[derive(Debug, Clone, PartialEq)]
pub enum Flushed {
    Nothing,
    Base { bytes: u64 },
    Delta { bytes: u64 },
}

/// The writing tab's view of the files.
#[derive(Debug)]
pub struct Writer {
    dir: Directory,
    pub manifest: Manifest,
    /// The store's mark when the files last matched it; `None`: the next write is a base.
    mark: Option<u64>,
}

impl Writer {
    /// Takes over the files. `restored`: the generation and store mark right after this page
    /// restored. If nobody wrote since, deltas continue from there. Otherwise (another tab wrote
    /// after this page restored, or this page's restore failed) the files may hold data this
    /// page lacks: they are read again and returned, for the page to merge into its store
    /// before the first write, which is then a new base. A new base of a store that lacks what
    /// the files hold would lose it; when the files cannot be read, this returns the error and
    /// nothing is written.
    pub async fn open(restored: Option<(u64, u64)>) -> Result<(Writer, Option<Restored>), FsError> {
        let dir = opfs::directory(DIR).await?;
        let current = {
            let dir = dir.clone();
            opfs::with_lock(FILES_LOCK, false, async move {
                opfs::read(&dir, MANIFEST).await.map(|text| {
                    text.and_then(|t| Manifest::decode(&String::from_utf8_lossy(&t)).ok())
                })
            })
            .await??
        };
        if let (Some(m), Some((generation, mark))) = (current, restored)
            && m.base.is_some()
            && m.generation == generation
        {
            return Ok((
                Writer {
                    dir,
                    manifest: m,
                    mark: Some(mark),
                },
                None,
            ));
        }
        let files = {
            let dir = dir.clone();
            opfs::with_lock(FILES_LOCK, false, async move { read_all(&dir).await }).await??
        };
        let manifest = files
            .as_ref()
            .map(|r| r.manifest.clone())
            .unwrap_or_default();
        Ok((
            Writer {
                dir,
                manifest,
                mark: None,
            },
            files,
        ))
    }

    /// The next write will be a whole base (after eviction, an import, or a damaged cache).
    pub fn rebase(&mut self) {
        self.mark = None;
    }

    /// Encodes what changed (a delta, or a base when due) from `store` — the only part that runs
    /// on the main thread — or `None` when nothing changed.
    pub fn encode(&self, store: &Store) -> Option<(bool, Vec<u8>, u64)> {
        match self.mark {
            Some(m) if !self.manifest.needs_compaction() => {
                (store.mark() != m).then(|| (false, store.snapshot_since(m), store.mark()))
            }
            _ => Some((true, store.snapshot(), store.mark())),
        }
    }

    /// Writes an encoded snapshot and then the manifest naming it, under the files lock; then
    /// deletes files no manifest names. On error the previous files stay as they were.
    pub async fn commit(
        &mut self,
        (base, bytes, mark): (bool, Vec<u8>, u64),
        newest: Option<i64>,
    ) -> Result<Flushed, FsError> {
        let mut next = self.manifest.clone();
        next.generation += 1;
        next.newest = newest.or(next.newest);
        let name = format!(
            "{}-{}.lkts",
            if base { "base" } else { "delta" },
            next.generation
        );
        let len = bytes.len() as u64;
        if base {
            next.base = Some((name.clone(), len));
            next.deltas.clear();
        } else {
            next.deltas.push((name.clone(), len));
        }
        let dir = self.dir.clone();
        let text = next.encode();
        opfs::with_lock(FILES_LOCK, true, async move {
            opfs::write(&dir, &name, &bytes).await?;
            opfs::write(&dir, MANIFEST, text.as_bytes()).await?;
            let keep: Vec<&str> = next.files().chain([MANIFEST]).collect();
            for f in opfs::list(&dir).await.unwrap_or_default() {
                if !keep.contains(&f.as_str()) {
                    opfs::remove(&dir, &f).await?;
                }
            }
            Ok::<_, FsError>(next)
        })
        .await?
        .map(|next| {
            self.manifest = next;
            self.mark = Some(mark);
            if base {
                Flushed::Base { bytes: len }
            } else {
                Flushed::Delta { bytes: len }
            }
        })
    }

    /// Drops the cache's files to make room when even a smaller base does not fit beside them.
    /// Until the next commit there is no cache; restores then start empty.
    pub async fn drop_files(&mut self) -> Result<(), FsError> {
        let dir = self.dir.clone();
        opfs::with_lock(FILES_LOCK, true, async move {
            opfs::remove(&dir, MANIFEST).await?;
            for f in opfs::list(&dir).await.unwrap_or_default() {
                opfs::remove(&dir, &f).await?;
            }
            Ok::<_, FsError>(())
        })
        .await??;
        self.manifest.base = None;
        self.manifest.deltas.clear();
        self.mark = None;
        Ok(())
    }
}

/// Evicts the oldest chunks so the store's bytes are at most `budget`; returns the newest
/// dropped timestamp, if anything went.
pub fn evict(store: &mut Store, budget: usize) -> Option<i64> {
    let report = store.apply_retention(Retention {
        min_time: None,
        max_bytes: Some(budget),
    });
    (report.chunks > 0)
        .then_some(report.dropped_through)
        .flatten()
}

/// Evicts the oldest half of the samples' bytes (labels and index stay). Halving the store's
/// total instead would take every sample of a young store, which is mostly labels, the newest
/// samples too, and leave its panels blank until the next scrape.
pub fn evict_half(store: &mut Store) -> Option<i64> {
    let stats = store.stats();
    evict(store, stats.overhead_bytes + stats.chunk_bytes / 2)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn evicting_half_of_a_young_wide_store_keeps_the_newest_samples() {
        // 300 series with a few samples each: one open head chunk apiece, labels outweigh data.
        let mut store = Store::default();
        for i in 0..300 {
            let labels = lookout_tsdb::Labels::new([
                ("__name__", "e2e_wide"),
                ("instance", "some-host.example:9100"),
                ("i", i.to_string().as_str()),
            ]);
            let id = store.series_id(&labels);
            for t in 0..8i64 {
                let _ = store.append(id, t * 100 + i, (t as f64 * 0.618 + i as f64).sin());
            }
        }
        let before = store.stats();
        assert!(before.overhead_bytes > before.chunk_bytes, "{before:?}");
        assert!(evict_half(&mut store).is_some());
        let after = store.stats();
        assert!(after.samples > 0, "every sample went: {after:?}");
        // Half the samples' bytes were freed (emptied series take their labels with them).
        assert!(
            after.total_bytes() <= before.total_bytes() - before.chunk_bytes / 2,
            "{before:?} -> {after:?}"
        );
        assert!(
            after.chunk_bytes < before.chunk_bytes,
            "{before:?} -> {after:?}"
        );
        // The newest samples are among those kept.
        let newest = lookout_tsdb::Labels::new([
            ("__name__", "e2e_wide"),
            ("instance", "some-host.example:9100"),
            ("i", "299"),
        ]);
        let id = store.lookup(&newest).unwrap();
        assert_eq!(store.time_range(id), Some((299, 7 * 100 + 299)));
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn manifests_round_trip_and_refuse_what_they_do_not_know() {
        let m = Manifest {
            generation: 7,
            base: Some(("base-5.lkts".into(), 1000)),
            deltas: vec![("delta-6.lkts".into(), 10), ("delta-7.lkts".into(), 20)],
            newest: Some(1_700_000_000_000),
        };
        assert_eq!(Manifest::decode(&m.encode()), Ok(m.clone()));
        assert_eq!(
            m.files().collect::<Vec<_>>(),
            ["base-5.lkts", "delta-6.lkts", "delta-7.lkts"]
        );
        for bad in [
            "",
            "lookout-cache 2\n",
            "lookout-cache 1\nbase ../x.lkts 10\n",
            "lookout-cache 1\nbase base-1.lkts ten\n",
            "lookout-cache 1\ndelta delta-2.lkts 10\n",
            "lookout-cache 1\nbase base-1.lkts 1\nbase base-2.lkts 1\n",
            "lookout-cache 1\ngeneration\n",
        ] {
            assert!(Manifest::decode(bad).is_err(), "{bad:?}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn deltas_are_compacted_when_they_grow() {
        let mut m = Manifest::default();
        assert!(m.needs_compaction(), "no base yet");
        m.base = Some(("base-1.lkts".into(), 1 << 20));
        assert!(!m.needs_compaction());
        m.deltas = vec![("delta-2.lkts".into(), 600 << 10)];
        assert!(m.needs_compaction(), "deltas past half the base");
        m.deltas = (0..MAX_DELTAS)
            .map(|i| (format!("delta-{i}.lkts"), 1))
            .collect();
        assert!(m.needs_compaction(), "too many deltas");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn a_base_plus_deltas_restores_the_store_and_replays_do_not_double() {
        let mut store = Store::default();
        let labels = lookout_tsdb::Labels::new([("__name__", "m"), ("i", "1")]);
        let id = store.series_id(&labels);
        for t in 0..300 {
            let _ = store.append(id, t * 15_000, t as f64);
        }
        let base = store.snapshot();
        let mark = store.mark();
        for t in 300..400 {
            let _ = store.append(id, t * 15_000, t as f64);
        }
        let delta1 = store.snapshot_since(mark);
        let mark = store.mark();
        for t in 400..410 {
            let _ = store.append(id, t * 15_000, t as f64);
        }
        let delta2 = store.snapshot_since(mark);

        let mut restored = Store::from_snapshot(&base).unwrap();
        restored.apply_snapshot(&delta1).unwrap();
        restored.apply_snapshot(&delta2).unwrap();
        let rid = restored.lookup(&labels).unwrap();
        let got: Vec<_> = restored.samples(rid, i64::MIN, i64::MAX).collect();
        let want: Vec<_> = store.samples(id, i64::MIN, i64::MAX).collect();
        assert_eq!(got, want);
        assert_eq!(newest_sample(&restored), Some(409 * 15_000));
        // The stream replaying what the cache already holds (history from the newest sample
        // back) adds nothing.
        for t in 350..410 {
            assert!(!matches!(
                restored.append(rid, t * 15_000, t as f64),
                Ok(lookout_tsdb::Appended::Stored)
            ));
        }
        assert_eq!(restored.samples(rid, i64::MIN, i64::MAX).count(), 410);
        // Delta applied twice (a tab killed after the delta but before the manifest named it,
        // then the same data again): no duplicates either.
        restored.apply_snapshot(&delta2).unwrap();
        assert_eq!(restored.samples(rid, i64::MIN, i64::MAX).count(), 410);
    }
}
