//! LiVeAction (livecodec 0.0.1 `AutoCodecND`) in burn: the decoder that
//! walloc decodes with ([`decoder`]), the encoder and quantizer that
//! training needs gradients through ([`encoder`]; walloc-codec encodes
//! with its pure-Rust twin), and their shared layers ([`layers`]). Every
//! parameter keeps the reference's name, for import and export alike.

pub mod decoder;
pub mod encoder;
pub mod layers;
pub mod stage;
pub mod train;

use burn::prelude::*;
use burn::tensor::TensorData;
use walloc_codec::bottleneck::Rounding;
use walloc_codec::liveaction::{dequantize, latent_of, shape_of, RANGE_SCALE};
use walloc_codec::registry::{Analysis, DecoderOptions, Synthesis};
use walloc_codec::{Latent, Model, Step};
use walloc_wavelet::{packet, FilterBank, Signal as Planar};

pub use decoder::{decode_values, LiveActionDecoder};
pub use encoder::LiveActionEncoderNet;

use crate::weights::Weights;

use layers::Params;

/// The encoder of a `liveaction` model whose encoder is an EfficientViT
/// stage, as the registry's [`Analysis`] (the factorized encoder runs in
/// walloc-codec): walloc's range doubled, packets, the network, and the
/// Laplace compander's output over the step `Δ`, rounded.
struct LiveActionNetworkAnalysis {
    encoder: LiveActionEncoderNet,
    levels: u32,
    step: Step,
    device: Device,
}

impl Analysis for LiveActionNetworkAnalysis {
    fn analyze(&self, mut signal: Planar) -> walloc_codec::Result<Latent> {
        signal.data.iter_mut().for_each(|v| *v *= RANGE_SCALE);
        let packets = packet::forward(&FilterBank::bior4_4(), signal, self.levels)?;
        let positions = packets.plane_len();
        let x = Tensor::<3>::from_data(
            TensorData::new(packets.data, [1, packets.channels, positions]),
            &self.device,
        );
        let companded = self.encoder.laplace(self.encoder.forward(x, &packets.shape));
        let channels = companded.dims()[1];
        let values = crate::decode::values(companded)?;
        Ok(latent_of(&values, channels, &packets.shape, self.step))
    }
}

/// The registry's factory of LiVeAction's EfficientViT encoders (the
/// Laplace quantizer rounds to the nearest integer whatever the
/// [`Rounding`]).
pub(crate) fn liveaction_network_encoder(
    model: &Model,
    step: Step,
    _: Rounding,
) -> walloc_codec::Result<Box<dyn Analysis + '_>> {
    let device = Device::default();
    let encoder = LiveActionEncoderNet::build(
        shape_of(model)?,
        &Params::from(Weights::new(model.to_bytes(), "")?),
        &device,
    )?;
    Ok(Box::new(LiveActionNetworkAnalysis {
        encoder,
        levels: model.config().levels,
        step,
        device,
    }))
}

/// The decoder of a `liveaction` model, as the registry's [`Synthesis`]:
/// symbols dequantized at the file's step, decoded, and brought back from
/// LiVeAction's range (`±1`) to walloc's (`±0.5`).
struct LiveActionSynthesis {
    decoder: LiveActionDecoder,
    dim: usize,
    levels: u32,
    device: Device,
}

impl Synthesis for LiveActionSynthesis {
    fn synthesize(&self, latent: &Latent) -> walloc_codec::Result<Planar> {
        let delta = latent.step.factor() as f32;
        let values = latent.symbols.iter().map(|&s| dequantize(s, delta)).collect();
        let grid = latent.packet_shape(self.dim);
        let signal = decode_values(
            &self.decoder,
            self.levels,
            values,
            (latent.channels, &grid),
            &self.device,
        )?;
        let data = signal.data.into_iter().map(|v| v / RANGE_SCALE).collect();
        Ok(Planar::new(data, signal.channels, signal.shape)?)
    }
}

/// The registry's factory of LiVeAction decoders (whole signals: linear
/// attention needs no tiles).
pub(crate) fn liveaction_decoder<'m>(
    model: &'m Model,
    _: &DecoderOptions,
) -> walloc_codec::Result<Box<dyn Synthesis + 'm>> {
    let device = Device::default();
    let decoder = LiveActionDecoder::load(shape_of(model)?, &Weights::new(model.to_bytes(), "")?, &device)?;
    Ok(Box::new(LiveActionSynthesis {
        decoder,
        dim: model.config().dim as usize,
        levels: model.config().levels,
        device,
    }))
}
