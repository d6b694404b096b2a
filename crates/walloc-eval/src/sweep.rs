//! The quality knob's sweep, shared by every evaluation: each walloc model
//! is coded at these qualities, so each gives a curve, named as the
//! reports name it. A model with a finest step (`stereo-5x`) is swept
//! from there.

use walloc::Model;

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

/// The qualities of the sweep that `model` codes at: its finest step's
/// ([`Model::finest_step`]) where that is not one of the sweep's, then
/// those of the sweep no finer than it. A model capped between two of the
/// sweep's qualities (at 87.5, say) keeps the top of its curve.
pub fn qualities_of(model: &Model) -> impl Iterator<Item = f64> + '_ {
    let finest = model.finest_step().quality();
    let own = (!WALLOC_QUALITIES.contains(&finest)).then_some(finest);
    own.into_iter()
        .chain(WALLOC_QUALITIES.into_iter().filter(move |&q| q <= finest))
}

/// Each of `models` at each quality of the sweep it codes at, model by
/// model.
pub fn model_qualities(models: &[Model]) -> impl Iterator<Item = (&Model, f64)> {
    models.iter().flat_map(|m| qualities_of(m).map(move |q| (m, q)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use walloc::Step;

    #[test]
    fn a_model_is_swept_from_its_finest_step() {
        let model = walloc::models::resolve("rgb-16x").unwrap();
        assert_eq!(qualities_of(&model).collect::<Vec<_>>(), WALLOC_QUALITIES);
        let capped = model.with_finest_step(Some(Step::NATIVE)).unwrap();
        assert_eq!(
            qualities_of(&capped).collect::<Vec<_>>(),
            [75.0, 60.0, 45.0, 30.0, 15.0]
        );
        let between = model.with_finest_step(Some(Step::from_code(-10).unwrap())).unwrap();
        assert_eq!(
            qualities_of(&between).collect::<Vec<_>>(),
            [87.5, 75.0, 60.0, 45.0, 30.0, 15.0],
            "capped between two qualities of the sweep: its finest first"
        );
        let models = [model, capped, between];
        assert_eq!(model_qualities(&models).count(), 18);
    }
}
