//! The registry of architectures: the one place that maps a model to its
//! encoder and its decoder, as symphonia's `CodecRegistry` maps a codec to
//! its decoder. `walloc-codec` registers what it implements (the 1×1
//! projection encoder of every architecture, the linear and residual
//! decoders); `walloc-nn` adds the neural ones (`walloc_nn::register`).
//!
//! Encoders and decoders work in the packet domain's signal: an encoder
//! takes the normalized, padded planar signal and gives the integer latent;
//! a decoder gives that signal back. Normalization, padding, cropping and
//! the container belong to the modality (`codec` for images, `audio`), so
//! an architecture serves every modality it is registered for.

use walloc_wavelet::{packet, Signal as Planar};

use crate::bottleneck::Rounding;
use crate::codec::{linear_coefficients, EncodeOptions, Latent};
use crate::config::{Architecture, EncoderKind};
use crate::encoder::LinearEncoder;
use crate::error::{CodecError, Result};
use crate::model::Model;
use crate::rdo::RdoAnalysis;
use crate::step::Step;

/// An encoder: a normalized, padded planar signal to the integer latent.
pub trait Analysis {
    /// Encodes one signal (`channels` rows of the padded shape).
    fn analyze(&self, signal: Planar) -> Result<Latent>;
}

/// A decoder: an integer latent to the normalized, padded planar signal
/// (the model's channels, `2^J` samples per latent position and axis).
pub trait Synthesis {
    /// Decodes one latent.
    fn synthesize(&self, latent: &Latent) -> Result<Planar>;
}

/// How a decoder is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecoderOptions {
    /// Neural image decoders: latents of more than `(tile + 64)²` positions
    /// are decoded in tiles of `tile × tile` positions with 32 of overlap,
    /// so that memory stays bounded; 0 always decodes whole.
    pub tile: usize,
}

impl Default for DecoderOptions {
    /// Tiles of 320 latent positions (images up to 3072² pixels at J = 3
    /// decode whole, exactly as the reference).
    fn default() -> Self {
        DecoderOptions { tile: 320 }
    }
}

impl DecoderOptions {
    /// The same options with another tile size.
    pub fn with_tile(self, tile: usize) -> Self {
        DecoderOptions { tile }
    }
}

/// Makes the encoder of a model at a quantizer step, rounding as the
/// [`Rounding`] says where its quantizer is the Gaussian bottleneck
/// (LiVeAction's Laplace quantizer rounds to the nearest integer).
pub type AnalysisFactory = for<'m> fn(&'m Model, Step, Rounding) -> Result<Box<dyn Analysis + 'm>>;

/// Makes the decoder of a model.
pub type SynthesisFactory = for<'m> fn(&'m Model, &DecoderOptions) -> Result<Box<dyn Synthesis + 'm>>;

/// Encoders by (architecture, encoder kind) and decoders by architecture.
/// A later registration for the same key replaces the earlier one.
#[derive(Clone, Default)]
pub struct Registry {
    encoders: Vec<(Architecture, EncoderKind, AnalysisFactory)>,
    decoders: Vec<(Architecture, SynthesisFactory)>,
}

impl Registry {
    /// What `walloc-codec` implements without a deep-learning framework:
    /// the 1×1 projection encoder of every architecture and LiVeAction's
    /// factorized encoder (the sensor path), and the linear and residual
    /// decoders.
    pub fn core() -> Self {
        let mut registry = Registry::default();
        for architecture in Architecture::ALL {
            registry.register_encoder(architecture, EncoderKind::Projection, projection_encoder);
        }
        registry.register_encoder(
            Architecture::Liveaction,
            EncoderKind::Factorized,
            crate::liveaction::analysis::liveaction_encoder,
        );
        registry.register_decoder(Architecture::Linear, linear_decoder);
        registry.register_decoder(Architecture::Residual, linear_decoder);
        registry
    }

    /// Registers the encoder of `architecture` models whose encoder is of `kind`.
    pub fn register_encoder(&mut self, architecture: Architecture, kind: EncoderKind, make: AnalysisFactory) {
        self.encoders.retain(|(a, k, _)| (*a, *k) != (architecture, kind));
        self.encoders.push((architecture, kind, make));
    }

    /// Registers the decoder of `architecture` models.
    pub fn register_decoder(&mut self, architecture: Architecture, make: SynthesisFactory) {
        self.decoders.retain(|(a, _)| *a != architecture);
        self.decoders.push((architecture, make));
    }

    /// The encoder of `model` at its own step, or
    /// [`CodecError::Unsupported`] naming what this build lacks.
    pub fn encoder<'m>(&self, model: &'m Model) -> Result<Box<dyn Analysis + 'm>> {
        self.encoder_at(model, Step::NATIVE)
    }

    /// The encoder of `model` at quantizer step `step`, rounding to the
    /// nearest integer as the reference does (its latents exactly); a step
    /// finer than the model's finest ([`Model::check_step`]) is refused.
    pub fn encoder_at<'m>(&self, model: &'m Model, step: Step) -> Result<Box<dyn Analysis + 'm>> {
        self.encoder_rounding(model, step, Rounding::Nearest)
    }

    /// The encoder of `model` at `step` that rounds as `rounding` says.
    fn encoder_rounding<'m>(&self, model: &'m Model, step: Step, rounding: Rounding) -> Result<Box<dyn Analysis + 'm>> {
        model.check_step(step)?;
        let config = model.config();
        let kind = config.encoder_kind();
        match self
            .encoders
            .iter()
            .find(|(a, k, _)| (*a, *k) == (config.architecture, kind))
        {
            Some((_, _, make)) => make(model, step, rounding),
            None => Err(unsupported(model, "encoder")),
        }
    }

    /// The encoder of `model` for `options`: the registry's at the
    /// options' step, rounding as [`EncodeOptions::rounding`] says, or,
    /// with [`EncodeOptions::rdo`], the rate–distortion-optimized one
    /// ([`RdoAnalysis`]) for chunks of `rows_per_chunk` latent rows.
    pub fn encoder_for<'m>(
        &self,
        model: &'m Model,
        options: &EncodeOptions,
        rows_per_chunk: usize,
    ) -> Result<Box<dyn Analysis + 'm>> {
        if options.rdo {
            return Ok(Box::new(RdoAnalysis::new(model, options, rows_per_chunk)?));
        }
        self.encoder_rounding(model, options.step, options.rounding)
    }

    /// The decoder of `model`, or [`CodecError::Unsupported`] naming what
    /// this build lacks.
    pub fn decoder<'m>(&self, model: &'m Model, options: &DecoderOptions) -> Result<Box<dyn Synthesis + 'm>> {
        match self.decoders.iter().find(|(a, _)| *a == model.config().architecture) {
            Some((_, make)) => make(model, options),
            None => Err(unsupported(model, "decoder")),
        }
    }

    /// Whether this registry both encodes and decodes `model`.
    pub fn supports(&self, model: &Model) -> bool {
        let config = model.config();
        let kind = config.encoder_kind();
        self.encoders
            .iter()
            .any(|(a, k, _)| (*a, *k) == (config.architecture, kind))
            && self.decoders.iter().any(|(a, _)| *a == config.architecture)
    }
}

fn unsupported(model: &Model, part: &'static str) -> CodecError {
    let config = model.config();
    CodecError::Unsupported {
        model: config.name.clone(),
        part,
        architecture: config.architecture,
        encoder: config.encoder_kind(),
    }
}

/// The 1×1 projection encoder a model file holds, at a step.
struct ProjectionAnalysis<'m>(std::borrow::Cow<'m, LinearEncoder>);

impl Analysis for ProjectionAnalysis<'_> {
    fn analyze(&self, signal: Planar) -> Result<Latent> {
        self.0.analyze_signal(signal)
    }
}

fn projection_encoder(model: &Model, step: Step, rounding: Rounding) -> Result<Box<dyn Analysis + '_>> {
    match model.encoder() {
        Some(encoder) if step == Step::NATIVE && rounding == Rounding::Nearest => {
            Ok(Box::new(ProjectionAnalysis(std::borrow::Cow::Borrowed(encoder))))
        }
        Some(encoder) => Ok(Box::new(ProjectionAnalysis(std::borrow::Cow::Owned(
            encoder.at_step(step).with_rounding(rounding),
        )))),
        None => Err(unsupported(model, "encoder")),
    }
}

/// The linear decoder: dequantization, the 1×1 projection (summed over
/// stages for residual models) and the inverse packet transform.
struct LinearSynthesis<'m> {
    model: &'m Model,
}

impl Synthesis for LinearSynthesis<'_> {
    fn synthesize(&self, latent: &Latent) -> Result<Planar> {
        let config = self.model.config();
        let coefficients = linear_coefficients(self.model, latent)?;
        let shape = latent.packet_shape(config.dim as usize);
        let signal = Planar::new(coefficients, config.coefficient_dim(), shape)?;
        Ok(packet::inverse(self.model.bank(), signal, config.levels)?)
    }
}

fn linear_decoder<'m>(model: &'m Model, _: &DecoderOptions) -> Result<Box<dyn Synthesis + 'm>> {
    Ok(Box::new(LinearSynthesis { model }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_registrations_replace_earlier_ones() {
        let mut registry = Registry::core();
        let before = registry.decoders.len();
        registry.register_decoder(Architecture::Linear, linear_decoder);
        assert_eq!(registry.decoders.len(), before);
        assert!(registry.decoders.iter().all(|(a, _)| *a != Architecture::Refine));
        assert_eq!(registry.encoders.len(), Architecture::ALL.len() + 1);
    }
}
