//! `walloc`: wavelet learned lossy compression from the command line.

mod fit;
mod import;
mod io;
mod measure;
mod models;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use walloc_codec::container::parse_header;
use walloc_codec::{codec, EncodeOptions, LatentCoder, Limits};

use crate::io::{decode_image, encode_image, read_input, write_output};

/// Wavelet Learned Lossy Compression: tiny encoder, small latents, small files.
#[derive(Parser, Debug)]
#[command(name = "walloc", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// How to store the integer latent in the file.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum CoderArg {
    /// rANS with the model's per-channel tables (smallest).
    Rans,
    /// The reference's tiled latent image, PNG.
    Png,
    /// The reference's tiled latent image, lossless WebP.
    Webp,
}

impl From<CoderArg> for LatentCoder {
    fn from(c: CoderArg) -> Self {
        match c {
            CoderArg::Rans => LatentCoder::Rans,
            CoderArg::Png => LatentCoder::Png,
            CoderArg::Webp => LatentCoder::WebP,
        }
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compress an image (PNG, JPEG, WebP, PNM, TIFF) into a .wal file.
    Encode {
        /// Input image, or - for stdin.
        input: PathBuf,
        /// Output .wal file, or - for stdout.
        #[arg(short, long)]
        output: PathBuf,
        /// Embedded model name (see `walloc models`) or a model file
        /// [default: rgb-16x, or gray-16x for gray images].
        #[arg(short, long)]
        model: Option<String>,
        /// Latent storage.
        #[arg(long, value_enum, default_value = "rans")]
        coder: CoderArg,
    },
    /// Decompress a .wal file into an image (format from the extension; PNG for -).
    Decode {
        /// Input .wal file, or - for stdin.
        input: PathBuf,
        /// Output image, or - for PNG on stdout.
        #[arg(short, long)]
        output: PathBuf,
        /// Model file, if the file was made with one that is not embedded.
        #[arg(short, long)]
        model: Option<String>,
    },
    /// Describe a .wal file: model, shapes, size, bpp, ratios.
    Info {
        /// Input .wal file, or - for stdin.
        input: PathBuf,
    },
    /// List the embedded models with their measured figures.
    Models,
    /// Fit a linear model (PCA of wavelet packets) on a folder of images.
    FitLinear(fit::FitArgs),
    /// Convert a reference WaLLoC checkpoint (.pth + JSON config) into a walloc model file.
    Import(import::ImportArgs),
}

fn encode(input: &Path, output: &Path, model: Option<&str>, coder: CoderArg) -> Result<()> {
    let bytes = read_input(input)?;
    let image = decode_image(&bytes, &input.display().to_string())?;
    let model = models::resolve(model.unwrap_or(models::default_for(image.channels)))?;
    let wanted = model.config().channels as u8;
    let image = if image.channels != wanted {
        if wanted == 1 {
            eprintln!(
                "note: model {} is gray: the color image is coded as its luma",
                model.config().name
            );
        }
        fit::to_channels(image, wanted)
    } else {
        image
    };
    let options = EncodeOptions {
        coder: coder.into(),
        ..EncodeOptions::default()
    };
    let file =
        codec::encode(&model, &image, options).with_context(|| format!("encoding with {}", model.config().name))?;
    write_output(output, &file)
}

fn decode(input: &Path, output: &Path, model: Option<&str>) -> Result<()> {
    let bytes = read_input(input)?;
    let limits = Limits::default();
    let header = parse_header(&bytes, &limits).with_context(|| format!("reading {}", input.display()))?;
    let model = models::for_id(header.model_id, model)?;
    let image = if model.is_linear() {
        codec::decode(&model, &bytes, &limits).map_err(anyhow::Error::from)
    } else {
        walloc_nn::decode::decode_image(&model, &bytes, &limits).map_err(anyhow::Error::from)
    }
    .with_context(|| format!("decoding {}", input.display()))?;
    write_output(output, &encode_image(&image, output)?)
}

fn info(input: &Path) -> Result<()> {
    let bytes = read_input(input)?;
    let limits = Limits::default();
    let (header, chunks) =
        walloc_codec::container::parse(&bytes, &limits).with_context(|| format!("reading {}", input.display()))?;
    let model_name = models::embedded()?
        .into_iter()
        .find(|m| m.id() == header.model_id)
        .map(|m| m.config().name.clone())
        .unwrap_or_else(|| "not embedded".into());
    let pixels = f64::from(header.width) * f64::from(header.height);
    let raw = pixels * f64::from(header.channels);
    let coeffs = f64::from(header.channels) * 4f64.powi(i32::from(header.levels));
    println!("file:                     {}", input.display());
    println!("model:                    {model_name} ({})", header.model_id);
    println!(
        "image:                    {}×{}, {} channel{}, 8 bits",
        header.width,
        header.height,
        header.channels,
        if header.channels == 1 { "" } else { "s" }
    );
    println!(
        "latent:                   {}×{}×{} at {} bits, J={}",
        header.latent_channels, header.latent_height, header.latent_width, header.latent_bits, header.levels
    );
    println!(
        "coder:                    {} ({} chunks)",
        header.coder.name(),
        chunks.len()
    );
    println!("bytes:                    {}", bytes.len());
    println!("bits per pixel:           {:.4}", bytes.len() as f64 * 8.0 / pixels);
    println!("compression ratio:        {:.2}:1", raw / bytes.len() as f64);
    println!(
        "dimensionality reduction: {:.2}×",
        coeffs / f64::from(header.latent_channels)
    );
    Ok(())
}

fn list_models() -> Result<()> {
    println!(
        "{:<10} {:<10} {:<7} {:>3} {:>7} {:>6} {:>8} {:>8} {:>9}  measured on",
        "name", "signal", "arch", "J", "latents", "DR", "bpp", "PSNR dB", "ratio"
    );
    for model in models::embedded()? {
        let c = model.config();
        let (bpp, psnr, ratio, set) = match &c.figures {
            Some(f) => (
                format!("{:.4}", f.bpp),
                format!("{:.2}", f.psnr_db),
                format!("{:.1}:1", f.compression_ratio),
                format!("{} ({} images)", f.dataset, f.images),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<10} {:<10} {:<7} {:>3} {:>7} {:>5}× {:>8} {:>8} {:>9}  {}",
            c.name,
            format!("{} {}", if c.channels == 1 { "gray" } else { "rgb" }, c.modality),
            c.architecture,
            c.levels,
            c.latent_dim,
            c.dimensionality_reduction(),
            bpp,
            psnr,
            ratio,
            set
        );
    }
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    // Run inside the pool: nested parallel loops then start on a worker
    // instead of waking one for every loop (it matters on one thread).
    let result = match rayon::ThreadPoolBuilder::new().build() {
        Ok(pool) => pool.install(|| run(&cli)),
        Err(err) => Err(err.into()),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

fn run(cli: &Cli) -> Result<()> {
    match &cli.command {
        Command::Encode {
            input,
            output,
            model,
            coder,
        } => encode(input, output, model.as_deref(), *coder),
        Command::Decode { input, output, model } => decode(input, output, model.as_deref()),
        Command::Info { input } => info(input),
        Command::Models => list_models(),
        Command::FitLinear(args) => fit::run(args),
        Command::Import(args) => import::run(args),
    }
}
