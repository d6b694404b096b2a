//! Files written by walloc 0.1 (tests/fixtures/release-0.1, made by
//! scripts/make_release_fixtures.sh with the 0.1 CLI) decode through the
//! library to exactly what 0.1 decoded, and the same inputs encode to the
//! same bytes with 0.1's options: model files, headers and chunks are read
//! and written byte for byte as before.

use walloc::{models, EncodeOptions, LatentCoder, Rounding, Samples, Signal};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../../tests/fixtures/release-0.1/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn png(name: &str) -> Signal {
    let image = image::load_from_memory(&fixture(name)).unwrap();
    let (width, height) = (image.width() as usize, image.height() as usize);
    if image.color().has_color() {
        Signal::image(width, height, 3, Samples::U8(image.into_rgb8().into_raw())).unwrap()
    } else {
        Signal::image(width, height, 1, Samples::U8(image.into_luma8().into_raw())).unwrap()
    }
}

fn wav(name: &str) -> Signal {
    let mut reader = hound::WavReader::new(std::io::Cursor::new(fixture(name))).unwrap();
    let spec = reader.spec();
    assert_eq!(spec.bits_per_sample, 16);
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let frames = samples.len() / usize::from(spec.channels);
    Signal::audio(frames, spec.channels.into(), Samples::I16(samples), spec.sample_rate).unwrap()
}

/// (file stem, input, model, coder)
const CASES: [(&str, &str, &str, LatentCoder); 7] = [
    ("rgb-16x", "rgb.png", "rgb-16x", LatentCoder::Rans),
    ("rgb-16x-png", "rgb.png", "rgb-16x", LatentCoder::Png),
    ("rgb-4x-neural", "rgb.png", "rgb-4x-neural", LatentCoder::Rans),
    ("gray-16x", "gray.png", "gray-16x", LatentCoder::Rans),
    ("stereo-5x", "stereo.wav", "stereo-5x", LatentCoder::Rans),
    (
        "stereo-20x-neural",
        "stereo.wav",
        "stereo-20x-neural",
        LatentCoder::Rans,
    ),
    ("three-stereo-5x", "three.wav", "stereo-5x", LatentCoder::Rans),
];

#[test]
fn files_of_the_last_release_decode_identically() {
    for (stem, input, _, _) in CASES {
        let decoded = walloc::decode(&fixture(&format!("{stem}.wal")), models::embedded().unwrap()).unwrap();
        let expected = if input.ends_with(".png") {
            png(&format!("{stem}.decoded.png"))
        } else {
            wav(&format!("{stem}.decoded.wav"))
        };
        assert_eq!(decoded, expected, "{stem}");
    }
}

#[test]
fn the_same_inputs_encode_to_the_same_bytes() {
    for (stem, input, model, coder) in CASES {
        let signal = if input.ends_with(".png") {
            png(input)
        } else {
            wav(input)
        };
        let model = models::named(model).unwrap();
        // 0.1 rounded to the nearest integer and wrote chunks of 32 latent
        // rows; the defaults are now the dead zone and 64.
        let options = EncodeOptions {
            coder,
            rows_per_chunk: 32,
            rounding: Rounding::Nearest,
            ..EncodeOptions::default()
        };
        let file = walloc::encode(&model, &signal, &options).unwrap();
        assert!(file == fixture(&format!("{stem}.wal")), "{stem}: the bytes changed");
    }
}
