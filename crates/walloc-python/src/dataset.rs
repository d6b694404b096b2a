//! `walloc.Conversion` and `walloc.ShardJob`: the dataset conversion of
//! `walloc dataset` (the walloc-dataset crate) split into shard jobs, so
//! that Python runs them here or on a distributed engine (Dask, Ray) and
//! gets the same shards as the CLI.

use std::path::PathBuf;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use walloc_dataset::{Content, Conversion, DatasetError, Options, ShardJob, SplitRule};

use crate::{model_of, Handle};

fn dataset_error(error: DatasetError) -> PyErr {
    match error {
        DatasetError::Io { .. } => PyOSError::new_err(error.to_string()),
        other => PyValueError::new_err(other.to_string()),
    }
}

/// A dataset being built in a folder: planned, the folder claimed, the
/// latent layout settled. Run each of `shards()` (anywhere that sees the
/// source and output folders), then `finish()`.
#[pyclass(frozen, name = "Conversion", module = "walloc")]
pub struct PyConversion {
    conversion: Conversion,
}

#[pymethods]
impl PyConversion {
    /// Plans the dataset of the files under `source` (labelled by their
    /// folders, or by the CSV/JSONL file `labels`; `split` is `"folders"`
    /// or ratios like `"train=0.9,test=0.1"`) with `model`, in `out`.
    #[new]
    #[pyo3(signature = (source, model, out, *, labels=None, split=None, coded=false, shard_size=4096, strict=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        source: PathBuf,
        model: &Bound<'_, PyAny>,
        out: PathBuf,
        labels: Option<PathBuf>,
        split: Option<&str>,
        coded: bool,
        shard_size: usize,
        strict: bool,
    ) -> PyResult<Self> {
        let handle: Handle = model_of(Some(model), || "")?;
        let rule = match split {
            Some(text) => text.parse::<SplitRule>().map_err(dataset_error)?,
            None => SplitRule::Single,
        };
        let content = if coded { Content::Coded } else { Content::Latent };
        let options = Options::default()
            .with_content(content)
            .with_shard_size(shard_size)
            .with_strict(strict);
        let conversion = py
            .detach(|| {
                let plan = walloc_dataset::plan(&source, labels.as_deref(), &rule)?;
                Conversion::new(&handle, &plan, &out, &options)
            })
            .map_err(dataset_error)?;
        Ok(PyConversion { conversion })
    }

    /// The shard jobs, in order.
    fn shards(&self) -> Vec<PyShardJob> {
        self.conversion
            .shards()
            .into_iter()
            .map(|job| PyShardJob { job })
            .collect()
    }

    /// Writes `manifest.json` once every shard is written (`written` of
    /// them by this run) and returns the manifest as a JSON string.
    #[pyo3(signature = (written=0))]
    fn finish(&self, py: Python<'_>, written: usize) -> PyResult<String> {
        let summary = py.detach(|| self.conversion.finish(written)).map_err(dataset_error)?;
        serde_json::to_string(&summary.manifest).map_err(|e| PyValueError::new_err(e.to_string()))
    }
}

/// One Parquet shard to write. It pickles (as JSON), so an engine can send
/// it to a worker.
#[pyclass(frozen, name = "ShardJob", module = "walloc")]
pub struct PyShardJob {
    job: ShardJob,
}

#[pymethods]
impl PyShardJob {
    /// A job from its JSON (what pickling stores).
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        let job = serde_json::from_str(text).map_err(|e| PyValueError::new_err(format!("not a shard job: {e}")))?;
        Ok(PyShardJob { job })
    }

    /// The job as JSON.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.job).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// The shard's file in the dataset folder, `SPLIT/part-NNNNN.parquet`.
    #[getter]
    fn file(&self) -> String {
        self.job.file.clone()
    }

    /// Items in the shard.
    fn __len__(&self) -> usize {
        self.job.items.len()
    }

    /// Converts the items (in parallel, the GIL released) and writes the
    /// shard in `out`, unless a finished one is there: `True` when written.
    fn run(&self, py: Python<'_>, model: &Bound<'_, PyAny>, out: PathBuf) -> PyResult<bool> {
        let handle: Handle = model_of(Some(model), || "")?;
        py.detach(|| self.job.run(&handle, &out, &|_| {}))
            .map_err(dataset_error)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let from_json = slf.get_type().getattr("from_json")?;
        Ok((from_json, (slf.get().to_json()?,)))
    }

    fn __repr__(&self) -> String {
        format!("ShardJob({:?}: {} items)", self.job.file, self.job.items.len())
    }
}
