//! Fuzzes the `.wal` parser and decoder: any input must give an image or an
//! error, never a panic or an allocation past the limits.
//!
//! Run with `cargo fuzz run container` from this folder (nightly toolchain).

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use walloc_codec::{codec, container, Limits, Model};

static MODEL: OnceLock<Model> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_dimension: 4096,
        max_pixels: 1 << 22,
        max_latent_values: 1 << 22,
    };
    let _ = container::parse(data, &limits);
    let model = MODEL.get_or_init(|| {
        Model::from_bytes(include_bytes!("../../models/rgb-16x.safetensors").to_vec()).unwrap()
    });
    // Forged files are made with the real model id so the decoder is reached.
    let mut forged = data.to_vec();
    if forged.len() >= 76 {
        forged[8..40].copy_from_slice(&model.id().0);
        let crc = crc32fast::hash(&forged[..72]);
        forged[72..76].copy_from_slice(&crc.to_le_bytes());
    }
    let _ = codec::decode(model, &forged, &limits);
});
