//! The reference's lightweight encoder and entropy bottleneck in burn: a
//! 1×1 convolution to the latent channels, `ToUniform` (Gaussian-CDF
//! companding to ±M), then rounding half to even in evaluation or uniform
//! noise in training. The same math as `walloc_codec::LinearEncoder`, which
//! is what sensors run; a test holds the two to the same integers.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::prelude::*;
use burn::tensor::Distribution;

use crate::weights::{NnError, Weights};

/// Companding and quantization of `bits`-bit latents (the reference's
/// `ToUniform` + `Round`).
#[derive(Clone, Copy, Debug)]
pub struct Bottleneck {
    scale: f64,
    latent_max: f64,
}

impl Bottleneck {
    /// The reference's constants for `bits`-bit latents, as
    /// `walloc_codec::bottleneck::Bottleneck` defines them.
    pub fn new(bits: u8) -> Self {
        let reference = walloc_codec::bottleneck::Bottleneck::new(bits);
        Bottleneck {
            scale: reference.scale(),
            latent_max: reference.latent_max(),
        }
    }

    /// `2M (Φ(z/s) - 1/2)`.
    pub fn to_uniform<const D: usize>(&self, z: Tensor<D>) -> Tensor<D> {
        // Φ(x) - 1/2 = erf(x / √2) / 2
        z.mul_scalar(1.0 / (self.scale * std::f64::consts::SQRT_2))
            .erf()
            .mul_scalar(self.latent_max)
    }

    /// Rounds half to even (evaluation) or adds `U(-1/2, 1/2)` noise (training).
    pub fn quantize<const D: usize>(&self, u: Tensor<D>, training: bool) -> Tensor<D> {
        if training {
            let noise = u.random_like(Distribution::Uniform(-0.5, 0.5));
            u + noise
        } else {
            u.round()
        }
    }
}

/// The lightweight encoder: one 1×1 convolution (`encoder.0`).
#[derive(Module, Debug)]
pub struct LightweightEncoder {
    projection: Conv2d,
}

impl LightweightEncoder {
    /// Loads `encoder.0.weight` `[latent, inputs, 1, 1]` and `encoder.0.bias`
    /// under `w`'s prefix.
    pub fn load(w: &Weights, inputs: usize, latent: usize, device: &Device) -> Result<Self, NnError> {
        let mut projection = Conv2dConfig::new([inputs, latent], [1, 1]).init(device);
        projection.weight = w.param("weight", [latent, inputs, 1, 1], device)?;
        projection.bias = Some(w.param("bias", [latent], device)?);
        Ok(LightweightEncoder { projection })
    }

    /// Wavelet coefficients `[batch, inputs, h, w]` to continuous latents.
    pub fn forward(&self, coefficients: Tensor<4>) -> Tensor<4> {
        self.projection.forward(coefficients)
    }
}
