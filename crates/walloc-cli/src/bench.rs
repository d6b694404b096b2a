//! `walloc bench`: reads a folder of images and has `walloc_eval::bench`
//! time walloc's whole path against libwebp at matched size.

use std::path::PathBuf;

use anyhow::Result;

use crate::io::{decode_image, image_files, read_input};
use crate::models;

/// Arguments of `bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Folder of images (PNG, JPEG, WebP, PNM, TIFF) to time.
    #[arg(long)]
    pub data: PathBuf,
    /// Model name or file.
    #[arg(short, long, default_value = "rgb-16x")]
    pub model: String,
    /// Latent coder of walloc's files: contextual, predictive, adaptive or rans.
    #[arg(long, default_value = "contextual")]
    pub coder: walloc::LatentCoder,
    /// Quantize for rate and distortion (`encode --rdo`): its files, and
    /// libwebp matched to their sizes.
    #[arg(long)]
    pub rdo: bool,
    /// Timed repetitions of each measurement (the fastest is kept).
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
}

/// Runs `bench`.
pub fn run(args: &BenchArgs) -> Result<()> {
    let model = models::resolve(&args.model)?;
    let files = image_files(&args.data)?
        .iter()
        .map(|p| Ok((p.display().to_string(), read_input(p)?)))
        .collect::<Result<Vec<_>>>()?;
    eprintln!("matching WebP qualities to walloc's sizes on {} images…", files.len());
    let read = |bytes: &[u8], channels: u8| {
        decode_image(bytes, "input")
            .map(|image| image.to_channels(channels))
            .map_err(|e| format!("{e:#}"))
    };
    let options = walloc::EncodeOptions::default()
        .with_coder(args.coder)
        .with_rdo(args.rdo);
    print!(
        "{}",
        walloc_eval::bench::bench(&model, options, &files, &read, args.repeat)?
    );
    Ok(())
}
