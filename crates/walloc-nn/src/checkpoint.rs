//! Reading reference PyTorch checkpoints (`.pth`, a zip of pickles) with
//! the `pytorch-reader` crate, and converting them to safetensors under the
//! same parameter names, which is what [`crate::Weights`] reads.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use pytorch_reader::{DType, PytorchReader};
use safetensors::tensor::{Dtype, TensorView};

use crate::error::NnError;

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

impl Checkpoint {
    /// Opens a checkpoint whose state_dict sits under `top_level_key`
    /// (`model_state_dict` for the published WaLLoC checkpoints), or at the
    /// top when the key is empty.
    pub fn open(path: &Path, top_level_key: &str) -> Result<Self, NnError> {
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
