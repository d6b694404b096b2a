//! Reading reference PyTorch checkpoints (`.pth`, a zip of pickles) with
//! the `pytorch-reader` crate, and converting them to safetensors under the
//! same parameter names, which is what [`crate::Weights`] reads.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use pytorch_reader::{DType, PytorchReader};
use safetensors::tensor::{Dtype, TensorView};

use crate::error::NnError;

/// The key of the state_dict in the published WaLLoC checkpoints.
pub const WALLOC_KEY: &str = "model_state_dict";
/// The key of the state_dict in livecodec (LiVeAction) checkpoints.
pub const LIVEACTION_KEY: &str = "state_dict";

/// A checkpoint's floating-point tensors as f32, by name. Integer entries
/// (such as BatchNorm counters) are left out.
#[derive(Debug)]
pub struct Checkpoint {
    tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
}

fn to_f32(dtype: DType, bytes: &[u8]) -> Option<Vec<f32>> {
    let words = |n: usize| bytes.chunks_exact(n);
    Some(match dtype {
        DType::F32 => words(4).map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect(),
        DType::F64 => words(8)
            .map(|b| f64::from_ne_bytes(b.try_into().expect("8 bytes")) as f32)
            .collect(),
        DType::F16 => words(2)
            .map(|b| half::f16::from_ne_bytes([b[0], b[1]]).to_f32())
            .collect(),
        DType::BF16 => words(2)
            .map(|b| half::bf16::from_ne_bytes([b[0], b[1]]).to_f32())
            .collect(),
        _ => return None,
    })
}

/// A copy of the zip archive at `path` (read from its start, as PyTorch
/// writes it) with every entry moved under the folder `archive/`, in a
/// temporary file deleted when dropped.
fn renamed_copy(path: &Path) -> Result<tempfile::NamedTempFile, NnError> {
    let error = |e: &dyn std::fmt::Display| NnError::File(format!("{}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| error(&e))?;
    let config = zip::read::Config {
        archive_offset: zip::read::ArchiveOffset::Known(0),
    };
    let mut archive = zip::ZipArchive::with_config(config, std::io::BufReader::new(file)).map_err(|e| error(&e))?;
    let copy = tempfile::NamedTempFile::new().map_err(|e| error(&e))?;
    let mut writer = zip::ZipWriter::new(copy.reopen().map_err(|e| error(&e))?);
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(|e| error(&e))?;
        let name = entry.name().map_err(|e| error(&e))?.to_string();
        let inner = name.split_once('/').map_or(name.as_str(), |(_, rest)| rest).to_string();
        writer
            .raw_copy_file_rename(entry, format!("archive/{inner}"))
            .map_err(|e| error(&e))?;
    }
    writer.finish().map_err(|e| error(&e))?;
    Ok(copy)
}

impl Checkpoint {
    /// Opens a checkpoint whose state_dict sits under `top_level_key`
    /// (`model_state_dict` for the published WaLLoC checkpoints), or at the
    /// top when the key is empty.
    ///
    /// The `zip` crate under `pytorch-reader` (9.8) misplaces the central
    /// directory of a zip64 archive whose first directory entry is exactly
    /// as long as the zip64 end records (76 bytes: PyTorch's, when the
    /// archive's folder, the file's stem, is 21 characters long) and
    /// refuses the file. Such a checkpoint is read through a copy whose
    /// entries are renamed under another folder.
    pub fn open(path: &Path, top_level_key: &str) -> Result<Self, NnError> {
        match Self::read(path, top_level_key) {
            Err(NnError::File(message)) if message.contains("Central Directory") => {
                let copy = renamed_copy(path)?;
                Self::read(copy.path(), top_level_key)
            }
            other => other,
        }
    }

    /// Opens a reference checkpoint's state_dict: under `key` if given,
    /// else under WaLLoC's key (`model_state_dict`) or LiVeAction's
    /// (`state_dict`), whichever the file has.
    pub fn open_state_dict(path: &Path, key: Option<&str>) -> Result<Self, NnError> {
        if let Some(key) = key {
            return Self::open(path, key);
        }
        Self::open(path, WALLOC_KEY).or_else(|_| {
            Self::open(path, LIVEACTION_KEY).map_err(|e| {
                NnError::File(format!(
                    "no state_dict under {WALLOC_KEY} (WaLLoC) or {LIVEACTION_KEY} (LiVeAction), so name its key ({e})"
                ))
            })
        })
    }

    fn read(path: &Path, top_level_key: &str) -> Result<Self, NnError> {
        let error = |e: &dyn std::fmt::Display| NnError::File(format!("{}: {e}", path.display()));
        let reader = if top_level_key.is_empty() {
            PytorchReader::new(path)
        } else {
            PytorchReader::with_top_level_key(path, top_level_key)
        }
        .map_err(|e| error(&e))?;
        let mut tensors = BTreeMap::new();
        for (name, tensor) in reader.tensors() {
            let bytes = tensor.read().map_err(|e| error(&e))?;
            if let Some(values) = to_f32(tensor.dtype(), &bytes) {
                tensors.insert(name.clone(), (tensor.shape().to_vec(), values));
            }
        }
        if tensors.is_empty() {
            return Err(error(&format!("no floating-point tensors under {top_level_key:?}")));
        }
        Ok(Checkpoint { tensors })
    }

    /// Parameter names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// A parameter's shape and values.
    pub fn get(&self, name: &str) -> Option<(&[usize], &[f32])> {
        self.tensors.get(name).map(|(s, v)| (s.as_slice(), v.as_slice()))
    }

    /// Every tensor as f32 safetensors under its own name, with `metadata`.
    pub fn to_safetensors(&self, metadata: HashMap<String, String>) -> Result<Vec<u8>, NnError> {
        let buffers: Vec<(&String, &Vec<usize>, Vec<u8>)> = self
            .tensors
            .iter()
            .map(|(name, (shape, values))| (name, shape, values.iter().flat_map(|v| v.to_le_bytes()).collect()))
            .collect();
        let views = buffers
            .iter()
            .map(|(name, shape, data)| {
                TensorView::new(Dtype::F32, (*shape).clone(), data)
                    .map(|view| (name.as_str(), view))
                    .map_err(|e| NnError::File(format!("{name}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        safetensors::serialize(views, Some(metadata)).map_err(|e| NnError::File(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tests/fixtures/liveaction_2d_swapped.pth: PyTorch named its folder
    /// `liveaction_2d_swapped` (21 characters), so its first directory entry
    /// is 76 bytes long and `zip` 9.8 alone refuses it.
    #[test]
    fn a_checkpoint_the_zip_crate_misreads_opens_through_a_renamed_copy() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/liveaction_2d_swapped.pth"
        );
        let direct = Checkpoint::read(Path::new(path), "state_dict").unwrap_err();
        assert!(direct.to_string().contains("Central Directory"), "{direct}");
        let checkpoint = Checkpoint::open(Path::new(path), "state_dict").unwrap();
        let (shape, values) = checkpoint.get("conv_down.conv1.weight").unwrap();
        assert_eq!(shape, [48, 4, 1, 1]);
        assert!(values.iter().any(|&v| v != 0.0));
    }
}
