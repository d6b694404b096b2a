//! Perfect reconstruction on random shapes, channel counts and levels.

use proptest::prelude::*;
use walloc_wavelet::{packet, FilterBank, Signal};

fn shape_and_levels() -> impl Strategy<Value = (usize, Vec<usize>, u32)> {
    (1usize..=3, 1usize..=3).prop_flat_map(|(dims, channels)| {
        let max_levels = if dims == 1 { 4 } else { 2 };
        (1u32..=max_levels).prop_flat_map(move |levels| {
            // Every axis stays >= 10 at the last analysis level.
            let axis = (5usize..=9).prop_map(move |k| k << levels);
            (Just(channels), prop::collection::vec(axis, dims), Just(levels))
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn forward_then_inverse_is_identity((channels, shape, levels) in shape_and_levels(), seed in any::<u64>()) {
        let n = channels * shape.iter().product::<usize>();
        let mut state = seed | 1;
        let data: Vec<f32> = (0..n).map(|_| {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            (state % 10_000) as f32 / 10_000.0 - 0.5
        }).collect();
        for bank in [FilterBank::bior4_4(), FilterBank::bior2_2(), FilterBank::haar()] {
            let signal = Signal::new(data.clone(), channels, shape.clone()).unwrap();
            let coeffs = packet::forward(&bank, signal, levels).unwrap();
            prop_assert_eq!(coeffs.channels, channels << (shape.len() as u32 * levels));
            // Energy is nearly preserved (biorthogonal, not orthogonal: loose bound).
            let e_in: f32 = data.iter().map(|x| x * x).sum();
            let e_out: f32 = coeffs.data.iter().map(|x| x * x).sum();
            prop_assert!(e_out > 0.5 * e_in && e_out < 2.0 * e_in);
            let back = packet::inverse(&bank, coeffs, levels).unwrap();
            prop_assert_eq!(&back.shape, &shape);
            let err = back.data.iter().zip(&data).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            prop_assert!(err < 2e-5, "{} error {}", bank.name(), err);
        }
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let bank = FilterBank::bior4_4();
    assert!(Signal::new(vec![0.0; 5], 2, vec![3]).is_err());
    let four_d = Signal {
        data: vec![0.0; 16],
        channels: 1,
        shape: vec![2, 2, 2, 2],
    };
    assert!(packet::forward(&bank, four_d, 1).is_err());
    let odd_channels = Signal {
        data: vec![0.0; 3 * 16],
        channels: 3,
        shape: vec![4, 4],
    };
    assert!(packet::inverse(&bank, odd_channels, 1).is_err());
    let empty = Signal {
        data: vec![],
        channels: 1,
        shape: vec![0, 4],
    };
    assert!(packet::forward(&bank, empty, 1).is_err());
}

/// The reference's periodization rolls a line, convolves and folds the
/// tail back once: exactly invertible when every line at every level is at
/// least as long as the filter (`len(filter) · 2^(J−1)` samples at the
/// first), not for shorter ones, which this transform reproduces as the
/// reference computes them. Codecs that choose their padding (volumes:
/// `walloc_codec::volume::padded_len`) pad past it.
#[test]
fn axes_reach_exact_reconstruction_at_the_filters_length() {
    let cases = [
        (vec![20usize, 24, 20], 2u32, true),
        (vec![40, 48], 3, true),
        (vec![80], 4, true),
        (vec![8, 20, 20], 2, false),
        (vec![16, 40], 3, false),
    ];
    for (shape, levels, exact) in cases {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
        let bank = FilterBank::bior4_4();
        let signal = Signal::new(data.clone(), 1, shape.clone()).unwrap();
        let coeffs = packet::forward(&bank, signal, levels).unwrap();
        let back = packet::inverse(&bank, coeffs, levels).unwrap();
        let err = back
            .data
            .iter()
            .zip(&data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert_eq!(err < 2e-5, exact, "{shape:?} J={levels}: error {err}");
    }
}
