//! The quality knob: files at every step decode to the encoder's integer
//! latent, rates and errors move with the step, the adaptive coder fits
//! each step, and striped coding at a step is the whole-image file.

use walloc_codec::fit::fit_image_step_decoders;
use walloc_codec::registry::Registry;
use walloc_codec::stripes::{StripeEncoder, STRIPE_ROWS};
use walloc_codec::{codec, EncodeOptions, Image8, LatentCoder, Limits, Model, Rounding, Step};

mod common;

use common::model;

/// A textured RGB image.
fn photo(width: u32, height: u32) -> Image8 {
    common::photo(width, height, 3)
}

fn mse(a: &Image8, b: &Image8) -> f64 {
    let sum: f64 = a
        .pixels
        .iter()
        .zip(&b.pixels)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    sum / a.pixels.len() as f64
}

#[test]
fn every_step_decodes_its_latent_and_trades_rate_for_error() {
    let model = model("rgb-16x");
    let image = photo(120, 96);
    let mut previous: Option<(usize, f64)> = None;
    for code in [-20i8, 0, 20, 40, 60] {
        let step = Step::from_code(code).unwrap();
        let options = EncodeOptions::default()
            .with_step(step)
            .with_rounding(Rounding::Nearest);
        let file = codec::encode(&model, &image, options).unwrap();
        let (header, latent) = codec::decode_latent(&model, &file, &Limits::default()).unwrap();
        assert_eq!((header.step, header.coder), (step, LatentCoder::Contextual));
        let expected = codec::analyze_at(&Registry::core(), &model, &image, step).unwrap();
        assert_eq!(latent, expected, "step code {code}: the integers differ");
        let decoded = codec::decode::<u8>(&model, &file, &Limits::default()).unwrap();
        let error = mse(&image, &decoded);
        // rANS at the same step codes the same latent: the same pixels.
        let rans = codec::encode(&model, &image, options.with_coder(LatentCoder::Rans)).unwrap();
        assert_eq!(codec::decode::<u8>(&model, &rans, &Limits::default()).unwrap(), decoded);
        // The adaptive coder fits every step; the static tables fit one.
        assert!(
            file.len() < rans.len(),
            "step code {code}: {} vs rANS {}",
            file.len(),
            rans.len()
        );
        if let Some((bytes, worse)) = previous {
            assert!(
                file.len() < bytes,
                "step code {code}: {} bytes after {bytes}",
                file.len()
            );
            assert!(error > worse, "step code {code}: MSE {error} after {worse}");
        }
        previous = Some((file.len(), error));
    }
}

#[test]
fn striped_coding_at_a_step_is_the_whole_image_file() {
    let model = model("rgb-16x");
    let image = photo(70, 600);
    let options = EncodeOptions::default().with_step(Step::from_quality(40.0).unwrap());
    let whole = codec::encode(&model, &image, options).unwrap();
    let registry = Registry::core();
    let mut encoder =
        StripeEncoder::<u8>::with_options(&registry, &model, image.width, image.height, 3, options).unwrap();
    for rows in image.pixels.chunks(70 * 3 * 37) {
        encoder.push_rows(rows).unwrap();
    }
    assert!(encoder.finish().unwrap() == whole, "the striped file differs");
    let packed = options.with_coder(LatentCoder::Png);
    let refused = StripeEncoder::<u8>::with_options(&registry, &model, 70, 600, 3, packed);
    assert!(refused.is_err());
    // RDO decides each chunk on its own: in chunks of a stripe, striped
    // RDO (memory of one stripe) writes the whole-image RDO file, and one
    // that differs from nearest rounding's.
    let optimized = options.with_rdo(true).with_rows_per_chunk(STRIPE_ROWS as u32);
    let whole_rdo = codec::encode(&model, &image, optimized).unwrap();
    assert_ne!(whole_rdo, whole);
    let mut encoder =
        StripeEncoder::<u8>::with_options(&registry, &model, image.width, image.height, 3, optimized).unwrap();
    for rows in image.pixels.chunks(70 * 3 * 37) {
        encoder.push_rows(rows).unwrap();
    }
    assert!(encoder.finish().unwrap() == whole_rdo, "the striped RDO file differs");
    // RDO weighs the adaptive coders' bits: with rANS stripes refuse it.
    let rans = optimized.with_coder(LatentCoder::Rans);
    let refused = StripeEncoder::<u8>::with_options(&registry, &model, 70, 600, 3, rans);
    assert!(refused.err().unwrap().to_string().contains("adaptive coder"));
}

/// Asserts that `file` is an ordinary file with the header of `nearest`
/// (the same image at the same step, rounded to the nearest integer), with
/// fewer bytes, decoding to at least its error and less than `bound` times
/// it.
fn fewer_bytes_for_a_little_error(
    image: &Image8,
    decode: &dyn Fn(&[u8]) -> Image8,
    nearest: &[u8],
    file: &[u8],
    bound: f64,
    quality: f64,
) {
    assert_eq!(file[..40], nearest[..40]);
    assert!(
        file.len() < nearest.len(),
        "quality {quality}: {} vs {}",
        file.len(),
        nearest.len()
    );
    let (nearest_error, error) = (mse(image, &decode(nearest)), mse(image, &decode(file)));
    assert!(
        error >= nearest_error && error < bound * nearest_error,
        "quality {quality}: MSE {nearest_error:.2} vs {error:.2}"
    );
}

#[test]
fn the_dead_zone_zeroes_values_next_to_zero_for_fewer_bytes() {
    // Decoded by its own decoder alone, as in the test of RDO below.
    let model = model("rgb-16x").with_step_decoders(&[], &[]).unwrap();
    let image = photo(160, 128);
    let decode = |file: &[u8]| codec::decode::<u8>(&model, file, &Limits::default()).unwrap();
    let latent = |file: &[u8]| codec::decode_latent(&model, file, &Limits::default()).unwrap().1;
    for quality in [30.0, 75.0, 100.0] {
        let options = EncodeOptions::default().with_step(Step::from_quality(quality).unwrap());
        assert_eq!(options.rounding, Rounding::DeadZone, "the default");
        let dead = codec::encode(&model, &image, options).unwrap();
        let nearest = codec::encode(&model, &image, options.with_rounding(Rounding::Nearest)).unwrap();
        // 160 bytes against 192 at quality 30, for 36 % more error on this
        // small image's many isolated ±1s and pairs of them.
        fewer_bytes_for_a_little_error(&image, &decode, &nearest, &dead, 1.45, quality);
        // Nearest rounding gives the reference's latent; the dead zone
        // (its wider zero cell, then the isolated ±1s and pairs) differs from it only
        // by ±1s that became 0s.
        let (nearest, dead) = (latent(&nearest), latent(&dead));
        assert_eq!(
            nearest,
            codec::analyze_at(&Registry::core(), &model, &image, options.step).unwrap()
        );
        let moved = nearest.symbols.iter().zip(&dead.symbols).filter(|(n, d)| n != d);
        assert!(moved.clone().all(|(&n, &d)| d == 128 && n.abs_diff(128) == 1));
        assert!(moved.count() > 0, "quality {quality}: nothing zeroed");
    }
}

#[test]
fn rate_distortion_optimized_quantization_saves_bytes_at_little_cost() {
    // Decoded by its own decoder alone: step decoders that read neighbours,
    // fitted on nearest rounding, decode the values RDO moved less well
    // (+35 % error at quality 30 on a 160×128 photo). The trade still pays: on
    // data/val, rgb-16x with RDO gives 20.49 dB at 0.026 bpp at quality 30,
    // where nearest rounding gives about 19.9 dB at that rate.
    let model = model("rgb-16x").with_step_decoders(&[], &[]).unwrap();
    let image = photo(320, 256);
    let decode = |file: &[u8]| codec::decode::<u8>(&model, file, &Limits::default()).unwrap();
    let latent = |file: &[u8]| codec::decode_latent(&model, file, &Limits::default()).unwrap().1;
    for rounding in Rounding::ALL {
        for quality in [30.0, 75.0] {
            // The predictive coder, whose figures these are: on a picture
            // this small the contextual coder's many contexts barely learn,
            // and at quality 30 after the dead zone RDO saves it less than
            // a word.
            let options = EncodeOptions::default()
                .with_coder(LatentCoder::Predictive)
                .with_step(Step::from_quality(quality).unwrap())
                .with_rounding(rounding);
            let plain = codec::encode(&model, &image, options).unwrap();
            let optimized = codec::encode(&model, &image, options.with_rdo(true)).unwrap();
            // Each value moves by at most one step towards zero: the error
            // grows a little (at quality 30 here by 4 % for 6.5 % fewer
            // bytes than the nearest rounding's, by 1 % for 1 % fewer than
            // the dead zone's, which has already zeroed most of what RDO
            // would).
            fewer_bytes_for_a_little_error(&image, &decode, &plain, &optimized, 1.25, quality);
            // RDO starts from the rounding's own latent (for the dead zone,
            // after its isolated ±1s became 0) and moves values only
            // towards zero.
            let (start, chosen) = (latent(&plain), latent(&optimized));
            assert_eq!(chosen, codec::rdo_latent(&model, &image, options).unwrap());
            assert!(
                start.symbols.iter().zip(&chosen.symbols).all(|(&n, &c)| n == c
                    || (c.abs_diff(128) + 1 == n.abs_diff(128) && (c == 128 || (c > 128) == (n > 128)))),
                "{rounding:?} at quality {quality}"
            );
            assert_ne!(start.symbols, chosen.symbols);
        }
    }
    // The bits it weighs are the adaptive coder's.
    let error = codec::encode(
        &model,
        &image,
        EncodeOptions::default().with_coder(LatentCoder::Rans).with_rdo(true),
    )
    .unwrap_err();
    assert!(error.to_string().contains("adaptive coder"), "{error}");
}

#[test]
fn step_decoders_keep_the_files_and_decode_coarse_steps_better() {
    let native_only = model("rgb-16x").with_step_decoders(&[], &[]).unwrap();
    let crops: Vec<Image8> = (0..12).map(|i| photo(64 + 8 * i, 64)).collect();
    let fitted = fit_image_step_decoders(&native_only, &crops, &[30, 50], false, None, &mut |_, _| {}).unwrap();
    assert_eq!(fitted.config().step_decoders, vec![30, 50]);
    assert_eq!(fitted.id(), native_only.id(), "step decoders keep the id");
    let reloaded = Model::from_bytes(fitted.to_bytes().to_vec()).unwrap();
    let between = Step::from_code(40).unwrap();
    assert_eq!(reloaded.id(), fitted.id());
    assert_eq!(*reloaded.linear_decoder(between), *fitted.linear_decoder(between));
    assert_ne!(*fitted.linear_decoder(between), *native_only.linear_decoder(between));

    let image = photo(120, 96);
    for code in [0i8, 50] {
        let options = EncodeOptions::default().with_step(Step::from_code(code).unwrap());
        let file = codec::encode(&fitted, &image, options).unwrap();
        assert_eq!(
            file,
            codec::encode(&native_only, &image, options).unwrap(),
            "the same file"
        );
        let (_, latent) = codec::decode_latent(&fitted, &file, &Limits::default()).unwrap();
        let ours: Image8 = codec::synthesize(&fitted, &latent, image.width, image.height).unwrap();
        let native: Image8 = codec::synthesize(&native_only, &latent, image.width, image.height).unwrap();
        if code == 0 {
            assert_eq!(ours, native, "the model's own step keeps its decoder");
        } else {
            let (ours, native) = (mse(&image, &ours), mse(&image, &native));
            assert!(ours < 0.95 * native, "step code {code}: MSE {ours} against {native}");
        }
    }

    // A config naming step decoders whose tensors are missing, or that
    // extends a malformed id, is refused.
    let mut config = native_only.config().clone();
    config.step_decoders = vec![30];
    let error = native_only
        .with_weights(&[], Some(config.clone()))
        .unwrap_err()
        .to_string();
    assert!(error.contains("step_decoders.weight"), "{error}");
    config.extends = Some("12ab".into());
    let error = fitted.with_weights(&[], Some(config)).unwrap_err().to_string();
    assert!(error.contains("64 hex digits"), "{error}");
}

#[test]
fn decoders_reading_neighbours_decode_coarse_steps_better() {
    let native_only = model("rgb-16x").with_step_decoders(&[], &[]).unwrap();
    let crops: Vec<Image8> = (0..12).map(|i| photo(64 + 8 * i, 64)).collect();
    let pointwise = fit_image_step_decoders(&native_only, &crops, &[50], false, None, &mut |_, _| {}).unwrap();
    let spatial = fit_image_step_decoders(&native_only, &crops, &[-20, 50], true, None, &mut |_, _| {}).unwrap();
    let config = spatial.config();
    assert!(config.step_decoder_neighbours && !pointwise.config().step_decoder_neighbours);
    assert_eq!(config.step_decoders, vec![-20, 50]);
    assert_eq!(spatial.id(), native_only.id(), "they keep the id");
    let reloaded = Model::from_bytes(spatial.to_bytes().to_vec()).unwrap();
    let (k, d) = (config.latent_dim as usize, config.coefficient_dim());
    for code in [-20i8, 25, 50] {
        let step = Step::from_code(code).unwrap();
        assert_eq!(*reloaded.linear_decoder(step), *spatial.linear_decoder(step));
        assert_eq!(spatial.linear_decoder(step).neighbour_weight.len(), 8 * d * k);
    }
    // The model's own step keeps its own decoder, which reads none.
    assert!(spatial.linear_decoder(Step::NATIVE).neighbour_weight.is_empty());

    let image = photo(120, 96);
    // The same file, made at `code` with the encoders' default rounding
    // (which the decoders are fitted on), decoded by `ours` and `theirs`:
    // their MSEs.
    let errors = |ours: &Model, theirs: &Model, code: i8| {
        let options = EncodeOptions::default().with_step(Step::from_code(code).unwrap());
        let file = codec::encode(ours, &image, options).unwrap();
        assert_eq!(
            file,
            codec::encode(&native_only, &image, options).unwrap(),
            "the same file"
        );
        let (_, latent) = codec::decode_latent(ours, &file, &Limits::default()).unwrap();
        let decode = |m: &Model| -> Image8 { codec::synthesize(m, &latent, image.width, image.height).unwrap() };
        (mse(&image, &decode(ours)), mse(&image, &decode(theirs)))
    };
    // At the step both hold decoders for (between the model's own step and
    // the next anchor, interpolation halves the neighbours'; beyond it, a
    // decoder fitted on these few crops extrapolates).
    let (ours, theirs) = errors(&spatial, &pointwise, 50);
    assert!(ours < 0.97 * theirs, "step code 50: MSE {ours} against {theirs}");

    // A decoder fitted at the model's own step replaces its own there: the
    // same file decodes to other, better pixels.
    let own = fit_image_step_decoders(&native_only, &crops, &[0, 50], true, None, &mut |_, _| {}).unwrap();
    assert_eq!(own.id(), native_only.id(), "it keeps the id");
    assert_eq!(own.linear_decoder(Step::NATIVE).neighbour_weight.len(), 8 * d * k);
    let (ours, theirs) = errors(&own, &native_only, 0);
    assert!(ours < 0.97 * theirs, "own step: MSE {ours} against {theirs}");

    // Only image models' decoders read neighbours, and a model that says
    // they do holds their weights.
    let mut config = spatial.config().clone();
    config.step_decoders = vec![30];
    let error = pointwise.with_weights(&[], Some(config)).unwrap_err().to_string();
    assert!(error.contains("neighbour_weight"), "{error}");
}

#[test]
fn a_model_with_a_finest_step_refuses_finer_ones_by_name() {
    let model = model("rgb-16x");
    assert_eq!(
        model.finest_step(),
        Step::AT_QUALITY_100,
        "an image model codes every step"
    );
    let capped = model.with_finest_step(Some(Step::NATIVE)).unwrap();
    assert_eq!(
        capped.id(),
        model.id(),
        "a finest step keeps the id of a model with step decoders"
    );
    let reread = Model::from_bytes(capped.to_bytes().to_vec()).unwrap();
    assert_eq!(reread.finest_step(), Step::NATIVE);

    let image = photo(64, 64);
    let fine = Step::from_code(-10).unwrap();
    for rdo in [false, true] {
        let options = EncodeOptions::default().with_rdo(rdo);
        let error = codec::encode(&reread, &image, options.with_step(fine))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("codes no finer than quality 75") && error.contains(&reread.config().name),
            "{error}"
        );
        // Its own step and coarser ones code as the model without the cap does.
        for step in [Step::NATIVE, Step::from_code(20).unwrap()] {
            let capped_file = codec::encode(&reread, &image, options.with_step(step)).unwrap();
            assert_eq!(
                capped_file,
                codec::encode(&model, &image, options.with_step(step)).unwrap()
            );
        }
    }
    // A model that extends none would change its id: refused.
    let native_only = model.with_step_decoders(&[], &[]).unwrap();
    let error = native_only
        .with_finest_step(Some(Step::NATIVE))
        .unwrap_err()
        .to_string();
    assert!(error.contains("would change its id"), "{error}");
}
