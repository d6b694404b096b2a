//! The LiVeAction encoder as the registry's [`Analysis`] of `liveaction`
//! models: the modality's normalized signal in, the symbols of the
//! container out.

use walloc_wavelet::Signal as Planar;

use super::config::LiveActionConfig;
use super::encoder::LiveActionEncoder;
use crate::bottleneck::Rounding;
use crate::codec::Latent;
use crate::error::{CodecError, Result};
use crate::model::Model;
use crate::registry::Analysis;
use crate::step::Step;

/// The factor from walloc's normalized range (`±0.5`: 8-bit images as
/// `x/255 − 0.5`) to LiVeAction's (`±1`: `x/127.5 − 1`).
pub const RANGE_SCALE: f32 = 2.0;
/// The stored symbol of latent value 0 (8-bit latents).
pub const SYMBOL_ZERO: i16 = 128;

/// A `liveaction` model's shape, or an error naming the model.
pub fn shape_of(model: &Model) -> Result<&LiveActionConfig> {
    model
        .config()
        .liveaction
        .as_ref()
        .ok_or_else(|| CodecError::InvalidModel(format!("{} has no liveaction shape", model.config().name)))
}

/// The symbol of the Laplace compander's output `c` at step `Δ`:
/// `round(c/Δ)` (half to even, as PyTorch's), within ±127, plus 128.
pub fn quantize(c: f32, step: f32) -> u8 {
    ((c / step).round_ties_even().clamp(-127.0, 127.0) as i16 + SYMBOL_ZERO) as u8
}

/// The container's latent of the Laplace compander's outputs `companded`
/// (`channels` planes over the packet grid `grid`) at quantizer step `step`.
pub fn latent_of(companded: &[f32], channels: usize, grid: &[usize], step: Step) -> Latent {
    let delta = step.factor() as f32;
    let symbols = companded.iter().map(|&c| quantize(c, delta)).collect();
    Latent::from_grid(channels, grid, symbols, step)
}

/// The value a symbol at `step` stands for: `(symbol − 128)·Δ`.
pub fn dequantize(symbol: u8, step: f32) -> f32 {
    f32::from(i16::from(symbol) - SYMBOL_ZERO) * step
}

/// The LiVeAction encoder at a quantizer step: the Laplace compander's
/// output divided by the step `Δ`, rounded half to even (at the model's own
/// step, `Δ = 1`: the reference's integers).
struct LiveActionAnalysis {
    encoder: LiveActionEncoder,
    step: Step,
}

impl Analysis for LiveActionAnalysis {
    fn analyze(&self, mut signal: Planar) -> Result<Latent> {
        signal.data.iter_mut().for_each(|v| *v *= RANGE_SCALE);
        let companded = self.encoder.companded(signal)?;
        Ok(latent_of(
            &companded.data,
            companded.channels,
            &companded.shape,
            self.step,
        ))
    }
}

/// The registry's factory of LiVeAction encoders (the Laplace quantizer
/// rounds to the nearest integer whatever the [`Rounding`]).
pub(crate) fn liveaction_encoder(model: &Model, step: Step, _: Rounding) -> Result<Box<dyn Analysis + '_>> {
    let tensors =
        safetensors::SafeTensors::deserialize(model.to_bytes()).map_err(|e| CodecError::InvalidModel(e.to_string()))?;
    Ok(Box::new(LiveActionAnalysis {
        encoder: LiveActionEncoder::load(shape_of(model)?, &tensors)?,
        step,
    }))
}
