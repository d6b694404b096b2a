//! Decoding `.wal` files of neural models: the container and entropy
//! decoding of `walloc-codec`, then the model's burn decoder, the inverse
//! packet transform and the crop.
//!
//! Images are decoded whole (attention in query blocks bounds its memory),
//! exactly as the reference decodes them, up to a latent of one tile with
//! its overlap; larger ones in overlapping tiles of the latent, so that
//! memory stays bounded whatever the image size, at the price of
//! differences where the decoder's global parts (GroupNorm statistics,
//! attention) see only a tile (docs/BENCHMARKS.md measures them).

use burn::prelude::*;
use burn::tensor::TensorData;
use walloc_codec::audio::{self, AudioHeader, Level};
use walloc_codec::codec::{decode_latent, Latent};
use walloc_codec::config::ARCHITECTURE_REFINE;
use walloc_codec::image::from_padded_signal;
use walloc_codec::{Image8, Limits, Model};
use walloc_wavelet::{packet, Signal};

use crate::linear::LinearCodec;
use crate::networks::{load_audio_decoder, load_image_decoder, AudioNetworks};
use crate::weights::NnError;

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

fn error(e: impl std::fmt::Display) -> NnError {
    NnError::File(e.to_string())
}

fn values<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, NnError> {
    t.into_data().try_to_vec().map_err(|e| error(format!("{e:?}")))
}

/// Dequantized latent values, channel-major.
fn dequantize(model: &Model, latent: &Latent) -> Vec<f32> {
    let bottleneck = model.bottleneck();
    latent.symbols.iter().map(|&s| bottleneck.dequantize(s)).collect()
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

/// Decodes a `.wal` image file made with a `codec2d` or `refine` model.
pub fn decode_image(model: &Model, bytes: &[u8], limits: &Limits, tiling: Tiling) -> Result<Image8, NnError> {
    let (header, latent) = decode_latent(model, bytes, limits).map_err(error)?;
    let device = Device::default();
    let decoder = load_image_decoder(model, &device)?;
    let config = model.config();
    let (h, w) = (latent.height, latent.width);
    let coefficients = decode_coefficients(
        |z| decoder.forward(z),
        &dequantize(model, &latent),
        [latent.channels, h, w],
        config.coefficient_dim(),
        tiling,
        &device,
    )?;
    let signal = Signal::new(coefficients, config.coefficient_dim(), vec![h, w]).map_err(error)?;
    let pixels = packet::inverse(model.bank(), signal, config.levels).map_err(error)?;
    Ok(from_padded_signal(
        &pixels,
        header.width,
        header.height,
        1 << config.levels,
    ))
}

/// How an audio model turns latents into samples.
enum AudioSynthesis {
    /// The linear decoder of `walloc-codec`.
    Linear,
    /// The linear decoder and the refiner of a `refine` model.
    Refine(Box<LinearCodec>),
    /// The Oobleck decoder (and post filter) of a `codec1d` model.
    Oobleck(Box<AudioNetworks>),
}

/// Decodes the blocks of an audio `.wal` file one at a time: linear models
/// in `walloc-codec`, neural ones through burn.
pub struct AudioDecoder<'a> {
    model: &'a Model,
    synthesis: AudioSynthesis,
    device: Device,
}

impl<'a> AudioDecoder<'a> {
    /// Loads `model`'s decoder.
    pub fn new(model: &'a Model) -> Result<Self, NnError> {
        let device = Device::default();
        let synthesis = if model.is_linear() {
            AudioSynthesis::Linear
        } else if model.config().architecture == ARCHITECTURE_REFINE {
            AudioSynthesis::Refine(Box::new(LinearCodec::load(model, &device)?))
        } else {
            AudioSynthesis::Oobleck(Box::new(load_audio_decoder(model, &device)?))
        };
        Ok(AudioDecoder {
            synthesis,
            model,
            device,
        })
    }

    /// Decodes block `payload` of `frames` frames into planar samples
    /// (`channels` rows of `frames`) at the original level.
    pub fn decode_block(&self, header: &AudioHeader, payload: &[u8], frames: u32) -> Result<Vec<f32>, NnError> {
        audio::check_model(header, self.model).map_err(error)?;
        let (level, latent) = audio::decode_block_latent(self.model, header, payload, frames).map_err(error)?;
        let samples = self.synthesize(&latent)?;
        Ok(crop_and_restore(
            &samples,
            self.model.config().channels as usize,
            frames,
            level,
        ))
    }

    /// Normalized samples (padded length) of an integer latent.
    pub fn synthesize(&self, latent: &Latent) -> Result<Vec<f32>, NnError> {
        let config = self.model.config();
        let (k, length) = (latent.channels, latent.width);
        let zhat = || {
            Tensor::<3>::from_data(
                TensorData::new(dequantize(self.model, latent), [1, k, length]),
                &self.device,
            )
        };
        let (coefficients, post) = match &self.synthesis {
            AudioSynthesis::Linear => return audio::synthesize_linear(self.model, latent).map_err(error),
            AudioSynthesis::Refine(codec) => (values(codec.decode(zhat().unsqueeze_dim::<4>(2)))?, None),
            AudioSynthesis::Oobleck(networks) => (values(networks.decoder.forward(zhat()))?, networks.post.as_ref()),
        };
        let positions = length - 2 * config.latent_edge();
        let signal = Signal::new(coefficients, config.coefficient_dim(), vec![positions]).map_err(error)?;
        let samples = packet::inverse(self.model.bank(), signal, config.levels).map_err(error)?;
        let channels = config.channels as usize;
        match post {
            None => Ok(samples.data),
            Some(post) => {
                let padded = samples.data.len() / channels;
                let x = Tensor::<3>::from_data(TensorData::new(samples.data, [1, channels, padded]), &self.device);
                values(post.forward(x))
            }
        }
    }
}

/// The first `frames` of each channel of `samples`, at `level`.
fn crop_and_restore(samples: &[f32], channels: usize, frames: u32, level: Level) -> Vec<f32> {
    let padded = samples.len() / channels;
    samples
        .chunks_exact(padded)
        .flat_map(|row| row[..frames as usize].iter().map(|&v| level.restore(v)))
        .collect()
}
