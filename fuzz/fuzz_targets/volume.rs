//! Fuzzes the `.wal` volume parser and slab decoder: any input must give
//! slabs or an error, never a panic or an allocation past the limits.
//! Inputs are taken as they are, and again with the real model id and a
//! fresh header CRC, so that forged headers reach the slab decoder.

use std::sync::OnceLock;

use walloc_codec::registry::Registry;
use walloc_codec::{volume, Limits, Model};

static MODEL: OnceLock<Model> = OnceLock::new();

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let limits = Limits::default()
            .with_max_dimension(4096)
            .with_max_pixels(1 << 22)
            .with_max_latent_values(1 << 22);
        let _ = volume::parse(data, &limits);
        let model = MODEL.get_or_init(|| {
            Model::from_bytes(include_bytes!("../../models/volume-16x.safetensors").to_vec()).expect("volume-16x")
        });
        let mut forged = data.to_vec();
        if forged.len() >= 76 {
            forged[8..40].copy_from_slice(&model.id().0);
            let crc = crc32fast::hash(&forged[..72]);
            forged[72..76].copy_from_slice(&crc.to_le_bytes());
        }
        let Ok((header, chunks)) = volume::parse(&forged, &limits) else {
            return;
        };
        if volume::check_model(&header, model).is_err() {
            return;
        }
        let decoder = Registry::core().decoder(model, &Default::default()).expect("linear decoder");
        for (i, chunk) in chunks.iter().enumerate() {
            let _ = volume::decode_slab(decoder.as_ref(), model, &header, i as u32, chunk);
        }
    });
}
