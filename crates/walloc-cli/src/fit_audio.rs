//! `walloc fit-linear-audio`: the closed-form (PCA) linear audio model on
//! random segments of a folder of music, each file's first block
//! normalized as the encoder normalizes it; figures on held-out files.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use walloc_codec::audio::{Level, DEFAULT_BLOCK_FRAMES};
use walloc_codec::fit::{fit_linear_audio, PieceSampler};
use walloc_codec::Modality;

use crate::eval::{check_seconds, with_audio_figures};
use crate::fit::FitShared;
use crate::io::{audio_files, progress, write_output};

/// Arguments of `fit-linear-audio`.
#[derive(clap::Args, Debug)]
pub struct FitAudioArgs {
    /// Folder of training audio (WAV, FLAC, Ogg Vorbis); files with another
    /// channel count are skipped.
    #[arg(long)]
    pub data: PathBuf,
    /// Output model file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Audio channels of the model (2: stereo).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub channels: u32,
    /// Wavelet packet levels J.
    #[arg(long, default_value_t = 8)]
    pub levels: u32,
    /// Latent channels; dimensionality reduction is channels·2^J / latent-dim.
    #[arg(long)]
    pub latent_dim: u32,
    /// How training segments are cut.
    #[command(flatten)]
    pub segments: SegmentArgs,
    /// Seed, step scale, name and held-out data, as `fit-linear` takes them.
    #[command(flatten)]
    pub shared: FitShared,
    /// Seconds measured from the start of each held-out file.
    #[arg(long, default_value_t = 30.0)]
    pub val_seconds: f64,
}

/// Hands each `channels`-channel file's first block, normalized as the
/// encoder normalizes a block (planar, `channels` rows each), to `use_block`
/// in turn, so that a caller keeping only pieces holds one block at a time.
/// Files of another channel count or shorter than `min_frames` are skipped.
pub fn each_block(
    files: &[PathBuf],
    channels: usize,
    min_frames: usize,
    what: &str,
    mut use_block: impl FnMut(Vec<f32>),
) -> Result<()> {
    let bar = progress(files.len() as u64, what);
    for file in files {
        bar.inc(1);
        let mut source = walloc_io::audio::open(file).with_context(|| format!("reading {}", file.display()))?;
        if source.channels() != channels {
            continue;
        }
        let mut block = source.read_planar(DEFAULT_BLOCK_FRAMES as usize)?;
        if block.len() / channels < min_frames {
            continue;
        }
        Level::normalize(&mut block);
        use_block(block);
    }
    bar.finish_and_clear();
    Ok(())
}

/// Every block [`each_block`] gives, kept.
pub fn load_blocks(files: &[PathBuf], channels: usize, min_frames: usize, what: &str) -> Result<Vec<Vec<f32>>> {
    let mut blocks = Vec::new();
    each_block(files, channels, min_frames, what, |block| blocks.push(block))?;
    Ok(blocks)
}

/// How training segments are cut from audio files (`fit-linear-audio`,
/// `fit-decoders`).
#[derive(clap::Args, Debug)]
pub struct SegmentArgs {
    /// Frames of each training segment (a multiple of 2^J).
    #[arg(long, default_value_t = 16384)]
    pub segment: u32,
    /// Random segments taken from each file.
    #[arg(long, default_value_t = 64)]
    pub segments_per_file: u32,
}

impl SegmentArgs {
    /// Random pieces (positions from `seed`) of each `channels`-channel
    /// file's first block in `dir`, normalized as a block (planar,
    /// `channels` rows each), for a model of `levels`; also returns the
    /// number of audio files in `dir`.
    pub fn load(&self, dir: &Path, channels: usize, levels: u32, seed: u64) -> Result<(Vec<Vec<f32>>, usize)> {
        let multiple = 1u32 << levels;
        if self.segment == 0 || !self.segment.is_multiple_of(multiple) || self.segment > 1 << 20 {
            bail!(
                "--segment {} must be a positive multiple of 2^levels = {multiple}, at most 2^20",
                self.segment
            );
        }
        let files = audio_files(dir)?;
        let segment = self.segment as usize;
        let mut sampler = PieceSampler::new(seed);
        let mut segments = Vec::new();
        each_block(&files, channels, segment, "loading", |block| {
            segments.extend(sampler.segments(&block, channels, segment, self.segments_per_file));
        })?;
        if segments.is_empty() {
            bail!(
                "no {channels}-channel file of at least {segment} frames in {}",
                dir.display()
            );
        }
        Ok((segments, files.len()))
    }
}

/// Runs `fit-linear-audio`.
pub fn run(args: &FitAudioArgs) -> Result<()> {
    let description = format!(
        "linear WaLLoC, {}-channel audio, J={}, {} latent channels",
        args.channels, args.levels, args.latent_dim
    );
    let shape = [args.channels, args.levels, args.latent_dim];
    let mut options = args
        .shared
        .options(&args.output, shape, description, serde_json::Value::Null);
    options.check(Modality::Audio)?;
    check_seconds("--val-seconds", args.val_seconds)?;
    let (segments, files) = args
        .segments
        .load(&args.data, args.channels as usize, args.levels, args.shared.seed)?;
    options.provenance = serde_json::json!({
        "method": "PCA of wavelet-packet coefficients of block-normalized segments, reverse water-filling step, \
                   least-squares decoder",
        "data": args.data.file_name().map(|s| s.to_string_lossy().into_owned()),
        "files": files,
        "segments": segments.len(),
        "segment_frames": args.segments.segment,
        "seed": args.shared.seed,
        "step_scale": args.shared.step_scale,
    });
    eprintln!(
        "fitting on {} segments of {} frames",
        segments.len(),
        args.segments.segment
    );
    let mut model = fit_linear_audio(&segments, &options)?;
    drop(segments);
    if let Some((dir, set)) = args.shared.held_out.validation() {
        model = with_audio_figures(model, dir, args.val_seconds, &set)?;
    }
    write_output(&args.output, model.to_bytes())?;
    eprintln!("wrote {} (id {})", args.output.display(), model.id().short());
    Ok(())
}
