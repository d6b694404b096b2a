//! The codec against the reference walloc 1.2.1 (scripts/make_codec_fixtures.py).

use safetensors::SafeTensors;
use walloc_codec::bottleneck::{Bottleneck, Quantizer};
use walloc_codec::codec::{analyze, synthesize};
use walloc_codec::{packing, Image8, Model};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn fixtures() -> Vec<u8> {
    std::fs::read(format!("{ROOT}/tests/fixtures/codec.safetensors")).unwrap()
}

fn f32s(st: &SafeTensors, name: &str) -> Vec<f32> {
    let view = st.tensor(name).unwrap();
    view.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn bytes(st: &SafeTensors, name: &str) -> (Vec<u8>, Vec<usize>) {
    let view = st.tensor(name).unwrap();
    (view.data().to_vec(), view.shape().to_vec())
}

#[test]
fn bottleneck_matches_reference() {
    let data = fixtures();
    let st = SafeTensors::deserialize(&data).unwrap();
    let b = Bottleneck::new(8);
    let q = Quantizer::new(&b);
    let z = f32s(&st, "bottleneck/z");
    let latent = f32s(&st, "bottleneck/latent");
    assert_eq!(z.len(), 4096);
    for (&z, &v) in z.iter().zip(&latent) {
        assert_eq!(i32::from(b.quantize(z)) - 128, v as i32, "z = {z}");
        assert_eq!(q.quantize(z), b.quantize(z), "table, z = {z}");
    }
    for (&v, &x) in f32s(&st, "bottleneck/values")
        .iter()
        .zip(&f32s(&st, "bottleneck/to_normal"))
    {
        let got = b.dequantize((v as i32 + 128) as u8);
        assert!(
            (got - x).abs() <= 1e-4 * x.abs().max(1.0),
            "ToNormal({v}) = {got}, reference {x}"
        );
    }
}

#[test]
fn latent_packing_matches_latent_to_pil() {
    let data = fixtures();
    let st = SafeTensors::deserialize(&data).unwrap();
    for (name, k) in [("packing_rgb", 12), ("packing_gray", 16)] {
        let latent = f32s(&st, &format!("{name}/latent"));
        let symbols: Vec<u8> = latent.iter().map(|&v| (v as i32 + 128) as u8).collect();
        let (pixels, shape) = bytes(&st, &format!("{name}/pixels"));
        let (tiled, width, height, planes) = packing::tile(&symbols, k, 5, 7).unwrap();
        assert_eq!((height, width, planes), (shape[0], shape[1], shape[2]), "{name}");
        assert_eq!(tiled, pixels, "{name}");
        assert_eq!(packing::untile(&pixels, k, 5, 7).unwrap(), symbols, "{name}");
    }
}

#[test]
fn shipped_linear_model_is_a_reference_model() {
    let data = fixtures();
    let (_, meta) = SafeTensors::read_metadata(&data).unwrap();
    let st = SafeTensors::deserialize(&data).unwrap();
    let model = Model::from_bytes(std::fs::read(format!("{ROOT}/models/rgb-16x.safetensors")).unwrap()).unwrap();
    let recorded = meta.metadata().as_ref().unwrap()["model_sha256"].clone();
    assert_eq!(
        model.id().to_string(),
        recorded,
        "models/rgb-16x.safetensors changed: rerun scripts/make_codec_fixtures.py"
    );
    let (pixels, shape) = bytes(&st, "linear/image");
    let image = Image8::new(shape[1] as u32, shape[0] as u32, 3, pixels).unwrap();
    let latent = analyze(&model, &image).unwrap();
    let expected: Vec<i32> = f32s(&st, "linear/latent").iter().map(|&v| v as i32).collect();
    let got: Vec<i32> = latent.symbols.iter().map(|&s| i32::from(s) - 128).collect();
    assert_eq!(got, expected, "integer latents differ from the reference");
    let out: Image8 = synthesize(&model, &latent, image.width, image.height).unwrap();
    let reference = f32s(&st, "linear/output");
    let worst = out
        .pixels
        .iter()
        .zip(&reference)
        .map(|(&p, &r)| (f32::from(p) - r * 255.0).abs())
        .fold(0.0f32, f32::max);
    // Ours rounds to 8 bits: at most half a level plus float noise away.
    assert!(worst <= 0.5 + 1e-3, "reconstruction differs by {worst} levels");
}
