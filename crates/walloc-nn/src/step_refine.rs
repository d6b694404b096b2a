//! A `refine` model at every step of the quality knob. Its refiner was
//! trained at the model's own step; a refine model may hold step decoders
//! ([`walloc_codec::step_decoders`]) fitted around it, each a linear map of
//! the latents and a gain on each coefficient channel of the refiner's
//! correction. This module runs the refiner for that fit
//! ([`RefinerCorrection`], a walloc-codec [`Refinement`]) and decodes with
//! the result ([`refine_coefficients`]). At the model's own step, and for a
//! model without step decoders, decoding is what it always was: the
//! model's own linear decoder plus the whole correction.

use burn::prelude::*;
use burn::tensor::TensorData;
use walloc_codec::codec::{linear_coefficients, Latent};
use walloc_codec::fit::Refinement;
use walloc_codec::{Architecture, CodecError, Model, Step};

use crate::decode::{decode_coefficients, values, Tiling};
use crate::error::NnError;
use crate::linear::LinearCodec;
use crate::refine::Refiner;
use crate::weights::Weights;

/// A refine model's refiner, as the correction its step decoders are
/// fitted around.
#[derive(Debug)]
pub struct RefinerCorrection {
    refiner: Refiner,
    device: Device,
}

impl RefinerCorrection {
    /// The refiner of `model`; `None` for a model that is not a refine
    /// model.
    pub fn of(model: &Model) -> Result<Option<Self>, NnError> {
        if model.config().architecture != Architecture::Refine {
            return Ok(None);
        }
        let device = Device::default();
        let weights = Weights::new(model.to_bytes(), "")?;
        let refiner = Refiner::load(&weights, crate::linear::refiner_shape(model)?, &device)?;
        Ok(Some(RefinerCorrection { refiner, device }))
    }
}

impl Refinement for RefinerCorrection {
    fn correction(&self, step: Step, zhat: &[f32], shape: &[usize]) -> walloc_codec::Result<Vec<f32>> {
        let (h, w) = match *shape {
            [h, w] => (h, w),
            [length] => (1, length),
            _ => {
                return Err(CodecError::IncompatibleInput(format!(
                    "a refiner reads latents of images or audio, not of shape {shape:?}"
                )))
            }
        };
        let k = zhat.len() / (h * w).max(1);
        let z = Tensor::<4>::from_data(TensorData::new(zhat.to_vec(), [1, k, h, w]), &self.device);
        Ok(values(self.refiner.forward(z, step))?)
    }
}

/// A refine model's wavelet coefficients `[D, h·w]` of `latent`, whose
/// dequantized values `zhat` are `[K, h, w]` (`h` = 1 for audio): its own
/// decoder and the whole correction at its own step or without step
/// decoders, else its step decoder's linear coefficients plus the
/// correction weighed by that decoder's gains. The network runs whole or
/// in `tiling`'s tiles.
pub(crate) fn refine_coefficients(
    model: &Model,
    codec: &LinearCodec,
    latent: &Latent,
    zhat: &[f32],
    [h, w]: [usize; 2],
    tiling: Tiling,
    device: &Device,
) -> Result<Vec<f32>, NnError> {
    let step = latent.step;
    let shape = [latent.channels, h, w];
    let d = model.config().coefficient_dim();
    let refiner = match codec.refiner() {
        Some(refiner) if !model.config().step_decoders.is_empty() && step != Step::NATIVE => refiner,
        _ => return decode_coefficients(|z| codec.decode(z, step), zhat, shape, d, tiling, device),
    };
    let correction = decode_coefficients(|z| refiner.forward(z, step), zhat, shape, d, tiling, device)?;
    let mut coefficients = linear_coefficients(model, latent)?;
    let gain = model.linear_decoder(step).refiner_gain.clone();
    for ((plane, added), g) in coefficients
        .chunks_exact_mut(h * w)
        .zip(correction.chunks_exact(h * w))
        .zip(gain)
    {
        plane.iter_mut().zip(added).for_each(|(c, r)| *c += g * r);
    }
    Ok(coefficients)
}
