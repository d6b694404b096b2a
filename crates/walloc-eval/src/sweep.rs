//! The quality knob's sweep, shared by every evaluation: each walloc model
//! is coded at these qualities, so each gives a curve, named as the
//! reports name it.

/// The qualities every model is swept over (`--quality`; 75 is each
/// model's own step), finest first.
pub const WALLOC_QUALITIES: [f64; 7] = [100.0, 90.0, 75.0, 60.0, 45.0, 30.0, 15.0];

/// The quality of each model's own step, at which peers get a matched point.
pub const NATIVE_QUALITY: f64 = 75.0;

/// The codec name of a walloc model's curve in a report (`walloc NAME`,
/// `walloc NAME rdo` with rate–distortion-optimized quantization).
pub fn walloc_codec_name(model: &str, rdo: bool) -> String {
    format!("walloc {model}{}", if rdo { " rdo" } else { "" })
}

/// The setting label of a quality in a report (`q75`).
pub fn quality_label(quality: f64) -> String {
    format!("q{quality}")
}

/// Each of `models` at each quality of the sweep, model by model.
pub fn model_qualities<T>(models: &[T]) -> impl Iterator<Item = (&T, f64)> {
    models
        .iter()
        .flat_map(|m| WALLOC_QUALITIES.iter().map(move |&q| (m, q)))
}
