//! 16-bit images are coded from all 16 bits and come back at 16 bits.

use walloc::{Samples, Signal};

/// A smooth 16-bit ramp with detail finer than one 8-bit level.
fn ramp(width: usize, height: usize, channels: usize) -> Vec<u16> {
    (0..height * width * channels)
        .map(|i| {
            let (y, x, c) = (i / (width * channels), (i / channels) % width, i % channels);
            let v = 20_000.0
                + 150.0 * x as f64
                + 90.0 * y as f64
                + 3_000.0 * c as f64
                + 37.0 * ((x * 7 + y * 3) % 5) as f64;
            v as u16
        })
        .collect()
}

fn psnr(a: &[u16], b: &[u16]) -> f64 {
    let mse = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (65_535.0f64.powi(2) / mse).log10()
}

#[test]
fn sixteen_bit_images_round_trip_at_sixteen_bits() {
    let model = walloc::models::named("rgb-16x").unwrap();
    let (w, h) = (72, 40);
    let pixels = ramp(w, h, 3);
    let signal = Signal::image(w, h, 3, Samples::U16(pixels.clone())).unwrap();
    let file = walloc::encode(&model, &signal, &Default::default()).unwrap();
    let info = walloc::info::info(&file, &Default::default()).unwrap();
    assert_eq!((info.sample_bits, info.shape.as_slice()), (16, &[h, w][..]));
    let back = walloc::decode(&file, std::slice::from_ref(&model)).unwrap();
    assert_eq!((back.shape(), back.channels()), (&[h, w][..], 3));
    let Samples::U16(decoded) = back.samples() else {
        panic!("a 16-bit file decoded to {:?}", back.sample_type());
    };
    assert!(psnr(&pixels, decoded) > 30.0, "{}", psnr(&pixels, decoded));
    // Coded from all 16 bits: the output is not 8-bit samples scaled up.
    assert!(decoded.iter().filter(|&&v| v % 257 != 0).count() > decoded.len() / 2);

    // The same picture at 8 bits gives the same latent to within rounding,
    // and decodes to the 16-bit output's levels divided by 257, give or
    // take the latents that rounding moved.
    let eight: Vec<u8> = pixels.iter().map(|&v| (f64::from(v) / 257.0).round() as u8).collect();
    let signal8 = Signal::image(w, h, 3, Samples::U8(eight)).unwrap();
    let (latent16, latent8) = (
        walloc::analyze(&model, &signal).unwrap(),
        walloc::analyze(&model, &signal8).unwrap(),
    );
    let moved = latent16
        .symbols
        .iter()
        .zip(&latent8.symbols)
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        moved * 50 < latent16.symbols.len(),
        "{moved} of {}",
        latent16.symbols.len()
    );
    let back8 = walloc::decode(
        &walloc::encode(&model, &signal8, &Default::default()).unwrap(),
        &[model],
    )
    .unwrap();
    let Samples::U8(decoded8) = back8.samples() else {
        panic!()
    };
    let mean_gap = decoded
        .iter()
        .zip(decoded8)
        .map(|(&a, &b)| (f64::from(a) / 257.0 - f64::from(b)).abs())
        .sum::<f64>()
        / decoded.len() as f64;
    assert!(mean_gap < 1.0, "{mean_gap} 8-bit levels apart on average");
}

#[test]
fn other_sample_types_and_ranges_are_refused_by_name() {
    let model = walloc::models::named("gray-16x").unwrap();
    let signal = Signal::image(16, 16, 1, Samples::I16(vec![0; 256])).unwrap();
    let error = walloc::encode(&model, &signal, &Default::default()).unwrap_err();
    assert!(error.to_string().contains("not int16"), "{error}");
    let twelve = Signal::image(16, 16, 1, Samples::U16(vec![0; 256]))
        .unwrap()
        .with_range(walloc::ValueRange { min: 0.0, max: 4095.0 })
        .unwrap();
    let error = walloc::encode(&model, &twelve, &Default::default()).unwrap_err();
    assert!(error.to_string().contains("16-bit images over 0..65535"), "{error}");
}
