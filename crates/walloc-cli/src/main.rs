//! `walloc`: wavelet learned lossy compression from the command line.

mod audio;
mod audio_in;
mod bench;
mod eval;
mod fit;
mod fit_audio;
mod image_path;
mod import;
mod io;
mod measure;
mod models;
mod train;
mod train_data;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use walloc_codec::container::{self, parse_header};
use walloc_codec::{EncodeOptions, LatentCoder, Limits};
use walloc_nn::decode::Tiling;

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
    /// Compress an image (PNG, JPEG, WebP, PNM, TIFF) or audio (WAV, FLAC, Ogg Vorbis) into a .wal file.
    Encode {
        /// Input image or audio file, or - for stdin (images and WAV).
        input: PathBuf,
        /// Output .wal file, or - for stdout.
        #[arg(short, long)]
        output: PathBuf,
        /// Embedded model name (see `walloc models`) or a model file
        /// [default: rgb-16x, or gray-16x for gray images; stereo-5x for audio].
        #[arg(short, long)]
        model: Option<String>,
        /// Latent storage.
        #[arg(long, value_enum, default_value = "rans")]
        coder: CoderArg,
    },
    /// Decompress a .wal file into an image (format from the extension; PNG for -) or a WAV file.
    Decode {
        /// Input .wal file, or - for stdin.
        input: PathBuf,
        /// Output image or WAV file, or - for stdout.
        #[arg(short, long)]
        output: PathBuf,
        /// Model file, if the file was made with one that is not embedded.
        #[arg(short, long)]
        model: Option<String>,
        /// Neural image decoders: latents of more than (N+64)² positions
        /// (3072×3072 pixels at J = 3 for the default) are decoded in tiles
        /// of N×N positions with 32 of overlap, so that memory stays bounded;
        /// smaller ones whole, exactly as the reference. 0: always whole.
        #[arg(long, default_value_t = 320)]
        tile: usize,
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
    /// Fit a linear audio model (PCA of wavelet packets) on a folder of music.
    FitLinearAudio(fit_audio::FitAudioArgs),
    /// Convert a reference WaLLoC checkpoint (.pth + JSON config) into a walloc model file.
    Import(import::ImportArgs),
    /// Encode and decode throughput against libwebp at matched size, 1 thread and all threads.
    Bench(bench::BenchArgs),
    /// Rate, distortion and speed of walloc models against WebP, JPEG, AVIF (images) or Opus (audio).
    Eval(eval::EvalArgs),
    /// Train a linear or neural (refine) image model from its PCA start (AdamW, checkpoints, --resume).
    Train(train::TrainArgs),
}

fn encode(input: &Path, output: &Path, model: Option<&str>, coder: CoderArg) -> Result<()> {
    let audio_model = || models::resolve(model.unwrap_or(models::DEFAULT_AUDIO));
    if input != Path::new("-") && audio_in::is_audio_path(input) {
        return write_output(output, &audio::encode_file(input, &audio_model()?)?);
    }
    let bytes = read_input(input)?;
    if audio_in::is_wav(&bytes) {
        return write_output(output, &audio::encode_bytes(bytes, &audio_model()?)?);
    }
    let image = decode_image(&bytes, &input.display().to_string())?;
    let model = models::resolve(model.unwrap_or(models::default_for(image.channels)))?;
    if model.is_audio() {
        bail!(
            "model {} codes audio, and {} is an image",
            model.config().name,
            input.display()
        );
    }
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
    write_output(output, &image_path::encode(&model, &image, options)?)
}

fn decode(input: &Path, output: &Path, model: Option<&str>, tile: usize) -> Result<()> {
    let bytes = read_input(input)?;
    let limits = Limits::default();
    let context = || format!("decoding {}", input.display());
    if container::modality(&bytes).with_context(context)? == container::MODALITY_AUDIO {
        let (header, chunks) = walloc_codec::audio::parse(&bytes, &limits).with_context(context)?;
        let model = models::for_id(header.model_id, model)?;
        return audio::decode(&header, &chunks, output, &model).with_context(context);
    }
    let header = parse_header(&bytes, &limits).with_context(context)?;
    let model = models::for_id(header.model_id, model)?;
    let tiling = Tiling {
        tile,
        ..Tiling::default()
    };
    let image = image_path::decode(&model, &bytes, &limits, tiling).with_context(context)?;
    write_output(output, &encode_image(&image, output)?)
}

fn info_audio(input: &Path, bytes: &[u8]) -> Result<()> {
    let (header, chunks) = walloc_codec::audio::parse(bytes, &Limits::default())
        .with_context(|| format!("reading {}", input.display()))?;
    let seconds = f64::from(header.frames) / f64::from(header.sample_rate);
    let (bits, kind) = match header.format {
        walloc_codec::audio::SampleFormat::Int(bits) => (bits, "PCM"),
        walloc_codec::audio::SampleFormat::Float => (32, "float"),
    };
    let raw = f64::from(header.frames) * f64::from(header.channels) * f64::from(bits) / 8.0;
    let coefficients = f64::from(header.channels) * 2f64.powi(i32::from(header.levels));
    println!("file:                     {}", input.display());
    println!(
        "model:                    {} ({})",
        model_name(header.model_id)?,
        header.model_id
    );
    println!(
        "audio:                    {} channels, {} Hz, {bits}-bit {kind}, {} frames ({seconds:.2} s)",
        header.channels, header.sample_rate, header.frames
    );
    println!(
        "latent:                   {} channels at {} bits, J={}, {} blocks of up to {} frames",
        header.latent_channels,
        header.latent_bits,
        header.levels,
        header.blocks().count(),
        header.block_frames
    );
    if header.groups() > 1 || header.group_channels() != header.channels {
        println!(
            "channel groups:           {} of {} channels per block ({} chunks)",
            header.groups(),
            header.group_channels(),
            chunks.len()
        );
    }
    println!("bytes:                    {}", bytes.len());
    println!(
        "bitrate:                  {:.2} kbit/s",
        bytes.len() as f64 * 8.0 / seconds / 1000.0
    );
    println!("compression ratio:        {:.2}:1", raw / bytes.len() as f64);
    println!(
        "dimensionality reduction: {:.2}×",
        coefficients / f64::from(header.latent_channels)
    );
    Ok(())
}

fn model_name(id: walloc_codec::ModelId) -> Result<String> {
    Ok(models::embedded()?
        .into_iter()
        .find(|m| m.id() == id)
        .map(|m| m.config().name.clone())
        .unwrap_or_else(|| "not embedded".into()))
}

fn info(input: &Path) -> Result<()> {
    let bytes = read_input(input)?;
    let limits = Limits::default();
    if container::modality(&bytes).with_context(|| format!("reading {}", input.display()))? == container::MODALITY_AUDIO
    {
        return info_audio(input, &bytes);
    }
    let (header, chunks) =
        walloc_codec::container::parse(&bytes, &limits).with_context(|| format!("reading {}", input.display()))?;
    let model_name = model_name(header.model_id)?;
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

/// "rgb image", "gray image", "stereo audio", "6-channel audio".
pub(crate) fn signal_name(config: &walloc_codec::ModelConfig) -> String {
    let kind = match (config.modality.as_str(), config.channels) {
        ("image", 1) => "gray".to_string(),
        ("image", 3) => "rgb".to_string(),
        ("audio", 1) => "mono".to_string(),
        ("audio", 2) => "stereo".to_string(),
        (_, n) => format!("{n}-channel"),
    };
    format!("{kind} {}", config.modality)
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
        Command::Decode {
            input,
            output,
            model,
            tile,
        } => decode(input, output, model.as_deref(), *tile),
        Command::Info { input } => info(input),
        Command::Models => models::print_list(),
        Command::FitLinear(args) => fit::run(args),
        Command::FitLinearAudio(args) => fit_audio::run(args),
        Command::Import(args) => import::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Train(args) => train::run(args),
    }
}
