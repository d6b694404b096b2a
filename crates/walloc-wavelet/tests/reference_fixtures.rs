//! The transform against fixtures made by the reference packages
//! (scripts/make_wavelet_fixtures.py: walloc 1.2.1, tft, PyWavelets).

use safetensors::SafeTensors;
use walloc_wavelet::{packet, FilterBank, Signal};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/wavelet.safetensors");

fn tensor(st: &SafeTensors, name: &str) -> (Vec<f32>, Vec<usize>) {
    let view = st.tensor(name).unwrap();
    let data = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (data, view.shape().to_vec())
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn packet_transform_matches_reference() {
    let bytes = std::fs::read(FIXTURES).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(meta.metadata().as_ref().unwrap().get("cases").unwrap()).unwrap();
    assert!(cases.len() >= 15, "fixture file lists {} cases", cases.len());
    let bank = FilterBank::bior4_4();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let levels = case["levels"].as_u64().unwrap() as u32;
        let (input, in_shape) = tensor(&st, &format!("{name}/input"));
        let (expected_fwd, fwd_shape) = tensor(&st, &format!("{name}/forward"));
        let (expected_inv, _) = tensor(&st, &format!("{name}/inverse"));
        let signal = Signal::new(input, in_shape[0], in_shape[1..].to_vec()).unwrap();
        let coeffs = packet::forward(&bank, signal, levels).unwrap();
        assert_eq!(coeffs.channels, fwd_shape[0], "{name}: channels");
        assert_eq!(coeffs.shape, fwd_shape[1..], "{name}: shape");
        let err = max_abs_diff(&coeffs.data, &expected_fwd);
        assert!(err < 1e-5, "{name}: forward differs by {err}");
        // Synthesis of the reference's own coefficients.
        let ref_coeffs = Signal::new(expected_fwd, fwd_shape[0], fwd_shape[1..].to_vec()).unwrap();
        let back = packet::inverse(&bank, ref_coeffs, levels).unwrap();
        let err = max_abs_diff(&back.data, &expected_inv);
        assert!(err < 1e-5, "{name}: inverse differs by {err}");
    }
}
