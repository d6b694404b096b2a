//! What the integration tests share: the shipped models and a textured
//! test image.

use walloc_codec::{Image8, Model};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// A shipped model by name.
pub fn model(name: &str) -> Model {
    Model::from_bytes(std::fs::read(format!("{ROOT}/models/{name}.safetensors")).unwrap()).unwrap()
}

/// A textured image: gradients, ripples and pseudo-random grain.
pub fn photo(width: u32, height: u32, channels: u8) -> Image8 {
    let mut state = 0x2545_f491_u32;
    let pixels = (0..width * height * u32::from(channels))
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let (x, y, c) = (
                (i / u32::from(channels)) % width,
                (i / u32::from(channels)) / width,
                i % u32::from(channels),
            );
            let v = 110.0
                + 70.0 * ((x as f32 / (9.0 + c as f32)).sin() * (y as f32 / 13.0).cos())
                + 0.2 * y as f32
                + (state % 24) as f32;
            v.clamp(0.0, 255.0) as u8
        })
        .collect();
    Image8::new(width, height, channels, pixels).unwrap()
}
