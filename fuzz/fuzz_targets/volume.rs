//! Fuzzes the `.wal` volume parser and slab decoder: any input must give
//! slabs or an error, never a panic or an allocation past the limits.
//! Inputs are taken as they are, and again with the real model id and
//! fresh header and chunk CRCs, so that forged headers, metadata and slabs
//! reach the decoder.

use std::sync::OnceLock;

use walloc_codec::registry::Registry;
use walloc_codec::{volume, Limits, Model};

#[path = "forge.rs"]
mod forge;

static MODELS: OnceLock<[Model; 2]> = OnceLock::new();

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let limits = Limits::default()
            .with_max_dimension(4096)
            .with_max_pixels(1 << 22)
            .with_max_latent_values(1 << 22);
        let _ = volume::parse(data, &limits);
        // A 3-D model (slabs) and a 2-D one (slices: a cube's bands as
        // channels), each forged in turn so that both decoders are reached.
        let models = MODELS.get_or_init(|| {
            [
                Model::from_bytes(include_bytes!("../../models/volume-16x.safetensors").to_vec()).expect("volume-16x"),
                Model::from_bytes(include_bytes!("../../models/landsat-16x.safetensors").to_vec()).expect("landsat-16x"),
            ]
        });
        for model in models {
            let forged = forge::forged(data, &model.id().0, true);
            let Ok((header, chunks)) = volume::parse(&forged, &limits) else {
                continue;
            };
            if volume::check_model(&header, model).is_err() {
                continue;
            }
            let decoder = Registry::core().decoder(model, &Default::default()).expect("linear decoder");
            for (i, chunk) in chunks.iter().enumerate() {
                let _ = volume::decode_slab(decoder.as_ref(), model, &header, i as u32, chunk);
            }
        }
    });
}
