//! Linear decoders fitted at several quantizer steps. A linear model's
//! decoder is the least-squares map from dequantized latents to wavelet
//! coefficients *at the step it was fitted at*; at a coarser step more
//! latents are zero and the best map shrinks and predicts differently
//! (measured on held-out photos: at quality 15, rgb-16x's decoder refitted
//! at that step gives +0.4 dB). A model may hold decoders least-squares
//! fitted at other steps ([`crate::fit`]); a file is decoded with the
//! decoder of its step, interpolated linearly (in step code) between the two
//! nearest, the model's own decoder standing at code 0.
//!
//! A model's step decoders may also read the latent's eight neighbouring
//! positions (config `step_decoder_neighbours`, image models): each
//! position's coefficients are then a linear map of the 3×3 block of
//! latents around it, taken periodically at the latent's edges as the
//! periodized transform takes its samples. At coarse steps a neighbour
//! tells much of what a zeroed latent held (measured on held-out photos:
//! see docs/BENCHMARKS.md). The model's own decoder, at its own step,
//! reads no neighbours, so that files made before decode as they did.
//!
//! A decoder may also stand at code 0, the model's own step, in place of
//! the model's own decoder (`walloc fit-decoders --own-step`): files made
//! at that step then decode to other (better) pixels from the same bytes.
//! The shipped models of release 0.1 keep their own decoder there, so that
//! its files decode as they did.
//!
//! A `refine` model's step decoders are fitted around its refiner: each
//! holds, besides its linear map, a gain on each coefficient channel by
//! which the refiner's correction is weighed at its step (tensor
//! [`REFINER_GAIN`]). The refiner was trained at the model's own step, where
//! its gain is 1; the fit chooses the linear map and the gains together, by
//! least squares, so that at every other step the refine model decodes at
//! least as well (on the fitting data) as its linear map alone and as its
//! own decoder with the whole correction.
//!
//! Interpolation is plain `f32` arithmetic in a fixed order, so every
//! machine decodes a file to the same coefficients.

use std::borrow::Cow;

use crate::config::Architecture;
use crate::error::{CodecError, Result};
use crate::step::Step;

/// Name of the `[A, D, K]` tensor of the decoders' weights.
pub const WEIGHT: &str = "step_decoders.weight";
/// Name of the `[A, D]` tensor of their biases.
pub const BIAS: &str = "step_decoders.bias";
/// Name of the `[A, 8, D, K]` tensor of their weights on the neighbouring
/// latent positions, in the order of [`NEIGHBOURS`].
pub const NEIGHBOUR_WEIGHT: &str = "step_decoders.neighbour_weight";
/// Name of the `[A, D]` tensor of a refine model's gains on its refiner's
/// correction.
pub const REFINER_GAIN: &str = "step_decoders.refiner_gain";
/// The neighbouring latent positions a decoder may read, as (row, column)
/// offsets: the 3×3 block around a position, less its centre, row by row.
pub const NEIGHBOURS: [(isize, isize); 8] = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)];
/// Most decoders a model may hold.
pub const MAX_DECODERS: usize = 32;
/// The steps `walloc fit-linear` fits decoders at: every 10 codes (5/8 of
/// an octave) over the qualities' range, from quality 100 (code −20) to 0
/// (code 60); the model's own decoder is code 0.
pub const FITTED_CODES: [i8; 8] = [-20, -10, 10, 20, 30, 40, 50, 60];

/// The steps `walloc fit-decoders` fits decoders at: [`FITTED_CODES`], and
/// code 0 as well when `own_step` (a decoder that replaces the model's own
/// at its own step).
pub fn fitted_codes(own_step: bool) -> Vec<i8> {
    let mut codes = FITTED_CODES.to_vec();
    if own_step {
        let at = codes.partition_point(|&c| c < 0);
        codes.insert(at, 0);
    }
    codes
}

/// Checks a config's step codes: a `linear` or `refine` model's, strictly
/// ascending, within the step range (0, the model's own step, included: a
/// decoder there replaces the model's own), at most [`MAX_DECODERS`].
pub fn check_codes(codes: &[i8], architecture: Architecture) -> Result<()> {
    let bad = |why: String| Err(CodecError::InvalidModel(format!("step_decoders {codes:?}: {why}")));
    if !matches!(architecture, Architecture::Linear | Architecture::Refine) {
        return bad(format!(
            "only linear and refine models have step decoders, this one is {architecture}"
        ));
    }
    if codes.len() > MAX_DECODERS {
        return bad(format!("at most {MAX_DECODERS}"));
    }
    if codes.windows(2).any(|w| w[0] >= w[1]) {
        return bad("codes must ascend strictly".into());
    }
    if let Some(&code) = codes.iter().find(|&&c| !(Step::MIN_CODE..=Step::MAX_CODE).contains(&c)) {
        return bad(format!("code {code} (outside {}..={})", Step::MIN_CODE, Step::MAX_CODE));
    }
    Ok(())
}

/// A decoder: `[D × K]` weights, row-major, `[D]` biases, and the
/// weights of the neighbouring positions, if it reads them.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoder {
    /// `[D × K]`, row-major.
    pub weight: Vec<f32>,
    /// `[D]`.
    pub bias: Vec<f32>,
    /// `[8 × D × K]`: a `[D × K]` map for each of [`NEIGHBOURS`]; empty
    /// for a decoder of each position's own latents alone.
    pub neighbour_weight: Vec<f32>,
    /// `[D]`: a refine model's weight on its refiner's correction of each
    /// coefficient channel; empty for a linear model's decoder.
    pub refiner_gain: Vec<f32>,
}

impl Decoder {
    /// A decoder of each position's own latents alone.
    pub fn pointwise(weight: Vec<f32>, bias: Vec<f32>) -> Self {
        Decoder {
            weight,
            bias,
            neighbour_weight: Vec::new(),
            refiner_gain: Vec::new(),
        }
    }

    /// A refine model's own decoder: pointwise, weighing its refiner's
    /// whole correction (gain 1 on every coefficient channel).
    pub fn refined(weight: Vec<f32>, bias: Vec<f32>) -> Self {
        let refiner_gain = vec![1.0; bias.len()];
        Decoder {
            refiner_gain,
            ..Decoder::pointwise(weight, bias)
        }
    }
}

/// A model's decoders by step code, ascending, the model's own at code 0.
#[derive(Clone, Debug, PartialEq)]
pub struct StepDecoders {
    anchors: Vec<(i8, Decoder)>,
}

impl StepDecoders {
    /// The decoders at `codes` (checked by [`check_codes`]) with the model's
    /// own, `native`, at code 0 unless `codes` hold a decoder there.
    pub fn new(native: Decoder, codes: &[i8], decoders: Vec<Decoder>) -> Self {
        let mut anchors: Vec<(i8, Decoder)> = codes.iter().copied().zip(decoders).collect();
        if !codes.contains(&0) {
            anchors.push((0, native));
        }
        anchors.sort_by_key(|&(code, _)| code);
        StepDecoders { anchors }
    }

    /// The decoder of `step`: the anchor's at an anchor, the nearest end's
    /// outside them, else `(1 − t)·below + t·above` with `t` the step
    /// code's fraction of the way between the two.
    pub fn at(&self, step: Step) -> Cow<'_, Decoder> {
        let code = step.code();
        let above = self.anchors.partition_point(|&(c, _)| c < code);
        if above == self.anchors.len() {
            return Cow::Borrowed(&self.anchors[above - 1].1);
        }
        let (upper, high) = (&self.anchors[above].1, self.anchors[above].0);
        if high == code || above == 0 {
            return Cow::Borrowed(upper);
        }
        let (low, lower) = (self.anchors[above - 1].0, &self.anchors[above - 1].1);
        let t = f32::from(code - low) / f32::from(high - low);
        let mix = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(&a, &b)| a + t * (b - a)).collect();
        // A decoder that reads no neighbours weighs them zero.
        let (below, above) = (&lower.neighbour_weight, &upper.neighbour_weight);
        let weight_at = |w: &[f32], i: usize| w.get(i).copied().unwrap_or(0.0);
        let neighbour_weight = (0..below.len().max(above.len()))
            .map(|i| {
                let (a, b) = (weight_at(below, i), weight_at(above, i));
                a + t * (b - a)
            })
            .collect();
        Cow::Owned(Decoder {
            weight: mix(&lower.weight, &upper.weight),
            bias: mix(&lower.bias, &upper.bias),
            neighbour_weight,
            refiner_gain: mix(&lower.refiner_gain, &upper.refiner_gain),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoder(v: f32) -> Decoder {
        Decoder::pointwise(vec![v; 4], vec![-v; 2])
    }

    #[test]
    fn a_pointwise_anchor_weighs_the_neighbours_zero() {
        let mut spatial = decoder(3.0);
        spatial.neighbour_weight = vec![8.0; 8 * 4];
        let decoders = StepDecoders::new(decoder(1.0), &[20], vec![spatial]);
        let at = |code: i8| decoders.at(Step::from_code(code).unwrap()).into_owned();
        assert!(
            at(0).neighbour_weight.is_empty(),
            "the model's own decoder reads no neighbours"
        );
        assert_eq!(at(20).neighbour_weight, vec![8.0; 32]);
        let quarter = at(5);
        assert_eq!((quarter.weight[0], quarter.neighbour_weight[7]), (1.5, 2.0));
        assert_eq!(quarter.neighbour_weight.len(), 32);
    }

    #[test]
    fn a_decoder_at_code_0_replaces_the_models_own() {
        let decoders = StepDecoders::new(
            decoder(1.0),
            &[-10, 0, 20],
            vec![decoder(3.0), decoder(5.0), decoder(7.0)],
        );
        let at = |code: i8| decoders.at(Step::from_code(code).unwrap()).weight[0];
        assert_eq!((at(0), at(-5), at(10)), (5.0, 4.0, 6.0));
        assert_eq!(fitted_codes(true), [-20, -10, 0, 10, 20, 30, 40, 50, 60]);
        assert_eq!(fitted_codes(false), FITTED_CODES);
    }

    #[test]
    fn decoders_interpolate_between_anchors_and_hold_beyond_them() {
        let decoders = StepDecoders::new(decoder(1.0), &[-10, 20], vec![decoder(3.0), decoder(7.0)]);
        let at = |code: i8| decoders.at(Step::from_code(code).unwrap()).weight[0];
        assert_eq!(at(0), 1.0);
        assert_eq!(at(-10), 3.0);
        assert_eq!(at(-20), 3.0);
        assert_eq!(at(20), 7.0);
        assert_eq!(at(60), 7.0);
        assert_eq!(at(-5), 2.0);
        assert_eq!(at(5), 2.5);
        assert_eq!(decoders.at(Step::from_code(5).unwrap()).bias[1], -2.5);
    }

    #[test]
    fn refiner_gains_interpolate_from_one_at_the_models_own_step() {
        let mut coarse = decoder(3.0);
        coarse.refiner_gain = vec![0.5, 0.0];
        let decoders = StepDecoders::new(Decoder::refined(vec![1.0; 4], vec![-1.0; 2]), &[20], vec![coarse]);
        let gain = |code: i8| decoders.at(Step::from_code(code).unwrap()).refiner_gain.clone();
        assert_eq!(gain(0), vec![1.0, 1.0]);
        assert_eq!(gain(10), vec![0.75, 0.5]);
        assert_eq!(gain(40), vec![0.5, 0.0]);
        assert!(
            decoder(1.0).refiner_gain.is_empty(),
            "a linear model's decoder has no gains"
        );
    }

    #[test]
    fn codes_are_checked() {
        let linear = Architecture::Linear;
        assert!(check_codes(&[-20, 10], linear).is_ok());
        assert!(
            check_codes(&[-20, 0, 10], linear).is_ok(),
            "a decoder at the model's own step"
        );
        for (codes, why) in [
            (vec![10, -20], "ascend"),
            (vec![0, 0], "ascend"),
            (vec![-40], "code -40"),
            (vec![10, 10], "ascend"),
        ] {
            let message = check_codes(&codes, linear).unwrap_err().to_string();
            assert!(message.contains(why), "{codes:?}: {message}");
        }
        assert!(check_codes(&[10], Architecture::Refine).is_ok());
        let message = check_codes(&[10], Architecture::Codec2d).unwrap_err().to_string();
        assert!(message.contains("only linear and refine models"), "{message}");
    }
}
