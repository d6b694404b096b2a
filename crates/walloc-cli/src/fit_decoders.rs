//! `walloc fit-decoders`: a linear image model's decoders at the quality
//! knob's steps, least-squares fitted on photos, its encoder kept.

use std::path::PathBuf;

use crate::eval::with_figures;
use crate::fit::{validation_images, CropArgs, HeldOutArgs};
use crate::io::write_output;
use crate::models::resolve;
use anyhow::Result;
use walloc_codec::fit::{check_step_decoder_model, fit_image_step_decoders};
use walloc_codec::step_decoders::FITTED_CODES;
use walloc_eval::image_eval::image_figures;

/// Arguments of `fit-decoders`.
#[derive(clap::Args, Debug)]
pub struct FitDecodersArgs {
    /// The linear image model (name or file) whose decoders to fit.
    #[arg(short, long)]
    pub model: String,
    /// Folder of training images (PNG, JPEG, WebP, PNM, TIFF).
    #[arg(long)]
    pub data: PathBuf,
    /// Output model file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// How training crops are cut.
    #[command(flatten)]
    pub crops: CropArgs,
    /// Seed of the crop positions.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Decoders that also read the eight neighbouring latent positions
    /// (better at low qualities; decoding does nine times the decoder's
    /// arithmetic).
    #[arg(long)]
    pub neighbours: bool,
    /// Held-out images to measure the model on again (else its stored
    /// figures are kept: they are measured at its own step, whose decoder
    /// step decoders keep).
    #[command(flatten)]
    pub held_out: HeldOutArgs,
}

/// Runs `fit-decoders`.
pub fn run(args: &FitDecodersArgs) -> Result<()> {
    let model = resolve(&args.model)?;
    check_step_decoder_model(&model)?;
    let config = model.config();
    let (crops, images) = args
        .crops
        .load(&args.data, config.channels as u8, config.levels, args.seed)?;
    eprintln!(
        "fitting decoders{} at {} steps on {} crops of {}×{}",
        if args.neighbours {
            " reading neighbouring latents"
        } else {
            ""
        },
        FITTED_CODES.len(),
        crops.len(),
        args.crops.crop,
        args.crops.crop
    );
    let fitted = fit_image_step_decoders(&model, &crops, &FITTED_CODES, args.neighbours)?;
    let mut config = fitted.config().clone();
    if let serde_json::Value::Object(provenance) = &mut config.provenance {
        provenance.insert(
            "step_decoders".into(),
            serde_json::json!({
                "data": args.data.file_name().map(|s| s.to_string_lossy().into_owned()),
                "images": images,
                "crops": crops.len(),
                "crop": args.crops.crop,
                "downscale": args.crops.downscale,
                "seed": args.seed,
                "neighbours": args.neighbours,
            }),
        );
    }
    let mut fitted = fitted.with_weights(&[], Some(config))?;
    if let Some((dir, set)) = args.held_out.validation() {
        let images = validation_images(dir, fitted.config().channels as u8)?;
        let figures = image_figures(&fitted, &images, &set)?;
        fitted = with_figures(fitted, figures)?;
    }
    write_output(&args.output, fitted.to_bytes())?;
    eprintln!(
        "wrote {} (id {}, the id of {}: it writes the same files)",
        args.output.display(),
        fitted.id().short(),
        model.config().name
    );
    Ok(())
}
