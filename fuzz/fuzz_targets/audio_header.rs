//! Fuzzes the audio `.wal` parser and the block decoder: any input must give
//! samples or an error, never a panic or an allocation past the limits.
//! Forged inputs carry the real model id and a fresh header CRC (and fresh
//! chunk CRCs), so that damaged headers and payloads reach the decoder.

use std::sync::OnceLock;

use walloc_codec::audio;
use walloc_codec::registry::{DecoderOptions, Registry};
use walloc_codec::{Limits, Model};

#[path = "forge.rs"]
mod forge;

static MODEL: OnceLock<Model> = OnceLock::new();

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let limits = Limits::default().with_max_latent_values(1 << 22);
        let _ = audio::parse(data, &limits);
        let model = MODEL.get_or_init(|| {
            Model::from_bytes(include_bytes!("../../models/stereo-20x.safetensors").to_vec()).expect("stereo-20x")
        });
        let forged = forge::forged(data, &model.id().0, true);
        let Ok((header, chunks)) = audio::parse(&forged, &limits) else {
            return;
        };
        if audio::check_model(&header, model).is_err() {
            return;
        }
        let registry = Registry::core();
        let Ok(decoder) = registry.decoder(model, &DecoderOptions::default()) else {
            return;
        };
        let groups = header.groups() as usize;
        for ((_, frames), payloads) in header.blocks().zip(chunks.chunks(groups)).take(2) {
            let _ = audio::decode_groups(decoder.as_ref(), model, &header, payloads, frames);
        }
    });
}
