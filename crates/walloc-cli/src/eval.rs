//! `walloc eval`: reads a folder of images, audio, or volumes and cubes,
//! has `walloc_eval` code and measure it against peer codecs, and writes
//! the report's files (results.json, CSV tables, rate–distortion plots).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use walloc::{Figures, Model};
use walloc_eval::audio_eval::{embedded_audio_models, AudioEvaluation};
use walloc_eval::image_eval::{embedded_rgb_models, image_peers, ImageEvaluation};
use walloc_eval::report::Report;
use walloc_eval::volume_eval::{embedded_volume_models, VolumeEvaluation};
use walloc_eval::EvalError;

use walloc::audio::interleaved_of;
use walloc_eval::audio_eval::Clip;
use walloc_io::audio::is_audio_path;
use walloc_io::cube::is_cube;
use walloc_io::folder::file_name;
use walloc_io::volume::is_volume_path;

use crate::io::{audio_files, decode_image, image_files, progress, read_input, write_output, Bars};
use crate::models;
use crate::volume::{load_volumes, Bands};

/// Arguments of `eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Folder of images (PNG, JPEG, WebP, PNM, TIFF), of audio files (WAV,
    /// FLAC, Ogg Vorbis) or of volumes (NIfTI, .npy) and spectral cubes
    /// (multi-band TIFF); what it holds decides which evaluation runs.
    #[arg(long)]
    pub data: PathBuf,
    /// walloc models (names or files), repeatable [default: every embedded
    /// model of the data's modality, RGB for images, of the volumes'
    /// channel count for volumes].
    #[arg(short, long)]
    pub model: Vec<String>,
    /// Peer codecs, comma-separated: images webp, jpeg, avif; audio opus;
    /// volumes jpeg2000 (each slice on its own, as DICOM codes CT), zfp
    /// (whole volumes, fixed accuracy).
    #[arg(long, value_delimiter = ',')]
    pub against: Option<Vec<String>>,
    /// Output folder for results.json, files.csv, means.csv, bd_rate.csv and
    /// the plots rd_psnr.{svg,png} (and rd_ms_ssim for images).
    #[arg(long)]
    pub out: PathBuf,
    /// Audio: seconds of each file to evaluate, from its start.
    #[arg(long, default_value_t = 30.0)]
    pub seconds: f64,
    /// Spectral cubes: their bands as depth or as channels (the models
    /// must have as many channels).
    #[arg(long, value_enum, default_value = "depth")]
    pub bands: Bands,
    /// Images: a second curve per model with rate–distortion-optimized
    /// quantization (`walloc MODEL rdo`), for models with a 1×1 projection
    /// encoder.
    #[arg(long)]
    pub rdo: bool,
}

/// The modality a folder holds: the one most of its files have.
fn folder_modality(dir: &Path) -> Result<walloc::Modality> {
    use walloc::Modality;
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading folder {}", dir.display()))?;
    let (mut audio, mut volumes, mut images) = (0, 0, 0);
    for entry in entries {
        let path = entry?.path();
        if is_audio_path(&path) {
            audio += 1;
        } else if is_volume_path(&path) || is_cube(&path) {
            volumes += 1;
        } else if path.is_file() {
            images += 1;
        }
    }
    Ok(if audio > 0 && audio >= volumes.max(images) {
        Modality::Audio
    } else if volumes > 0 && volumes >= images {
        Modality::Volume
    } else {
        Modality::Image
    })
}

/// Runs `eval`.
pub fn run(args: &EvalArgs) -> Result<()> {
    if !args.data.is_dir() {
        bail!("--data {} is not a folder", args.data.display());
    }
    // Timings are per core: every codec runs on one thread.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let report = match folder_modality(&args.data)? {
        walloc::Modality::Audio => pool.install(|| evaluate_audio(args))?,
        walloc::Modality::Volume => pool.install(|| evaluate_volumes(args))?,
        walloc::Modality::Image => pool.install(|| evaluate_images(args))?,
    };
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    for (name, bytes) in report.artifacts()? {
        write_output(&args.out.join(name), &bytes)?;
    }
    print!("{}", report.summary());
    eprintln!("results in {}", args.out.display());
    Ok(())
}

/// The models named, or the defaults.
fn chosen(names: &[String], default: fn() -> Result<Vec<Model>, EvalError>) -> Result<Vec<Model>> {
    if names.is_empty() {
        return Ok(default()?);
    }
    names.iter().map(|n| models::resolve(n)).collect()
}

fn evaluate_images(args: &EvalArgs) -> Result<Report> {
    let models = chosen(&args.model, embedded_rgb_models)?;
    let mut evaluation = ImageEvaluation::new(models, image_peers(args.against.as_deref())?)?.with_rdo(args.rdo);
    let files = image_files(&args.data)?;
    let bar = progress((files.len() * evaluation.codings_per_image()) as u64, "evaluating");
    for path in &files {
        let image = decode_image(&read_input(path)?, &path.display().to_string())?;
        let image = image.to_channels(evaluation.channels());
        evaluation.add(&file_name(path), &image, || bar.inc(1))?;
    }
    bar.finish_and_clear();
    Ok(evaluation.report())
}

fn evaluate_audio(args: &EvalArgs) -> Result<Report> {
    check_seconds("--seconds", args.seconds)?;
    let models = chosen(&args.model, embedded_audio_models)?;
    let evaluation = AudioEvaluation::new(models, args.against.as_deref())?;
    let clips = read_clips(&args.data, args.seconds)?;
    Ok(evaluation.evaluate(&clips, &mut Bars::default())?)
}

fn evaluate_volumes(args: &EvalArgs) -> Result<Report> {
    let volumes = load_volumes(&args.data, args.bands.into())?;
    let channels = volumes[0].signal.channels();
    if let Some(odd) = volumes.iter().find(|v| v.signal.channels() != channels) {
        bail!(
            "{} has {} channels and {} has {channels}: evaluate volumes of one channel count at a time",
            odd.name,
            odd.signal.channels(),
            volumes[0].name
        );
    }
    let models = if args.model.is_empty() {
        embedded_volume_models(channels)?
    } else {
        chosen(&args.model, || Ok(Vec::new()))?
    };
    let evaluation = VolumeEvaluation::new(models, args.against.as_deref())?;
    Ok(evaluation.evaluate(&volumes, &mut Bars::default())?)
}

/// The first `seconds` of every audio file in `dir`, as clips.
fn read_clips(dir: &Path, seconds: f64) -> Result<Vec<Clip>> {
    audio_files(dir)?
        .iter()
        .map(|p| read_clip(p, seconds).with_context(|| format!("reading {}", p.display())))
        .collect()
}

/// The first `seconds` of an audio file, interleaved, as a clip to
/// evaluate or measure a model on.
fn read_clip(path: &Path, seconds: f64) -> Result<Clip> {
    let mut source = walloc_io::audio::open(path)?;
    let channels = source.channels();
    let frames = (seconds * f64::from(source.sample_rate())).ceil() as usize;
    let planar = source.read_planar(frames)?;
    if planar.len() < channels.max(1) {
        bail!("{} has no samples", path.display());
    }
    Ok(Clip {
        name: file_name(path),
        samples: interleaved_of(&planar, channels),
        channels,
        sample_rate: source.sample_rate(),
        format: source.format(),
    })
}

/// Refuses a clip length outside (0, 3600] seconds, naming the flag.
pub fn check_seconds(flag: &str, seconds: f64) -> Result<()> {
    if !(seconds > 0.0 && seconds <= 3600.0) {
        bail!("{flag} must be in (0, 3600], not {seconds}");
    }
    Ok(())
}

/// `model` with `figures` stored in its configuration (and printed).
pub fn with_figures(model: Model, figures: Figures) -> Result<Model> {
    eprintln!("validation: {figures}");
    Ok(model.with_figures(figures)?)
}

/// `model` with its figures on the first `seconds` of each audio file in
/// `dir` stored in its configuration (and printed).
pub fn with_audio_figures(model: Model, dir: &Path, seconds: f64, dataset: &str) -> Result<Model> {
    let clips = read_clips(dir, seconds)?;
    let figures = walloc_eval::audio_eval::audio_figures(&model, &clips, dataset)?;
    with_figures(model, figures)
}
