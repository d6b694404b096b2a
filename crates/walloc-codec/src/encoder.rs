//! The sensor-side encoder: wavelet packets, a 1×1 projection and the
//! bottleneck's quantization, with no deep-learning framework. Shared by
//! linear models and by the lightweight encoders of neural ones.

use rayon::prelude::*;
use walloc_wavelet::{packet, FilterBank, Signal};

use crate::bottleneck::{Bottleneck, Quantizer};
use crate::codec::Latent;
use crate::config::ModelConfig;
use crate::error::{invalid, CodecError, Result};
use crate::image::{to_padded_signal, Image8};
use crate::linalg::{matmul, Strides};

/// A lightweight WaLLoC encoder, ready to run.
#[derive(Clone, Debug)]
pub struct LinearEncoder {
    channels: u32,
    levels: u32,
    dim: u32,
    /// Latent positions added on each side (the 1-D reference's padding=1).
    edge: usize,
    bank: FilterBank,
    /// `[latent_dim × channels·2^(dim·levels)]`.
    weight: Vec<f32>,
    bias: Vec<f32>,
    quantizer: Quantizer,
}

/// Pixels per projection block: the block's coefficients stay in cache.
const BLOCK: usize = 1024;

impl LinearEncoder {
    /// The 1×1 projection encoder of a (validated) model `config`: `weight`
    /// is `[latent_dim × coefficient_dim]`, row-major, and `bias` has
    /// `latent_dim` values.
    pub fn new(config: &ModelConfig, bank: FilterBank, weight: Vec<f32>, bias: Vec<f32>) -> Result<Self> {
        config.validate().map_err(|e| invalid("encoder", e))?;
        let (k, d) = (config.latent_dim as usize, config.coefficient_dim());
        if bias.len() != k || weight.len() != k * d || weight.iter().chain(&bias).any(|v| !v.is_finite()) {
            return Err(invalid(
                "encoder",
                format!(
                    "weight of {} values and bias of {} for {d} inputs and {k} latents (finite)",
                    weight.len(),
                    bias.len()
                ),
            ));
        }
        Ok(LinearEncoder {
            channels: config.channels,
            levels: config.levels,
            dim: config.dim,
            edge: config.latent_edge(),
            bank,
            weight,
            bias,
            quantizer: Quantizer::new(&Bottleneck::new(config.latent_bits)),
        })
    }

    /// Latent channels.
    pub fn latent_dim(&self) -> usize {
        self.bias.len()
    }

    /// Encodes an image into its integer latent.
    pub fn analyze(&self, image: &Image8) -> Result<Latent> {
        if u32::from(image.channels) != self.channels || self.dim != 2 {
            return Err(CodecError::IncompatibleInput(format!(
                "the encoder takes {}-channel {}-D signals, this is a {}-channel image",
                self.channels, self.dim, image.channels
            )));
        }
        self.analyze_signal(to_padded_signal(image, 1 << self.levels))
    }

    /// Encodes a normalized signal whose lengths are multiples of `2^J`
    /// into its integer latent (a 1-D latent is one row).
    pub fn analyze_signal(&self, signal: Signal) -> Result<Latent> {
        if signal.channels != self.channels as usize || signal.shape.len() != self.dim as usize {
            return Err(CodecError::IncompatibleInput(format!(
                "the encoder takes {}-channel {}-D signals, not {}-channel {}-D ones",
                self.channels,
                self.dim,
                signal.channels,
                signal.shape.len()
            )));
        }
        let coeffs = packet::forward(&self.bank, signal, self.levels)?;
        let (k, d) = (self.latent_dim(), coeffs.channels);
        let (h, w) = match coeffs.shape.as_slice() {
            [h, w] => (*h, *w),
            [w] => (1, *w),
            _ => unreachable!("checked: 1-D or 2-D"),
        };
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
        // The edge positions see only zero padding: their latent is the bias.
        let (edge, width) = (self.edge, w + 2 * self.edge);
        let plane = h * width;
        let mut symbols = vec![0u8; k * plane];
        for (c, &b) in bias.iter().enumerate() {
            let edge_symbol = quantizer.quantize(b);
            symbols[c * plane..c * plane + edge].fill(edge_symbol);
            symbols[(c + 1) * plane - edge..(c + 1) * plane].fill(edge_symbol);
        }
        for (start, local) in blocks {
            let rows = local.len() / k;
            for (c, chunk) in local.chunks_exact(rows).enumerate() {
                let at = c * plane + edge + start;
                symbols[at..at + rows].copy_from_slice(chunk);
            }
        }
        Ok(Latent {
            channels: k,
            height: h,
            width,
            symbols,
        })
    }
}
