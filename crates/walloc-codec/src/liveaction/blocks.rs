//! The lightweight encoder's layers: GroupNorm with 8 groups, tanh-GELU,
//! the factorized squeeze-and-excite, and the residual block that holds
//! them (the reference's `FactorizedResBlockGNND`).

use super::conv::FactorizedConv;
use super::feature::FeatureMap;
use super::weights::TensorSource;
use crate::error::Result;

/// GroupNorm's groups in every LiVeAction network.
pub(crate) const NORM_GROUPS: usize = 8;
/// GroupNorm's epsilon in every LiVeAction network.
const NORM_EPS: f64 = 1e-7;

/// The reference's `GroupNorm8`: 8 groups of consecutive channels, each
/// normalized over its channels and positions (biased variance, eps 1e-7),
/// then a per-channel affine map.
#[derive(Clone, Debug)]
pub struct GroupNorm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl GroupNorm {
    /// Loads `{name}.groupnorm.weight` and `.bias` for `channels` channels.
    pub fn load(source: &dyn TensorSource, name: &str, channels: usize) -> Result<Self> {
        Ok(GroupNorm {
            weight: source.tensor_of_shape(&format!("{name}.groupnorm.weight"), &[channels])?,
            bias: source.tensor_of_shape(&format!("{name}.groupnorm.bias"), &[channels])?,
        })
    }

    /// Normalizes `x` in place (statistics accumulated in `f64`).
    pub fn apply(&self, x: &mut FeatureMap) {
        let per_group = x.channels / NORM_GROUPS;
        let n = x.plane_len() * per_group;
        for g in 0..NORM_GROUPS {
            let values = &mut x.data[g * n..(g + 1) * n];
            let mean = lane_sum(values, |v| v) / n as f64;
            let variance = lane_sum(values, |v| (v - mean) * (v - mean)) / n as f64;
            let inverse = 1.0 / (variance + NORM_EPS).sqrt();
            for (k, plane) in values.chunks_exact_mut(n / per_group).enumerate() {
                let c = g * per_group + k;
                let scale = (inverse * f64::from(self.weight[c])) as f32;
                let shift = (f64::from(self.bias[c]) - mean * inverse * f64::from(self.weight[c])) as f32;
                for v in plane {
                    *v = *v * scale + shift;
                }
            }
        }
    }
}

/// `Σ f(v)` over `values` in `f64`, in eight interleaved partial sums, so
/// that the loop vectorizes (one running sum cannot be reordered).
#[inline]
fn lane_sum(values: &[f32], f: impl Fn(f64) -> f64) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder().iter().map(|&v| f(f64::from(v))).sum::<f64>();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += f(f64::from(v));
        }
    }
    lanes.iter().sum::<f64>() + rest
}

/// The tanh approximation of GELU (timm's `GELUTanh`).
#[inline]
pub fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    0.5 * x * (1.0 + tanh(SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x)))
}

/// `tanh(x)` within 2·10⁻⁷ of libm's, without a branch or a library call,
/// so that a loop over a feature map vectorizes (libm's `tanhf` was a
/// quarter of the encoder's time): `1 − 2/(e^{2|x|} + 1)` with the sign
/// of `x`, `e^y` as `2^n·p(r)` for `y = n·ln 2 + r`, `|r| ≤ ln 2 / 2`, and
/// `p` the Taylor polynomial of degree 7 (relative error below 10⁻⁸).
#[inline]
fn tanh(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // tanh(9) rounds to 1 in f32, and 2^n stays in range.
    let y = 2.0 * x.abs().min(9.0);
    let n = (y * std::f32::consts::LOG2_E + 0.5) as i32;
    let r = (y - n as f32 * LN2_HI) - n as f32 * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (1.0 / 2.0
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    let exp = p * f32::from_bits(((n + 127) as u32) << 23);
    (1.0 - 2.0 / (exp + 1.0)).copysign(x)
}

/// The reference's `FactorizedSqueezeExciteND`: the channels' means,
/// a factorized 1×1 reduction to a quarter, tanh-GELU, a factorized 1×1
/// expansion, and a sigmoid that scales each channel.
#[derive(Clone, Debug)]
pub struct SqueezeExcite {
    reduce: FactorizedConv,
    expand: FactorizedConv,
}

impl SqueezeExcite {
    /// Loads `{name}.conv_reduce` and `{name}.conv_expand`.
    pub fn load(source: &dyn TensorSource, name: &str, channels: usize, dim: usize) -> Result<Self> {
        let middle = channels / 4;
        Ok(SqueezeExcite {
            reduce: FactorizedConv::load(source, &format!("{name}.conv_reduce"), (channels, middle), 1, dim, true)?,
            expand: FactorizedConv::load(source, &format!("{name}.conv_expand"), (middle, channels), 1, dim, true)?,
        })
    }

    /// Scales the channels of `x` in place.
    pub fn apply(&self, x: &mut FeatureMap) -> Result<()> {
        let n = x.plane_len();
        let means = (0..x.channels)
            .map(|c| (x.plane(c).iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64) as f32)
            .collect();
        let pooled = FeatureMap::new(means, x.channels, vec![1; x.shape.len()])?;
        let mut s = self.reduce.forward(&pooled)?;
        s.data.iter_mut().for_each(|v| *v = gelu_tanh(*v));
        let s = self.expand.forward(&s)?;
        for (c, &gate) in s.data.iter().enumerate() {
            let gate = 1.0 / (1.0 + (-gate).exp());
            x.plane_mut(c).iter_mut().for_each(|v| *v *= gate);
        }
        Ok(())
    }
}

/// The reference's `FactorizedResBlockGNND`: factorized conv → GroupNorm →
/// tanh-GELU → factorized conv → GroupNorm → squeeze-excite, plus the input.
#[derive(Clone, Debug)]
pub struct ResBlock {
    conv1: FactorizedConv,
    norm1: GroupNorm,
    conv2: FactorizedConv,
    norm2: GroupNorm,
    excite: SqueezeExcite,
}

impl ResBlock {
    /// Loads the block `{name}` of `channels` channels with `kernel`.
    pub fn load(source: &dyn TensorSource, name: &str, channels: usize, kernel: usize, dim: usize) -> Result<Self> {
        let conv = |part: &str| {
            FactorizedConv::load(
                source,
                &format!("{name}.{part}"),
                (channels, channels),
                kernel,
                dim,
                false,
            )
        };
        Ok(ResBlock {
            conv1: conv("conv1")?,
            norm1: GroupNorm::load(source, &format!("{name}.gn1"), channels)?,
            conv2: conv("conv2")?,
            norm2: GroupNorm::load(source, &format!("{name}.gn2"), channels)?,
            excite: SqueezeExcite::load(source, &format!("{name}.se"), channels, dim)?,
        })
    }

    /// Multiply-accumulates per position (the squeeze-excite's, once per
    /// signal, left out).
    pub fn macs_per_position(&self) -> usize {
        self.conv1.macs_per_position() + self.conv2.macs_per_position()
    }

    /// The block's output for `x`.
    pub fn forward(&self, x: &FeatureMap) -> Result<FeatureMap> {
        let mut y = self.conv1.forward(x)?;
        self.norm1.apply(&mut y);
        y.data.iter_mut().for_each(|v| *v = gelu_tanh(*v));
        let mut y = self.conv2.forward(&y)?;
        self.norm2.apply(&mut y);
        self.excite.apply(&mut y)?;
        for (v, &skip) in y.data.iter_mut().zip(&x.data) {
            *v += skip;
        }
        Ok(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_is_libms_within_two_ten_millionths() {
        let worst = (-120_000..=120_000)
            .map(|i| i as f32 * 1e-4)
            .chain([1e-30, -1e-30, 30.0, -30.0, 1e6, f32::MAX, f32::MIN])
            .map(|x| (tanh(x) - x.tanh()).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 2e-7, "{worst}");
        assert_eq!(tanh(0.0), 0.0);
    }

    #[test]
    fn gelu_tanh_matches_known_values() {
        // torch.nn.functional.gelu(x, approximate="tanh") at 1, −1, 3.
        assert!((gelu_tanh(1.0) - 0.841_192).abs() < 1e-6);
        assert!((gelu_tanh(-1.0) + 0.158_808).abs() < 1e-6);
        assert!((gelu_tanh(3.0) - 2.996_363_8).abs() < 1e-5);
        assert_eq!(gelu_tanh(0.0), 0.0);
    }
}
