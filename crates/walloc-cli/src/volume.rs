//! Volumes on the command line: `encode` of NIfTI, `.npy` and raw files
//! (slab by slab, after a first pass for the value range), `decode` into
//! NIfTI, `.npy` or raw (slab by slab), and `fit-linear-volume`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use walloc::volume::{data_range, extremes, range_of, VolumeDecoder, VolumeSpec, DEFAULT_SLAB_DEPTH};
use walloc::{DecodeOptions, Modality, Model, SampleType, ValueRange};
use walloc_codec::fit::{fit_linear_volume, PieceSampler};
use walloc_codec::volume::normalized_planar;
use walloc_eval::volume_eval::{volume_figures, Volume};
use walloc_io::folder::{file_name, files_in, folder_name};
use walloc_io::volume::{is_volume_path, read_volume, RawLayout, VolumeFormat, VolumeReader, VolumeWriter};

use crate::eval::with_figures;
use crate::fit::FitShared;
use crate::io::{progress, write_atomically, write_output};
use crate::models;

/// How to read a volume: a raw file's layout, the value range, the slab
/// depth (options of `encode`).
#[derive(clap::Args, Debug, Default)]
pub struct VolumeArgs {
    /// Raw volumes: `DEPTH,HEIGHT,WIDTH` in voxels (little-endian samples,
    /// width fastest).
    #[arg(long, value_parser = parse_shape)]
    pub shape: Option<[u32; 3]>,
    /// Raw volumes: the sample type (uint8, uint16, int16, int32, float32).
    #[arg(long)]
    pub dtype: Option<String>,
    /// Volumes: `MIN:MAX`, the values that map to the codec's range
    /// [default: the volume's own minimum and maximum].
    #[arg(long, value_parser = parse_range, allow_hyphen_values = true)]
    pub range: Option<ValueRange>,
    /// Volumes: slices per slab, each coded on its own (rounded up to a
    /// multiple of 2^J).
    #[arg(long, default_value_t = DEFAULT_SLAB_DEPTH)]
    pub slab: u32,
}

fn parse_shape(text: &str) -> std::result::Result<[u32; 3], String> {
    let sides: Vec<u32> = text
        .split(',')
        .map(|v| v.trim().parse::<u32>().map_err(|e| format!("{v:?}: {e}")))
        .collect::<std::result::Result<_, _>>()?;
    <[u32; 3]>::try_from(sides).map_err(|sides| format!("three sides DEPTH,HEIGHT,WIDTH, not {}", sides.len()))
}

fn parse_range(text: &str) -> std::result::Result<ValueRange, String> {
    let (min, max) = text.split_once(':').ok_or("MIN:MAX")?;
    let value = |v: &str| v.trim().parse::<f64>().map_err(|e| format!("{v:?}: {e}"));
    let (min, max) = (value(min)?, value(max)?);
    if !(min.is_finite() && max.is_finite() && min < max) {
        return Err(format!("{min}:{max}: MIN below MAX, both finite"));
    }
    Ok(ValueRange { min, max })
}

impl VolumeArgs {
    /// The raw layout `--shape` and `--dtype` give, if any.
    fn raw_layout(&self) -> Result<Option<RawLayout>> {
        match (self.shape, &self.dtype) {
            (None, None) => Ok(None),
            (Some(shape), Some(dtype)) => Ok(Some(RawLayout {
                shape,
                sample_type: SampleType::by_name(dtype)?,
            })),
            _ => bail!("a raw volume needs both --shape and --dtype"),
        }
    }

    /// Whether `input` is read as a volume.
    pub fn is_volume(&self, input: &Path) -> bool {
        self.shape.is_some() || is_volume_path(input)
    }
}

/// The volume model `--model` names, or the default.
fn volume_model(spec: Option<&str>) -> Result<Model> {
    let model = models::resolve(spec.unwrap_or(walloc::models::DEFAULT_VOLUME))?;
    if model.config().modality != Modality::Volume {
        bail!(
            "model {} codes {}s, not volumes",
            model.config().name,
            model.config().modality
        );
    }
    Ok(model)
}

/// The minimum and maximum of a volume file, read slab by slab.
fn scan_range(input: &Path, raw: Option<RawLayout>, slab: u32) -> Result<ValueRange> {
    let mut reader = VolumeReader::open(input, raw)?;
    let bar = progress(u64::from(reader.shape[0]), "scanning");
    let mut whole: Option<(f64, f64)> = None;
    while reader.slices_left() > 0 {
        if let Some((min, max)) = extremes(&reader.read_slices(slab)?) {
            whole = Some(whole.map_or((min, max), |(a, b)| (a.min(min), b.max(max))));
        }
        bar.inc(slab.into());
    }
    bar.finish_and_clear();
    Ok(range_of(whole))
}

/// `walloc encode` of a volume.
pub fn encode(input: &Path, output: &Path, model: Option<&str>, args: &VolumeArgs) -> Result<()> {
    let model = volume_model(model)?;
    let raw = args.raw_layout()?;
    let range = match args.range {
        Some(range) => range,
        None => scan_range(input, raw, args.slab.max(1))?,
    };
    let mut reader = VolumeReader::open(input, raw)?;
    let spec = VolumeSpec {
        geometry: reader.geometry,
        slab_depth: args.slab,
        ..VolumeSpec::new(reader.shape, reader.channels, reader.sample_type, range)
    };
    let context = || format!("encoding {} with {}", input.display(), model.config().name);
    let mut encoder = walloc::volume::encoder(&model, &spec).with_context(context)?;
    let slab = encoder.header().slab_depth;
    let bar = progress(u64::from(reader.shape[0]), "encoding");
    while reader.slices_left() > 0 {
        encoder.push_slices(reader.read_slices(slab)?).with_context(context)?;
        bar.inc(slab.into());
    }
    bar.finish_and_clear();
    write_output(output, &encoder.finish().with_context(context)?)
}

/// `walloc decode` of a volume file, slab by slab into `output`.
pub fn decode(bytes: &[u8], output: &Path, model: &Model) -> Result<()> {
    let format = VolumeFormat::of(output)
        .with_context(|| format!("{}: name the output .nii, .nii.gz, .npy or .raw", output.display()))?;
    let mut decoder = VolumeDecoder::new(model, bytes, &DecodeOptions::default())?;
    let header = decoder.header().clone();
    let bar = progress(u64::from(header.slabs()), "decoding");
    write_atomically(output, |sink| {
        let mut writer = VolumeWriter::new(
            sink,
            format,
            header.shape,
            header.channels,
            header.sample_type,
            &header.geometry,
        )?;
        while let Some(slab) = decoder.next_slab() {
            writer.write_samples(&slab?)?;
            bar.inc(1);
        }
        writer.finish()?;
        Ok(())
    })?;
    bar.finish_and_clear();
    Ok(())
}

/// Arguments of `fit-linear-volume`.
#[derive(clap::Args, Debug)]
pub struct FitVolumeArgs {
    /// Folder of training volumes (.nii, .nii.gz, .npy), one channel.
    #[arg(long)]
    pub data: PathBuf,
    /// Output model file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Wavelet packet levels J (1 to 3): 8^J packets per voxel channel.
    #[arg(long, default_value_t = 2)]
    pub levels: u32,
    /// Latent channels; dimensionality reduction is 8^J / latent-dim.
    #[arg(long)]
    pub latent_dim: u32,
    /// Side of the cubic training bricks (a multiple of 2^J, at least
    /// 10·2^(J−1): 20 at J = 2, 40 at J = 3).
    #[arg(long, default_value_t = 32)]
    pub brick: u32,
    /// Random bricks taken from each volume.
    #[arg(long, default_value_t = 256)]
    pub bricks_per_volume: u32,
    /// Seed, step scale, name and held-out data, as `fit-linear` takes them.
    #[command(flatten)]
    pub shared: FitShared,
}

fn volume_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let files = files_in(dir, |p| p.is_file() && is_volume_path(p))?;
    if files.is_empty() {
        bail!("no volume (.nii, .nii.gz, .npy) in {}", dir.display());
    }
    Ok(files)
}

/// The volumes of a folder, whole.
pub fn load_volumes(dir: &Path) -> Result<Vec<Volume>> {
    let files = volume_files(dir)?;
    let bar = progress(files.len() as u64, "loading");
    let volumes = files
        .iter()
        .map(|path| {
            bar.inc(1);
            let (signal, _) = read_volume(path, None).with_context(|| format!("reading {}", path.display()))?;
            Ok(Volume {
                name: file_name(path),
                signal,
            })
        })
        .collect();
    bar.finish_and_clear();
    volumes
}

/// Random bricks of every one-channel volume in `files`, each normalized
/// by its own range as the encoder normalizes it.
fn load_bricks(files: &[PathBuf], args: &FitVolumeArgs) -> Result<Vec<Vec<f32>>> {
    let mut sampler = PieceSampler::new(args.shared.seed);
    let bar = progress(files.len() as u64, "sampling");
    let mut bricks = Vec::new();
    for path in files {
        bar.inc(1);
        let (signal, _) = read_volume(path, None).with_context(|| format!("reading {}", path.display()))?;
        if signal.channels() != 1 {
            continue;
        }
        let planar = normalized_planar(signal.samples(), 1, data_range(signal.samples()));
        let [d, h, w] = [signal.shape()[0], signal.shape()[1], signal.shape()[2]];
        bricks.extend(sampler.bricks(&planar, 1, [d, h, w], args.brick as usize, args.bricks_per_volume));
    }
    bar.finish_and_clear();
    if bricks.is_empty() {
        bail!(
            "no one-channel volume of at least {}³ voxels in {}",
            args.brick,
            args.data.display()
        );
    }
    Ok(bricks)
}

/// Runs `fit-linear-volume`.
pub fn fit(args: &FitVolumeArgs) -> Result<()> {
    let description = format!(
        "linear WaLLoC, volumes, J={}, {} latent channels",
        args.levels, args.latent_dim
    );
    let mut options = args.shared.options(
        &args.output,
        [1, args.levels, args.latent_dim],
        description,
        serde_json::Value::Null,
    );
    options.check(Modality::Volume)?;
    let multiple = 1u32 << args.levels;
    // Bricks as thin as the filters at the last level would be transformed
    // unlike the padded slabs the encoder sees.
    let least = walloc_codec::volume::padded_len(1, args.levels as u8, 10) as u32;
    if args.brick < least || !args.brick.is_multiple_of(multiple) || args.brick > 256 {
        bail!(
            "--brick {} must be a multiple of 2^levels = {multiple} from {least} (the filters' reach at J = {}) to 256",
            args.brick,
            args.levels
        );
    }
    let files = volume_files(&args.data)?;
    let bricks = load_bricks(&files, args)?;
    options.provenance = serde_json::json!({
        "method": "PCA of 3-D wavelet-packet coefficients of range-normalized bricks, reverse water-filling step, \
                   least-squares decoder",
        "data": folder_name(&args.data),
        "files": files.iter().map(|f| file_name(f)).collect::<Vec<_>>(),
        "bricks": bricks.len(),
        "brick_side": args.brick,
        "seed": args.shared.seed,
        "step_scale": args.shared.step_scale,
    });
    eprintln!("fitting on {} bricks of {}³ voxels", bricks.len(), args.brick);
    let mut model = fit_linear_volume(&bricks, args.brick as usize, &options)?;
    drop(bricks);
    if let Some((dir, set)) = args.shared.validation() {
        let volumes = load_volumes(dir)?;
        let (figures, rows) = volume_figures(&model, &volumes, &set)?;
        for row in &rows {
            eprintln!(
                "{}: {:.4} bits/voxel ({:.1}:1), {:.2} dB PSNR over its range, encode {:.1} Mvox/s, decode {:.1} Mvox/s",
                row.name, row.bits_per_voxel, row.ratio, row.psnr_db, row.encode_mvox_s, row.decode_mvox_s
            );
        }
        model = with_figures(model, figures)?;
    }
    write_output(&args.output, model.to_bytes())?;
    eprintln!("wrote {} (id {})", args.output.display(), model.id().short());
    Ok(())
}
