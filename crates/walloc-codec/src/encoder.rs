//! The sensor-side encoder: wavelet packets, a 1×1 projection and the
//! bottleneck's quantization, with no deep-learning framework. Shared by
//! linear models and by the lightweight encoders of neural ones.

use rayon::prelude::*;
use walloc_wavelet::{packet, FilterBank};

use crate::bottleneck::{Bottleneck, Quantizer};
use crate::codec::Latent;
use crate::error::{invalid, CodecError, Result};
use crate::image::{to_padded_signal, Image8};
use crate::linalg::{matmul, Strides};
use crate::model::{MAX_CHANNELS, MAX_LEVELS};

/// A lightweight WaLLoC encoder, ready to run.
#[derive(Clone, Debug)]
pub struct LinearEncoder {
    channels: u32,
    levels: u32,
    bank: FilterBank,
    /// `[latent_dim × channels·4^levels]`.
    weight: Vec<f32>,
    bias: Vec<f32>,
    quantizer: Quantizer,
}

/// Pixels per projection block: the block's coefficients stay in cache.
const BLOCK: usize = 1024;

impl LinearEncoder {
    /// The encoder of `latent_dim = bias.len()` channels for `channels`-channel
    /// images, `levels` packet levels and `bits`-bit latents; `weight` is
    /// `[latent_dim × channels·4^levels]`, row-major (a 1×1 convolution).
    pub fn new(
        channels: u32,
        levels: u32,
        bits: u8,
        bank: FilterBank,
        weight: Vec<f32>,
        bias: Vec<f32>,
    ) -> Result<Self> {
        if !(1..=MAX_CHANNELS).contains(&channels) || !(1..=MAX_LEVELS).contains(&levels) || !(2..=8).contains(&bits) {
            return Err(invalid(
                "encoder",
                format!("{channels} channels, {levels} levels, {bits} bits"),
            ));
        }
        let d = (channels as usize) << (2 * levels);
        if bias.is_empty() || weight.len() != bias.len() * d || weight.iter().chain(&bias).any(|v| !v.is_finite()) {
            return Err(invalid(
                "encoder",
                format!(
                    "weight of {} values and bias of {} for {d} inputs",
                    weight.len(),
                    bias.len()
                ),
            ));
        }
        Ok(LinearEncoder {
            channels,
            levels,
            bank,
            weight,
            bias,
            quantizer: Quantizer::new(&Bottleneck::new(bits)),
        })
    }

    /// Latent channels.
    pub fn latent_dim(&self) -> usize {
        self.bias.len()
    }

    /// Encodes an image into its integer latent.
    pub fn analyze(&self, image: &Image8) -> Result<Latent> {
        if u32::from(image.channels) != self.channels {
            return Err(CodecError::IncompatibleInput(format!(
                "the encoder takes {}-channel images, this one has {}",
                self.channels, image.channels
            )));
        }
        let signal = to_padded_signal(image, 1 << self.levels);
        let coeffs = packet::forward(&self.bank, signal, self.levels)?;
        let (k, d) = (self.latent_dim(), (self.channels as usize) << (2 * self.levels));
        let (h, w) = (coeffs.shape[0], coeffs.shape[1]);
        let positions = h * w;
        // Pixel-major projection z^T = X^T W^T and quantization, block by
        // block in parallel; each block's symbols come out channel-major.
        let (weights, bias, quantizer) = (&self.weight, &self.bias, &self.quantizer);
        let blocks: Vec<(usize, Vec<u8>)> = (0..positions.div_ceil(BLOCK))
            .into_par_iter()
            .map(|block| {
                let start = block * BLOCK;
                let rows = BLOCK.min(positions - start);
                let mut z = vec![0.0f32; rows * k];
                matmul(
                    rows,
                    d,
                    k,
                    &coeffs.data[start..],
                    Strides { row: 1, col: positions },
                    weights,
                    Strides { row: 1, col: d },
                    &mut z,
                    Strides { row: k, col: 1 },
                );
                let mut local = vec![0u8; k * rows];
                for (r, row) in z.chunks_exact(k).enumerate() {
                    for (c, (&v, b)) in row.iter().zip(bias).enumerate() {
                        local[c * rows + r] = quantizer.quantize(v + b);
                    }
                }
                (start, local)
            })
            .collect();
        let mut symbols = vec![0u8; k * positions];
        for (start, local) in blocks {
            let rows = local.len() / k;
            for (c, chunk) in local.chunks_exact(rows).enumerate() {
                symbols[c * positions + start..c * positions + start + rows].copy_from_slice(chunk);
            }
        }
        Ok(Latent {
            channels: k,
            height: h,
            width: w,
            symbols,
        })
    }
}
