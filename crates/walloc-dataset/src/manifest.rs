//! The manifest beside the shards: which model made the latents, their
//! shape and type, the classes, and what each split holds.

use serde::{Deserialize, Serialize};
use walloc::Model;

use crate::convert::Content;
use crate::shard::{Layout, Skipped};
use crate::Files;

/// The manifest's format name and version.
pub const MANIFEST_FORMAT: &str = "walloc-dataset/2";

/// The model a dataset's latents come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelEntry {
    /// The model's id (SHA-256 of its file).
    pub id: String,
    /// Its name.
    pub name: String,
    /// "image" or "audio".
    pub modality: String,
    /// Signal channels it codes.
    pub channels: u32,
    /// Packet levels J.
    pub levels: u32,
    /// Latent channels.
    pub latent_dim: u32,
    /// Bits per latent value.
    pub latent_bits: u8,
}

impl ModelEntry {
    /// The entry of `model`.
    pub fn of(model: &Model) -> Self {
        let c = model.config();
        ModelEntry {
            id: model.id().to_string(),
            name: c.name.clone(),
            modality: c.modality.to_string(),
            channels: c.channels,
            levels: c.levels,
            latent_dim: c.latent_dim,
            latent_bits: c.latent_bits,
        }
    }
}

/// One split of a dataset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitEntry {
    /// "train", "test", …
    pub name: String,
    /// Items planned.
    pub items: usize,
    /// Rows written.
    pub rows: usize,
    /// Shard files, relative to the dataset folder.
    pub shards: Vec<String>,
}

/// What a dataset folder holds (`manifest.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: String,
    /// The model.
    pub model: ModelEntry,
    /// Parquet shards or latent images.
    pub files: Files,
    /// Latents or `.wal` bytes.
    pub content: Content,
    /// The latent column's layout (`fixed` with the tensor shape, or
    /// `variable`).
    pub layout: Layout,
    /// The latent values' type.
    pub dtype: String,
    /// Classes, in label order.
    pub classes: Vec<String>,
    /// The splits.
    pub splits: Vec<SplitEntry>,
    /// Bytes of the source files planned.
    pub source_bytes: u64,
    /// Bytes of the shards.
    pub dataset_bytes: u64,
    /// Items left out, with why.
    pub skipped: Vec<Skipped>,
}
