//! The evaluation drivers measure what the codecs really produce.

use walloc::audio::SampleFormat;
use walloc::{EncodeOptions, Image8};
use walloc_eval::audio_eval::{decode_interleaved, AudioEvaluation, Clip};
use walloc_eval::image_eval::{image_figures, image_peers, ImageEvaluation};
use walloc_eval::metrics::psnr;
use walloc_eval::EvalError;

/// A smooth card with an edge, large enough for MS-SSIM.
fn card(side: u32) -> Image8 {
    let pixels = (0..side)
        .flat_map(|y| {
            (0..side).flat_map(move |x| {
                let edge = if x > side / 2 { 50 } else { 0 };
                [(x / 2 + edge) as u8, (y / 2) as u8, ((x + y) / 4 + 30) as u8]
            })
        })
        .collect();
    Image8::new(side, side, 3, pixels).unwrap()
}

#[test]
fn an_image_evaluation_reports_the_bytes_and_quality_of_real_codings() {
    let model = walloc::models::named("rgb-16x").unwrap();
    let peers = image_peers(Some(&["webp".to_string()])).unwrap();
    let webp_qualities = peers[0].qualities().len();
    let mut evaluation = ImageEvaluation::new(vec![model.clone()], peers).unwrap();
    let sweep = walloc_eval::sweep::WALLOC_QUALITIES.len();
    assert_eq!(evaluation.codings_per_image(), sweep + webp_qualities);
    let image = card(192);
    let mut steps = 0;
    evaluation.add("card.png", &image, || steps += 1).unwrap();
    assert_eq!(steps, sweep + webp_qualities);
    let report = evaluation.report();

    let file = walloc::image::encode_image(&model, &image, &EncodeOptions::default()).unwrap();
    let decoded = walloc::image::decode_image(&model, &file, &Default::default()).unwrap();
    // The model's own step (quality 75) is the default encode.
    let ours = report.files.iter().find(|f| f.setting == "q75").unwrap();
    assert_eq!(ours.codec.as_str(), "walloc rgb-16x");
    assert_eq!(ours.bytes, file.len());
    assert!((ours.rate - file.len() as f64 * 8.0 / (192.0 * 192.0)).abs() < 1e-12);
    assert!((ours.psnr - psnr(&image, &decoded)).abs() < 1e-12);
    assert!(ours.ms_ssim.is_some(), "192 pixels is enough for MS-SSIM");
    assert_eq!(report.means.len(), sweep + webp_qualities);
    // The model's curve against WebP's: a BD-rate on every metric, or a
    // note saying why not (curves of this flat card may not overlap).
    assert_eq!(report.bd_rates.len(), 3);
    assert!(report
        .bd_rates
        .iter()
        .all(|b| b.bd_rate_percent.is_some_and(f64::is_finite) || b.note.is_some()));

    let names: Vec<String> = report.artifacts().unwrap().into_iter().map(|(n, _)| n).collect();
    for expected in [
        "results.json",
        "files.csv",
        "means.csv",
        "bd_rate.csv",
        "rd_psnr.svg",
        "rd_ms_ssim.png",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} in {names:?}");
    }
    let summary = report.summary();
    assert!(
        summary.contains("walloc rgb-16x") && summary.contains("webp"),
        "{summary}"
    );

    let figures = image_figures(&model, &[image], "card").unwrap();
    assert!((figures.psnr_db - ours.psnr).abs() < 1e-12);
    assert!((figures.bpp - ours.rate).abs() < 1e-12);
}

#[test]
fn evaluations_refuse_what_they_cannot_measure() {
    let audio_model = walloc::models::named("stereo-5x").unwrap();
    let error = ImageEvaluation::new(vec![audio_model.clone()], Vec::new())
        .err()
        .unwrap();
    assert!(error.to_string().contains("codes audio"), "{error}");
    assert!(ImageEvaluation::new(Vec::new(), Vec::new()).is_err());
    let error = image_peers(Some(&["bmp".to_string()])).err().unwrap();
    assert!(matches!(error, EvalError::Invalid(_)) && error.to_string().contains("bmp"));
    let image_model = walloc::models::named("rgb-16x").unwrap();
    assert!(AudioEvaluation::new(vec![image_model], None).is_err());
    assert!(AudioEvaluation::new(vec![audio_model], Some(&["mp3".to_string()])).is_err());
}

#[test]
fn an_audio_evaluation_codes_clips_with_the_model_and_opus() {
    let model = walloc::models::named("stereo-20x").unwrap();
    let frames = 48_000;
    let samples: Vec<f32> = (0..frames * 2)
        .map(|i| {
            let t = (i / 2) as f32 / 48_000.0;
            0.3 * (t * 440.0 * std::f32::consts::TAU + (i % 2) as f32).sin()
        })
        .collect();
    let clip = Clip {
        name: "tone.wav".into(),
        samples,
        channels: 2,
        sample_rate: 48_000,
        format: SampleFormat::Int(16),
    };
    let report = AudioEvaluation::new(vec![model.clone()], None)
        .unwrap()
        .evaluate(std::slice::from_ref(&clip), &mut ())
        .unwrap();
    let file = clip.walloc_encode(&model, walloc::Step::NATIVE).unwrap();
    let decoded = decode_interleaved(&file, &model).unwrap();
    assert_eq!(decoded.len(), clip.samples.len());
    // Every quality of the sweep gives a point, the model's own step among them.
    let ours: Vec<_> = report.files.iter().filter(|r| r.codec == "walloc stereo-20x").collect();
    assert_eq!(ours.len(), walloc_eval::sweep::WALLOC_QUALITIES.len());
    assert!(ours.windows(2).all(|w| w[0].bytes > w[1].bytes), "finest quality first");
    let ours = ours.iter().find(|r| r.setting == "q75").unwrap();
    assert_eq!(ours.bytes, file.len());
    assert!(
        (ours.rate - file.len() as f64 * 8.0 / 1000.0).abs() < 1e-9,
        "one second: kbit/s"
    );
    assert!(ours.snr.unwrap() > 5.0, "{:?}", ours.snr);
    let opus: Vec<_> = report.files.iter().filter(|r| r.codec == "opus").collect();
    assert!(opus.len() >= 8, "the sweep and the matched bitrate");
    assert_eq!(report.bd_rates.len(), 2, "PSNR and SNR against Opus");
}
