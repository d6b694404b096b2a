//! `walloc fit-decoders`: a linear or refine model's decoders at the
//! quality knob's steps, least-squares fitted on data of its modality
//! (image crops, audio segments, volume bricks), its encoder kept; a refine
//! model's around its refiner.

use std::path::PathBuf;
use std::time::Duration;

use crate::eval::{check_seconds, with_audio_figures, with_figures};
use crate::fit::{validation_images, CropArgs, HeldOutArgs};
use crate::fit_audio::SegmentArgs;
use crate::io::write_output;
use crate::models::resolve;
use crate::volume::{with_volume_figures, BrickArgs};
use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use walloc_codec::fit::{check_step_decoder_model, fit_image_step_decoders, fit_planar_step_decoders, Refinement};
use walloc_codec::step_decoders::fitted_codes;
use walloc_codec::{Modality, Model};
use walloc_eval::image_eval::image_figures;
use walloc_nn::step_refine::RefinerCorrection;

/// Arguments of `fit-decoders`.
#[derive(clap::Args, Debug)]
pub struct FitDecodersArgs {
    /// The linear or refine model (name or file) whose decoders to fit.
    #[arg(short, long)]
    pub model: String,
    /// Folder of training data of the model's modality: images (PNG, JPEG,
    /// WebP, PNM, TIFF), audio (WAV, FLAC, Ogg Vorbis) or volumes and
    /// cubes (NIfTI, .npy, multi-band TIFF).
    #[arg(long)]
    pub data: PathBuf,
    /// Output model file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Image models: how training crops are cut.
    #[command(flatten)]
    pub crops: CropArgs,
    /// Audio models: how training segments are cut.
    #[command(flatten)]
    pub segments: SegmentArgs,
    /// Volume and cube models: how training bricks are cut.
    #[command(flatten)]
    pub bricks: BrickArgs,
    /// Seed of the piece positions.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Image models: decoders that also read the eight neighbouring latent
    /// positions (better at low qualities; decoding does nine times the
    /// decoder's arithmetic).
    #[arg(long)]
    pub neighbours: bool,
    /// Also fit a decoder at the model's own step (quality 75), in place
    /// of its own decoder there: files made at that step then decode to
    /// other pixels from the same bytes (the models of release 0.1 keep
    /// their own, so that its files decode as they did).
    #[arg(long)]
    pub own_step: bool,
    /// Held-out data to measure the model on again (else its stored
    /// figures are kept: they are measured at its own step, whose decoder
    /// step decoders keep unless `--own-step`, which needs this).
    #[command(flatten)]
    pub held_out: HeldOutArgs,
    /// Audio models: seconds measured from the start of each held-out file.
    #[arg(long, default_value_t = 30.0)]
    pub val_seconds: f64,
}

/// Runs `fit-decoders`.
pub fn run(args: &FitDecodersArgs) -> Result<()> {
    let model = resolve(&args.model)?;
    let refiner = RefinerCorrection::of(&model)?;
    check_step_decoder_model(&model, refiner.as_ref().map(|r| r as &dyn Refinement))?;
    let modality = model.config().modality;
    if args.neighbours && modality != Modality::Image {
        bail!(
            "--neighbours is for image models; {} codes {}",
            model.config().name,
            model.config().signal_name()
        );
    }
    check_seconds("--val-seconds", args.val_seconds)?;
    if args.own_step && args.held_out.validation().is_none() {
        bail!(
            "--own-step changes what {} decodes at its own step, where its stored figures were measured: \
             give --val to measure them again",
            model.config().name
        );
    }
    let (fitted, pieces) = fit(&model, refiner.as_ref().map(|r| r as &dyn Refinement), args)?;
    let mut config = fitted.config().clone();
    if let Value::Object(provenance) = &mut config.provenance {
        let mut record = json!({
            "data": args.data.file_name().map(|s| s.to_string_lossy().into_owned()),
            "seed": args.seed,
        });
        if let (Value::Object(record), Value::Object(pieces)) = (&mut record, pieces) {
            record.extend(pieces);
        }
        provenance.insert("step_decoders".into(), record);
    }
    let mut fitted = fitted.with_weights(&[], Some(config))?;
    if let Some((dir, set)) = args.held_out.validation() {
        fitted = match modality {
            Modality::Image => {
                let images = validation_images(dir, fitted.config().channels as u8)?;
                let figures = image_figures(&fitted, &images, &set)?;
                with_figures(fitted, figures)?
            }
            Modality::Audio => with_audio_figures(fitted, dir, args.val_seconds, &set)?,
            Modality::Volume => {
                let axis = args.bricks.band_axis(fitted.config().dim);
                with_volume_figures(fitted, dir, axis, &set)?
            }
        };
    }
    write_output(&args.output, fitted.to_bytes())?;
    eprintln!(
        "wrote {} (id {}, the id of {}: it writes the same files)",
        args.output.display(),
        fitted.id().short(),
        model.config().name
    );
    if fitted.config().finest_step.is_some() {
        eprintln!(
            "finer steps saturate its latents and decode them worse: it codes no finer than quality {}",
            fitted.finest_step().quality()
        );
    }
    Ok(())
}

/// `model` with its step decoders fitted on pieces of `args.data` of its
/// modality (around `refiner`, a refine model's), and what those pieces
/// were (for the provenance).
fn fit(model: &Model, refiner: Option<&dyn Refinement>, args: &FitDecodersArgs) -> Result<(Model, Value)> {
    let config = model.config();
    let codes = fitted_codes(args.own_step);
    // The fit is one pass over the pieces per step (minutes for a refine
    // model, whose refiner runs at each): a bar of the steps.
    let announce = |count: usize, what: String| {
        eprintln!(
            "fitting decoders{}{} at {} steps on {count} {what}",
            if args.neighbours {
                " reading neighbouring latents"
            } else {
                ""
            },
            if refiner.is_some() { " around the refiner" } else { "" },
            codes.len(),
        );
        let bar = ProgressBar::new(codes.len() as u64);
        if let Ok(style) = ProgressStyle::with_template("fitting steps {bar:30} {pos}/{len} [{elapsed}, {eta} left]") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(500));
        bar
    };
    Ok(match config.modality {
        Modality::Image => {
            let (crops, images) = args
                .crops
                .load(&args.data, config.channels as u8, config.levels, args.seed)?;
            let side = args.crops.crop;
            let bar = announce(crops.len(), format!("crops of {side}×{side}"));
            let fitted = fit_image_step_decoders(model, &crops, &codes, args.neighbours, refiner, &mut |done, _| {
                bar.set_position(done as u64)
            })?;
            bar.finish_and_clear();
            let pieces = json!({
                "images": images,
                "crops": crops.len(),
                "crop": side,
                "downscale": args.crops.downscale,
                "neighbours": args.neighbours,
                "own_step": args.own_step,
            });
            (fitted, pieces)
        }
        Modality::Audio => {
            let (segments, files) =
                args.segments
                    .load(&args.data, config.channels as usize, config.levels, args.seed)?;
            let frames = args.segments.segment as usize;
            let bar = announce(segments.len(), format!("segments of {frames} frames"));
            let fitted = fit_planar_step_decoders(model, &segments, &[frames], &codes, refiner, &mut |done, _| {
                bar.set_position(done as u64)
            })?;
            bar.finish_and_clear();
            let pieces = json!({ "files": files, "segments": segments.len(), "segment_frames": frames });
            (fitted, pieces)
        }
        Modality::Volume => {
            let (bricks, channels, files) = args.bricks.load(&args.data, config.dim, config.levels, args.seed)?;
            if channels != config.channels as usize {
                bail!(
                    "the volumes of {} have {channels} channels, model {} takes {}",
                    args.data.display(),
                    config.name,
                    config.channels
                );
            }
            let side = args.bricks.brick as usize;
            let bar = announce(bricks.len(), format!("bricks of side {side}"));
            let shape = vec![side; config.dim as usize];
            let fitted = fit_planar_step_decoders(model, &bricks, &shape, &codes, refiner, &mut |done, _| {
                bar.set_position(done as u64)
            })?;
            bar.finish_and_clear();
            let names: Vec<String> = files.iter().map(|f| walloc_io::folder::file_name(f)).collect();
            let pieces = json!({ "files": names, "bricks": bricks.len(), "brick_side": side });
            (fitted, pieces)
        }
    })
}
