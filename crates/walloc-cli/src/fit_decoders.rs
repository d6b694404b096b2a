//! `walloc fit-decoders`: a linear image model's decoders at the quality
//! knob's steps, least-squares fitted on photos, its encoder kept.

use std::path::PathBuf;

use crate::fit::CropArgs;
use crate::io::write_output;
use crate::models::resolve;
use anyhow::Result;
use walloc_codec::fit::{check_step_decoder_model, fit_image_step_decoders};
use walloc_codec::step_decoders::fitted_codes;

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
}

/// Runs `fit-decoders`.
pub fn run(args: &FitDecodersArgs) -> Result<()> {
    let model = resolve(&args.model)?;
    check_step_decoder_model(&model)?;
    let config = model.config();
    let codes = fitted_codes(args.neighbours);
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
        codes.len(),
        crops.len(),
        args.crops.crop,
        args.crops.crop
    );
    let fitted = fit_image_step_decoders(&model, &crops, &codes, args.neighbours)?;
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
    // The figures stored in the model stand: they are measured at its own
    // step, whose decoder is kept.
    let fitted = fitted.with_weights(&[], Some(config))?;
    write_output(&args.output, fitted.to_bytes())?;
    eprintln!(
        "wrote {} (id {}, the id of {}: it writes the same files)",
        args.output.display(),
        fitted.id().short(),
        model.config().name
    );
    Ok(())
}
