//! LiVeAction's two companders: the power law applied to the wavelet
//! coefficients before the encoder (and inverted after the decoder), and
//! the Laplace CDF that maps the encoder's output onto ±127 before
//! rounding.

/// The factor applied after [`compand`] (and removed before
/// [`decompand`]): the reference's `12.8`.
pub const COMPAND_SCALE: f32 = 12.8;
/// The compander's offset (`eps`).
const EPS: f32 = 0.1;
/// The compander's power.
const POWER: f32 = 0.4;

/// `sign(x)·((|x| + 0.1)^0.4 − 0.1^0.4)`, the reference's `compand`
/// (without the factor [`COMPAND_SCALE`]).
#[inline]
pub fn compand(x: f32) -> f32 {
    let magnitude = (x.abs() + EPS).powf(POWER) - EPS.powf(POWER);
    sign(x) * magnitude
}

/// The inverse of [`compand`]: `sign(y)·((|y| + 0.1^0.4)^2.5 − 0.1)`.
#[inline]
pub fn decompand(y: f32) -> f32 {
    let magnitude = (y.abs() + EPS.powf(POWER)).powf(1.0 / POWER) - EPS;
    sign(y) * magnitude
}

/// PyTorch's `sign`: zero at zero.
#[inline]
fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The reference's `LaplaceCompand` with its rounding: each latent channel
/// `k` maps `z` to `254·F(z; σ_k) − 127`, where `F` is the CDF of a
/// zero-mean Laplace distribution of scale `σ_k` (at least `1e-6`), and the
/// result is rounded half to even, so latents lie in `−127..=127`.
#[derive(Clone, Debug, PartialEq)]
pub struct LaplaceQuantizer {
    sigma: Vec<f32>,
}

impl LaplaceQuantizer {
    /// One scale per latent channel (the reference's
    /// `quantize.compand.sigma`).
    pub fn new(sigma: Vec<f32>) -> Self {
        LaplaceQuantizer {
            sigma: sigma.into_iter().map(|s| s.max(1e-6)).collect(),
        }
    }

    /// Latent channels.
    pub fn channels(&self) -> usize {
        self.sigma.len()
    }

    /// `254·F(z; σ) − 127` for channel `channel`, before rounding (as
    /// `torch.distributions.Laplace.cdf`: `0.5 − 0.5·sign(z)·expm1(−|z|/σ)`).
    #[inline]
    pub fn companded(&self, channel: usize, z: f32) -> f32 {
        let cdf = 0.5 - 0.5 * sign(z) * libm::expm1f(-z.abs() / self.sigma[channel]);
        254.0 * cdf - 127.0
    }

    /// The integer latent of `z` in channel `channel`.
    #[inline]
    pub fn quantize(&self, channel: usize, z: f32) -> i8 {
        // `companded` lies in −127..=127, so the cast cannot saturate.
        self.companded(channel, z).round_ties_even() as i8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decompand_inverts_compand() {
        for &x in &[-3.0f32, -0.5, -1e-3, 0.0, 2e-4, 0.7, 10.0] {
            let back = decompand(compand(x));
            assert!((back - x).abs() <= 1e-5 * (1.0 + x.abs()), "{x} -> {back}");
        }
        assert_eq!(compand(0.0), 0.0);
        // 1.1^0.4 − 0.1^0.4
        assert!((compand(1.0) - 0.640_753).abs() < 1e-5);
    }

    #[test]
    fn laplace_quantizer_maps_onto_plus_minus_127() {
        let q = LaplaceQuantizer::new(vec![2.0, 0.0]);
        assert_eq!(q.quantize(0, 0.0), 0);
        assert_eq!(q.quantize(0, 1e9), 127);
        assert_eq!(q.quantize(0, -1e9), -127);
        // F(σ·ln 2) = 0.75 → 254·0.75 − 127 = 63.5, a tie: rounds to even 64.
        assert!((q.companded(0, 2.0 * std::f32::consts::LN_2) - 63.5).abs() < 1e-4);
        // σ is clamped to 1e-6, not zero: no NaN.
        assert_eq!(q.quantize(1, 1e-3), 127);
    }
}
