//! Fuzzes the audio `.wal` parser and the block decoder: any input must give
//! samples or an error, never a panic or an allocation past the limits.
//! Forged inputs carry the real model id and a fresh header CRC (and fresh
//! chunk CRCs), so that damaged headers and payloads reach the decoder.

use std::sync::OnceLock;

use walloc_codec::audio;
use walloc_codec::registry::{DecoderOptions, Registry};
use walloc_codec::{Limits, Model};

static MODEL: OnceLock<Model> = OnceLock::new();

/// Rewrites every chunk's CRC that the declared lengths reach.
fn fresh_chunk_crcs(bytes: &mut [u8]) {
    let mut at = 76;
    while at + 8 <= bytes.len() {
        let len = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        if bytes.len() - at - 8 < len {
            return;
        }
        let crc = crc32fast::hash(&bytes[at..at + 4 + len]);
        bytes[at + 4 + len..at + 8 + len].copy_from_slice(&crc.to_le_bytes());
        at += 8 + len;
    }
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let limits = Limits::default().with_max_latent_values(1 << 22);
        let _ = audio::parse(data, &limits);
        let model = MODEL.get_or_init(|| {
            Model::from_bytes(include_bytes!("../../models/stereo-20x.safetensors").to_vec()).expect("stereo-20x")
        });
        let mut forged = data.to_vec();
        if forged.len() >= 76 {
            forged[8..40].copy_from_slice(&model.id().0);
            let crc = crc32fast::hash(&forged[..72]);
            forged[72..76].copy_from_slice(&crc.to_le_bytes());
            fresh_chunk_crcs(&mut forged);
        }
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
