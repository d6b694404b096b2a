//! `walloc train`: trains a linear codec, or a neural `refine` codec (the
//! linear one plus a convolutional refiner), of images or audio, through
//! the noisy bottleneck, starting from the closed-form PCA model (or a
//! given linear one), with AdamW (linear warm-up, then the learning rate
//! cut on validation plateaus), random crops or segments and flips made on
//! a worker thread (`train_data`), a progress bar, validation PSNR,
//! checkpoints and `--resume`, `--seed`; the config is stored in the
//! model's provenance.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use walloc_codec::entropy::{fit_tables, CONTEXTS};
use walloc_codec::fit::FitOptions;
use walloc_codec::model::{MAX_CHANNELS, MAX_LEVELS_1D};
use walloc_codec::Model;
use walloc_nn::train::{Batch, CodecTrainer, TrainOptions};
use walloc_wavelet::FilterBank;

use crate::fit::folder_name;
use crate::io::{log_line, progress, write_output};
use crate::measure::{with_audio_figures, with_figures};
use crate::train_data::Examples;

/// Arguments of `train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Training configuration (JSON; see README); stored in the model.
    #[arg(long)]
    pub config: PathBuf,
    /// Folder of training images (or, for audio models, audio files).
    #[arg(long)]
    pub data: PathBuf,
    /// Held-out images or audio: validation PSNR during training, figures
    /// at the end.
    #[arg(long)]
    pub val: Option<PathBuf>,
    /// Audio: seconds measured from the start of each held-out file.
    #[arg(long, default_value_t = 30.0)]
    pub val_seconds: f64,
    /// Output model file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Checkpoint folder [default: OUTPUT.ckpt].
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Continue from the checkpoint folder.
    #[arg(long)]
    pub resume: bool,
    /// Seed of crops, flips and bottleneck noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Name of the held-out set in the stored figures (default: its folder name).
    #[arg(long)]
    pub val_name: Option<String>,
    /// Start from this linear model (embedded name or file) instead of a
    /// PCA fit; with `freeze_encoder` its files keep their exact rate.
    #[arg(long, value_name = "MODEL")]
    pub from: Option<String>,
}

/// A training configuration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Model name.
    pub name: String,
    /// `image` (the default) or `audio`.
    #[serde(default = "image")]
    pub modality: String,
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
    /// Weight λ of the rate penalty (LiVeAction's `λ · log2 std(latent)`,
    /// averaged over latent channels); 0, the reference's, by default.
    #[serde(default)]
    pub rate_penalty: f32,
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
}

fn epsilon() -> f32 {
    1e-8
}
fn image() -> String {
    "image".into()
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
    fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let config: TrainConfig =
            serde_json::from_str(&text).with_context(|| format!("training config {}", path.display()))?;
        let audio = config.is_audio();
        let (max_levels, max_crop, dim) = if audio {
            (MAX_LEVELS_1D, 1 << 20, 1)
        } else {
            (6, 2048, 2)
        };
        let multiple = 1u32 << config.levels.min(max_levels);
        let problems = [
            (
                config.modality != "image" && !audio,
                "modality must be \"image\" or \"audio\"",
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
                !(0.0..=10.0).contains(&config.rate_penalty),
                "rate_penalty must be in [0, 10]",
            ),
            (
                config.rate_penalty > 0.0 && config.freeze_encoder,
                "rate_penalty needs a trained encoder (freeze_encoder keeps the rate as it is)",
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
        ];
        if let Some((_, problem)) = problems.iter().find(|(bad, _)| *bad) {
            bail!("training config {}: {problem}", path.display());
        }
        Ok(config)
    }

    /// Whether the model codes audio.
    pub fn is_audio(&self) -> bool {
        self.modality == "audio"
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
    fn options(&self) -> TrainOptions {
        TrainOptions {
            weight_decay: self.weight_decay,
            epsilon: self.adam_epsilon,
            rate_weight: self.rate_penalty,
            refiner: self
                .refiner_hidden
                .zip(self.refiner_blocks)
                .map(|(h, b)| (h as usize, b as usize)),
            freeze_encoder: self.freeze_encoder,
        }
    }
}

/// Where a run stands; saved with each checkpoint.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct State {
    step: u64,
    learning_rate: f64,
    best_validation: f64,
    bad_validations: u32,
    seed: u64,
}

/// A worker thread making batches ahead of the optimiser.
fn batches(examples: Arc<Examples>, config: TrainConfig, seed: u64, bank: FilterBank) -> Receiver<Result<Batch>> {
    let (sender, receiver) = sync_channel(4);
    std::thread::spawn(move || {
        let mut rng = StdRng::seed_from_u64(seed);
        loop {
            let batch = examples.batch(&config, &bank, &mut rng);
            if sender.send(batch).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Peak-normalised PSNR of a mean squared error of signals in [-1/2, 1/2].
fn psnr(mse: f64) -> f64 {
    10.0 * (1.0 / mse.max(1e-20)).log10()
}

/// Files of a checkpoint folder.
struct Checkpoint {
    model: PathBuf,
    optimizer: PathBuf,
    state: PathBuf,
}

impl Checkpoint {
    fn new(dir: &Path) -> Self {
        Checkpoint {
            model: dir.join("model.safetensors"),
            optimizer: dir.join("optimizer.bpk"),
            state: dir.join("state.json"),
        }
    }

    fn save(&self, trainer: &CodecTrainer, base: &Model, state: &State) -> Result<()> {
        if let Some(dir) = self.model.parent() {
            std::fs::create_dir_all(dir)?;
        }
        write_output(&self.model, trainer.export(base)?.to_bytes())?;
        write_output(&self.optimizer, &trainer.optimizer_state()?)?;
        // The state goes last: a checkpoint is whole once it is there.
        write_output(&self.state, serde_json::to_string_pretty(state)?.as_bytes())
    }
}

/// One line on what a run makes, for the model's description.
fn description(config: &TrainConfig) -> String {
    let signal = if config.is_audio() {
        format!("{}-channel audio, ", config.channels)
    } else {
        String::new()
    };
    let (levels, latent) = (config.levels, config.latent_dim);
    match config.refiner_hidden.zip(config.refiner_blocks) {
        Some((hidden, blocks)) => format!(
            "neural WaLLoC (refiner {hidden} wide, {blocks} blocks) trained by walloc train, {signal}J={levels}, \
             {latent} latent channels"
        ),
        None => format!("linear WaLLoC trained by walloc train, {signal}J={levels}, {latent} latent channels"),
    }
}

/// The PCA model a fresh run starts from.
fn pca_start(examples: &Examples, config: &TrainConfig, seed: u64) -> Result<Model> {
    let options = FitOptions {
        name: config.name.clone(),
        description: description(config),
        channels: config.channels,
        levels: config.levels,
        latent_dim: config.latent_dim,
        latent_bits: 8,
        wavelet: "bior4.4".into(),
        step_scale: config.step_scale,
        provenance: serde_json::json!({}),
    };
    examples.pca_start(config, &options, seed)
}

/// The model named by `--from`, checked against the config.
fn start_from(spec: &str, config: &TrainConfig) -> Result<Model> {
    let model = crate::models::resolve(spec)?;
    let c = model.config();
    if !walloc::Registry::core().supports(&model) || c.modality.name() != config.modality {
        bail!(
            "--from {spec}: {} is a {} {} model, not a linear {} model",
            c.name,
            c.architecture,
            c.modality,
            config.modality
        );
    }
    if (c.channels, c.levels, c.latent_dim) != (config.channels, config.levels, config.latent_dim) {
        bail!(
            "--from {spec}: {} has {} channels, J = {} and {} latent channels; the config asks for {}, {} and {}",
            c.name,
            c.channels,
            c.levels,
            c.latent_dim,
            config.channels,
            config.levels,
            config.latent_dim
        );
    }
    let mut start = c.clone();
    start.name = config.name.clone();
    start.figures = None;
    Ok(model.with_weights(&[], Some(start))?)
}

/// Runs `train`.
pub fn run(args: &TrainArgs) -> Result<()> {
    let config = TrainConfig::read(&args.config)?;
    let checkpoint = Checkpoint::new(
        &args
            .checkpoint
            .clone()
            .unwrap_or_else(|| args.output.with_extension("ckpt")),
    );
    if !(args.val_seconds > 0.0 && args.val_seconds <= 3600.0) {
        bail!("--val-seconds must be in (0, 3600], not {}", args.val_seconds);
    }
    let bank = FilterBank::by_name("bior4.4").context("bior4.4")?;
    let examples = Examples::training(&args.data, &config)?;
    // Loaded once: pieces for the validation PSNR, whole images for the
    // figures at the end.
    let held_out = match &args.val {
        Some(dir) => Some(Examples::held_out(dir, &config)?),
        None => None,
    };
    let validation = match &held_out {
        Some(val) => val.validation_batch(&config, &bank)?,
        None => None,
    };

    let (base, mut trainer, mut state) = if args.resume {
        let state: State = serde_json::from_slice(
            &std::fs::read(&checkpoint.state).with_context(|| format!("--resume: {}", checkpoint.state.display()))?,
        )
        .context("checkpoint state")?;
        let model = Model::from_bytes(std::fs::read(&checkpoint.model)?).context("checkpoint model")?;
        let mut trainer = CodecTrainer::new(&model, config.options())?;
        trainer.load_optimizer_state(std::fs::read(&checkpoint.optimizer)?)?;
        eprintln!("resuming at step {} of {}", state.step, config.steps);
        (model, trainer, state)
    } else {
        let model = match &args.from {
            Some(spec) => start_from(spec, &config)?,
            None => {
                eprintln!("fitting the PCA start…");
                pca_start(&examples, &config, args.seed)?
            }
        };
        let trainer = CodecTrainer::new(&model, config.options())?;
        let state = State {
            step: 0,
            learning_rate: config.learning_rate,
            best_validation: f64::INFINITY,
            bad_validations: 0,
            seed: args.seed,
        };
        (model, trainer, state)
    };
    eprintln!("training on {:?}", trainer.device());
    trainer.seed(state.seed.wrapping_add(state.step));
    // Shared with the batch worker, and read again for the entropy tables.
    let examples = Arc::new(examples);
    let feed = batches(
        Arc::clone(&examples),
        config.clone(),
        state.seed.wrapping_add(state.step),
        bank.clone(),
    );

    let bar = progress(config.steps, "training");
    bar.set_position(state.step);
    if let (Some(val), 0) = (&validation, state.step) {
        log_line(
            &bar,
            format!("start: validation PSNR {:.2} dB", psnr(trainer.validate(val)?)),
        );
    }
    let (started, first_step) = (Instant::now(), state.step);
    let mut last_checkpoint = Instant::now();
    let interval = Duration::from_secs_f64(config.checkpoint_minutes * 60.0);
    while state.step < config.steps {
        let batch = feed.recv().context("the batch worker stopped")??;
        let warm = if config.warmup_steps > 0 {
            ((state.step + 1) as f64 / config.warmup_steps as f64).min(1.0)
        } else {
            1.0
        };
        let rate = state.learning_rate * warm;
        let loss = trainer.step(&batch, rate)?;
        state.step += 1;
        bar.set_position(state.step);
        bar.set_message(format!("loss {loss:.2e}, PSNR {:.2} dB, lr {rate:.1e}", psnr(loss)));
        if state.step.is_multiple_of(config.validate_every) {
            if let Some(val) = &validation {
                let mse = trainer.validate(val)?;
                if mse < state.best_validation {
                    state.best_validation = mse;
                    state.bad_validations = 0;
                } else {
                    state.bad_validations += 1;
                    if state.bad_validations >= config.plateau_patience {
                        state.learning_rate *= config.plateau_factor;
                        state.bad_validations = 0;
                    }
                }
                log_line(
                    &bar,
                    format!(
                        "step {}: training PSNR {:.2} dB, validation PSNR {:.2} dB, lr {:.1e}",
                        state.step,
                        psnr(loss),
                        psnr(mse),
                        state.learning_rate
                    ),
                );
            }
        }
        if last_checkpoint.elapsed() >= interval {
            checkpoint.save(&trainer, &base, &state)?;
            last_checkpoint = Instant::now();
        }
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let pieces = (state.step - first_step) as f64 * config.batch as f64;
    eprintln!(
        "trained {} steps in {seconds:.1} s: {:.1} per second, each a {}",
        state.step - first_step,
        pieces / seconds.max(1e-9),
        config.piece_name()
    );
    checkpoint.save(&trainer, &base, &state)?;
    finish(args, &config, &trainer, &base, &examples, held_out.as_ref(), &state)
}

/// Counts the entropy tables (unless the encoder was frozen: the start's
/// tables still fit its latents), measures the model and writes it.
fn finish(
    args: &TrainArgs,
    config: &TrainConfig,
    trainer: &CodecTrainer,
    base: &Model,
    examples: &Examples,
    held_out: Option<&Examples>,
    state: &State,
) -> Result<()> {
    let trained = trainer.export(base)?;
    let probabilities = if config.freeze_encoder {
        None
    } else {
        let latents = examples.latents(&trained)?;
        Some(fit_tables(&latents, config.latent_dim as usize, 8))
    };
    let mut model_config = trained.config().clone();
    model_config.description = description(config);
    model_config.provenance = serde_json::json!({
        "method": "walloc train: PCA start (a refiner starting at zero), AdamW through the noisy bottleneck, MSE \
                   on packet coefficients",
        "start": args.from.as_deref().unwrap_or("PCA fit"),
        "data": args.data.file_name().map(|s| s.to_string_lossy().into_owned()),
        "files": examples.len(),
        "steps": state.step,
        "seed": state.seed,
        "config": config,
    });
    let mut model = match probabilities {
        Some(probabilities) => trained.with_tables(&probabilities, CONTEXTS, Some(model_config))?,
        None => trained.with_weights(&[], Some(model_config))?,
    };
    if let (Some(val), Some(dir)) = (held_out, &args.val) {
        let set = args.val_name.clone().unwrap_or_else(|| folder_name(dir));
        model = match val {
            Examples::Images(images) => with_figures(model, images, &set)?,
            Examples::Audio { .. } => with_audio_figures(model, dir, args.val_seconds, &set)?,
        };
    }
    write_output(&args.output, model.to_bytes())?;
    eprintln!("wrote {} (id {})", args.output.display(), model.id().short());
    Ok(())
}
