//! A training run's configuration: the JSON `walloc train --config` reads,
//! validated field by field before anything runs, and what follows from
//! it (the trainer's options, the PCA start's fit options, the model's
//! description).

use serde::{Deserialize, Serialize};
use walloc_codec::fit::FitOptions;
use walloc_codec::model::{MAX_CHANNELS, MAX_LEVELS_1D};
use walloc_codec::{Modality, Step};

use crate::error::NnError;
use walloc_codec::liveaction::LiveActionConfig;

use crate::liveaction::train::LiveActionOptions;
use crate::train::TrainOptions;

/// A training configuration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Model name.
    pub name: String,
    /// `image` (the default) or `audio`.
    #[serde(default = "image")]
    pub modality: Modality,
    /// Image channels, 3 (RGB) or 1 (gray); audio channels, 1..=64.
    #[serde(default = "three")]
    pub channels: u32,
    /// Wavelet packet levels J.
    #[serde(default = "three")]
    pub levels: u32,
    /// Latent channels.
    pub latent_dim: u32,
    /// Optimisation steps.
    pub steps: u64,
    /// Crops per step.
    #[serde(default = "eight")]
    pub batch: usize,
    /// Side of the square crops, or frames of the audio segments (a
    /// multiple of 2^J).
    #[serde(default = "crop_side")]
    pub crop: u32,
    /// Progressive crops: the run is cut into as many equal parts, each
    /// with its crop side (or segment frames), as LiVeAction trains from
    /// small crops to large ones; empty (the default): `crop` throughout.
    /// Validation uses `crop`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crop_schedule: Vec<u32>,
    /// Peak learning rate.
    #[serde(default = "learning_rate")]
    pub learning_rate: f64,
    /// Steps of linear warm-up.
    #[serde(default)]
    pub warmup_steps: u64,
    /// Steps between validations (and plateau checks).
    #[serde(default = "every")]
    pub validate_every: u64,
    /// Validations without improvement before the rate is cut.
    #[serde(default = "patience")]
    pub plateau_patience: u32,
    /// Factor of each cut.
    #[serde(default = "half")]
    pub plateau_factor: f64,
    /// AdamW weight decay.
    #[serde(default)]
    pub weight_decay: f32,
    /// Weight λ of the rate penalty (LiVeAction's `λ · log2 std(latent)`;
    /// for WaLLoC codecs averaged over latent channels): by default 0 for
    /// WaLLoC codecs (the reference's) and 0.03 for LiVeAction (its own).
    #[serde(default)]
    pub rate_penalty: Option<f32>,
    /// AdamW's ε (PyTorch's 1e-8 by default).
    #[serde(default = "epsilon")]
    pub adam_epsilon: f32,
    /// Downscale factor of the training images (Lanczos).
    #[serde(default = "one")]
    pub downscale: u32,
    /// Quantisation step multiplier of the PCA start.
    #[serde(default = "one_f")]
    pub step_scale: f64,
    /// Minutes between checkpoints.
    #[serde(default = "minutes")]
    pub checkpoint_minutes: f64,
    /// Width of a neural refiner (with `refiner_blocks`; none: a linear model).
    #[serde(default)]
    pub refiner_hidden: Option<u32>,
    /// Residual blocks of the neural refiner.
    #[serde(default)]
    pub refiner_blocks: Option<u32>,
    /// Keep the PCA encoder (and so the latents and the rate) as it starts.
    #[serde(default)]
    pub freeze_encoder: bool,
    /// Train the refiner across the quality knob, from the first quality
    /// to the second (such as `[15, 100]`): each batch is coded at a step
    /// drawn among theirs, and the refiner reads the step. Needs a refiner
    /// and `freeze_encoder`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_qualities: Option<[f64; 2]>,
    /// Train a LiVeAction model (livecodec's `AutoCodecND`, lightweight
    /// encoder, EfficientViT decoder) of this shape instead of a WaLLoC
    /// codec.
    #[serde(default)]
    pub liveaction: Option<LiveActionRecipe>,
}

/// The LiVeAction part of a training configuration.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LiveActionRecipe {
    /// Factorized residual blocks of the encoder.
    #[serde(default = "four")]
    pub encoder_depth: usize,
    /// Kernel of the encoder's convolutions.
    #[serde(default = "kernel")]
    pub encoder_kernel_size: usize,
    /// EfficientViT blocks of the decoder.
    #[serde(default = "four")]
    pub decoder_depth: usize,
    /// The fraction of the steps after which the encoder is frozen and
    /// the decoder trains on rounded latents (the reference's 0.7).
    #[serde(default = "freeze_at")]
    pub freeze_encoder_at: f64,
}

fn four() -> usize {
    4
}
fn kernel() -> usize {
    3
}
fn freeze_at() -> f64 {
    0.7
}
/// λ of LiVeAction's rate term when the config does not say.
const LIVEACTION_RATE_PENALTY: f32 = 0.03;

fn epsilon() -> f32 {
    1e-8
}
fn image() -> Modality {
    Modality::Image
}
fn three() -> u32 {
    3
}
fn eight() -> usize {
    8
}
fn crop_side() -> u32 {
    128
}
fn learning_rate() -> f64 {
    1e-3
}
fn every() -> u64 {
    100
}
fn patience() -> u32 {
    2
}
fn half() -> f64 {
    0.5
}
fn one() -> u32 {
    1
}
fn one_f() -> f64 {
    1.0
}
fn minutes() -> f64 {
    5.0
}

impl TrainConfig {
    /// Parses a JSON configuration (unknown fields refused) and validates it.
    pub fn from_json(text: &str) -> Result<Self, NnError> {
        let config: TrainConfig = serde_json::from_str(text).map_err(|e| NnError::Training(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every field; the error names the first problem.
    pub fn validate(&self) -> Result<(), NnError> {
        let config = self;
        let audio = config.is_audio();
        let (max_levels, max_crop, dim) = if audio {
            (MAX_LEVELS_1D, 1 << 20, 1)
        } else {
            (6, 2048, 2)
        };
        let multiple = 1u32 << config.levels.min(max_levels);
        let problems = [
            (
                config.modality == Modality::Volume,
                "modality must be image or audio: volume models are fitted (walloc fit-linear-volume), not trained",
            ),
            (
                !(1..=max_levels).contains(&config.levels),
                if audio {
                    "levels must be 1..=12 for audio"
                } else {
                    "levels must be 1..=6 for images"
                },
            ),
            (
                !audio && config.channels != 1 && config.channels != 3,
                "channels must be 1 or 3 for images",
            ),
            (
                audio && !(1..=MAX_CHANNELS).contains(&config.channels),
                "channels must be 1..=64 for audio",
            ),
            (
                config.latent_dim == 0 || config.latent_dim > config.channels << (dim * config.levels.min(max_levels)),
                "latent_dim must be 1..=channels·2^(levels·dimensions)",
            ),
            (config.steps == 0, "steps must be positive"),
            (!(1..=256).contains(&config.batch), "batch must be 1..=256"),
            (
                config.crop == 0 || config.crop > max_crop || !config.crop.is_multiple_of(multiple),
                if audio {
                    "crop (segment frames) must be a multiple of 2^levels, at most 2^20"
                } else {
                    "crop must be a multiple of 2^levels, at most 2048"
                },
            ),
            (
                config.crop_schedule.len() > 64
                    || config
                        .crop_schedule
                        .iter()
                        .any(|&c| c == 0 || c > max_crop || !c.is_multiple_of(multiple)),
                "crop_schedule holds at most 64 crops, each a multiple of 2^levels within the crop limit",
            ),
            (
                !(config.learning_rate > 0.0 && config.learning_rate < 1.0),
                "learning_rate must be in (0, 1)",
            ),
            (
                !(config.plateau_factor > 0.0 && config.plateau_factor <= 1.0),
                "plateau_factor must be in (0, 1]",
            ),
            (config.validate_every == 0, "validate_every must be positive"),
            (
                config.checkpoint_minutes.is_nan() || config.checkpoint_minutes <= 0.0,
                "checkpoint_minutes must be positive",
            ),
            (!(1..=8).contains(&config.downscale), "downscale must be 1..=8"),
            (
                !(config.adam_epsilon > 0.0 && config.adam_epsilon < 1.0),
                "adam_epsilon must be in (0, 1)",
            ),
            (
                !(0.0..=10.0).contains(&config.rate_weight()),
                "rate_penalty must be in [0, 10]",
            ),
            (
                config.rate_penalty.is_some_and(|r| r > 0.0) && config.freeze_encoder,
                "rate_penalty needs a trained encoder (freeze_encoder keeps the rate as it is)",
            ),
            (
                config.liveaction.is_some() && (config.refiner_hidden.is_some() || config.freeze_encoder),
                "a liveaction run has no refiner and freezes its encoder by liveaction.freeze_encoder_at",
            ),
            (
                config
                    .liveaction
                    .as_ref()
                    .is_some_and(|l| !(l.freeze_encoder_at > 0.0 && l.freeze_encoder_at <= 1.0)),
                "liveaction.freeze_encoder_at must be in (0, 1]",
            ),
            (
                config.refiner_hidden.is_some() != config.refiner_blocks.is_some(),
                "refiner_hidden and refiner_blocks go together",
            ),
            (
                config.refiner_hidden.is_some_and(|h| !(1..=1024).contains(&h)),
                "refiner_hidden must be 1..=1024",
            ),
            (
                config.refiner_blocks.is_some_and(|b| !(1..=32).contains(&b)),
                "refiner_blocks must be 1..=32",
            ),
            (
                config
                    .train_qualities
                    .is_some_and(|[low, high]| !(0.0 <= low && low < high && high <= 100.0)),
                "train_qualities must be two qualities, lower first, within 0..=100",
            ),
            (
                config.train_qualities.is_some() && (!config.freeze_encoder || config.liveaction.is_some()),
                "train_qualities trains a refiner on a frozen encoder: it needs freeze_encoder (and no liveaction)",
            ),
        ];
        if let Some((_, problem)) = problems.iter().find(|(bad, _)| *bad) {
            return Err(NnError::Training((*problem).into()));
        }
        if let Some(shape) = self.liveaction_shape() {
            shape
                .validate()
                .map_err(|e| NnError::Training(format!("liveaction: {e}")))?;
        }
        Ok(())
    }

    /// λ of the rate term: as configured, else the architecture's default.
    pub fn rate_weight(&self) -> f32 {
        let default = if self.liveaction.is_some() {
            LIVEACTION_RATE_PENALTY
        } else {
            0.0
        };
        self.rate_penalty.unwrap_or(default)
    }

    /// The shape of the LiVeAction model a `liveaction` run trains.
    pub fn liveaction_shape(&self) -> Option<LiveActionConfig> {
        self.liveaction.as_ref().map(|l| LiveActionConfig {
            dim: self.modality.axes() as usize,
            input_channels: self.channels as usize,
            levels: self.levels as usize,
            latent_dim: self.latent_dim as usize,
            encoder_depth: l.encoder_depth,
            encoder_kernel_size: l.encoder_kernel_size,
            decoder_depth: l.decoder_depth,
            decoder_kernel_size: 3,
            lightweight_encode: true,
            lightweight_decode: false,
        })
    }

    /// What a LiVeAction trainer does beyond its model.
    pub fn liveaction_options(&self) -> LiveActionOptions {
        LiveActionOptions {
            rate_weight: self.rate_weight(),
            freeze_at: self.liveaction.as_ref().map_or(1.0, |l| l.freeze_encoder_at),
            weight_decay: self.weight_decay,
            epsilon: self.adam_epsilon,
        }
    }

    /// The configuration of step `step`'s batch: its crop taken from
    /// `crop_schedule`, if any.
    pub fn at_step(&self, step: u64) -> TrainConfig {
        let mut config = self.clone();
        if !self.crop_schedule.is_empty() {
            let part =
                (step.min(self.steps - 1) as u128 * self.crop_schedule.len() as u128 / self.steps as u128) as usize;
            config.crop = self.crop_schedule[part];
        }
        config
    }

    /// Whether the model codes audio.
    pub fn is_audio(&self) -> bool {
        self.modality == Modality::Audio
    }

    /// One training piece, in words.
    pub fn piece_name(&self) -> String {
        if self.is_audio() {
            format!("{}-channel segment of {} frames", self.channels, self.crop)
        } else {
            format!("crop of {0}×{0} pixels (after downscaling)", self.crop)
        }
    }

    /// What the trainer adds to and keeps of its starting model.
    pub fn options(&self) -> TrainOptions {
        TrainOptions {
            weight_decay: self.weight_decay,
            epsilon: self.adam_epsilon,
            rate_weight: self.rate_weight(),
            refiner: self
                .refiner_hidden
                .zip(self.refiner_blocks)
                .map(|(h, b)| (h as usize, b as usize)),
            freeze_encoder: self.freeze_encoder,
            steps: self.train_qualities.and_then(|[low, high]| {
                // Higher quality is the finer step.
                Some([Step::from_quality(high).ok()?, Step::from_quality(low).ok()?])
            }),
        }
    }
}

impl TrainConfig {
    /// One line on what a run makes, for the model's description.
    pub fn description(&self) -> String {
        let signal = if self.is_audio() {
            format!("{}-channel audio, ", self.channels)
        } else {
            String::new()
        };
        let (levels, latent) = (self.levels, self.latent_dim);
        if let Some(l) = &self.liveaction {
            return format!(
                "LiVeAction trained by walloc train, {signal}J={levels}, {latent} latent channels, \
                 {} encoder blocks, {} decoder blocks",
                l.encoder_depth, l.decoder_depth
            );
        }
        let across = self
            .train_qualities
            .map_or(String::new(), |[low, high]| format!(" across qualities {low}–{high}"));
        match self.refiner_hidden.zip(self.refiner_blocks) {
            Some((hidden, blocks)) => format!(
                "neural WaLLoC (refiner {hidden} wide, {blocks} blocks) trained by walloc train{across}, {signal}J={levels}, \
                 {latent} latent channels"
            ),
            None => format!("linear WaLLoC trained by walloc train, {signal}J={levels}, {latent} latent channels"),
        }
    }

    /// The fit options of the PCA model a fresh run starts from.
    pub fn fit_options(&self) -> FitOptions {
        FitOptions {
            name: self.name.clone(),
            description: self.description(),
            channels: self.channels,
            levels: self.levels,
            latent_dim: self.latent_dim,
            latent_bits: 8,
            wavelet: "bior4.4".into(),
            step_scale: self.step_scale,
            step_decoders: Vec::new(),
            step_decoder_neighbours: false,
            provenance: serde_json::json!({}),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_named_before_anything_runs() {
        let ok = r#"{"name": "x", "latent_dim": 6, "steps": 10}"#;
        let config = TrainConfig::from_json(ok).unwrap();
        assert_eq!(
            (config.modality, config.levels, config.crop, config.batch),
            (Modality::Image, 3, 128, 8)
        );
        for (text, problem) in [
            (
                r#"{"name": "x", "modality": "video", "latent_dim": 6, "steps": 10}"#,
                "modality must be \"image\"",
            ),
            (
                r#"{"name": "x", "latent_dim": 6, "steps": 10, "crop": 60}"#,
                "crop must be a multiple",
            ),
            (
                r#"{"name": "x", "latent_dim": 6, "steps": 0}"#,
                "steps must be positive",
            ),
            (
                r#"{"name": "x", "latent_dim": 6, "steps": 9, "lr": 1}"#,
                "unknown field `lr`",
            ),
            (
                r#"{"name": "x", "latent_dim": 6, "steps": 9, "refiner_hidden": 8}"#,
                "refiner_hidden and refiner_blocks go together",
            ),
            (
                r#"{"name": "x", "latent_dim": 6, "steps": 9, "freeze_encoder": true, "train_qualities": [90, 20]}"#,
                "lower first",
            ),
            (
                r#"{"name": "x", "latent_dim": 6, "steps": 9, "train_qualities": [20, 90]}"#,
                "it needs freeze_encoder",
            ),
        ] {
            let error = TrainConfig::from_json(text).unwrap_err().to_string();
            assert!(error.contains(problem), "{text}: {error}");
        }
        // Qualities name the steps' range from the finer (higher quality) on.
        let across =
            r#"{"name": "x", "latent_dim": 6, "steps": 9, "freeze_encoder": true, "train_qualities": [15, 100]}"#;
        let options = TrainConfig::from_json(across).unwrap().options();
        assert_eq!(
            options.steps,
            Some([Step::AT_QUALITY_100, Step::from_quality(15.0).unwrap()])
        );
        assert_eq!(config.options().steps, None);
    }

    #[test]
    fn progressive_crops_follow_the_schedule() {
        let config =
            TrainConfig::from_json(r#"{"name": "x", "latent_dim": 6, "steps": 9, "crop_schedule": [32, 64, 128]}"#)
                .unwrap();
        let crops: Vec<u32> = (0..10).map(|step| config.at_step(step).crop).collect();
        assert_eq!(crops, [32, 32, 32, 64, 64, 64, 128, 128, 128, 128]);
        assert_eq!(config.crop, 128);
        let bad = r#"{"name": "x", "latent_dim": 6, "steps": 9, "crop_schedule": [32, 60]}"#;
        assert!(TrainConfig::from_json(bad)
            .unwrap_err()
            .to_string()
            .contains("crop_schedule"));
    }
}
