//! Fuzzes `Model::from_bytes`, which `--model PATH` and `walloc.Model.load`
//! reach: any input must give a model or an error, never a panic or an
//! allocation past what the file holds. A model that loads is used once,
//! so that its tables and weights are exercised.

use walloc_codec::{codec, Image8, Modality, Model};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(model) = Model::from_bytes(data.to_vec()) else {
            return;
        };
        let config = model.config();
        if config.modality == Modality::Image && model.encoder().is_some() {
            let channels = config.channels as u8;
            if let Ok(image) = Image8::new(16, 16, channels, vec![100; 256 * usize::from(channels)]) {
                if let Ok(file) = codec::encode(&model, &image, Default::default()) {
                    let _ = codec::decode::<u8>(&model, &file, &Default::default());
                }
            }
        }
    });
}
