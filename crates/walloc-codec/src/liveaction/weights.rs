//! Where a LiVeAction network's parameters come from: tensors by their
//! reference names (`encoder_blocks.0.conv1.conv1.weight`, ...).

use safetensors::{Dtype, SafeTensors};

use crate::error::{CodecError, Result};

/// A store of named float tensors.
pub trait TensorSource {
    /// The values (row-major) and shape of tensor `name`.
    fn tensor(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>)>;

    /// Tensor `name`, which must have shape `shape`.
    fn tensor_of_shape(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let (values, found) = self.tensor(name)?;
        if found != shape {
            return Err(CodecError::InvalidModel(format!(
                "tensor {name} has shape {found:?}, expected {shape:?}"
            )));
        }
        Ok(values)
    }
}

impl TensorSource for SafeTensors<'_> {
    fn tensor(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>)> {
        let view =
            SafeTensors::tensor(self, name).map_err(|_| CodecError::InvalidModel(format!("missing tensor {name}")))?;
        if view.dtype() != Dtype::F32 {
            return Err(CodecError::InvalidModel(format!(
                "tensor {name} is {:?}, expected F32",
                view.dtype()
            )));
        }
        let values = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok((values, view.shape().to_vec()))
    }
}
