//! The sensor-side encoder: wavelet packets, a 1×1 projection and the
//! bottleneck's quantization, with no deep-learning framework. Shared by
//! linear models and by the lightweight encoders of neural ones.

use rayon::prelude::*;
use walloc_wavelet::{packet, FilterBank, Signal};

use crate::bottleneck::{Bottleneck, Quantizer, Rounding};
use crate::codec::Latent;
use crate::config::ModelConfig;
use crate::error::{invalid, CodecError, Result};
use crate::image::{to_padded_signal, Image, Pixel};
use crate::linalg::{matmul, project_planes, Strides};
use crate::step::Step;

/// A lightweight WaLLoC encoder, ready to run.
#[derive(Clone, Debug)]
pub struct LinearEncoder {
    channels: u32,
    levels: u32,
    dim: u32,
    /// Latent positions added on each side (the 1-D reference's padding=1).
    edge: usize,
    bank: FilterBank,
    /// `[latent_dim × channels·2^(dim·levels)]`, negligible weights zeroed
    /// ([`NEGLIGIBLE_WEIGHT`]).
    weight: Vec<f32>,
    /// Each wavelet band: whether some latent reads it (the transform
    /// computes only these, [`packet::forward_needed`]).
    needed: Vec<bool>,
    /// `weight`'s columns of the needed bands, band-major
    /// (`[needed × latent_dim]`, as [`project_planes`] reads them): what
    /// the projection multiplies (the other bands are zero).
    needed_weight: Vec<f32>,
    bias: Vec<f32>,
    quantizer: Quantizer,
    bottleneck: Bottleneck,
    /// How `quantizer` rounds (its second step, if any, runs on the latent).
    rounding: Rounding,
    /// The quantizer step of `quantizer` and `bottleneck`.
    step: Step,
    /// Residual coding (the reference's `ResidualCodec2D`): the latent is
    /// `stages` equal groups of channels, each coding what the previous
    /// groups' decoders left.
    stages: usize,
    /// `[stages × coefficient_dim × latent_dim/stages]`, row-major.
    stage_decoders: Vec<f32>,
    /// `[stages × coefficient_dim]`.
    stage_decoder_bias: Vec<f32>,
}

/// The shape of a latent: what [`Latent`] holds besides its symbols.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatentShape {
    /// Slices of a volume's latent (1 otherwise).
    pub depth: usize,
    /// Latent channels.
    pub channels: usize,
    /// Rows (a volume's slices stacked).
    pub height: usize,
    /// Columns.
    pub width: usize,
}

impl LatentShape {
    /// The latent of this shape with `symbols` at `step`.
    pub fn latent(self, symbols: Vec<u8>, step: Step) -> Latent {
        Latent {
            depth: self.depth,
            channels: self.channels,
            height: self.height,
            width: self.width,
            symbols,
            step,
        }
    }
}

/// A latent before quantization: the values the encoder's quantizer
/// rounds, channel-major, and the step it quantizes at.
#[derive(Clone, Debug, PartialEq)]
pub struct LatentValues {
    /// The latent's shape.
    pub shape: LatentShape,
    /// `channels × height × width` values.
    pub values: Vec<f32>,
    /// The encoder's quantizer step.
    pub step: Step,
}

/// Pixels per projection block: the block's coefficients stay in cache.
const BLOCK: usize = 1024;

/// An encoder weight at most this fraction of its latent's largest weight
/// is negligible. A model that reduces dimensionality strongly reads whole
/// groups of high bands (the bands one band of the last level but one
/// splits into) with weights of this size only: `rgb-16x` 24 of its 48
/// groups, `rgb-64x` 45. The encoder counts such a group's weights as zero,
/// and the transform leaves out the split that would make it
/// ([`packet::forward_needed`]): a quarter of `rgb-16x`'s transform, over
/// half of `rgb-64x`'s.
pub const NEGLIGIBLE_WEIGHT: f32 = 3e-3;

/// `weight` (`latent_dim` rows of a weight a band) with the weights of
/// every group of `group` consecutive bands (siblings of one split) that
/// are all at most [`NEGLIGIBLE_WEIGHT`] of their row's largest set to
/// zero, and for each band whether any weight in it is left. Other
/// weights, negligible or not, are kept: zeroing them would change latents
/// and spare no work. With `group` `None` no weight is zeroed.
fn without_negligible_weights(mut weight: Vec<f32>, latent_dim: usize, group: Option<usize>) -> (Vec<f32>, Vec<bool>) {
    let bands = weight.len() / latent_dim.max(1);
    let Some(group) = group.filter(|&g| g > 0 && bands.is_multiple_of(g)) else {
        return (weight, vec![true; bands]);
    };
    let largest: Vec<f32> = weight
        .chunks_exact(bands.max(1))
        .map(|row| row.iter().fold(0.0f32, |m, w| m.max(w.abs())))
        .collect();
    let negligible =
        |band: usize| (0..latent_dim).all(|k| weight[k * bands + band].abs() <= NEGLIGIBLE_WEIGHT * largest[k]);
    let needed: Vec<bool> = (0..bands)
        .map(|band| !(band / group * group..(band / group + 1) * group).all(negligible))
        .collect();
    for row in weight.chunks_exact_mut(bands.max(1)) {
        for (w, &need) in row.iter_mut().zip(&needed) {
            if !need {
                *w = 0.0;
            }
        }
    }
    (weight, needed)
}

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
        // Images: bands come in groups of the four siblings of a split.
        // Audio (whose latents this would move: the release files' bytes)
        // and volumes (whose levels reorder the bands) keep every weight.
        let group = (config.dim == 2).then_some(4);
        let (weight, needed) = without_negligible_weights(weight, k, group);
        let needed_weight = (0..d)
            .filter(|&c| needed[c])
            .flat_map(|c| (0..k).map(move |l| (l, c)))
            .map(|(l, c)| weight[l * d + c])
            .collect();
        Ok(LinearEncoder {
            channels: config.channels,
            levels: config.levels,
            dim: config.dim,
            edge: config.latent_edge(),
            bank,
            weight,
            needed,
            needed_weight,
            bias,
            quantizer: Quantizer::new(&Bottleneck::new(config.latent_bits)),
            bottleneck: Bottleneck::new(config.latent_bits),
            rounding: Rounding::Nearest,
            step: Step::NATIVE,
            stages: 1,
            stage_decoders: Vec::new(),
            stage_decoder_bias: Vec::new(),
        })
    }

    /// Makes this a residual encoder of `stages` stages: `weight` rows are
    /// the stages' encoders in order, and `decoder_weight`
    /// (`[stages × D × K/stages]`) and `decoder_bias` (`[stages × D]`) their
    /// linear decoders, which give each stage the residual it codes.
    pub fn with_stages(mut self, stages: usize, decoder_weight: Vec<f32>, decoder_bias: Vec<f32>) -> Result<Self> {
        let (k, d) = (self.latent_dim(), self.weight.len() / self.latent_dim());
        if stages == 0 || !k.is_multiple_of(stages) || decoder_weight.len() != d * k || decoder_bias.len() != stages * d
        {
            return Err(invalid(
                "residual stages",
                format!(
                    "{stages} stages of {k} latents, decoders of {} and {} values",
                    decoder_weight.len(),
                    decoder_bias.len()
                ),
            ));
        }
        self.stages = stages;
        self.stage_decoders = decoder_weight;
        self.stage_decoder_bias = decoder_bias;
        Ok(self)
    }

    /// The same encoder quantizing at `step`.
    pub fn at_step(&self, step: Step) -> Self {
        let bottleneck = Bottleneck::at_step(self.bottleneck.bits(), step);
        LinearEncoder {
            quantizer: Quantizer::with_rounding(&bottleneck, self.rounding),
            bottleneck,
            step,
            ..self.clone()
        }
    }

    /// The same encoder rounding as `rounding` says (the model's encoder
    /// rounds to the nearest integer, as the reference does).
    pub fn with_rounding(self, rounding: Rounding) -> Self {
        LinearEncoder {
            quantizer: Quantizer::with_rounding(&self.bottleneck, rounding),
            rounding,
            ..self
        }
    }

    /// Latent channels.
    pub fn latent_dim(&self) -> usize {
        self.bias.len()
    }

    /// Encodes an image into its integer latent.
    pub fn analyze<P: Pixel>(&self, image: &Image<P>) -> Result<Latent> {
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
        let quantizer = &self.quantizer;
        let (shape, symbols) = self.latent_planes(
            signal,
            |view, positions, rows, d| {
                if self.stages == 1 {
                    self.project_values(view, positions, rows, d)
                        .iter()
                        .map(|&v| quantizer.quantize(v))
                        .collect()
                } else {
                    self.project_residual(view, positions, rows, d)
                }
            },
            |bias| quantizer.quantize(bias),
        )?;
        let mut latent = shape.latent(symbols, self.step);
        self.rounding.finish(&mut latent, self.bottleneck.offset() as u8);
        Ok(latent)
    }

    /// The latent of a normalized signal before quantization: each value
    /// `z` that [`LinearEncoder::analyze_signal`] would quantize, with the
    /// latent's shape (for a quantizer that chooses each value's symbol by
    /// its rate and distortion). Residual models quantize stage by stage
    /// and have no such values.
    pub fn latent_values(&self, signal: Signal) -> Result<LatentValues> {
        if self.stages != 1 {
            return Err(CodecError::IncompatibleInput(
                "a residual encoder quantizes stage by stage: it has no unquantized latent".into(),
            ));
        }
        let (shape, values) = self.latent_planes(
            signal,
            |view, positions, rows, d| self.project_values(view, positions, rows, d),
            |bias| bias,
        )?;
        Ok(LatentValues {
            shape,
            values,
            step: self.step,
        })
    }

    /// The symbols this encoder's quantizer gives `values` (made by this
    /// encoder at its step), with its rounding's second step: what
    /// [`LinearEncoder::analyze_signal`] gives the same signal.
    pub fn round_values(&self, values: &LatentValues) -> Latent {
        let symbols = values.values.iter().map(|&v| self.quantizer.quantize(v)).collect();
        let mut latent = values.shape.latent(symbols, values.step);
        self.rounding.finish(&mut latent, self.bottleneck.offset() as u8);
        latent
    }

    /// Transforms `signal` and runs `block` on its coefficient vectors
    /// block by block in parallel (`view` starts at the block's first
    /// position, `positions` apart between coefficients; `rows` vectors of
    /// `d`), each block giving `latent_dim × rows` values channel-major;
    /// assembles them into the latent's channel planes, the edge positions
    /// (which see only zero padding) given `edge(bias)`.
    fn latent_planes<T: Copy + Default + Send>(
        &self,
        signal: Signal,
        block: impl Fn(&[f32], usize, usize, usize) -> Vec<T> + Sync,
        edge_value: impl Fn(f32) -> T,
    ) -> Result<(LatentShape, Vec<T>)> {
        if signal.channels != self.channels as usize || signal.shape.len() != self.dim as usize {
            return Err(CodecError::IncompatibleInput(format!(
                "the encoder takes {}-channel {}-D signals, not {}-channel {}-D ones",
                self.channels,
                self.dim,
                signal.channels,
                signal.shape.len()
            )));
        }
        let coeffs = packet::forward_needed(&self.bank, signal, self.levels, &self.needed)?;
        let (k, d) = (self.latent_dim(), coeffs.channels);
        // A volume's slices are stacked: its latent rows are every slice's.
        let (depth, h, w) = match coeffs.shape.as_slice() {
            [d, h, w] => (*d, d * h, *w),
            [h, w] => (1, *h, *w),
            [w] => (1, 1, *w),
            _ => unreachable!("a packet transform has 1 to 3 axes"),
        };
        let positions = h * w;
        // Pixel-major projection z^T = X^T W^T, block by block in
        // parallel; each block's values come out channel-major.
        let blocks: Vec<(usize, Vec<T>)> = (0..positions.div_ceil(BLOCK))
            .into_par_iter()
            .map(|index| {
                let start = index * BLOCK;
                let rows = BLOCK.min(positions - start);
                (start, block(&coeffs.data[start..], positions, rows, d))
            })
            .collect();
        let (edge, width) = (self.edge, w + 2 * self.edge);
        let plane = h * width;
        let mut planes = vec![T::default(); k * plane];
        for (c, &b) in self.bias.iter().enumerate() {
            let value = edge_value(b);
            planes[c * plane..c * plane + edge].fill(value);
            planes[(c + 1) * plane - edge..(c + 1) * plane].fill(value);
        }
        for (start, local) in blocks {
            let rows = local.len() / k;
            for (c, chunk) in local.chunks_exact(rows).enumerate() {
                let at = c * plane + edge + start;
                planes[at..at + rows].copy_from_slice(chunk);
            }
        }
        let shape = LatentShape {
            depth,
            channels: k,
            height: h,
            width,
        };
        Ok((shape, planes))
    }

    /// Projects `rows` coefficient vectors (`d` values each, `positions`
    /// apart between coefficients) and adds the bias: `latent_dim × rows`
    /// values, channel-major.
    fn project_values(&self, coeffs: &[f32], positions: usize, rows: usize, d: usize) -> Vec<f32> {
        // The bands no latent reads are zero: they are left out.
        let planes: Vec<&[f32]> = (0..d)
            .filter(|&c| self.needed[c])
            .map(|c| &coeffs[c * positions..c * positions + rows])
            .collect();
        let mut z = vec![0.0f32; rows * self.latent_dim()];
        project_planes(&self.needed_weight, &self.bias, &planes, rows, &mut z);
        z
    }

    /// Residual coding of `rows` coefficient vectors (channel-major with
    /// `positions` between channels): stage `s` projects and quantizes the
    /// residual, whose reconstruction by stage `s`'s decoder is subtracted.
    fn project_residual(&self, coeffs: &[f32], positions: usize, rows: usize, d: usize) -> Vec<u8> {
        let (k, kk) = (self.latent_dim(), self.latent_dim() / self.stages);
        let mut residual = vec![0.0f32; rows * d];
        for (j, plane) in coeffs.chunks(positions).take(d).enumerate() {
            for (r, &v) in plane[..rows].iter().enumerate() {
                residual[r * d + j] = v;
            }
        }
        let mut local = vec![0u8; k * rows];
        let (mut z, mut zhat, mut decoded) = (vec![0.0f32; rows * kk], vec![0.0f32; rows * kk], vec![0.0f32; rows * d]);
        for stage in 0..self.stages {
            let (encoder, bias) = (
                &self.weight[stage * kk * d..(stage + 1) * kk * d],
                &self.bias[stage * kk..(stage + 1) * kk],
            );
            let pixel_major = Strides { row: d, col: 1 };
            matmul(
                rows,
                d,
                kk,
                &residual,
                pixel_major,
                encoder,
                Strides { row: 1, col: d },
                &mut z,
                Strides { row: kk, col: 1 },
            );
            for r in 0..rows {
                for c in 0..kk {
                    let symbol = self.quantizer.quantize(z[r * kk + c] + bias[c]);
                    local[(stage * kk + c) * rows + r] = symbol;
                    zhat[r * kk + c] = self.bottleneck.dequantize(symbol);
                }
            }
            if stage + 1 < self.stages {
                let decoder = &self.stage_decoders[stage * d * kk..(stage + 1) * d * kk];
                let decoder_bias = &self.stage_decoder_bias[stage * d..(stage + 1) * d];
                matmul(
                    rows,
                    kk,
                    d,
                    &zhat,
                    Strides { row: kk, col: 1 },
                    decoder,
                    Strides { row: 1, col: kk },
                    &mut decoded,
                    pixel_major,
                );
                for (value, (out, b)) in residual.iter_mut().zip(decoded.iter().zip(decoder_bias.iter().cycle())) {
                    *value -= out + b;
                }
            }
        }
        local
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_of_bands_negligible_for_every_latent_are_zero_and_not_needed() {
        // Two latents (largest weights 10 and 1) over three groups of two
        // bands: the second group is negligible for both; the third has
        // one negligible band (0.02 ≤ 0.003 · 10, 0.001 ≤ 0.003 · 1) and
        // one that is not, so it is kept whole.
        let weight = vec![
            10.0, -2.0, 0.02, 0.03, 0.02, 0.5, //
            1.0, 0.5, -0.002, 0.003, 0.001, 0.0,
        ];
        let (zeroed, needed) = without_negligible_weights(weight.clone(), 2, Some(2));
        assert_eq!(
            zeroed,
            vec![10.0, -2.0, 0.0, 0.0, 0.02, 0.5, 1.0, 0.5, 0.0, 0.0, 0.001, 0.0]
        );
        assert_eq!(needed, vec![true, true, false, false, true, true]);
        // Without groups (3-D), nothing changes.
        assert_eq!(
            without_negligible_weights(weight.clone(), 2, None),
            (weight, vec![true; 6])
        );
    }
}
