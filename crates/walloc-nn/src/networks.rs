//! The neural parts of a walloc model file, loaded into burn modules: the
//! KL decoder and the full KL encoder of `codec2d` models, the linear
//! decoder and refiner of `refine` models, the Oobleck
//! decoder (and post filter) of `codec1d` models.

use burn::nn::conv::Conv1d;
use burn::prelude::*;
use walloc_codec::{Architecture, Model, Step};

use crate::error::NnError;
use crate::kl::{KlDecoder, KlEncoder};
use crate::linear::LinearCodec;
use crate::oobleck::{post_filter, OobleckDecoder};
use crate::weights::Weights;

fn width(model: &Model, value: Option<u32>, what: &str) -> Result<usize, NnError> {
    value
        .map(|v| v as usize)
        .ok_or_else(|| NnError::Config(format!("model {} has no {what} width", model.config().name)))
}

/// The decoder network of a neural image model.
#[derive(Debug)]
pub enum ImageDecoder {
    /// The KL decoder of a `codec2d` model.
    Kl(Box<KlDecoder>),
    /// The linear decoder and refiner of a `refine` model.
    Refine(Box<LinearCodec>),
}

impl ImageDecoder {
    /// Dequantized latents `[batch, K, h, w]`, coded at `step`, to wavelet
    /// coefficients `[batch, D, h, w]`.
    pub fn forward(&self, z: Tensor<4>, step: Step) -> Tensor<4> {
        match self {
            ImageDecoder::Kl(decoder) => decoder.forward(z),
            ImageDecoder::Refine(codec) => codec.decode(z, step),
        }
    }
}

/// The decoder of a `codec2d` or `refine` model file.
pub fn load_image_decoder(model: &Model, device: &Device) -> Result<ImageDecoder, NnError> {
    let config = model.config();
    if config.architecture == Architecture::Refine {
        return Ok(ImageDecoder::Refine(Box::new(LinearCodec::load(model, device)?)));
    }
    let hidden = width(model, config.hidden, "decoder")?;
    let weights = Weights::new(model.to_bytes(), "decoder.1.")?;
    Ok(ImageDecoder::Kl(Box::new(KlDecoder::load(
        &weights,
        config.latent_dim as usize,
        hidden,
        config.coefficient_dim(),
        device,
    )?)))
}

/// The full KL encoder of a `codec2d` model file with `encoder_hidden`.
pub fn load_image_encoder(model: &Model, device: &Device) -> Result<KlEncoder, NnError> {
    let config = model.config();
    let hidden = width(model, config.encoder_hidden, "encoder")?;
    let weights = Weights::new(model.to_bytes(), "encoder.0.")?;
    KlEncoder::load(
        &weights,
        config.coefficient_dim(),
        hidden,
        config.latent_dim as usize,
        device,
    )
}

/// The audio decoder of a `codec1d` model: Oobleck, then (after the
/// inverse packet transform) the optional post filter.
#[derive(Debug)]
pub struct AudioNetworks {
    /// Latents to wavelet coefficients.
    pub decoder: OobleckDecoder,
    /// The filter applied to the reconstructed samples.
    pub post: Option<Conv1d>,
}

/// The decoder and post filter of a `codec1d` model file.
pub fn load_audio_decoder(model: &Model, device: &Device) -> Result<AudioNetworks, NnError> {
    let config = model.config();
    let hidden = width(model, config.hidden, "decoder")?;
    let bytes = model.to_bytes();
    let decoder = OobleckDecoder::load(
        &Weights::new(bytes, "decoder.1.")?,
        config.latent_dim as usize,
        hidden,
        config.coefficient_dim(),
        device,
    )?;
    let post = if config.post_filter {
        Some(post_filter(
            &Weights::new(bytes, "post.")?,
            config.channels as usize,
            device,
        )?)
    } else {
        None
    };
    Ok(AudioNetworks { decoder, post })
}
