//! `walloc`: wavelet learned lossy compression from the command line.

mod audio;
mod bench;
mod dataset;
mod eval;
mod fit;
mod fit_audio;
mod fit_decoders;
mod import;
mod io;
mod models;
mod train;
mod volume;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use walloc::image::{decode_image as decode_wal_image, encode_image as encode_wal_image};
use walloc::{
    DecodeOptions, DecoderOptions, EncodeOptions, Image, LatentCoder, Limits, Modality, Pixel, Rounding, Step,
};

use walloc_io::audio::{is_audio_path, is_wav};
use walloc_io::image::{decode_picture, encode_picture, Picture};
use walloc_io::png_rows::{self, PngRows};

use crate::io::{read_input, write_atomically, write_output};

/// Wavelet Learned Lossy Compression: tiny encoder, small latents, small files.
#[derive(Parser, Debug)]
#[command(name = "walloc", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compress an image (PNG, JPEG, WebP, PNM, TIFF), audio (WAV, FLAC, Ogg Vorbis) or a volume (NIfTI, .npy,
    /// raw) into a .wal file.
    Encode {
        /// Input image, audio or volume file, or - for stdin (images and WAV).
        input: PathBuf,
        /// Output .wal file, or - for stdout.
        #[arg(short, long)]
        output: PathBuf,
        /// Embedded model name (see `walloc models`) or a model file
        /// [default: rgb-16x, or gray-16x for gray images; stereo-5x for audio; volume-16x for volumes].
        #[arg(short, long)]
        model: Option<String>,
        /// Latent storage: contextual (context-adaptive coding started from
        /// the model's tables, smooth channels as median-prediction
        /// residuals, contexts of four neighbours and three earlier
        /// channels; smallest), predictive (the same with the left and upper
        /// neighbours and one earlier channel), adaptive (predictive without
        /// prediction), rans (the model's static tables), or the reference's
        /// tiled latent image as png or lossless webp.
        #[arg(long, default_value = "contextual")]
        coder: LatentCoder,
        /// Quality from 0 (smallest file) to 100 (finest quantization);
        /// 75 is the model's own step, every 20 points halve or double it.
        #[arg(long, conflicts_with = "bpp")]
        quality: Option<f64>,
        /// Aim for this many bits per pixel (per frame for audio, per voxel
        /// for volumes): the finest quality whose file fits, found by search.
        #[arg(long)]
        bpp: Option<f64>,
        /// Keep each latent value's rounded symbol or move it one towards
        /// zero, by its cost in bits and in error (rate–distortion-optimized
        /// quantization; the adaptive coder and a 1×1 projection encoder):
        /// smaller files at the same quality, slower encoding.
        #[arg(long)]
        rdo: bool,
        /// How latent values are rounded (before --rdo, if given): dead-zone (the
        /// nearest integer, but values within 0.6 of zero become zero, and
        /// so do ±1s whose four neighbours are zero, and isolated pairs of
        /// ±1s: smaller files, as fast) or nearest (the reference's
        /// latents). Files of either decode the same way.
        #[arg(long, default_value = "dead-zone")]
        rounding: Rounding,
        /// Images: latent rows per entropy-coded chunk. Each chunk decodes
        /// on its own (in parallel) and starts its adaptive contexts
        /// afresh, so smaller chunks cost a few more bytes; large images
        /// stream in stripes of 64 rows when it divides 64 or is a
        /// multiple of it (with --rdo: divides it). [default: 128, with
        /// --rdo 64] (0.1 wrote 32, 0.2 64)
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        chunk_rows: Option<u32>,
        #[command(flatten)]
        volume: volume::VolumeArgs,
    },
    /// Decompress a .wal file into an image (format from the extension; PNG for -), a WAV file, or a volume
    /// (.nii, .nii.gz, .npy, .raw).
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
    /// Fit a linear or refine model's decoders at the quality knob's steps (least squares on data of its modality),
    /// keeping its encoder, files and id.
    FitDecoders(fit_decoders::FitDecodersArgs),
    /// Fit a linear audio model (PCA of wavelet packets) on a folder of music.
    FitLinearAudio(fit_audio::FitAudioArgs),
    /// Fit a linear volume model (PCA of 3-D wavelet packets) on a folder of NIfTI or .npy volumes.
    FitLinearVolume(volume::FitVolumeArgs),
    /// Convert a reference WaLLoC checkpoint (.pth + JSON config) into a walloc model file.
    Import(import::ImportArgs),
    /// Encode and decode throughput against libwebp at matched size, 1 thread and all threads.
    Bench(bench::BenchArgs),
    /// Rate, distortion and speed of walloc models against WebP, JPEG, AVIF (images) or Opus (audio).
    Eval(eval::EvalArgs),
    /// Turn a labelled collection of images or audio into Parquet shards of latents (or of .wal bytes).
    Dataset(dataset::DatasetArgs),
    /// Train a linear, neural (refine) or LiVeAction model from its PCA start or a fresh network (AdamW, checkpoints,
    /// --resume).
    Train(train::TrainArgs),
}

/// What `encode --quality` or `--bpp` asks for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Rate {
    /// One quantizer step.
    Step(Step),
    /// The finest step within a rate.
    BitsPerPixel(f64),
}

fn encode(
    input: &Path,
    output: &Path,
    model: Option<&str>,
    options: EncodeOptions,
    rate: Rate,
    volume: &volume::VolumeArgs,
) -> Result<()> {
    if volume.is_volume(input, model) {
        return volume::encode(input, output, model, volume, &options, rate);
    }
    let audio_model = || models::resolve(model.unwrap_or(models::DEFAULT_AUDIO));
    if input != Path::new("-") && is_audio_path(input) {
        let model = audio_model()?;
        let file = at_rate(rate, &model, |step| {
            audio::encode_file(input, &model, &options.with_step(step))
        })?;
        return write_output(output, &file);
    }
    // PNGs stream in stripes at one step (with or without RDO); a rate search codes the whole image.
    if let (Some(rows), Rate::Step(step), true) = (png_rows::open(input)?, rate, options.codes_in_stripes()) {
        if let Some(file) = encode_png_rows(rows, model, input, &options.with_step(step))? {
            return write_output(output, &file);
        }
    }
    let bytes = read_input(input)?;
    if is_wav(&bytes) {
        let model = audio_model()?;
        let file = at_rate(rate, &model, |step| {
            audio::encode_bytes(&bytes, &model, &options.with_step(step))
        })?;
        return write_output(output, &file);
    }
    let picture = decode_picture(&bytes, &input.display().to_string())?;
    let model = image_model(model, picture.channels(), input)?;
    let context = || format!("encoding with {}", model.config().name);
    let file = match picture {
        Picture::Eight(image) => encode_at_depth(&model, image, &options, rate),
        Picture::Sixteen(image) => encode_at_depth(&model, image, &options, rate),
    }
    .with_context(context)?;
    write_output(output, &file)
}

/// An image of 8 or 16 bits, in the model's channels, coded at its depth
/// at `rate`.
fn encode_at_depth<P: Pixel>(
    model: &walloc::Model,
    image: Image<P>,
    options: &EncodeOptions,
    rate: Rate,
) -> Result<Vec<u8>> {
    let image = image.to_channels(model.config().channels as u8);
    at_rate(rate, model, |step| {
        Ok(encode_wal_image(model, &image, &options.with_step(step))?)
    })
}

/// The file `encode_at` makes at `rate` with `model`: at its step, or at
/// the finest step (no finer than the model's finest) within its bits per
/// position (pixel, audio frame or voxel), found by whole encodes
/// ([`walloc::rate::search_by_header`]); says which step that took.
pub(crate) fn at_rate(
    rate: Rate,
    model: &walloc::Model,
    mut encode_at: impl FnMut(Step) -> Result<Vec<u8>>,
) -> Result<Vec<u8>> {
    let bpp = match rate {
        Rate::Step(step) => return encode_at(step),
        Rate::BitsPerPixel(bpp) => bpp,
    };
    let (bytes, step) = walloc::rate::search_by_header(bpp, model.finest_step(), encode_at)?;
    let file = walloc::info::info(&bytes, &Limits::default())?;
    let got = file.bits_per_position();
    let over = if got > bpp {
        " (the smallest this model makes)"
    } else {
        ""
    };
    let unit = match file.modality {
        Modality::Image => "pixel",
        Modality::Audio => "frame",
        Modality::Volume => "voxel",
    };
    eprintln!("{step}: {got:.4} bits per {unit}{over}");
    Ok(bytes)
}

/// The image model `--model` names (or the default for `channels`), with a
/// note when a color image is coded as its luma.
fn image_model(spec: Option<&str>, channels: u8, input: &Path) -> Result<walloc::Model> {
    let model = models::resolve(spec.unwrap_or(walloc::models::default_image(channels.into())))?;
    let config = model.config();
    if config.modality != Modality::Image {
        bail!("model {} codes audio, and {} is an image", config.name, input.display());
    }
    if config.channels == 1 && channels != 1 {
        eprintln!(
            "note: model {} is gray: the color image is coded as its luma",
            config.name
        );
    }
    Ok(model)
}

/// Encodes an 8-bit PNG row by row ([`walloc::image::encode_rows`]: in
/// stripes when it is too large to encode whole, so that the image is
/// never whole in memory). `None` for a model with a full neural encoder
/// (coded whole).
fn encode_png_rows(
    mut rows: PngRows,
    spec: Option<&str>,
    input: &Path,
    options: &EncodeOptions,
) -> Result<Option<Vec<u8>>> {
    let model = image_model(spec, rows.channels, input)?;
    if !model.config().encoder_kind().is_local() {
        return Ok(None);
    }
    let channels = model.config().channels as u8;
    let bar = io::progress(u64::from(rows.height), "encoding");
    let shape = (rows.width, rows.height, channels);
    let file = walloc::image::encode_rows(&model, shape, options, || {
        let row = rows.next_row_as(channels)?;
        if row.is_some() {
            bar.inc(1);
        }
        Ok::<_, anyhow::Error>(row)
    })
    .with_context(|| format!("encoding with {}", model.config().name))?;
    bar.finish_and_clear();
    Ok(Some(file))
}

fn decode(input: &Path, output: &Path, model: Option<&str>, tile: usize) -> Result<()> {
    let bytes = read_input(input)?;
    let context = || format!("decoding {}", input.display());
    let file = walloc::info::info(&bytes, &Limits::default()).with_context(context)?;
    let model = models::for_id(file.model_id, model)?;
    match file.modality {
        Modality::Audio => return audio::decode(&bytes, output, &model).with_context(context),
        Modality::Volume => return volume::decode(&bytes, output, &model).with_context(context),
        Modality::Image => {}
    }
    let options = DecodeOptions::default().with_decoder(DecoderOptions::default().with_tile(tile));
    let png = output == Path::new("-") || output.extension().is_some_and(|e| e.eq_ignore_ascii_case("png"));
    let striped = walloc_codec::stripes::is_striped(file.shape[0] as u32, model.config().levels);
    if png && striped && file.sample_bits == 8 && walloc::image::decodes_in_stripes(&model) {
        let mut decoder = walloc::image::stripe_decoder(&model, &bytes, &options).with_context(context)?;
        let bar = io::progress(decoder.stripes() as u64, "decoding");
        let (w, h, c) = (file.shape[1] as u32, file.shape[0] as u32, file.channels as u8);
        write_atomically(output, |sink| {
            png_rows::write(sink, w, h, c, || {
                bar.inc(1);
                decoder.next_rows().transpose().map_err(anyhow::Error::from)
            })
        })
        .with_context(context)?;
        bar.finish_and_clear();
        return Ok(());
    }
    let picture = match file.sample_bits {
        16 => Picture::Sixteen(decode_wal_image(&model, &bytes, &options).with_context(context)?),
        _ => Picture::Eight(decode_wal_image(&model, &bytes, &options).with_context(context)?),
    };
    write_output(output, &encode_picture(&picture, output)?)
}

fn info(input: &Path) -> Result<()> {
    let bytes = read_input(input)?;
    let file =
        walloc::info::info(&bytes, &Limits::default()).with_context(|| format!("reading {}", input.display()))?;
    println!("file:                     {}", input.display());
    print!("{file}");
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
        eprintln!("error: {}", error_message(&err));
        std::process::exit(1);
    }
}

/// The error and its causes, joined as `{:#}` joins them, each said once:
/// a cause whose text the one before it already ends with (a library
/// error that prints its source) is left out.
fn error_message(err: &anyhow::Error) -> String {
    let mut message = String::new();
    let mut previous = String::new();
    for link in err.chain() {
        let text = link.to_string();
        if !previous.ends_with(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
        previous = text;
    }
    message
}

fn run(cli: &Cli) -> Result<()> {
    match &cli.command {
        Command::Encode {
            input,
            output,
            model,
            coder,
            quality,
            bpp,
            rdo,
            rounding,
            chunk_rows,
            volume,
        } => {
            let rate = match (quality, bpp) {
                (_, Some(bpp)) => Rate::BitsPerPixel(*bpp),
                (Some(quality), None) => Rate::Step(Step::from_quality(*quality)?),
                (None, None) => Rate::Step(Step::NATIVE),
            };
            let options = EncodeOptions::default()
                .with_coder(*coder)
                .with_rdo(*rdo)
                .with_rounding(*rounding)
                .with_rows_per_chunk(chunk_rows.unwrap_or(EncodeOptions::default_rows_per_chunk(*rdo)));
            encode(input, output, model.as_deref(), options, rate, volume)
        }
        Command::Decode {
            input,
            output,
            model,
            tile,
        } => decode(input, output, model.as_deref(), *tile),
        Command::Info { input } => info(input),
        Command::Models => models::print_list(),
        Command::FitLinear(args) => fit::run(args),
        Command::FitDecoders(args) => fit_decoders::run(args),
        Command::FitLinearAudio(args) => fit_audio::run(args),
        Command::FitLinearVolume(args) => volume::fit(args),
        Command::Import(args) => import::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Train(args) => train::run(args),
        Command::Dataset(args) => dataset::run(args),
    }
}
