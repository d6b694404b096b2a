//! walloc's image paths with any model: lightweight encoders on the
//! pure-Rust path and full neural encoders through burn; linear decoders in
//! pure Rust and neural decoders through burn.

use anyhow::{Context, Result};
use walloc_codec::{codec, EncodeOptions, Image8, Limits, Model};
use walloc_nn::decode::Tiling;

/// Encodes an image (already with the model's channels) into `.wal` bytes.
pub fn encode(model: &Model, image: &Image8, options: EncodeOptions) -> Result<Vec<u8>> {
    if model.encoder().is_some() {
        codec::encode(model, image, options).map_err(anyhow::Error::from)
    } else {
        // A full neural encoder runs in walloc-nn.
        codec::check_image_size(image)
            .map_err(anyhow::Error::from)
            .and_then(|()| Ok(walloc_nn::encoder::encode_image(model, image)?))
            .and_then(|latent| Ok(codec::write_image(model, image, &latent, options)?))
    }
    .with_context(|| format!("encoding with {}", model.config().name))
}

/// Decodes `.wal` bytes with their model.
pub fn decode(model: &Model, bytes: &[u8], limits: &Limits, tiling: Tiling) -> Result<Image8> {
    if model.is_linear() {
        Ok(codec::decode(model, bytes, limits)?)
    } else {
        Ok(walloc_nn::decode::decode_image(model, bytes, limits, tiling)?)
    }
}
