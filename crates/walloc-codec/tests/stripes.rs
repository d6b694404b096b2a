//! Images coded in stripes (bounded memory) give the whole-image file byte
//! for byte, and decode to the whole-image pixels.

use walloc_codec::registry::{DecoderOptions, Registry};
use walloc_codec::stripes::{is_striped, StripeDecoder, StripeEncoder, STRIPE_ROWS, SYNTHESIS_HALO_ROWS};
use walloc_codec::{codec, EncodeOptions, Image8, Limits, Model};

mod common;

use common::{model, photo};

fn striped_file(model: &Model, image: &Image8, rows_per_push: usize) -> Vec<u8> {
    let registry = Registry::core();
    let mut encoder = StripeEncoder::new(&registry, model, image.width, image.height, image.channels).unwrap();
    let row = image.width as usize * usize::from(image.channels);
    for rows in image.pixels.chunks(row * rows_per_push) {
        encoder.push_rows(rows).unwrap();
    }
    encoder.finish().unwrap()
}

fn striped_pixels(model: &Model, file: &[u8]) -> Vec<u8> {
    let registry = Registry::core();
    let mut decoder: StripeDecoder =
        StripeDecoder::new(&registry, model, file, &Limits::default(), &DecoderOptions::default()).unwrap();
    let mut pixels = Vec::new();
    while let Some(rows) = decoder.next_rows() {
        pixels.extend(rows.unwrap());
    }
    pixels
}

#[test]
fn stripes_give_the_whole_image_file_and_pixels() {
    for (name, width, height, channels, push) in [
        ("rgb-16x", 75, 613, 3, 7),      // 77 latent rows: two stripes, padding on every side
        ("rgb-4x", 64, 1040, 3, 100),    // 130 latent rows: three stripes
        ("gray-16x", 50, 1100, 1, 1100), // 138 latent rows: three stripes, all rows at once
        ("rgb-16x", 40, 590, 3, 1),      // 74 latent rows: one stripe with its halos, coded whole
    ] {
        let model = model(name);
        let image = photo(width, height, channels);
        assert_eq!(
            is_striped(height, model.config().levels),
            height.div_ceil(8) as usize > STRIPE_ROWS + 2 * SYNTHESIS_HALO_ROWS,
            "{name} {height}"
        );
        let whole = codec::encode(&model, &image, Default::default()).unwrap();
        let file = striped_file(&model, &image, push);
        assert!(file == whole, "{name} {width}×{height}: the striped file differs");
        let decoded: Image8 = codec::decode::<u8>(&model, &whole, &Limits::default()).unwrap();
        assert!(
            striped_pixels(&model, &file) == decoded.pixels,
            "{name} {width}×{height}: pixels differ"
        );
    }
}

#[test]
fn a_stripe_encoder_names_missing_and_extra_rows() {
    let model = model("rgb-16x");
    let registry = Registry::core();
    let image = photo(30, 500, 3);
    let mut encoder = StripeEncoder::new(&registry, &model, 30, 500, 3).unwrap();
    assert!(encoder.push_rows(&image.pixels[..89]).is_err(), "not whole rows");
    encoder.push_rows(&image.pixels[..90 * 400]).unwrap();
    let error = encoder.finish().unwrap_err().to_string();
    assert!(error.contains("400 of the image's 500 rows"), "{error}");
    let mut encoder = StripeEncoder::new(&registry, &model, 30, 500, 3).unwrap();
    encoder.push_rows(&image.pixels).unwrap();
    assert!(encoder.push_rows(&image.pixels[..90]).is_err(), "a row past the end");
    assert!(
        StripeEncoder::<u8>::new(&registry, &model, 30, 500, 1).is_err(),
        "a gray image for an RGB model"
    );
}

#[test]
fn chunks_of_whole_stripes_give_the_whole_image_file_in_fewer_bytes() {
    let model = model("rgb-16x");
    let registry = Registry::core();
    let image = photo(60, 1100, 3); // 138 latent rows: three stripes
    let mut sizes = Vec::new();
    for rows in [64, 128, 192] {
        let options = EncodeOptions::default().with_rows_per_chunk(rows);
        let whole = codec::encode(&model, &image, options).unwrap();
        let mut encoder = StripeEncoder::with_options(&registry, &model, 60, 1100, 3, options).unwrap();
        // A row at a time: each stripe is coded as soon as its rows are in.
        for row in image.pixels.chunks_exact(60 * 3) {
            encoder.push_rows(row).unwrap();
        }
        let file = encoder.finish().unwrap();
        assert!(file == whole, "chunks of {rows} rows: the striped file differs");
        let decoded: Image8 = codec::decode::<u8>(&model, &whole, &Limits::default()).unwrap();
        assert!(striped_pixels(&model, &file) == decoded.pixels, "chunks of {rows} rows");
        sizes.push(file.len());
    }
    assert!(
        sizes[1] < sizes[0] && sizes[2] < sizes[1],
        "bytes of 64, 128, 192-row chunks: {sizes:?}"
    );
    assert_eq!(EncodeOptions::default().rows_per_chunk, 128);
    // Rate–distortion optimization decides a chunk within a stripe.
    let options = EncodeOptions::default().with_rdo(true);
    let error = StripeEncoder::<u8>::with_options(&registry, &model, 60, 1100, 3, options)
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("chunks of 128 with it"), "{error}");
}

#[test]
fn stripes_of_smaller_chunks_give_the_whole_image_file() {
    let model = model("rgb-16x");
    let registry = Registry::core();
    let image = photo(60, 1100, 3); // 138 latent rows: three stripes
    for (rows, rdo) in [(32, false), (16, true)] {
        let options = EncodeOptions::default().with_rows_per_chunk(rows).with_rdo(rdo);
        let whole = codec::encode(&model, &image, options).unwrap();
        let mut encoder = StripeEncoder::with_options(&registry, &model, 60, 1100, 3, options).unwrap();
        encoder.push_rows(&image.pixels).unwrap();
        let file = encoder.finish().unwrap();
        assert!(
            file == whole,
            "chunks of {rows} rows, rdo {rdo}: the striped file differs"
        );
        let stripe = codec::encode(&model, &image, options.with_rows_per_chunk(STRIPE_ROWS as u32)).unwrap();
        assert!(
            stripe.len() < file.len(),
            "chunks of 64 rows cost fewer bytes than {rows}"
        );
    }
    let options = EncodeOptions::default().with_rows_per_chunk(48);
    let error = StripeEncoder::<u8>::with_options(&registry, &model, 60, 1100, 3, options)
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("chunks of 48"), "{error}");
}
