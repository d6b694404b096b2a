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
            let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
            let variance = values.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n as f64;
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

/// The tanh approximation of GELU (timm's `GELUTanh`).
#[inline]
pub fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x)).tanh())
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
    fn gelu_tanh_matches_known_values() {
        // torch.nn.functional.gelu(x, approximate="tanh") at 1, −1, 3.
        assert!((gelu_tanh(1.0) - 0.841_192).abs() < 1e-6);
        assert!((gelu_tanh(-1.0) + 0.158_808).abs() < 1e-6);
        assert!((gelu_tanh(3.0) - 2.996_363_8).abs() < 1e-5);
        assert_eq!(gelu_tanh(0.0), 0.0);
    }
}
