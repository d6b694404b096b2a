//! The neural decoders, as [`Synthesis`] for walloc-codec's registry: the
//! dequantized latent through the model's burn decoder, then the inverse
//! packet transform. The container, entropy decoding, cropping and
//! denormalization are walloc-codec's, shared with the linear decoders.
//!
//! Images are decoded whole (attention in query blocks bounds its memory),
//! exactly as the reference decodes them, up to a latent of one tile with
//! its overlap; larger ones in overlapping tiles of the latent, so that
//! memory stays bounded whatever the image size, at the price of
//! differences where the decoder's global parts (GroupNorm statistics,
//! attention) see only a tile (docs/BENCHMARKS.md measures them).

use burn::prelude::*;
use burn::tensor::TensorData;
use walloc_codec::codec::Latent;
use walloc_codec::registry::{DecoderOptions, Synthesis};
use walloc_codec::{Modality, Model};
use walloc_wavelet::{packet, Signal};

use crate::error::NnError;
use crate::linear::LinearCodec;
use crate::networks::{load_audio_decoder, load_image_decoder, AudioNetworks, ImageDecoder};
use crate::step_refine::refine_coefficients;

/// How to split a large latent into tiles. A latent that fits in one tile
/// with its overlap is decoded whole, exactly as the reference decodes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiling {
    /// Side of a tile's core, in latent positions; 0 decodes every latent
    /// whole (memory then grows with the image).
    pub tile: usize,
    /// Latent positions of context decoded around each core and dropped.
    pub overlap: usize,
}

impl Default for Tiling {
    /// Cores of 320×320 latent positions with 32 of overlap: latents up to
    /// 384×384 positions (3072×3072 pixels at J = 3, so 4K frames) decode
    /// whole and exactly, with attention in query blocks; larger ones in
    /// tiles, in memory that no longer grows with the image.
    fn default() -> Self {
        Tiling { tile: 320, overlap: 32 }
    }
}

impl Tiling {
    /// Whether an `h × w` latent is decoded whole.
    pub fn is_whole(&self, h: usize, w: usize) -> bool {
        let window = self.tile + 2 * self.overlap;
        self.tile == 0 || h * w <= window * window
    }
}

pub(crate) fn values<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, NnError> {
    t.into_data()
        .try_to_vec()
        .map_err(|e| NnError::Backend(format!("{e:?}")))
}

/// Dequantized latent values, channel-major.
fn dequantize(model: &Model, latent: &Latent) -> Vec<f32> {
    model
        .dequantizer(latent.step)
        .dequantize(&latent.symbols, latent.channels)
}

/// Runs `decoder` (such as [`crate::networks::ImageDecoder::forward`]) on the `[k, h, w]`
/// latent `zhat`, whole or in tiles; returns `[output, h, w]` coefficients.
pub fn decode_coefficients(
    decoder: impl Fn(Tensor<4>) -> Tensor<4>,
    zhat: &[f32],
    [k, h, w]: [usize; 3],
    output: usize,
    tiling: Tiling,
    device: &Device,
) -> Result<Vec<f32>, NnError> {
    if tiling.is_whole(h, w) {
        let z = Tensor::<4>::from_data(TensorData::new(zhat.to_vec(), [1, k, h, w]), device);
        return values(decoder(z));
    }
    let (tile, overlap) = (tiling.tile, tiling.overlap);
    let mut out = vec![0.0f32; output * h * w];
    for y0 in (0..h).step_by(tile) {
        for x0 in (0..w).step_by(tile) {
            let (y1, x1) = ((y0 + tile).min(h), (x0 + tile).min(w));
            let (wy0, wx0) = (y0.saturating_sub(overlap), x0.saturating_sub(overlap));
            let (wy1, wx1) = ((y1 + overlap).min(h), (x1 + overlap).min(w));
            let (wh, ww) = (wy1 - wy0, wx1 - wx0);
            let mut window = Vec::with_capacity(k * wh * ww);
            for c in 0..k {
                for y in wy0..wy1 {
                    window.extend_from_slice(&zhat[(c * h + y) * w + wx0..(c * h + y) * w + wx1]);
                }
            }
            let z = Tensor::<4>::from_data(TensorData::new(window, [1, k, wh, ww]), device);
            let decoded = values(decoder(z))?;
            for c in 0..output {
                for y in y0..y1 {
                    let src = (c * wh + y - wy0) * ww + (x0 - wx0);
                    let dst = (c * h + y) * w + x0;
                    out[dst..dst + x1 - x0].copy_from_slice(&decoded[src..src + x1 - x0]);
                }
            }
        }
    }
    Ok(out)
}

/// The decoder of a neural image model (`codec2d`, or `refine` for images).
struct ImageSynthesis<'m> {
    model: &'m Model,
    decoder: ImageDecoder,
    tiling: Tiling,
    device: Device,
}

impl Synthesis for ImageSynthesis<'_> {
    fn synthesize(&self, latent: &Latent) -> walloc_codec::Result<Signal> {
        let config = self.model.config();
        let (h, w) = (latent.height, latent.width);
        let zhat = dequantize(self.model, latent);
        let coefficients = match &self.decoder {
            ImageDecoder::Refine(codec) => {
                refine_coefficients(self.model, codec, latent, &zhat, [h, w], self.tiling, &self.device)?
            }
            decoder => decode_coefficients(
                |z| decoder.forward(z, latent.step),
                &zhat,
                [latent.channels, h, w],
                config.coefficient_dim(),
                self.tiling,
                &self.device,
            )?,
        };
        let signal = Signal::new(coefficients, config.coefficient_dim(), vec![h, w])?;
        Ok(packet::inverse(self.model.bank(), signal, config.levels)?)
    }
}

/// How a neural audio model turns latents into coefficients.
enum AudioNetwork {
    /// The linear decoder and the refiner of a `refine` model.
    Refine(Box<LinearCodec>),
    /// The Oobleck decoder (and post filter) of a `codec1d` model.
    Oobleck(Box<AudioNetworks>),
}

/// The decoder of a neural audio model (`codec1d`, or `refine` for audio).
struct AudioSynthesis<'m> {
    model: &'m Model,
    network: AudioNetwork,
    device: Device,
}

impl Synthesis for AudioSynthesis<'_> {
    fn synthesize(&self, latent: &Latent) -> walloc_codec::Result<Signal> {
        let config = self.model.config();
        let (k, length) = (latent.channels, latent.width);
        let zhat = dequantize(self.model, latent);
        let (coefficients, post) = match &self.network {
            AudioNetwork::Refine(codec) => {
                let whole = Tiling { tile: 0, overlap: 0 };
                let coefficients =
                    refine_coefficients(self.model, codec, latent, &zhat, [1, length], whole, &self.device)?;
                (coefficients, None)
            }
            AudioNetwork::Oobleck(networks) => {
                let zhat = Tensor::<3>::from_data(TensorData::new(zhat, [1, k, length]), &self.device);
                (values(networks.decoder.forward(zhat))?, networks.post.as_ref())
            }
        };
        let positions = length - 2 * config.latent_edge();
        let signal = Signal::new(coefficients, config.coefficient_dim(), vec![positions])?;
        let samples = packet::inverse(self.model.bank(), signal, config.levels)?;
        let Some(post) = post else {
            return Ok(samples);
        };
        let (channels, padded) = (samples.channels, samples.shape[0]);
        let x = Tensor::<3>::from_data(TensorData::new(samples.data, [1, channels, padded]), &self.device);
        Ok(Signal::new(values(post.forward(x))?, channels, vec![padded])?)
    }
}

/// The decoder of a `refine` model, for its modality.
pub(crate) fn refine_decoder<'m>(
    model: &'m Model,
    options: &DecoderOptions,
) -> walloc_codec::Result<Box<dyn Synthesis + 'm>> {
    match model.config().modality {
        Modality::Image => image_decoder(model, options),
        Modality::Audio => {
            let device = Device::default();
            let network = AudioNetwork::Refine(Box::new(LinearCodec::load(model, &device)?));
            Ok(Box::new(AudioSynthesis { model, network, device }))
        }
        // Model files refuse refine volumes (ModelConfig::validate).
        Modality::Volume => Err(walloc_codec::CodecError::IncompatibleInput(format!(
            "model {}: volumes have no refine decoder",
            model.config().name
        ))),
    }
}

/// The decoder of a `codec2d` model (or of a `refine` image model).
pub(crate) fn image_decoder<'m>(
    model: &'m Model,
    options: &DecoderOptions,
) -> walloc_codec::Result<Box<dyn Synthesis + 'm>> {
    let device = Device::default();
    Ok(Box::new(ImageSynthesis {
        decoder: load_image_decoder(model, &device)?,
        model,
        tiling: Tiling {
            tile: options.tile,
            ..Tiling::default()
        },
        device,
    }))
}

/// The Oobleck decoder of a `codec1d` model.
pub(crate) fn oobleck_decoder<'m>(
    model: &'m Model,
    _: &DecoderOptions,
) -> walloc_codec::Result<Box<dyn Synthesis + 'm>> {
    let device = Device::default();
    let network = AudioNetwork::Oobleck(Box::new(load_audio_decoder(model, &device)?));
    Ok(Box::new(AudioSynthesis { model, network, device }))
}
