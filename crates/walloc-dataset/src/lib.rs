#![warn(missing_docs)]
//! Datasets of walloc latents, for learning on compressed signals.
//!
//! [`plan::plan`] lists a labelled collection (ImageFolder's `CLASS/file`
//! convention, or a CSV/JSONL of `path,label`) and divides it into splits;
//! [`build`] turns every item into its integer latent (or its `.wal`
//! bytes) in parallel and writes Parquet shards, `SPLIT/part-NNNNN.parquet`,
//! each atomically, then `manifest.json`. A rerun finds the shards already
//! written and converts only the rest; an item that cannot be read is
//! reported with its error and skipped (or, when strict, stops the run),
//! and every shard records what it skipped. [`Conversion`] splits the same
//! work into [`ShardJob`]s for a distributed engine (the Python package's
//! `walloc.data.build` runs them on Dask or Ray). [`shard::read`] reads rows
//! back, for training in Rust; pyarrow, HF `datasets`, DuckDB or Spark read
//! the shards without walloc.

pub mod convert;
pub mod error;
pub mod manifest;
pub mod plan;
pub mod shard;
mod tiles;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use walloc::{Modality, Model};

pub use convert::{Content, Row};
pub use error::{DatasetError, Result};
pub use manifest::Manifest;
pub use plan::{plan, Item, Plan, SplitRule};
pub use shard::Layout;

use manifest::{ModelEntry, SplitEntry, MANIFEST_FORMAT};
use shard::{ShardRecord, Skipped};

/// How a dataset's items are stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Files {
    /// Parquet shards, `SPLIT/part-NNNNN.parquet`.
    #[default]
    Parquet,
    /// The reference's layout: one lossless WebP latent image per item,
    /// `SPLIT/NAME.webp` (image models whose latent tiles).
    WebpTiles,
}

/// How to build a dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Parquet shards or latent images.
    pub files: Files,
    /// Latents or `.wal` bytes (Parquet only).
    pub content: Content,
    /// Items per shard.
    pub shard_size: usize,
    /// Stop at the first item that cannot be converted, instead of
    /// reporting and skipping it.
    pub strict: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            files: Files::Parquet,
            content: Content::Latent,
            shard_size: 4096,
            strict: false,
        }
    }
}

impl Options {
    /// The same options writing `files`.
    pub fn with_files(self, files: Files) -> Self {
        Options { files, ..self }
    }

    /// The same options storing `content`.
    pub fn with_content(self, content: Content) -> Self {
        Options { content, ..self }
    }

    /// The same options with `shard_size` items per shard.
    pub fn with_shard_size(self, shard_size: usize) -> Self {
        Options { shard_size, ..self }
    }

    /// The same options, strict or not.
    pub fn with_strict(self, strict: bool) -> Self {
        Options { strict, ..self }
    }
}

/// What a dataset folder was started with: a rerun must match it to reuse
/// the shards it finds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Fingerprint {
    format: String,
    model: String,
    files: Files,
    content: Content,
    shard_size: usize,
    splits: Vec<(String, usize, String, String)>,
}

const FINGERPRINT: &str = ".walloc-plan.json";

impl Fingerprint {
    fn of(model: &Model, plan: &Plan, options: &Options) -> Self {
        let splits = plan
            .splits
            .iter()
            .map(|(name, items)| {
                let edge = |item: Option<&Item>| item.map_or_else(String::new, |i| i.name.clone());
                (name.clone(), items.len(), edge(items.first()), edge(items.last()))
            })
            .collect();
        Fingerprint {
            format: MANIFEST_FORMAT.into(),
            model: model.id().to_string(),
            files: options.files,
            content: options.content,
            shard_size: options.shard_size,
            splits,
        }
    }

    /// Writes this fingerprint in `out`, or checks it against the one there.
    fn claim(&self, out: &Path) -> Result<()> {
        let path = out.join(FINGERPRINT);
        let json = serde_json::to_string_pretty(self).map_err(|e| DatasetError::Invalid(e.to_string()))?;
        match std::fs::read_to_string(&path) {
            Ok(found) if found == json => Ok(()),
            Ok(_) => Err(DatasetError::Invalid(format!(
                "{} holds a dataset of another model, source or options: use a new folder, or remove it to start over",
                out.display()
            ))),
            Err(_) => write_atomically(&path, json.as_bytes()),
        }
    }
}

pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| DatasetError::io("creating a file in", dir, e))?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(|e| DatasetError::io("writing", path, e))?;
    tmp.persist(path)
        .map_err(|e| DatasetError::io("writing", path, e.error))?;
    Ok(())
}

/// The latent layout of a dataset: fixed when every image has one size
/// (read from the headers), else variable (and always for audio and coded
/// datasets).
fn layout(model: &Model, plan: &Plan, options: &Options) -> Layout {
    let config = model.config();
    if options.files != Files::Parquet || options.content == Content::Coded || config.modality != Modality::Image {
        return Layout::Variable;
    }
    let sizes: std::collections::BTreeSet<(u32, u32)> = plan
        .splits
        .par_iter()
        .flat_map(|(_, items)| items.par_iter())
        .filter_map(|item| walloc_io::image::dimensions(&item.path).ok())
        .collect();
    match sizes.into_iter().collect::<Vec<_>>()[..] {
        [(width, height)] => {
            let side = |v: u32| v.div_ceil(1 << config.levels);
            Layout::Fixed(vec![config.latent_dim, side(height), side(width)])
        }
        _ => Layout::Variable,
    }
}

/// What [`build`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The manifest written.
    pub manifest: Manifest,
    /// Shards written by this run.
    pub written: usize,
    /// Shards found finished from an earlier run.
    pub reused: usize,
}

impl std::fmt::Display for Summary {
    /// Two lines: items, files written and reused, skipped; sizes and the
    /// latent layout (the skipped items themselves are in the manifest).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = &self.manifest;
        let rows: usize = m.splits.iter().map(|s| s.rows).sum();
        writeln!(
            f,
            "{rows} items in {} files ({} written, {} reused), {} skipped",
            self.written + self.reused,
            self.written,
            self.reused,
            m.skipped.len()
        )?;
        writeln!(
            f,
            "dataset {:.2} MB, source files {:.2} MB ({:.1}:1); latents {}",
            m.dataset_bytes as f64 / 1e6,
            m.source_bytes as f64 / 1e6,
            m.source_bytes as f64 / m.dataset_bytes.max(1) as f64,
            m.layout
        )
    }
}

/// What writing a dataset's files did.
#[derive(Default)]
pub(crate) struct Written {
    /// The splits, with their rows and files.
    pub splits: Vec<SplitEntry>,
    /// Items left out.
    pub skipped: Vec<Skipped>,
    /// Bytes of the dataset's files.
    pub bytes: u64,
    /// Files (shards or latent images) written by this run.
    pub written: usize,
    /// Files found finished from an earlier run.
    pub reused: usize,
}

/// The file of shard `index` of split `split`, `SPLIT/part-NNNNN.parquet`.
fn shard_file(split: &str, index: usize) -> String {
    format!("{split}/part-{index:05}.parquet")
}

/// A dataset being built: the folder claimed for `plan` and `options`,
/// the latent layout settled. [`build`] runs it on this machine; a
/// distributed engine sends each of [`Conversion::shards`] to a worker,
/// which runs [`ShardJob::run`], and then calls [`Conversion::finish`].
#[derive(Clone, Debug)]
pub struct Conversion {
    model: Model,
    plan: Plan,
    out: PathBuf,
    options: Options,
    layout: Layout,
}

impl Conversion {
    /// Checks `options`, creates `out` and claims it for this dataset (a
    /// folder started with another model, source or options is refused),
    /// and settles the latent layout from the files' headers.
    pub fn new(model: &Model, plan: &Plan, out: &Path, options: &Options) -> Result<Self> {
        if options.shard_size == 0 {
            return Err(DatasetError::Invalid("shards hold at least one item".into()));
        }
        if options.files == Files::WebpTiles && options.content == Content::Coded {
            return Err(DatasetError::Invalid(
                "latent images hold latents: --coded needs Parquet".into(),
            ));
        }
        std::fs::create_dir_all(out).map_err(|e| DatasetError::io("creating", out, e))?;
        Fingerprint::of(model, plan, options).claim(out)?;
        Ok(Conversion {
            model: model.clone(),
            plan: plan.clone(),
            out: out.to_path_buf(),
            options: options.clone(),
            layout: layout(model, plan, options),
        })
    }

    /// The Parquet shards to write, in order (none for latent images).
    pub fn shards(&self) -> Vec<ShardJob> {
        if self.options.files != Files::Parquet {
            return Vec::new();
        }
        let latent_axes = if self.model.config().modality == Modality::Image {
            3
        } else {
            2
        };
        self.plan
            .splits
            .iter()
            .flat_map(|(name, items)| {
                items
                    .chunks(self.options.shard_size)
                    .enumerate()
                    .map(move |(index, chunk)| ShardJob {
                        file: shard_file(name, index),
                        model: self.model.id().to_string(),
                        items: chunk
                            .iter()
                            .map(|item| (item.clone(), item.class.as_deref().and_then(|c| self.plan.label(c))))
                            .collect(),
                        content: self.options.content,
                        layout: self.layout.clone(),
                        latent_axes,
                        strict: self.options.strict,
                    })
            })
            .collect()
    }

    /// Writes `manifest.json` once every shard is written (`written` of them
    /// by this run, the others found finished), and says what was built.
    pub fn finish(&self, written: usize) -> Result<Summary> {
        let mut result = Written::default();
        for (name, items) in &self.plan.splits {
            let mut entry = SplitEntry {
                name: name.clone(),
                items: items.len(),
                rows: 0,
                shards: Vec::new(),
            };
            for index in 0..items.len().div_ceil(self.options.shard_size) {
                let file = shard_file(name, index);
                let path = self.out.join(&file);
                let record = shard::record(&path)
                    .map_err(|e| DatasetError::Invalid(format!("{file} is not written yet ({e})")))?;
                result.bytes += std::fs::metadata(&path)
                    .map_err(|e| DatasetError::io("reading", &path, e))?
                    .len();
                entry.rows += record.rows;
                entry.shards.push(file);
                result.skipped.extend(record.skipped);
            }
            result.splits.push(entry);
        }
        let shards: usize = result.splits.iter().map(|s| s.shards.len()).sum();
        result.written = written.min(shards);
        result.reused = shards - result.written;
        self.summarize(result)
    }

    /// Writes the manifest of what was written.
    fn summarize(&self, written: Written) -> Result<Summary> {
        let source_bytes = self
            .plan
            .splits
            .iter()
            .flat_map(|(_, items)| items)
            .filter_map(|item| std::fs::metadata(&item.path).ok())
            .map(|m| m.len())
            .sum();
        let manifest = Manifest {
            format: MANIFEST_FORMAT.into(),
            model: ModelEntry::of(&self.model),
            files: self.options.files,
            content: self.options.content,
            layout: self.layout.clone(),
            dtype: "int8".into(),
            classes: self.plan.classes.clone(),
            splits: written.splits,
            source_bytes,
            dataset_bytes: written.bytes,
            skipped: written.skipped,
        };
        let json = serde_json::to_string_pretty(&manifest).map_err(|e| DatasetError::Invalid(e.to_string()))?;
        write_atomically(&self.out.join("manifest.json"), json.as_bytes())?;
        Ok(Summary {
            manifest,
            written: written.written,
            reused: written.reused,
        })
    }
}

/// Builds the dataset of `plan` with `model` in `out`: every shard (or
/// latent image) not already there, then `manifest.json`. `done(n)` is
/// called as items are finished (from worker threads).
pub fn build(
    model: &Model,
    plan: &Plan,
    out: &Path,
    options: &Options,
    done: &(dyn Fn(u64) + Sync),
) -> Result<Summary> {
    let conversion = Conversion::new(model, plan, out, options)?;
    match options.files {
        Files::Parquet => {
            let mut written = 0;
            for job in conversion.shards() {
                written += usize::from(job.run(model, out, done)?);
            }
            conversion.finish(written)
        }
        Files::WebpTiles => conversion.summarize(tiles::build(model, plan, out, options, done)?),
    }
}

/// One Parquet shard to write: its file, its items with their labels, and
/// how to store them. It serializes (serde), so that a distributed engine
/// can send it to the worker that runs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardJob {
    /// The shard's file in the dataset folder, `SPLIT/part-NNNNN.parquet`.
    pub file: String,
    /// The id of the model the dataset is built with.
    pub model: String,
    /// The items, each with its class's label.
    pub items: Vec<(Item, Option<i32>)>,
    /// Latents or `.wal` bytes.
    pub content: Content,
    /// The dataset's latent layout.
    pub layout: Layout,
    /// Axes of a latent (3 for images, 2 for audio).
    pub latent_axes: i32,
    /// Stop at an item that cannot be converted.
    pub strict: bool,
}

impl ShardJob {
    /// Converts the items in parallel and writes the shard in `out`
    /// (atomically), unless a finished one is there: `true` when written.
    /// `done(n)` is called as items are finished.
    pub fn run(&self, model: &Model, out: &Path, done: &(dyn Fn(u64) + Sync)) -> Result<bool> {
        if model.id().to_string() != self.model {
            return Err(DatasetError::Invalid(format!(
                "this shard is for model {}, not {}",
                self.model,
                model.id()
            )));
        }
        let inside = Path::new(&self.file)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !inside || !self.file.ends_with(".parquet") {
            return Err(DatasetError::Invalid(format!(
                "shard file {:?}: a .parquet path inside the dataset folder is needed",
                self.file
            )));
        }
        let path = out.join(&self.file);
        if shard::record(&path).is_ok_and(|record| record.items == self.items.len()) {
            done(self.items.len() as u64);
            return Ok(false);
        }
        let dir = path.parent().unwrap_or(out);
        std::fs::create_dir_all(dir).map_err(|e| DatasetError::io("creating", dir, e))?;
        let results: Vec<Result<Row>> = self
            .items
            .par_iter()
            .map(|(item, label)| {
                let row = convert::convert(model, item, *label, self.content).and_then(|row| match &self.layout {
                    Layout::Fixed(shape) if self.content == Content::Latent && *shape != row.latent_shape => {
                        Err(DatasetError::Item {
                            path: item.name.clone(),
                            message: format!(
                                "its latent is {:?}, the dataset's {shape:?} (its header gave another size)",
                                row.latent_shape
                            ),
                        })
                    }
                    _ => Ok(row),
                });
                done(1);
                row
            })
            .collect();
        let (mut rows, mut skipped) = (Vec::new(), Vec::new());
        for ((item, _), result) in self.items.iter().zip(results) {
            match result {
                Ok(row) => rows.push(row),
                Err(error) if self.strict => return Err(error),
                Err(error) => skipped.push(Skipped {
                    path: item.name.clone(),
                    error: match error {
                        DatasetError::Item { message, .. } => message,
                        other => other.to_string(),
                    },
                }),
            }
        }
        let record = ShardRecord {
            items: self.items.len(),
            rows: rows.len(),
            skipped,
        };
        shard::write(&path, &rows, self.content, &self.layout, self.latent_axes, &record)?;
        Ok(true)
    }
}

/// The shard files of a dataset folder, as its manifest lists them.
pub fn shard_paths(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| DatasetError::io("reading", &path, e))?;
    let manifest: Manifest =
        serde_json::from_str(&text).map_err(|e| DatasetError::Invalid(format!("{}: {e}", path.display())))?;
    Ok(manifest
        .splits
        .iter()
        .flat_map(|s| s.shards.iter().map(|f| (s.name.clone(), dir.join(f))))
        .collect())
}
