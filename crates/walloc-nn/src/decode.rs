//! Decoding `.wal` files of neural models: the container and entropy
//! decoding of `walloc-codec`, then the model's burn decoder, the inverse
//! packet transform and the crop.

use burn::prelude::*;
use burn::tensor::TensorData;
use walloc_codec::codec::decode_latent;
use walloc_codec::image::from_padded_signal;
use walloc_codec::{Image8, Limits, Model};
use walloc_wavelet::{packet, Signal};

use crate::import::load_decoder;
use crate::weights::NnError;

/// Decodes a `.wal` file made with a `codec2d` model.
pub fn decode_image(model: &Model, bytes: &[u8], limits: &Limits) -> Result<Image8, NnError> {
    let error = |e: &dyn std::fmt::Display| NnError::File(e.to_string());
    let (header, latent) = decode_latent(model, bytes, limits).map_err(|e| error(&e))?;
    let device = Device::default();
    let decoder = load_decoder(model, &device)?;
    let bottleneck = model.bottleneck();
    let zhat: Vec<f32> = latent.symbols.iter().map(|&s| bottleneck.dequantize(s)).collect();
    let (k, h, w) = (latent.channels, latent.height, latent.width);
    let z = Tensor::<4>::from_data(TensorData::new(zhat, [1, k, h, w]), &device);
    let coefficients: Vec<f32> = decoder
        .forward(z)
        .into_data()
        .try_to_vec()
        .map_err(|e| error(&format!("{e:?}")))?;
    let config = model.config();
    let signal = Signal::new(coefficients, config.coefficient_dim(), vec![h, w]).map_err(|e| error(&e))?;
    let pixels = packet::inverse(model.bank(), signal, config.levels).map_err(|e| error(&e))?;
    Ok(from_padded_signal(
        &pixels,
        header.width,
        header.height,
        1 << config.levels,
    ))
}
