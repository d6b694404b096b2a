//! The reference's encoders and entropy bottleneck in burn. The lightweight
//! encoder is a
//! 1×1 convolution to the latent channels, `ToUniform` (Gaussian-CDF
//! companding to ±M), then rounding half to even in evaluation or uniform
//! noise in training. The same math as `walloc_codec::LinearEncoder`, which
//! is what sensors run; a test holds the two to the same integers.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use walloc_codec::bottleneck::{Quantizer, Rounding};
use walloc_codec::registry::Analysis;
use walloc_codec::{Latent, Model, Step};
use walloc_wavelet::{packet, Signal};

use crate::decode::values;
use crate::error::NnError;
use crate::kl::KlEncoder;
use crate::networks::load_image_encoder;
use crate::weights::Weights;

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

    /// `ToNormal`: `s Φ⁻¹(clamp(u / 2M + 1/2, 1e-4, 0.9999))`.
    pub fn to_normal<const D: usize>(&self, u: Tensor<D>) -> Tensor<D> {
        // Φ⁻¹(p) = √2 erfinv(2p - 1)
        let p = u.mul_scalar(0.5 / self.latent_max).add_scalar(0.5).clamp(1e-4, 0.9999);
        erfinv(p.mul_scalar(2.0).sub_scalar(1.0)).mul_scalar(self.scale * std::f64::consts::SQRT_2)
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

/// `p(w) = Σ cᵢ wⁱ` by Horner's rule, `coefficients` from the highest power.
fn horner<const D: usize>(w: Tensor<D>, coefficients: &[f64]) -> Tensor<D> {
    coefficients[1..]
        .iter()
        .fold(w.zeros_like().add_scalar(coefficients[0]), |p, &c| {
            (p * w.clone()).add_scalar(c)
        })
}

/// The inverse error function for |x| < 1 (burn has none), by Giles'
/// single-precision approximation ("Approximating the erfinv function",
/// GPU Computing Gems, 2011): relative error below 4e-7, differentiable.
fn erfinv<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    // (1 - x)(1 + x) rather than 1 - x², which cancels near |x| = 1.
    let w = (x.clone().neg().add_scalar(1.0) * x.clone().add_scalar(1.0))
        .log()
        .neg();
    let central = horner(
        w.clone().sub_scalar(2.5),
        &[
            2.810_226_36e-08,
            3.432_739_39e-07,
            -3.523_387_7e-06,
            -4.391_506_54e-06,
            0.000_218_580_87,
            -0.001_253_725_03,
            -0.004_177_681_64,
            0.246_640_727,
            1.501_409_41,
        ],
    );
    // The tail is only used where w ≥ 5; clamping its input there keeps
    // sqrt's derivative finite where it is masked out (0 · ∞ would be NaN).
    let tail = horner(
        w.clone().clamp_min(5.0).sqrt().sub_scalar(3.0),
        &[
            -0.000_200_214_257,
            0.000_100_950_558,
            0.001_349_343_22,
            -0.003_673_428_44,
            0.005_739_507_73,
            -0.007_622_461_3,
            0.009_438_870_47,
            1.001_674_06,
            2.832_976_82,
        ],
    );
    central.mask_where(w.greater_equal_elem(5.0), tail) * x
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

/// A model's full KL encoder (`encoder_hidden`): the packets of
/// `walloc-wavelet`, the burn encoder, then the sensor path's exact
/// quantizer, so that the integers match the reference's.
struct KlAnalysis<'m> {
    model: &'m Model,
    step: Step,
    rounding: Rounding,
    encoder: KlEncoder,
    device: Device,
}

impl Analysis for KlAnalysis<'_> {
    fn analyze(&self, signal: Signal) -> walloc_codec::Result<Latent> {
        let config = self.model.config();
        let coefficients = packet::forward(self.model.bank(), signal, config.levels)?;
        let (h, w) = (coefficients.shape[0], coefficients.shape[1]);
        let x = Tensor::<4>::from_data(
            TensorData::new(coefficients.data, [1, config.coefficient_dim(), h, w]),
            &self.device,
        );
        let z = values(self.encoder.forward(x))?;
        let bottleneck = self.model.bottleneck_at(self.step);
        let quantizer = Quantizer::with_rounding(&bottleneck, self.rounding);
        let mut latent = Latent {
            depth: 1,
            channels: config.latent_dim as usize,
            height: h,
            width: w,
            symbols: z.iter().map(|&v| quantizer.quantize(v)).collect(),
            step: self.step,
        };
        self.rounding.finish(&mut latent, bottleneck.offset() as u8);
        Ok(latent)
    }
}

/// The full KL encoder of a `codec2d` model, for the registry.
pub(crate) fn kl_encoder(
    model: &Model,
    step: Step,
    rounding: Rounding,
) -> walloc_codec::Result<Box<dyn Analysis + '_>> {
    let device = Device::default();
    Ok(Box::new(KlAnalysis {
        encoder: load_image_encoder(model, &device)?,
        model,
        step,
        rounding,
        device,
    }))
}
