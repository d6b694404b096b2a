//! Filter banks: the four filters of a two-channel biorthogonal wavelet.

use std::f64::consts::FRAC_1_SQRT_2;

/// A two-channel filter bank, as PyWavelets lists it (`dec_lo`, `dec_hi`,
/// `rec_lo`, `rec_hi`), stored as `f32` exactly as the reference stores it.
///
/// All four filters have the same even length.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterBank {
    name: &'static str,
    dec_lo: Vec<f32>,
    dec_hi: Vec<f32>,
    rec_lo: Vec<f32>,
    rec_hi: Vec<f32>,
}

const BIOR4_4_DEC_LO: [f64; 10] = [
    0.0,
    0.03782845550726404,
    -0.023849465019556843,
    -0.11062440441843718,
    0.37740285561283066,
    0.8526986790088938,
    0.37740285561283066,
    -0.11062440441843718,
    -0.023849465019556843,
    0.03782845550726404,
];
const BIOR4_4_DEC_HI: [f64; 10] = [
    0.0,
    -0.06453888262869706,
    0.04068941760916406,
    0.41809227322161724,
    -0.7884856164055829,
    0.41809227322161724,
    0.04068941760916406,
    -0.06453888262869706,
    0.0,
    0.0,
];
const BIOR2_2_DEC_LO: [f64; 6] = [
    0.0,
    -0.1767766952966369,
    0.3535533905932738,
    1.0606601717798212,
    0.3535533905932738,
    -0.1767766952966369,
];
const BIOR2_2_DEC_HI: [f64; 6] = [0.0, 0.3535533905932738, -FRAC_1_SQRT_2, 0.3535533905932738, 0.0, 0.0];
const HAAR_DEC_LO: [f64; 2] = [FRAC_1_SQRT_2, FRAC_1_SQRT_2];
const HAAR_DEC_HI: [f64; 2] = [-FRAC_1_SQRT_2, FRAC_1_SQRT_2];

impl FilterBank {
    /// The names accepted by [`FilterBank::by_name`].
    pub const NAMES: [&'static str; 3] = ["bior4.4", "bior2.2", "haar"];

    /// Builds a biorthogonal bank from its decomposition filters; the
    /// reconstruction filters follow by the quadrature-mirror relations
    /// `rec_lo[n] = (-1)^(n+1) dec_hi[n]`, `rec_hi[n] = (-1)^n dec_lo[n]`
    /// (PyWavelets' convention, checked against its tables in the tests).
    fn from_decomposition(name: &'static str, dec_lo: &[f64], dec_hi: &[f64]) -> Self {
        let sign = |n: usize| if n.is_multiple_of(2) { 1.0 } else { -1.0 };
        let rec_lo = dec_hi.iter().enumerate().map(|(n, &h)| -sign(n) * h);
        let rec_hi = dec_lo.iter().enumerate().map(|(n, &h)| sign(n) * h);
        let to_f32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        FilterBank {
            name,
            dec_lo: to_f32(dec_lo),
            dec_hi: to_f32(dec_hi),
            rec_lo: rec_lo.map(|x| x as f32).collect(),
            rec_hi: rec_hi.map(|x| x as f32).collect(),
        }
    }

    /// Cohen–Daubechies–Feauveau 9/7 (`bior4.4`), the reference's wavelet.
    pub fn bior4_4() -> Self {
        Self::from_decomposition("bior4.4", &BIOR4_4_DEC_LO, &BIOR4_4_DEC_HI)
    }

    /// Le Gall 5/3 (`bior2.2`), the JPEG 2000 lossless wavelet.
    pub fn bior2_2() -> Self {
        Self::from_decomposition("bior2.2", &BIOR2_2_DEC_LO, &BIOR2_2_DEC_HI)
    }

    /// The Haar wavelet.
    pub fn haar() -> Self {
        Self::from_decomposition("haar", &HAAR_DEC_LO, &HAAR_DEC_HI)
    }

    /// Looks a bank up by its PyWavelets name.
    pub fn by_name(name: &str) -> Option<Self> {
        match name {
            "bior4.4" => Some(Self::bior4_4()),
            "bior2.2" => Some(Self::bior2_2()),
            "haar" => Some(Self::haar()),
            _ => None,
        }
    }

    /// The PyWavelets name of this bank.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Filter length (even).
    pub fn len(&self) -> usize {
        self.dec_lo.len()
    }

    /// Always false: a bank has at least two taps.
    pub fn is_empty(&self) -> bool {
        self.dec_lo.is_empty()
    }

    /// Low-pass analysis filter.
    pub fn dec_lo(&self) -> &[f32] {
        &self.dec_lo
    }

    /// High-pass analysis filter.
    pub fn dec_hi(&self) -> &[f32] {
        &self.dec_hi
    }

    /// Low-pass synthesis filter.
    pub fn rec_lo(&self) -> &[f32] {
        &self.rec_lo
    }

    /// High-pass synthesis filter.
    pub fn rec_hi(&self) -> &[f32] {
        &self.rec_hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconstruction_filters_match_pywavelets_tables() {
        // PyWavelets 1.8 `Wavelet('bior4.4').rec_lo / rec_hi`.
        let rec_lo = [
            0.0,
            -0.06453888262869706,
            -0.04068941760916406,
            0.41809227322161724,
            0.7884856164055829,
            0.41809227322161724,
            -0.04068941760916406,
            -0.06453888262869706,
            0.0,
            0.0,
        ];
        let rec_hi = [
            0.0,
            -0.03782845550726404,
            -0.023849465019556843,
            0.11062440441843718,
            0.37740285561283066,
            -0.8526986790088938,
            0.37740285561283066,
            0.11062440441843718,
            -0.023849465019556843,
            -0.03782845550726404,
        ];
        let bank = FilterBank::bior4_4();
        for (a, b) in bank.rec_lo().iter().zip(rec_lo) {
            assert_eq!(*a, b as f32);
        }
        for (a, b) in bank.rec_hi().iter().zip(rec_hi) {
            assert_eq!(*a, b as f32);
        }
        let haar = FilterBank::haar();
        assert_eq!(haar.rec_hi()[1], -std::f32::consts::FRAC_1_SQRT_2);
    }

    #[test]
    fn names_round_trip() {
        for name in FilterBank::NAMES {
            assert_eq!(FilterBank::by_name(name).unwrap().name(), name);
        }
        assert!(FilterBank::by_name("db4").is_none());
    }
}
