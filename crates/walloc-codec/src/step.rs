//! The quality knob: a per-file quantizer step. A file coded at step `Δ`
//! divides the encoder's output by `Δ` before the bottleneck and the
//! decoder multiplies the dequantized latent by `Δ`, so a larger step
//! means coarser integers, fewer bits and less detail, at the same model.
//!
//! The step is stored as a signed code `s` (one header byte) with
//! `Δ = 2^(s/16)`: 16 steps an octave, from `Δ = 1/4` to `Δ = 32`. Code 0
//! (`Δ = 1`) is the step a model was fitted at, and what every file made
//! before the knob existed holds. `Δ` is computed from an integer table,
//! so that the encoder and every decoder agree on it to the bit.
//!
//! Users choose a *quality* from 0 to 100 instead ([`Step::from_quality`]),
//! as with JPEG and WebP: quality 75 is the model's own step, every 20
//! points halve or double it.

use crate::error::{invalid, Result};

/// `2^(i/16)` for `i` in `0..16`, in units of `2^-16` (rounded).
const OCTAVE_Q16: [u64; 16] = [
    65536, 68438, 71468, 74632, 77936, 81386, 84990, 88752, 92682, 96785, 101070, 105545, 110218, 115098, 120194,
    125515,
];

/// A quantizer step, `2^(code/16)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Step(i8);

impl Step {
    /// The model's own step (`Δ = 1`).
    pub const NATIVE: Step = Step(0);
    /// The smallest code, `Δ = 1/4`.
    pub const MIN_CODE: i8 = -32;
    /// The largest code, `Δ = 32`.
    pub const MAX_CODE: i8 = 80;
    /// The quality of the model's own step.
    pub const NATIVE_QUALITY: f64 = 75.0;
    /// The step of quality 100, the finest a quality reaches (`Δ = 2^(−20/16)`).
    pub const AT_QUALITY_100: Step = Step(-20);
    /// The step of quality 0, the coarsest a quality reaches (`Δ = 2^(60/16)`).
    pub const AT_QUALITY_0: Step = Step(60);
    /// Quality points per code (20 points an octave of step).
    const QUALITY_PER_CODE: f64 = 1.25;

    /// The step of `code`, or an error naming the allowed range.
    pub fn from_code(code: i8) -> Result<Step> {
        if !(Self::MIN_CODE..=Self::MAX_CODE).contains(&code) {
            return Err(invalid(
                "quantizer step",
                format!("code {code} ({}..={})", Self::MIN_CODE, Self::MAX_CODE),
            ));
        }
        Ok(Step(code))
    }

    /// The step of a quality from 0 (smallest files) to 100 (finest
    /// quantization); 75 is the model's own step.
    pub fn from_quality(quality: f64) -> Result<Step> {
        if !(0.0..=100.0).contains(&quality) {
            return Err(invalid("quality", format!("{quality} (0 to 100)")));
        }
        let code = ((Self::NATIVE_QUALITY - quality) / Self::QUALITY_PER_CODE).round() as i8;
        Step::from_code(code)
    }

    /// The quality this step stands for (the inverse of
    /// [`Step::from_quality`], exact at multiples of 1.25 points).
    pub fn quality(self) -> f64 {
        (Self::NATIVE_QUALITY - f64::from(self.0) * Self::QUALITY_PER_CODE).clamp(0.0, 100.0)
    }

    /// The stored code.
    pub fn code(self) -> i8 {
        self.0
    }

    /// `Δ` in units of `2^-16`, from the integer table (exact on every
    /// machine).
    pub fn factor_q16(self) -> u64 {
        let code = i32::from(self.0);
        let (octave, fraction) = (code.div_euclid(16), code.rem_euclid(16) as usize);
        let base = OCTAVE_Q16[fraction];
        if octave >= 0 {
            base << octave
        } else {
            base >> -octave
        }
    }

    /// `Δ`.
    pub fn factor(self) -> f64 {
        self.factor_q16() as f64 / 65_536.0
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "quality {} (step {:.3})", self.quality(), self.factor())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_qualities() {
        assert_eq!(Step::NATIVE.factor(), 1.0);
        assert_eq!(Step::from_code(16).unwrap().factor(), 2.0);
        assert_eq!(Step::from_code(-32).unwrap().factor(), 0.25);
        assert_eq!(Step::from_code(80).unwrap().factor(), 32.0);
        assert!((Step::from_code(8).unwrap().factor() - 2f64.sqrt()).abs() < 1e-4);
        assert!(Step::from_code(81).is_err() && Step::from_code(-33).is_err());
        assert_eq!(Step::from_quality(75.0).unwrap(), Step::NATIVE);
        assert_eq!(Step::from_quality(100.0).unwrap(), Step::AT_QUALITY_100);
        assert_eq!(Step::from_quality(0.0).unwrap(), Step::AT_QUALITY_0);
        assert_eq!(Step::from_quality(55.0).unwrap().factor(), 2.0);
        assert_eq!(Step::from_quality(100.0).unwrap().code(), -20);
        assert_eq!(Step::from_quality(0.0).unwrap().code(), 60);
        assert!(Step::from_quality(100.5).is_err() && Step::from_quality(f64::NAN).is_err());
        let all = || (Step::MIN_CODE..=Step::MAX_CODE).map(Step);
        for step in all() {
            let q = step.quality();
            if (0.0..=100.0).contains(&q) && q != 0.0 && q != 100.0 {
                assert_eq!(Step::from_quality(q).unwrap(), step);
            }
        }
        // Finer to coarser, strictly.
        let factors: Vec<u64> = all().map(Step::factor_q16).collect();
        assert!(factors.windows(2).all(|w| w[0] < w[1]));
    }
}
