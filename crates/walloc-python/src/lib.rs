//! The `walloc` Python module: the walloc crate's `encode`, `decode`,
//! `analyze`, `synthesize`, `info` and models, numpy arrays in and out.
//! Work runs with the GIL released; batches run in parallel (rayon).
//! Errors become Python exceptions by kind: `ValueError` for arrays and
//! arguments that do not fit, `walloc.CorruptFile` (a `ValueError`) for
//! damaged or forged bytes, `LookupError` for unknown models, `OSError`
//! for files.

mod dataset;

use std::path::PathBuf;
use std::sync::Arc;

use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{IntoPyArray, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::{PyLookupError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use rayon::prelude::*;
use walloc::{
    DecodeOptions, DecoderOptions, EncodeOptions, Error, Latent, LatentCoder, Limits, Modality, Model, Samples, Signal,
    Step,
};

create_exception!(
    walloc,
    CorruptFile,
    PyValueError,
    "The bytes are not a valid walloc file: damaged, truncated, forged, or asking for more than the limits allow."
);

/// What was being done when an error happened: the same error kind means
/// a bad file when reading and a bad argument when writing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Doing {
    Reading,
    Writing,
}

fn python_error(error: Error, doing: Doing) -> PyErr {
    let message = error.to_string();
    match error {
        Error::BadMagic
        | Error::UnsupportedVersion { .. }
        | Error::Truncated(_)
        | Error::BadChecksum(_)
        | Error::EntropyCoding(_)
        | Error::LatentImage(_) => CorruptFile::new_err(message),
        Error::InvalidField { .. } | Error::LimitExceeded { .. } if doing == Doing::Reading => {
            CorruptFile::new_err(message)
        }
        Error::UnknownModel { .. } | Error::ModelNotFound { .. } => PyLookupError::new_err(message),
        Error::Io { .. } => PyOSError::new_err(message),
        Error::Unsupported { .. } | Error::Backend(_) => PyRuntimeError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

fn reading<T>(result: walloc::Result<T>) -> PyResult<T> {
    result.map_err(|e| python_error(e, Doing::Reading))
}

fn writing<T>(result: walloc::Result<T>) -> PyResult<T> {
    result.map_err(|e| python_error(e, Doing::Writing))
}

/// An embedded model, or one loaded from a file.
#[derive(Clone)]
pub(crate) enum Handle {
    Embedded(&'static Model),
    Loaded(Arc<Model>),
}

impl std::ops::Deref for Handle {
    type Target = Model;

    fn deref(&self) -> &Model {
        match self {
            Handle::Embedded(model) => model,
            Handle::Loaded(model) => model,
        }
    }
}

impl Handle {
    /// An embedded model by name, else a model file by path.
    fn resolve(spec: &str) -> PyResult<Self> {
        let embedded = reading(walloc::models::embedded())?;
        if let Some(model) = embedded.iter().find(|m| m.config().name == spec) {
            return Ok(Handle::Embedded(model));
        }
        Ok(Handle::Loaded(Arc::new(reading(walloc::models::resolve(spec))?)))
    }
}

/// A walloc model: an embedded one (`Model.named("rgb-16x")`) or a model
/// file (`Model.load(path)`).
#[pyclass(frozen, name = "Model", module = "walloc")]
struct PyModel {
    handle: Handle,
}

#[pymethods]
impl PyModel {
    /// Loads a model file (`.safetensors` made by walloc).
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        let model = reading(walloc::models::load(&path))?;
        Ok(PyModel {
            handle: Handle::Loaded(Arc::new(model)),
        })
    }

    /// The embedded model called `name` (see `walloc.models()`).
    #[staticmethod]
    fn named(name: &str) -> PyResult<Self> {
        let embedded = reading(walloc::models::embedded())?;
        match embedded.iter().find(|m| m.config().name == name) {
            Some(model) => Ok(PyModel {
                handle: Handle::Embedded(model),
            }),
            None => Err(PyLookupError::new_err(format!(
                "no embedded model named {name:?} (embedded: {})",
                walloc::models::names().join(", ")
            ))),
        }
    }

    /// A model from the bytes of a model file.
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        let model = writing(Model::from_bytes(data.to_vec()))?;
        Ok(PyModel {
            handle: Handle::Loaded(Arc::new(model)),
        })
    }

    /// The model's name.
    #[getter]
    fn name(&self) -> String {
        self.handle.config().name.clone()
    }

    /// The model's id: the SHA-256 of its file, in hex.
    #[getter]
    fn id(&self) -> String {
        self.handle.id().to_string()
    }

    /// `"image"` or `"audio"`.
    #[getter]
    fn modality(&self) -> &'static str {
        self.handle.config().modality.name()
    }

    /// `"linear"`, `"refine"`, `"codec2d"`, …
    #[getter]
    fn architecture(&self) -> &'static str {
        self.handle.config().architecture.name()
    }

    /// Signal channels the model codes at once.
    #[getter]
    fn channels(&self) -> u32 {
        self.handle.config().channels
    }

    /// Latent channels.
    #[getter]
    fn latent_dim(&self) -> u32 {
        self.handle.config().latent_dim
    }

    /// Wavelet packet levels J.
    #[getter]
    fn levels(&self) -> u32 {
        self.handle.config().levels
    }

    /// Values per latent value: channels · 2^(axes · J) / latent_dim.
    #[getter]
    fn dimensionality_reduction(&self) -> f64 {
        self.handle.config().dimensionality_reduction()
    }

    /// The whole configuration (with provenance and measured figures).
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let text = serde_json_text(self.handle.config())?;
        py.import("json")?.call_method1("loads", (text,))
    }

    /// The model file's bytes.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.handle.to_bytes())
    }

    /// Pickles as the model file's bytes (so a distributed engine can send
    /// it to its workers).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let from_bytes = slf.get_type().getattr("from_bytes")?;
        Ok((from_bytes, (slf.get().to_bytes(slf.py()),)))
    }

    fn __repr__(&self) -> String {
        let c = self.handle.config();
        format!(
            "walloc.Model({:?}, {} {}, {} latent channels, {:.1}x)",
            c.name,
            c.architecture,
            c.modality,
            c.latent_dim,
            c.dimensionality_reduction()
        )
    }
}

fn serde_json_text(config: &walloc::ModelConfig) -> PyResult<String> {
    config.to_json().map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The model an argument names (a `Model`, an embedded name or a path),
/// or `default` when it is `None`.
pub(crate) fn model_of(
    argument: Option<&Bound<'_, PyAny>>,
    default: impl FnOnce() -> &'static str,
) -> PyResult<Handle> {
    let Some(argument) = argument else {
        return Handle::resolve(default());
    };
    if let Ok(model) = argument.cast::<PyModel>() {
        return Ok(model.get().handle.clone());
    }
    if let Ok(spec) = argument.extract::<PathBuf>() {
        return Handle::resolve(&spec.to_string_lossy());
    }
    Err(PyValueError::new_err(
        "model must be a walloc.Model, an embedded model's name or a model file's path",
    ))
}

/// The samples of a numpy array of a supported dtype, in C order, and its shape.
fn samples_of(array: &Bound<'_, PyAny>) -> PyResult<(Samples, Vec<usize>)> {
    macro_rules! typed {
        ($t:ty, $variant:ident) => {
            if let Ok(a) = array.cast::<PyArrayDyn<$t>>() {
                let a = a.readonly();
                let shape = a.shape().to_vec();
                let values = match a.as_slice() {
                    Ok(slice) => slice.to_vec(),
                    Err(_) => a.as_array().iter().copied().collect(),
                };
                return Ok((Samples::$variant(values), shape));
            }
        };
    }
    typed!(u8, U8);
    typed!(u16, U16);
    typed!(i16, I16);
    typed!(i32, I32);
    typed!(f32, F32);
    let dtype = array
        .getattr("dtype")
        .map(|d| d.to_string())
        .unwrap_or_else(|_| format!("{} (not a numpy array)", array.get_type()));
    Err(PyValueError::new_err(format!(
        "arrays of uint8, uint16, int16, int32 or float32 are coded, not {dtype} (cast with .astype)"
    )))
}

/// A signal for `model`: images `(H, W)` or `(H, W, C)`, audio `(frames,)`
/// or `(frames, C)` at `sample_rate`, volumes `(D, H, W)` or `(D, H, W, C)`.
fn signal_of(array: &Bound<'_, PyAny>, modality: Modality, sample_rate: Option<u32>) -> PyResult<Signal> {
    let (samples, shape) = samples_of(array)?;
    let (axes, channels) = match (modality, shape.as_slice()) {
        (Modality::Image, [h, w]) => (vec![*h, *w], 1),
        (Modality::Image, [h, w, c]) => (vec![*h, *w], *c),
        (Modality::Audio, [frames]) => (vec![*frames], 1),
        (Modality::Audio, [frames, c]) => (vec![*frames], *c),
        (Modality::Volume, [d, h, w]) => (vec![*d, *h, *w], 1),
        (Modality::Volume, [d, h, w, c]) => (vec![*d, *h, *w], *c),
        (Modality::Image, other) => {
            return Err(PyValueError::new_err(format!(
                "an image is (height, width) or (height, width, channels), not an array of shape {other:?}"
            )))
        }
        (Modality::Audio, other) => {
            return Err(PyValueError::new_err(format!(
                "audio is (frames,) or (frames, channels), not an array of shape {other:?}"
            )))
        }
        (Modality::Volume, other) => {
            return Err(PyValueError::new_err(format!(
            "a volume is (depth, height, width) or (depth, height, width, channels), not an array of shape {other:?}"
        )))
        }
    };
    let signal = writing(Signal::new(axes, channels, samples))?;
    match modality {
        Modality::Audio => writing(signal.with_sample_rate(sample_rate.unwrap_or(44_100))),
        Modality::Image | Modality::Volume => Ok(signal),
    }
}

/// The default model for an array: images for `uint8` and `uint16`,
/// audio otherwise.
fn default_model(array: &Bound<'_, PyAny>) -> &'static str {
    let is_image = array.cast::<PyArrayDyn<u8>>().is_ok() || array.cast::<PyArrayDyn<u16>>().is_ok();
    let shape: Vec<usize> = array.getattr("shape").and_then(|s| s.extract()).unwrap_or_default();
    if is_image {
        walloc::models::default_image(if shape.len() == 3 { shape[2] } else { 1 })
    } else {
        walloc::models::DEFAULT_AUDIO
    }
}

/// A numpy array of a signal: one channel drops the channel axis.
fn array_of<'py>(py: Python<'py>, signal: Signal) -> PyResult<Bound<'py, PyAny>> {
    let mut shape = signal.shape().to_vec();
    if signal.channels() > 1 {
        shape.push(signal.channels());
    }
    fn numpy<'py, T: numpy::Element>(py: Python<'py>, shape: &[usize], v: Vec<T>) -> PyResult<Bound<'py, PyAny>> {
        let array = ArrayD::from_shape_vec(IxDyn(shape), v).map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(array.into_pyarray(py).into_any())
    }
    match signal.into_samples() {
        Samples::U8(v) => numpy(py, &shape, v),
        Samples::U16(v) => numpy(py, &shape, v),
        Samples::I16(v) => numpy(py, &shape, v),
        Samples::I32(v) => numpy(py, &shape, v),
        Samples::F32(v) => numpy(py, &shape, v),
    }
}

/// A coder or rounding by its name, or a ValueError naming the choices.
fn named<T: std::str::FromStr<Err = walloc::Error>>(name: &str) -> PyResult<T> {
    name.parse()
        .map_err(|e: walloc::Error| PyValueError::new_err(e.to_string()))
}

fn decode_options(tile: usize) -> DecodeOptions {
    DecodeOptions::default().with_decoder(DecoderOptions::default().with_tile(tile))
}

/// The models a file may name: the one given, or every embedded model.
enum Candidates {
    Embedded(&'static [Model]),
    One(Handle),
}

impl Candidates {
    fn of(model: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        match model {
            Some(_) => Ok(Candidates::One(model_of(model, || "")?)),
            None => Ok(Candidates::Embedded(reading(walloc::models::embedded())?)),
        }
    }

    fn as_slice(&self) -> &[Model] {
        match self {
            Candidates::Embedded(models) => models,
            Candidates::One(model) => std::slice::from_ref(&**model),
        }
    }
}

/// Encodes an image `(H, W[, C])` (uint8, or uint16 coded from all 16
/// bits) or audio `(frames[, C])` (int16, int32, uint8 or float32 in
/// [-1, 1]) into `.wal` bytes.
///
/// `model` is a `Model`, an embedded name or a path; by default
/// `rgb-16x`/`gray-16x` for uint8 and uint16 arrays and `stereo-5x` for
/// audio. `quality` runs from 0 (smallest) to 100 (finest); 75, the
/// default, is the model's own step (images, audio and volumes). `rdo`
/// (an adaptive coder, 1×1 projection encoders) keeps each
/// latent value's rounded symbol or moves it one towards zero, by its
/// cost in bits and in error: smaller files, slower encoding. `rounding`
/// is `"dead-zone"` (values within 0.6 of zero become
/// zero, and so do ±1s whose four neighbours are zero, and isolated pairs
/// of ±1s: smaller files at the same speed) or `"nearest"` (the
/// reference's latents). `chunk_rows` (images) is the latent rows of each
/// entropy-coded chunk, each of which decodes on its own (128; walloc 0.1
/// wrote 32, 0.2 64).
#[pyfunction]
#[pyo3(signature = (array, model=None, *, sample_rate=None, coder="contextual", quality=None, rdo=false, rounding="dead-zone", chunk_rows=walloc::DEFAULT_CHUNK_ROWS))]
#[allow(clippy::too_many_arguments)]
fn encode<'py>(
    py: Python<'py>,
    array: &Bound<'py, PyAny>,
    model: Option<&Bound<'py, PyAny>>,
    sample_rate: Option<u32>,
    coder: &str,
    quality: Option<f64>,
    rdo: bool,
    rounding: &str,
    chunk_rows: u32,
) -> PyResult<Bound<'py, PyBytes>> {
    let model = model_of(model, || default_model(array))?;
    let signal = signal_of(array, model.config().modality, sample_rate)?;
    let options = encode_options(coder, quality, rdo, rounding, chunk_rows)?;
    let file = writing(py.detach(|| walloc::encode(&model, &signal, &options)))?;
    Ok(PyBytes::new(py, &file))
}

/// The options of a coder name, an optional quality (0 to 100),
/// rate–distortion-optimized quantization, a rounding name and the
/// chunks' latent rows.
fn encode_options(
    coder: &str,
    quality: Option<f64>,
    rdo: bool,
    rounding: &str,
    chunk_rows: u32,
) -> PyResult<EncodeOptions> {
    let step = match quality {
        Some(quality) => Step::from_quality(quality).map_err(|e| PyValueError::new_err(e.to_string()))?,
        None => Step::NATIVE,
    };
    if chunk_rows == 0 {
        return Err(PyValueError::new_err("chunk_rows must be at least 1"));
    }
    Ok(EncodeOptions::default()
        .with_coder(named::<LatentCoder>(coder)?)
        .with_step(step)
        .with_rdo(rdo)
        .with_rounding(named(rounding)?)
        .with_rows_per_chunk(chunk_rows))
}

/// Encodes a list of arrays in parallel (all with one model); returns a
/// list of bytes. An item that fails raises, naming its index.
#[pyfunction]
#[pyo3(signature = (arrays, model=None, *, sample_rate=None, coder="contextual", quality=None, rdo=false, rounding="dead-zone", chunk_rows=walloc::DEFAULT_CHUNK_ROWS))]
#[allow(clippy::too_many_arguments)]
fn encode_batch<'py>(
    py: Python<'py>,
    arrays: Vec<Bound<'py, PyAny>>,
    model: Option<&Bound<'py, PyAny>>,
    sample_rate: Option<u32>,
    coder: &str,
    quality: Option<f64>,
    rdo: bool,
    rounding: &str,
    chunk_rows: u32,
) -> PyResult<Bound<'py, PyList>> {
    let Some((model, signals)) = batch_signals(py, &arrays, model, sample_rate)? else {
        return Ok(PyList::empty(py));
    };
    let options = encode_options(coder, quality, rdo, rounding, chunk_rows)?;
    let files: Vec<walloc::Result<Vec<u8>>> = py.detach(|| {
        signals
            .par_iter()
            .map(|s| walloc::encode(&model, s, &options))
            .collect()
    });
    let list = PyList::empty(py);
    for (i, file) in files.into_iter().enumerate() {
        let file = writing(file).map_err(|e| item_error(py, i, e))?;
        list.append(PyBytes::new(py, &file))?;
    }
    Ok(list)
}

/// The model of a batch (`model`, or the default for its first array) and
/// its arrays as signals; `None` for an empty batch.
fn batch_signals(
    py: Python<'_>,
    arrays: &[Bound<'_, PyAny>],
    model: Option<&Bound<'_, PyAny>>,
    sample_rate: Option<u32>,
) -> PyResult<Option<(Handle, Vec<Signal>)>> {
    let Some(first) = arrays.first() else {
        return Ok(None);
    };
    let model = model_of(model, || default_model(first))?;
    let signals = arrays
        .iter()
        .enumerate()
        .map(|(i, a)| signal_of(a, model.config().modality, sample_rate).map_err(|e| item_error(py, i, e)))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(Some((model, signals)))
}

/// The same exception, with the item's index in front of its message.
fn item_error(py: Python<'_>, index: usize, error: PyErr) -> PyErr {
    let message = format!("item {index}: {}", error.value(py));
    let kind = error.get_type(py);
    match kind.call1((message.clone(),)) {
        Ok(instance) => PyErr::from_value(instance),
        Err(_) => PyValueError::new_err(message),
    }
}

/// Decodes `.wal` bytes into an array: images `(H, W[, C])` uint8 (uint16
/// for 16-bit images), audio
/// `(frames[, C])` in the recording's sample type. The model is found by
/// the id in the file among the embedded ones, or is `model`.
#[pyfunction]
#[pyo3(signature = (data, model=None, *, tile=320))]
fn decode<'py>(
    py: Python<'py>,
    data: &[u8],
    model: Option<&Bound<'py, PyAny>>,
    tile: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let models = Candidates::of(model)?;
    let options = decode_options(tile);
    let signal = reading(py.detach(|| walloc::decode_with(data, models.as_slice(), &options)))?;
    array_of(py, signal)
}

/// Decodes a list of `.wal` byte strings in parallel; returns a list of
/// arrays. An item that fails raises, naming its index.
#[pyfunction]
#[pyo3(signature = (data, model=None, *, tile=320))]
fn decode_batch<'py>(
    py: Python<'py>,
    data: Vec<Vec<u8>>,
    model: Option<&Bound<'py, PyAny>>,
    tile: usize,
) -> PyResult<Bound<'py, PyList>> {
    let models = Candidates::of(model)?;
    let options = decode_options(tile);
    let signals: Vec<walloc::Result<Signal>> = py.detach(|| {
        data.par_iter()
            .map(|d| walloc::decode_with(d, models.as_slice(), &options))
            .collect()
    });
    let list = PyList::empty(py);
    for (i, signal) in signals.into_iter().enumerate() {
        let signal = reading(signal).map_err(|e| item_error(py, i, e))?;
        list.append(array_of(py, signal)?)?;
    }
    Ok(list)
}

/// The integer latent as an int8 array: `(latent_dim, H/2^J, W/2^J)` for
/// images, `(latent_dim, positions)` for audio (one block, the model's
/// channels), `(latent_dim, D/2^J, H/2^J, W/2^J)` for volumes.
fn latent_array<'py>(py: Python<'py>, model: &Model, latent: Latent) -> PyResult<Bound<'py, PyAny>> {
    let values = latent.signed_values(model.config().latent_bits);
    let shape = match model.config().modality {
        Modality::Image => vec![latent.channels, latent.height, latent.width],
        Modality::Audio => vec![latent.channels, latent.width],
        Modality::Volume => vec![
            latent.channels,
            latent.depth,
            latent.height / latent.depth.max(1),
            latent.width,
        ],
    };
    let array = ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(array.into_pyarray(py).into_any())
}

/// The integer latent of an image or a recording (as `encode` takes them):
/// what downstream models learn on.
#[pyfunction]
#[pyo3(signature = (array, model=None, *, sample_rate=None))]
fn analyze<'py>(
    py: Python<'py>,
    array: &Bound<'py, PyAny>,
    model: Option<&Bound<'py, PyAny>>,
    sample_rate: Option<u32>,
) -> PyResult<Bound<'py, PyAny>> {
    let model = model_of(model, || default_model(array))?;
    let signal = signal_of(array, model.config().modality, sample_rate)?;
    let latent = writing(py.detach(|| walloc::analyze(&model, &signal)))?;
    latent_array(py, &model, latent)
}

/// The latents of a list of arrays, in parallel.
#[pyfunction]
#[pyo3(signature = (arrays, model=None, *, sample_rate=None))]
fn analyze_batch<'py>(
    py: Python<'py>,
    arrays: Vec<Bound<'py, PyAny>>,
    model: Option<&Bound<'py, PyAny>>,
    sample_rate: Option<u32>,
) -> PyResult<Bound<'py, PyList>> {
    let Some((model, signals)) = batch_signals(py, &arrays, model, sample_rate)? else {
        return Ok(PyList::empty(py));
    };
    let latents: Vec<walloc::Result<Latent>> =
        py.detach(|| signals.par_iter().map(|s| walloc::analyze(&model, s)).collect());
    let list = PyList::empty(py);
    for (i, latent) in latents.into_iter().enumerate() {
        let latent = writing(latent).map_err(|e| item_error(py, i, e))?;
        list.append(latent_array(py, &model, latent)?)?;
    }
    Ok(list)
}

/// A signal of `shape` (`(H, W)` for images, `(frames,)` for audio,
/// `(D, H, W)` for volumes) decoded from an integer latent (as `analyze`
/// returns it). Audio comes back as float32 at the normalized level (peak
/// ±1), volumes as float32 over 0..1 (the latent does not carry the range).
#[pyfunction]
fn synthesize<'py>(
    py: Python<'py>,
    latent: &Bound<'py, PyAny>,
    model: &Bound<'py, PyAny>,
    shape: Vec<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let model = model_of(Some(model), || "")?;
    let config = model.config();
    let (samples, dims) =
        samples_of(latent).or_else(|_| latent.call_method1("astype", ("int32",)).and_then(|a| samples_of(&a)))?;
    let expected_axes = config.modality.axes() as usize + 1;
    if dims.len() != expected_axes || dims[0] != config.latent_dim as usize {
        return Err(PyValueError::new_err(format!(
            "a latent of model {} has shape ({}, ...) with {expected_axes} axes, not {dims:?}",
            config.name, config.latent_dim
        )));
    }
    let offset = 1i64 << (config.latent_bits - 1);
    let symbols = (0..samples.len())
        .map(|i| {
            let v = samples.get(i) as i64 + offset;
            u8::try_from(v)
                .ok()
                .filter(|&s| u32::from(s) < 1 << config.latent_bits)
                .ok_or_else(|| {
                    PyValueError::new_err(format!(
                        "latent value {} is outside the {}-bit range",
                        v - offset,
                        config.latent_bits
                    ))
                })
        })
        .collect::<PyResult<Vec<u8>>>()?;
    let (depth, height, width) = match dims.as_slice() {
        [_, d, h, w] => (*d, d * h, *w),
        [_, h, w] => (1, *h, *w),
        [_, w] => (1, 1, *w),
        _ => unreachable!("checked above"),
    };
    let latent = Latent {
        depth,
        channels: dims[0],
        height,
        width,
        symbols,
        step: Step::NATIVE,
    };
    let signal = writing(py.detach(|| walloc::synthesize(&model, &latent, &shape)))?;
    array_of(py, signal)
}

/// What a `.wal` file holds, from its header: model, shapes, sizes, ratios.
#[pyfunction]
fn info<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyDict>> {
    let file = reading(walloc::info::info(data, &Limits::default()))?;
    let dict = PyDict::new(py);
    dict.set_item("modality", file.modality.name())?;
    dict.set_item("model_id", file.model_id.to_string())?;
    dict.set_item("model_name", file.model_name.clone())?;
    dict.set_item("shape", file.shape.clone())?;
    dict.set_item("channels", file.channels)?;
    dict.set_item("sample_bits", file.sample_bits)?;
    dict.set_item("float_samples", file.float_samples)?;
    dict.set_item("sample_rate", file.sample_rate)?;
    dict.set_item("levels", file.levels)?;
    dict.set_item("latent_channels", file.latent_channels)?;
    dict.set_item("latent_shape", file.latent_shape.clone())?;
    dict.set_item("latent_bits", file.latent_bits)?;
    dict.set_item("coder", file.coder)?;
    dict.set_item("quality", file.step.quality())?;
    dict.set_item("step", file.step.factor())?;
    dict.set_item("chunks", file.chunks)?;
    dict.set_item("bytes", file.bytes)?;
    dict.set_item("compression_ratio", file.compression_ratio())?;
    dict.set_item("dimensionality_reduction", file.dimensionality_reduction())?;
    match file.seconds() {
        Some(seconds) => {
            dict.set_item("seconds", seconds)?;
            dict.set_item("kbps", file.bytes as f64 * 8.0 / seconds / 1000.0)?;
        }
        None => dict.set_item("bits_per_pixel", file.bits_per_position())?,
    }
    Ok(dict)
}

/// The embedded models: a list of dicts (name, modality, architecture,
/// channels, levels, latent_dim, dimensionality_reduction, description,
/// figures measured on held-out data, and `curve`: the rate (with its
/// unit: bpp, kbit/s or b/vox), PSNR, SSIM and MS-SSIM (images; else None)
/// at each `quality`, empty for a model without a measured curve).
#[pyfunction]
fn models<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    let json = py.import("json")?;
    for model in reading(walloc::models::embedded())? {
        let c = model.config();
        let dict = PyDict::new(py);
        dict.set_item("name", &c.name)?;
        dict.set_item("modality", c.modality.name())?;
        dict.set_item("architecture", c.architecture.name())?;
        dict.set_item("channels", c.channels)?;
        dict.set_item("sample_bits", c.served_sample_bits())?;
        dict.set_item("levels", c.levels)?;
        dict.set_item("latent_dim", c.latent_dim)?;
        dict.set_item("dimensionality_reduction", c.dimensionality_reduction())?;
        dict.set_item("description", &c.description)?;
        dict.set_item("id", model.id().to_string())?;
        let figures = json
            .call_method1("loads", (serde_json_text(c)?,))?
            .get_item("figures")?;
        dict.set_item("figures", figures)?;
        let curve = PyList::empty(py);
        for point in walloc::models::curve(&c.name) {
            let row = PyDict::new(py);
            row.set_item("quality", point.quality)?;
            row.set_item("rate", point.rate)?;
            row.set_item("unit", walloc::models::rate_unit(c.modality))?;
            row.set_item("psnr_db", point.psnr_db)?;
            row.set_item("ssim", point.ssim)?;
            row.set_item("ms_ssim", point.ms_ssim)?;
            curve.append(row)?;
        }
        dict.set_item("curve", curve)?;
        list.append(dict)?;
    }
    Ok(list)
}

/// Whether this build runs neural decoders (the `neural` feature).
#[pyfunction]
fn has_neural() -> bool {
    cfg!(feature = "neural")
}

/// The compiled part of the `walloc` package.
#[pymodule]
fn _walloc(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("CorruptFile", m.py().get_type::<CorruptFile>())?;
    m.add_class::<PyModel>()?;
    m.add_class::<dataset::PyConversion>()?;
    m.add_class::<dataset::PyShardJob>()?;
    m.add_function(wrap_pyfunction!(encode, m)?)?;
    m.add_function(wrap_pyfunction!(encode_batch, m)?)?;
    m.add_function(wrap_pyfunction!(decode, m)?)?;
    m.add_function(wrap_pyfunction!(decode_batch, m)?)?;
    m.add_function(wrap_pyfunction!(analyze, m)?)?;
    m.add_function(wrap_pyfunction!(analyze_batch, m)?)?;
    m.add_function(wrap_pyfunction!(synthesize, m)?)?;
    m.add_function(wrap_pyfunction!(info, m)?)?;
    m.add_function(wrap_pyfunction!(models, m)?)?;
    m.add_function(wrap_pyfunction!(has_neural, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
