//! `walloc fit-linear`: loading photos, random crops, fitting, validation.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use rayon::prelude::*;
use serde_json::Value;
use walloc_codec::fit::{fit_linear, FitOptions, PieceSampler};
use walloc_codec::step_decoders;
use walloc_codec::Image8;
use walloc_codec::Modality;
use walloc_eval::image_eval::image_figures;

use walloc_io::folder::folder_name;

use crate::eval::with_figures;
use crate::io::{decode_image, image_files, progress, read_input, write_output};

/// Arguments of `fit-linear`.
#[derive(clap::Args, Debug)]
pub struct FitArgs {
    /// Folder of training images (PNG, JPEG, WebP, PNM, TIFF).
    #[arg(long)]
    pub data: PathBuf,
    /// Output model file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Wavelet packet levels J.
    #[arg(long, default_value_t = 3)]
    pub levels: u32,
    /// Latent channels; dimensionality reduction is channels·4^J / latent-dim.
    #[arg(long)]
    pub latent_dim: u32,
    /// Image channels of the model: 3 (RGB) or 1 (gray).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=3))]
    pub channels: u32,
    /// How training crops are cut.
    #[command(flatten)]
    pub crops: CropArgs,
    /// Options shared with `fit-linear-audio`.
    #[command(flatten)]
    pub shared: FitShared,
}

/// Options that `fit-linear` and `fit-linear-audio` share.
#[derive(clap::Args, Debug)]
pub struct FitShared {
    /// Seed of the crop (or segment) positions.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Quantization step multiplier: above 1 smaller files, below 1 higher quality.
    #[arg(long, default_value_t = 1.0)]
    pub step_scale: f64,
    /// Model name (default: the output file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Held-out data to measure the model on.
    #[command(flatten)]
    pub held_out: HeldOutArgs,
    /// Fit the decoder at the model's own step alone, not also decoders at
    /// eight steps across the qualities (each one more pass over the data;
    /// files coded at other steps then decode less well).
    #[arg(long)]
    pub native_decoder_only: bool,
    /// Image models: step decoders that also read the eight neighbouring
    /// latent positions (better at low qualities; decoding does nine
    /// times the decoder's arithmetic)
    #[arg(long, conflicts_with = "native_decoder_only")]
    pub neighbours: bool,
}

impl FitShared {
    /// `--name`, or the stem of the output file.
    fn model_name(&self, output: &Path) -> String {
        self.name
            .clone()
            .or_else(|| output.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "model".into())
    }

    /// What to fit: these options with the model's shape, description and
    /// provenance (8-bit latents, bior4.4).
    pub fn options(&self, output: &Path, shape: [u32; 3], description: String, provenance: Value) -> FitOptions {
        let [channels, levels, latent_dim] = shape;
        FitOptions {
            name: self.model_name(output),
            description,
            channels,
            levels,
            latent_dim,
            latent_bits: 8,
            wavelet: "bior4.4".into(),
            step_scale: self.step_scale,
            provenance,
            step_decoders: if self.native_decoder_only {
                Vec::new()
            } else {
                step_decoders::FITTED_CODES.to_vec()
            },
            step_decoder_neighbours: self.neighbours,
        }
    }
}

/// Held-out data to measure a fitted model on, and the name its figures
/// are stored under.
#[derive(clap::Args, Debug)]
pub struct HeldOutArgs {
    /// Held-out data to measure the model on (figures stored in the model).
    #[arg(long)]
    pub val: Option<PathBuf>,
    /// Name of the held-out set in the stored figures (default: its folder name).
    #[arg(long)]
    pub val_name: Option<String>,
}

impl HeldOutArgs {
    /// The held-out folder and the name its figures are stored under.
    pub fn validation(&self) -> Option<(&Path, String)> {
        let dir = self.val.as_deref()?;
        Some((dir, self.val_name.clone().unwrap_or_else(|| folder_name(dir))))
    }
}

/// Held-out images for a model of `channels`: RGB models are measured on
/// the color images only, gray models on the luma of every image.
pub fn validation_images(dir: &Path, channels: u8) -> Result<Vec<Image8>> {
    Ok(load_all(&image_files(dir)?, None, 1, "validating")?
        .into_iter()
        .filter(|i| channels == 1 || i.channels == 3)
        .map(|i| i.to_channels(channels))
        .collect())
}

/// Loads images, converted to `channels` when given, else as they are.
pub fn load_all(files: &[PathBuf], channels: Option<u8>, factor: u32, what: &str) -> Result<Vec<Image8>> {
    let bar = progress(files.len() as u64, what);
    let images = files
        .par_iter()
        .map(|path| {
            let bytes = read_input(path)?;
            let image = decode_image(&bytes, &path.display().to_string())?;
            let image = match channels {
                Some(c) => image.to_channels(c),
                None => image,
            };
            let image = walloc_io::image::downscale(image, factor)?;
            bar.inc(1);
            Ok(image)
        })
        .collect::<Result<Vec<_>>>();
    bar.finish();
    images
}

/// How `fit-linear` and `fit-decoders` cut training crops from a folder of
/// images.
#[derive(clap::Args, Debug)]
pub struct CropArgs {
    /// Side of the square training crops (a multiple of 2^J).
    #[arg(long, default_value_t = 256)]
    pub crop: u32,
    /// Random crops taken from each image.
    #[arg(long, default_value_t = 24)]
    pub crops_per_image: u32,
    /// Downscale every training image by this factor first (Lanczos), to
    /// remove JPEG artifacts.
    #[arg(long, default_value_t = 1)]
    pub downscale: u32,
}

impl CropArgs {
    /// Random crops (positions from `seed`) of every image of `dir` that is
    /// large enough, converted to `channels`, for a model of `levels`; also
    /// returns the number of images read.
    pub fn load(&self, dir: &Path, channels: u8, levels: u32, seed: u64) -> Result<(Vec<Image8>, usize)> {
        let multiple = 1u32 << levels;
        if self.crop == 0 || !self.crop.is_multiple_of(multiple) {
            bail!(
                "--crop {} must be a positive multiple of 2^levels = {multiple}",
                self.crop
            );
        }
        let images = load_all(&image_files(dir)?, Some(channels), self.downscale, "loading")?;
        let mut sampler = PieceSampler::new(seed);
        let crops: Vec<Image8> = images
            .iter()
            .flat_map(|image| sampler.crops(image, self.crop, self.crops_per_image))
            .collect();
        if crops.is_empty() {
            bail!(
                "no image in {} is at least {side}×{side} after downscaling",
                dir.display(),
                side = self.crop
            );
        }
        Ok((crops, images.len()))
    }
}

/// Runs `fit-linear`.
pub fn run(args: &FitArgs) -> Result<()> {
    if args.channels == 2 {
        bail!("--channels must be 1 or 3");
    }
    let channels = args.channels as u8;
    let description = format!(
        "linear WaLLoC, {}, J={}, {} latent channels",
        if channels == 3 { "RGB" } else { "gray" },
        args.levels,
        args.latent_dim
    );
    let shape = [args.channels, args.levels, args.latent_dim];
    let mut options = args
        .shared
        .options(&args.output, shape, description, serde_json::Value::Null);
    options.check(Modality::Image)?;
    let (crops, image_count) = args.crops.load(&args.data, channels, args.levels, args.shared.seed)?;
    options.provenance = serde_json::json!({
        "method": "PCA of wavelet-packet coefficients, reverse water-filling step, least-squares decoder",
        "data": args.data.file_name().map(|s| s.to_string_lossy().into_owned()),
        "images": image_count,
        "crops": crops.len(),
        "crop": args.crops.crop,
        "downscale": args.crops.downscale,
        "seed": args.shared.seed,
        "step_scale": args.shared.step_scale,
    });
    let side = args.crops.crop;
    eprintln!("fitting on {} crops of {side}×{side}", crops.len());
    let mut model = fit_linear(&crops, &options)?;
    if let Some((dir, set)) = args.shared.held_out.validation() {
        let figures = image_figures(&model, &validation_images(dir, channels)?, &set)?;
        model = with_figures(model, figures)?;
    }
    write_output(&args.output, model.to_bytes())?;
    eprintln!("wrote {} (id {})", args.output.display(), model.id().short());
    Ok(())
}
