//! Volumes (CT, MRI, spectral cubes with the bands as depth) through this
//! build's registry: whole signals of 3 axes, or slice by slice in bounded
//! memory with [`VolumeEncoder`] and [`VolumeDecoder`]. The file keeps the
//! sample type, the value range and the voxel geometry.

pub use walloc_codec::file_tags::{FileTag, TagValue};
use walloc_codec::registry::Synthesis;
use walloc_codec::volume as codec;
pub use walloc_codec::volume::{
    data_range, extremes, range_of, Geometry, VolumeEncoder, VolumeHeader, VolumeSpec, DEFAULT_SLAB_DEPTH,
};

use crate::{
    find_model, registry, DecodeOptions, EncodeOptions, Error, Latent, Model, Result, Samples, Signal, ValueRange,
};

/// A streaming encoder of the volume `spec` describes (at its coder,
/// step and quantization): push slices in order, then `finish`.
pub fn encoder<'m>(model: &'m Model, spec: &VolumeSpec) -> Result<VolumeEncoder<'m>> {
    let options = EncodeOptions::default()
        .with_coder(spec.coder)
        .with_step(spec.step)
        .with_rdo(spec.rdo);
    // A slab is one band: a chunk of all its rows.
    VolumeEncoder::new(registry().encoder_for(model, &options, usize::MAX)?, model, spec)
}

/// The spec of a volume signal for `model`: its shape, channels and type;
/// its range if one was set ([`Signal::with_range`]), else the data's own
/// ([`data_range`]); the default geometry, slab depth, coder and step.
pub fn spec_of(model: &Model, signal: &Signal) -> Result<VolumeSpec> {
    let &[d, h, w] = signal.shape() else {
        return Err(Error::IncompatibleInput(format!(
            "model {} codes volumes (3 axes), not signals of {} axes",
            model.config().name,
            signal.axes()
        )));
    };
    let side = |v: usize| u32::try_from(v).map_err(|_| Error::IncompatibleInput(format!("volume side {v}")));
    let range = if signal.range() == signal.sample_type().default_range() {
        data_range(signal.samples())
    } else {
        signal.range()
    };
    Ok(VolumeSpec::new(
        [side(d)?, side(h)?, side(w)?],
        signal.channels() as u8,
        signal.sample_type(),
        range,
    ))
}

/// Encodes a volume signal with `spec` (see [`spec_of`]) into `.wal` bytes.
pub fn encode_volume(model: &Model, signal: &Signal, spec: &VolumeSpec) -> Result<Vec<u8>> {
    let mut encoder = encoder(model, spec)?;
    encoder.push_slices(signal.samples().clone())?;
    encoder.finish()
}

/// Decodes a volume file slab by slab: memory beyond the file is one
/// slab's.
pub struct VolumeDecoder<'m, 'b> {
    model: &'m Model,
    decoder: Box<dyn Synthesis + 'm>,
    header: VolumeHeader,
    chunks: Vec<&'b [u8]>,
    next: u32,
}

impl<'m, 'b> VolumeDecoder<'m, 'b> {
    /// Parses `bytes` (made by `model`) and checks every chunk.
    pub fn new(model: &'m Model, bytes: &'b [u8], options: &DecodeOptions) -> Result<Self> {
        let (header, chunks) = codec::parse(bytes, &options.limits)?;
        codec::check_model(&header, model)?;
        Ok(VolumeDecoder {
            decoder: registry().decoder(model, &options.decoder)?,
            model,
            header,
            chunks,
            next: 0,
        })
    }

    /// The file's header: shape, sample type, range, geometry, slabs.
    pub fn header(&self) -> &VolumeHeader {
        &self.header
    }

    /// The next slab's slices, channels last, in the original sample type
    /// (`None` at the end).
    pub fn next_slab(&mut self) -> Option<Result<Samples>> {
        let chunk = self.chunks.get(self.next as usize)?;
        let slab = codec::decode_slab(self.decoder.as_ref(), self.model, &self.header, self.next, chunk);
        self.next += 1;
        Some(slab)
    }
}

/// Decodes a volume file into its signal (over the file's value range)
/// and header (geometry).
pub fn decode_volume(model: &Model, bytes: &[u8], options: &DecodeOptions) -> Result<(Signal, VolumeHeader)> {
    let mut decoder = VolumeDecoder::new(model, bytes, options)?;
    let header = decoder.header().clone();
    let mut samples = Samples::empty(header.sample_type);
    while let Some(slab) = decoder.next_slab() {
        samples.append(slab?);
    }
    let [d, h, w] = header.shape.map(|v| v as usize);
    let signal = Signal::new(vec![d, h, w], usize::from(header.channels), samples)?.with_range(header.range)?;
    Ok((signal, header))
}

pub(crate) fn encode(model: &Model, signal: &Signal, options: &EncodeOptions) -> Result<Vec<u8>> {
    crate::check_banded(options, "volume")?;
    let spec = VolumeSpec {
        coder: options.coder,
        step: options.step,
        rdo: options.rdo,
        ..spec_of(model, signal)?
    };
    encode_volume(model, signal, &spec)
}

pub(crate) fn decode(bytes: &[u8], models: &[Model], options: &DecodeOptions) -> Result<Signal> {
    let model = find_model(walloc_codec::container::model_id(bytes)?, models)?;
    decode_volume(model, bytes, options).map(|(signal, _)| signal)
}

/// The header of the whole volume coded as one slab.
fn one_slab(model: &Model, spec: VolumeSpec) -> Result<VolumeHeader> {
    spec.header(model).map(|header| VolumeHeader {
        slab_depth: header.shape[0].next_multiple_of(1 << header.levels),
        ..header
    })
}

pub(crate) fn analyze(model: &Model, signal: &Signal) -> Result<Latent> {
    let header = one_slab(model, spec_of(model, signal)?)?;
    codec::analyze_slab(
        registry().encoder(model)?.as_ref(),
        model,
        &header,
        signal.samples(),
        header.shape[0],
    )
}

pub(crate) fn synthesize(model: &Model, latent: &Latent, shape: &[usize]) -> Result<Signal> {
    let &[d, h, w] = shape else {
        return Err(Error::IncompatibleInput(format!(
            "a volume shape is [depth, height, width], not {shape:?}"
        )));
    };
    let side = |v: usize| u32::try_from(v).map_err(|_| Error::IncompatibleInput(format!("volume side {v}")));
    let unit = ValueRange { min: 0.0, max: 1.0 };
    let spec = VolumeSpec::new(
        [side(d)?, side(h)?, side(w)?],
        model.config().channels as u8,
        crate::SampleType::F32,
        unit,
    );
    let header = one_slab(model, spec)?;
    let decoder = registry().decoder(model, &Default::default())?;
    let samples = codec::synthesize_slab(decoder.as_ref(), model, &header, latent, header.shape[0])?;
    Signal::new(shape.to_vec(), header.channels.into(), samples)?.with_range(unit)
}
