//! Fuzzes the `.wal` image parser and decoder: any input must give an
//! image or an error, never a panic or an allocation past the limits.
//! Inputs are taken as they are, and again with the real model id and a
//! fresh header CRC, so that forged headers reach the decoder.

use std::sync::OnceLock;

use walloc_codec::{codec, container, Limits, Model};

#[path = "forge.rs"]
mod forge;

static MODEL: OnceLock<Model> = OnceLock::new();

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let limits = Limits::default()
            .with_max_dimension(4096)
            .with_max_pixels(1 << 22)
            .with_max_latent_values(1 << 22);
        let _ = container::parse(data, &limits);
        let model = MODEL.get_or_init(|| {
            Model::from_bytes(include_bytes!("../../models/rgb-16x.safetensors").to_vec()).expect("rgb-16x")
        });
        let forged = forge::forged(data, &model.id().0, false);
        // The header's sample bits pick one depth; the other is refused.
        let _ = codec::decode::<u8>(model, &forged, &limits);
        let _ = codec::decode::<u16>(model, &forged, &limits);
    });
}
