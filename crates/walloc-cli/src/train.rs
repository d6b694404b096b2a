//! `walloc train`: reads the config and the examples, runs
//! `walloc_nn::session::Training` (linear or `refine` codecs of images or
//! audio, from the PCA start or `--from` a linear model) with a progress
//! bar, writes its checkpoints every `checkpoint_minutes` and resumes from
//! them (`--resume`), then measures and writes the model.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use walloc_nn::examples::Examples;
use walloc_nn::recipe::TrainConfig;
use walloc_nn::session::{psnr, Checkpoint, Start, Training};

use walloc_io::folder::folder_name;

use crate::eval::{check_seconds, with_audio_figures, with_figures};
use crate::fit::{load_all, validation_images};
use crate::fit_audio::load_blocks;
use crate::io::{audio_files, image_files, log_line, progress, write_output};

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
    /// Start from this model (embedded name or file) instead of a PCA fit
    /// or a fresh network: a linear model for a WaLLoC run (with
    /// `freeze_encoder` its files keep their exact rate), a LiVeAction model
    /// of the config's shape (an imported checkpoint) for a LiVeAction run.
    #[arg(long, value_name = "MODEL")]
    pub from: Option<String>,
}

/// Files of a checkpoint folder.
struct CheckpointFiles {
    model: PathBuf,
    optimizer: PathBuf,
    state: PathBuf,
}

impl CheckpointFiles {
    fn new(dir: &Path) -> Self {
        CheckpointFiles {
            model: dir.join("model.safetensors"),
            optimizer: dir.join("optimizer.bpk"),
            state: dir.join("state.json"),
        }
    }

    fn read(&self) -> Result<Checkpoint> {
        let read = |path: &Path| std::fs::read(path).with_context(|| format!("--resume: {}", path.display()));
        Ok(Checkpoint {
            state: read(&self.state)?,
            model: read(&self.model)?,
            optimizer: read(&self.optimizer)?,
        })
    }

    fn write(&self, checkpoint: &Checkpoint) -> Result<()> {
        if let Some(dir) = self.model.parent() {
            std::fs::create_dir_all(dir)?;
        }
        write_output(&self.model, &checkpoint.model)?;
        write_output(&self.optimizer, &checkpoint.optimizer)?;
        // The state goes last: a checkpoint is whole once it is there.
        write_output(&self.state, &checkpoint.state)
    }
}

/// The examples in `dir`: images (downscaled, in the model's channels), or
/// the first block of every audio file of the model's channel count.
fn training_examples(dir: &Path, config: &TrainConfig) -> Result<Examples> {
    let examples = if config.is_audio() {
        audio_examples(dir, config, "loading")?
    } else {
        let images = load_all(
            &image_files(dir)?,
            Some(config.channels as u8),
            config.downscale,
            "loading",
        )?;
        Examples::Images(images)
    };
    if examples.usable(config).is_empty() {
        bail!(
            "nothing in {} is large enough for one {}",
            dir.display(),
            config.piece_name()
        );
    }
    Ok(examples)
}

/// The held-out examples in `dir` (RGB models: colour images only).
fn held_out_examples(dir: &Path, config: &TrainConfig) -> Result<Examples> {
    Ok(if config.is_audio() {
        audio_examples(dir, config, "validating")?
    } else {
        Examples::Images(validation_images(dir, config.channels as u8)?)
    })
}

fn audio_examples(dir: &Path, config: &TrainConfig, what: &str) -> Result<Examples> {
    let channels = config.channels as usize;
    Ok(Examples::Audio {
        blocks: load_blocks(&audio_files(dir)?, channels, config.crop as usize, what)?,
        channels,
    })
}

/// Runs `train`.
pub fn run(args: &TrainArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.config).with_context(|| format!("reading {}", args.config.display()))?;
    let config = TrainConfig::from_json(&text).with_context(|| format!("training config {}", args.config.display()))?;
    let files = CheckpointFiles::new(
        &args
            .checkpoint
            .clone()
            .unwrap_or_else(|| args.output.with_extension("ckpt")),
    );
    check_seconds("--val-seconds", args.val_seconds)?;
    let examples = training_examples(&args.data, &config)?;
    // Loaded once: pieces for the validation PSNR, whole images for the
    // figures at the end.
    let held_out = match &args.val {
        Some(dir) => Some(held_out_examples(dir, &config)?),
        None => None,
    };
    let start = if args.resume {
        Start::Resume(files.read()?)
    } else if let Some(spec) = &args.from {
        Start::From {
            model: Box::new(crate::models::resolve(spec)?),
            seed: args.seed,
        }
    } else {
        if config.liveaction.is_some() {
            eprintln!("initializing a fresh LiVeAction network…");
        } else {
            eprintln!("fitting the PCA start…");
        }
        Start::Fresh { seed: args.seed }
    };
    let context = || match &args.from {
        Some(spec) if !args.resume => format!("--from {spec}"),
        _ => "training".into(),
    };
    let mut training = Training::new(config, examples, held_out.as_ref(), start).with_context(context)?;
    let steps = training.config().steps;
    if args.resume {
        eprintln!("resuming at step {} of {steps}", training.state().step);
    }
    eprintln!("training on {}", training.device());

    let bar = progress(steps, "training");
    bar.set_position(training.state().step);
    if training.state().step == 0 {
        if let Some(mse) = training.validate()? {
            log_line(&bar, format!("start: validation PSNR {:.2} dB", psnr(mse)));
        }
    }
    let (started, first_step) = (Instant::now(), training.state().step);
    let mut last_checkpoint = Instant::now();
    let interval = Duration::from_secs_f64(training.config().checkpoint_minutes * 60.0);
    while !training.is_done() {
        let report = training.step()?;
        bar.set_position(report.step);
        bar.set_message(format!(
            "loss {:.2e}, PSNR {:.2} dB, lr {:.1e}",
            report.loss,
            psnr(report.loss),
            report.learning_rate
        ));
        if let Some(mse) = report.validation {
            log_line(
                &bar,
                format!(
                    "step {}: training PSNR {:.2} dB, validation PSNR {:.2} dB, lr {:.1e}",
                    report.step,
                    psnr(report.loss),
                    psnr(mse),
                    training.state().learning_rate
                ),
            );
        }
        if last_checkpoint.elapsed() >= interval {
            files.write(&training.checkpoint()?)?;
            last_checkpoint = Instant::now();
        }
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let done = training.state().step - first_step;
    eprintln!(
        "trained {done} steps in {seconds:.1} s: {:.1} per second, each a {}",
        done as f64 * training.config().batch as f64 / seconds.max(1e-9),
        training.config().piece_name()
    );
    files.write(&training.checkpoint()?)?;
    let provenance = serde_json::json!({
        "method": "walloc train: PCA start (a refiner starting at zero), AdamW through the noisy bottleneck, MSE \
                   on packet coefficients",
        "start": args.from.as_deref().unwrap_or("PCA fit"),
        "data": args.data.file_name().map(|s| s.to_string_lossy().into_owned()),
    });
    let mut model = training.finish(walloc::registry(), provenance)?;
    if let (Some(val), Some(dir)) = (&held_out, &args.val) {
        let set = args.val_name.clone().unwrap_or_else(|| folder_name(dir));
        model = match val {
            Examples::Images(images) => {
                let figures = walloc_eval::image_eval::image_figures(&model, images, &set)?;
                with_figures(model, figures)?
            }
            Examples::Audio { .. } => with_audio_figures(model, dir, args.val_seconds, &set)?,
        };
    }
    write_output(&args.output, model.to_bytes())?;
    eprintln!("wrote {} (id {})", args.output.display(), model.id().short());
    Ok(())
}
