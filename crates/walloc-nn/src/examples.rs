//! What training learns from, by modality: photos it crops (and mirrors),
//! or music it cuts into segments (each file's first block, normalized as
//! the encoder normalizes a block, and negated at random), turned into
//! batches of wavelet-packet coefficients; the PCA model a fresh run
//! starts from; the latents that entropy tables are counted on. Reading
//! the files is the caller's: these are the decoded examples.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use walloc_codec::codec::{self, Latent};
use walloc_codec::fit::{fit_linear, fit_linear_audio, FitOptions};
use walloc_codec::image::to_padded_signal;
use walloc_codec::registry::Registry;
use walloc_codec::{audio, Image8, Model};
use walloc_wavelet::{packet, FilterBank, Signal};

use crate::error::NnError;
use crate::recipe::TrainConfig;
use crate::train::Batch;

/// Training or held-out examples of one modality.
pub enum Examples {
    /// Photos (of the model's channel count).
    Images(Vec<Image8>),
    /// Normalized first blocks of music files, planar, `channels` rows each.
    Audio {
        /// The blocks.
        blocks: Vec<Vec<f32>>,
        /// Rows of each block.
        channels: usize,
    },
}

impl Examples {
    /// Indices of the examples large enough for one crop or segment.
    pub fn usable(&self, config: &TrainConfig) -> Vec<usize> {
        let side = config.crop;
        let crop = config.crop as usize;
        match self {
            Examples::Images(images) => (0..images.len())
                .filter(|&i| images[i].width >= side && images[i].height >= side)
                .collect(),
            Examples::Audio { blocks, channels } => (0..blocks.len())
                .filter(|&i| blocks[i].len() / channels >= crop)
                .collect(),
        }
    }

    /// How many files the examples come from.
    pub fn len(&self) -> usize {
        match self {
            Examples::Images(images) => images.len(),
            Examples::Audio { blocks, .. } => blocks.len(),
        }
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A crop or segment of example `index` from `start` (`[x, y]`; audio
    /// uses `x`), mirrored (images) or negated (audio) if `flip`.
    fn piece(&self, config: &TrainConfig, index: usize, [x, y]: [u32; 2], flip: bool) -> Piece {
        match self {
            Examples::Images(images) => {
                let piece = images[index].crop(x, y, config.crop);
                Piece::Image(if flip { piece.mirrored() } else { piece })
            }
            Examples::Audio { blocks, channels } => {
                let mut piece = audio::segment(&blocks[index], *channels, x as usize, config.crop as usize);
                if flip {
                    piece.iter_mut().for_each(|v| *v = -*v);
                }
                Piece::Audio(piece)
            }
        }
    }

    /// The free range of a piece's start in example `index`: `[x, y]` maxima.
    fn room(&self, config: &TrainConfig, index: usize) -> [u32; 2] {
        match self {
            Examples::Images(images) => [images[index].width - config.crop, images[index].height - config.crop],
            Examples::Audio { blocks, channels } => [(blocks[index].len() / channels) as u32 - config.crop, 0],
        }
    }

    /// One batch of random pieces, flipped at random.
    pub fn batch(&self, config: &TrainConfig, bank: &FilterBank, rng: &mut StdRng) -> Result<Batch, NnError> {
        let usable = self.usable(config);
        let pieces: Vec<Piece> = (0..config.batch)
            .map(|_| {
                let index = usable[rng.random_range(0..usable.len())];
                let [x_max, y_max] = self.room(config, index);
                let start = [rng.random_range(0..=x_max), rng.random_range(0..=y_max)];
                self.piece(config, index, start, rng.random_bool(0.5))
            })
            .collect();
        coefficients(&pieces, config, bank)
    }

    /// Validation pieces as one batch (none if no example is large enough):
    /// the centre crop of each of the first 32 images; for audio, 32
    /// segments spread evenly over the files (at least one a file).
    pub fn validation_batch(&self, config: &TrainConfig, bank: &FilterBank) -> Result<Option<Batch>, NnError> {
        const PIECES: usize = 32;
        let usable = self.usable(config);
        let per_example = match self {
            Examples::Images(_) => 1,
            Examples::Audio { .. } => (PIECES / usable.len().max(1)).max(1),
        };
        let pieces: Vec<Piece> = usable
            .into_iter()
            .take(PIECES)
            .flat_map(|index| {
                let [x, y] = self.room(config, index);
                (1..=per_example as u64).map(move |j| {
                    let at = (u64::from(x) * j / (per_example as u64 + 1)) as u32;
                    (index, [at, y / 2])
                })
            })
            .map(|(index, start)| self.piece(config, index, start, false))
            .collect();
        (!pieces.is_empty())
            .then(|| coefficients(&pieces, config, bank))
            .transpose()
    }

    /// The closed-form PCA model on about 8 random pieces per example.
    pub fn pca_start(&self, config: &TrainConfig, options: &FitOptions, seed: u64) -> Result<Model, NnError> {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x9e37_79b9);
        let usable = self.usable(config);
        let draws = (self.len() * 8).div_ceil(config.batch) * config.batch;
        let pieces = (0..draws).map(|_| {
            let index = usable[rng.random_range(0..usable.len())];
            let [x_max, y_max] = self.room(config, index);
            let start = [rng.random_range(0..=x_max), rng.random_range(0..=y_max)];
            self.piece(config, index, start, false)
        });
        Ok(match self {
            Examples::Images(_) => fit_linear(&pieces.map(Piece::into_image).collect::<Vec<_>>(), options)?,
            Examples::Audio { .. } => fit_linear_audio(&pieces.map(Piece::into_audio).collect::<Vec<_>>(), options)?,
        })
    }

    /// Latents of up to 256 examples under `registry`'s encoder of `model`
    /// (images whole; audio in whole blocks, as the encoder codes them),
    /// for counting entropy tables.
    pub fn latents(&self, registry: &Registry, model: &Model) -> Result<Vec<Latent>, NnError> {
        let latents = match self {
            Examples::Images(images) => images
                .iter()
                .take(256)
                .map(|image| codec::analyze_with(registry, model, image))
                .collect::<walloc_codec::Result<Vec<_>>>()?,
            Examples::Audio { blocks, channels } => {
                let encoder = registry.encoder(model)?;
                blocks
                    .iter()
                    .take(256)
                    .map(|block| {
                        let frames = (block.len() / channels) as u32;
                        Ok(audio::analyze_block(encoder.as_ref(), model, block.clone(), frames)?.1)
                    })
                    .collect::<walloc_codec::Result<Vec<_>>>()?
            }
        };
        Ok(latents)
    }
}

/// One training piece.
enum Piece {
    Image(Image8),
    Audio(Vec<f32>),
}

impl Piece {
    fn into_image(self) -> Image8 {
        match self {
            Piece::Image(image) => image,
            Piece::Audio(_) => unreachable!("image examples give image pieces"),
        }
    }

    fn into_audio(self) -> Vec<f32> {
        match self {
            Piece::Audio(samples) => samples,
            Piece::Image(_) => unreachable!("audio examples give audio pieces"),
        }
    }
}

/// Equal-sized pieces as one batch `[n, D, h, w]` (audio: `[n, D, 1, positions]`).
fn coefficients(pieces: &[Piece], config: &TrainConfig, bank: &FilterBank) -> Result<Batch, NnError> {
    let mut values = Vec::new();
    let mut shape = [pieces.len(), 0, 1, 0];
    for piece in pieces {
        let signal = match piece {
            Piece::Image(image) => to_padded_signal(image, 1 << config.levels),
            Piece::Audio(samples) => {
                Signal::new(samples.clone(), config.channels as usize, vec![config.crop as usize])?
            }
        };
        let c = packet::forward(bank, signal, config.levels)?;
        shape[1] = c.channels;
        shape[4 - c.shape.len()..].copy_from_slice(&c.shape);
        values.extend_from_slice(&c.data);
    }
    Ok(Batch { values, shape })
}
