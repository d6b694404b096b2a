//! walloc-eval against the oracle figures of tests/fixtures/eval.json
//! (scripts/make_eval_fixtures.py: pytorch_msssim 1.0.0, bjontegaard 1.3.0).

use serde_json::Value;
use walloc_codec::Image8;
use walloc_eval::bdrate::{bd_rate, RdPoint};
use walloc_eval::metrics::{ms_ssim, psnr, ssim};

fn root(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

fn fixture() -> Value {
    serde_json::from_str(&std::fs::read_to_string(root("tests/fixtures/eval.json")).unwrap()).unwrap()
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

/// The crop and its distorted copy, as the fixture script makes them.
fn image_pair(spec: &Value) -> (Image8, Image8) {
    let get = |k: &str| spec[k].as_u64().unwrap() as u32;
    let photo = image::open(root("assets/chelsea.png")).unwrap().into_rgb8();
    let (x0, y0, width, height) = (get("x"), get("y"), get("width"), get("height"));
    let crop = image::imageops::crop_imm(&photo, x0, y0, width, height)
        .to_image()
        .into_raw();
    let (multiplier, modulus, offset) = (get("multiplier") as i64, get("modulus") as i64, get("offset") as i64);
    let noisy = crop
        .iter()
        .enumerate()
        .map(|(i, &v)| (i64::from(v) + (i as i64 * multiplier) % modulus - offset).clamp(0, 255) as u8)
        .collect();
    (
        Image8::new(width, height, 3, crop).unwrap(),
        Image8::new(width, height, 3, noisy).unwrap(),
    )
}

fn first_channel(image: &Image8) -> Image8 {
    let pixels = image.pixels.iter().step_by(3).copied().collect();
    Image8::new(image.width, image.height, 1, pixels).unwrap()
}

#[test]
fn metrics_match_pytorch_msssim() {
    let fixture = fixture();
    let (clean, noisy) = image_pair(&fixture["image"]);
    for (name, a, b) in [
        ("rgb", clean.clone(), noisy.clone()),
        ("gray", first_channel(&clean), first_channel(&noisy)),
    ] {
        let expected = &fixture[name];
        let (p, s, m) = (psnr(&a, &b), ssim(&a, &b), ms_ssim(&a, &b).unwrap());
        assert!((p - number(&expected["psnr"])).abs() < 1e-9, "{name} PSNR {p}");
        // pytorch_msssim's single-precision window moves the sixth digit
        // (see metrics::gaussian_window); a wrong window, constant or
        // padding moves the third.
        assert!((s - number(&expected["ssim"])).abs() < 1e-5, "{name} SSIM {s}");
        assert!((m - number(&expected["ms_ssim"])).abs() < 1e-5, "{name} MS-SSIM {m}");
    }
}

#[test]
fn bd_rate_matches_the_bjontegaard_package() {
    let fixture = fixture();
    let curve = |v: &Value| -> Vec<RdPoint> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| RdPoint {
                rate: number(&p[0]),
                quality: number(&p[1]),
            })
            .collect()
    };
    for case in fixture["bd_rate"].as_array().unwrap() {
        let ours = bd_rate(&curve(&case["anchor"]), &curve(&case["test"])).unwrap();
        let theirs = number(&case["percent"]);
        assert!((ours - theirs).abs() < 1e-9, "BD-rate {ours} against {theirs}");
    }
}
