//! Reading reference parameters by name from a safetensors state_dict.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::TensorData;
use safetensors::tensor::Dtype;
use safetensors::SafeTensors;

use crate::error::NnError;

/// A state_dict (safetensors) with a name prefix, handing out parameters
/// as burn tensors after checking dtype and shape.
#[derive(Clone)]
pub struct Weights<'a> {
    tensors: std::rc::Rc<SafeTensors<'a>>,
    prefix: String,
}

impl<'a> Weights<'a> {
    /// Parses a safetensors buffer; names are looked up under `prefix`.
    pub fn new(bytes: &'a [u8], prefix: &str) -> Result<Self, NnError> {
        let tensors = SafeTensors::deserialize(bytes).map_err(|e| NnError::File(e.to_string()))?;
        Ok(Weights {
            tensors: std::rc::Rc::new(tensors),
            prefix: prefix.to_string(),
        })
    }

    /// The same file, with `child` appended to the prefix (`a.b.` + `c.`).
    pub fn child(&self, child: &str) -> Weights<'a> {
        Weights {
            tensors: self.tensors.clone(),
            prefix: format!("{}{child}.", self.prefix),
        }
    }

    /// Parameter `name` as f32 values, checked against `shape`.
    pub fn values(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, NnError> {
        let full = format!("{}{name}", self.prefix);
        let view = self.tensors.tensor(&full).map_err(|_| NnError::Missing(full.clone()))?;
        if view.dtype() != Dtype::F32 || view.shape() != shape {
            return Err(NnError::Shape {
                name: full,
                found: format!("{:?} {:?}", view.dtype(), view.shape()),
                expected: shape.to_vec(),
            });
        }
        Ok(view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// Parameter `name` as a burn tensor of `shape`.
    pub fn tensor<const D: usize>(&self, name: &str, shape: [usize; D], device: &Device) -> Result<Tensor<D>, NnError> {
        let values = self.values(name, &shape)?;
        Ok(Tensor::from_data(TensorData::new(values, shape), device))
    }

    /// Parameter `name` as a burn parameter of `shape`.
    pub fn param<const D: usize>(
        &self,
        name: &str,
        shape: [usize; D],
        device: &Device,
    ) -> Result<Param<Tensor<D>>, NnError> {
        self.tensor(name, shape, device).map(Param::from_tensor)
    }
}
