//! Parquet shards: one row per item, the latent as nested fixed-size lists
//! (`int8[K][h][w]`, a fixed-shape array that pyarrow, HF `datasets`,
//! DuckDB, Spark and Ray all read as such: HF `datasets` 5 cannot read
//! Arrow's `arrow.fixed_shape_tensor` extension) when every item has one
//! latent shape, else a flat list column beside `latent_shape`. Each shard is
//! written to a temporary file and renamed into place, and records in its
//! metadata what it skipped, so a resumed run can trust any shard it finds.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, FixedSizeListBuilder, Int32Builder, Int8Builder, ListBuilder, StringBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int8Type};
use arrow_array::{Array, ArrayRef, FixedSizeListArray, RecordBatch};
use arrow_schema::{Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::convert::{Content, Row};
use crate::error::{DatasetError, Result};

/// The key of a shard's own record in its Parquet metadata.
const SHARD_KEY: &str = "walloc.shard";

/// How the latent column is laid out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// Every latent has this shape: nested fixed-size lists.
    Fixed(Vec<u32>),
    /// Shapes vary: a list column, with `latent_shape` per row.
    Variable,
}

impl std::fmt::Display for Layout {
    /// "fixed [4, 7, 7]" or "variable".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Layout::Fixed(shape) => write!(f, "fixed {shape:?}"),
            Layout::Variable => f.write_str("variable"),
        }
    }
}

/// An item a shard left out, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The item's name.
    pub path: String,
    /// The error.
    pub error: String,
}

/// What a shard records about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// Items planned into the shard.
    pub items: usize,
    /// Rows written.
    pub rows: usize,
    /// Items left out.
    pub skipped: Vec<Skipped>,
}

fn u32s(values: &[u32]) -> Vec<Option<i32>> {
    values.iter().map(|&v| Some(v as i32)).collect()
}

/// The record batch of `rows`.
fn batch(rows: &[Row], content: Content, layout: &Layout, latent_axes: i32) -> Result<RecordBatch> {
    let mut name = StringBuilder::new();
    let mut label = Int32Builder::new();
    let mut class = StringBuilder::new();
    let mut shape = ListBuilder::new(Int32Builder::new());
    let mut latent_shape = FixedSizeListBuilder::new(Int32Builder::new(), latent_axes);
    for row in rows {
        name.append_value(&row.name);
        label.append_option(row.label);
        class.append_option(row.class.as_deref());
        shape.append_value(u32s(&row.shape));
        for &v in &row.latent_shape {
            latent_shape.values().append_value(v as i32);
        }
        latent_shape.append(true);
    }
    let mut columns: Vec<(&str, ArrayRef)> = vec![
        ("name", Arc::new(name.finish())),
        ("label", Arc::new(label.finish())),
        ("class", Arc::new(class.finish())),
        ("shape", Arc::new(shape.finish())),
        ("latent_shape", Arc::new(latent_shape.finish())),
    ];
    match (content, layout) {
        (Content::Coded, _) => {
            let mut wal = BinaryBuilder::new();
            for row in rows {
                wal.append_option(row.wal.as_deref());
            }
            columns.push(("wal", Arc::new(wal.finish())));
        }
        (Content::Latent, Layout::Fixed(shape)) => {
            let mut values = Int8Builder::new();
            for row in rows {
                values.append_slice(&row.latent);
            }
            let mut latent: ArrayRef = Arc::new(values.finish());
            for &side in shape.iter().rev() {
                let field = Arc::new(Field::new_list_field(latent.data_type().clone(), true));
                latent = Arc::new(
                    FixedSizeListArray::try_new(field, side as i32, latent, None)
                        .map_err(|e| DatasetError::Invalid(format!("a latent column of shape {shape:?}: {e}")))?,
                );
            }
            columns.push(("latent", latent));
        }
        (Content::Latent, Layout::Variable) => {
            let mut latent = ListBuilder::new(Int8Builder::new());
            for row in rows {
                latent.values().append_slice(&row.latent);
                latent.append(true);
            }
            columns.push(("latent", Arc::new(latent.finish())));
        }
    }
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| {
            let nullable = matches!(*name, "label" | "class");
            Field::new(*name, array.data_type().clone(), nullable)
        })
        .collect();
    let arrays = columns.into_iter().map(|(_, a)| a).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| DatasetError::Invalid(format!("a batch of rows: {e}")))
}

/// Writes `rows` as the shard at `path` (atomically), with its record.
pub fn write(
    path: &Path,
    rows: &[Row],
    content: Content,
    layout: &Layout,
    latent_axes: i32,
    record: &ShardRecord,
) -> Result<u64> {
    for row in rows {
        let expected = match layout {
            Layout::Fixed(shape) => shape.len(),
            Layout::Variable => latent_axes as usize,
        };
        if row.latent_shape.len() != expected || matches!(layout, Layout::Fixed(s) if *s != row.latent_shape) {
            return Err(DatasetError::Item {
                path: row.name.clone(),
                message: format!(
                    "latent shape {:?} differs from the dataset's {layout:?}",
                    row.latent_shape
                ),
            });
        }
    }
    let batch = batch(rows, content, layout, latent_axes)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| DatasetError::io("creating a file in", dir, e))?;
    let json = serde_json::to_string(record).map_err(|e| DatasetError::shard(path, e))?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(6).map_err(|e| DatasetError::shard(path, e))?,
        ))
        .set_key_value_metadata(Some(vec![KeyValue::new(SHARD_KEY.to_string(), json)]))
        .build();
    let mut writer = ArrowWriter::try_new(tmp.as_file_mut(), batch.schema(), Some(properties))
        .map_err(|e| DatasetError::shard(path, e))?;
    writer.write(&batch).map_err(|e| DatasetError::shard(path, e))?;
    writer.close().map_err(|e| DatasetError::shard(path, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| DatasetError::io("writing", path, e))?;
    let bytes = tmp
        .as_file()
        .metadata()
        .map_err(|e| DatasetError::io("writing", path, e))?
        .len();
    tmp.persist(path)
        .map_err(|e| DatasetError::io("writing", path, e.error))?;
    Ok(bytes)
}

/// The record a finished shard keeps in its metadata.
pub fn record(path: &Path) -> Result<ShardRecord> {
    let file = File::open(path).map_err(|e| DatasetError::io("opening", path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| DatasetError::shard(path, e))?;
    let text = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == SHARD_KEY))
        .and_then(|k| k.value.clone())
        .ok_or_else(|| DatasetError::shard(path, "no walloc record: not a walloc shard"))?;
    serde_json::from_str(&text).map_err(|e| DatasetError::shard(path, e))
}

/// The rows of a shard (latents as written; `wal` bytes for coded ones).
pub fn read(path: &Path) -> Result<Vec<Row>> {
    let bad = |what: &str| DatasetError::shard(path, format!("column {what} is missing or of another type"));
    let file = File::open(path).map_err(|e| DatasetError::io("opening", path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| DatasetError::shard(path, e))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| DatasetError::shard(path, e))?;
        let column = |name: &str| batch.column_by_name(name).ok_or_else(|| bad(name));
        let names = column("name")?.as_string_opt::<i32>().ok_or_else(|| bad("name"))?;
        let labels = column("label")?
            .as_primitive_opt::<Int32Type>()
            .ok_or_else(|| bad("label"))?;
        let classes = column("class")?.as_string_opt::<i32>().ok_or_else(|| bad("class"))?;
        let shapes = column("shape")?.as_list_opt::<i32>().ok_or_else(|| bad("shape"))?;
        let latent_shapes = column("latent_shape")?
            .as_fixed_size_list_opt()
            .ok_or_else(|| bad("latent_shape"))?;
        let int32s = |array: ArrayRef, what: &str| -> Result<Vec<u32>> {
            let values = array.as_primitive_opt::<Int32Type>().ok_or_else(|| bad(what))?;
            Ok(values.values().iter().map(|&v| v.max(0) as u32).collect())
        };
        let latent = batch.column_by_name("latent");
        let wal = batch
            .column_by_name("wal")
            .and_then(|c| c.as_binary_opt::<i32>().cloned());
        for i in 0..batch.num_rows() {
            let values = match latent {
                Some(column) => {
                    let mut item = match column.as_fixed_size_list_opt() {
                        Some(fixed) => fixed.value(i),
                        None => column.as_list_opt::<i32>().ok_or_else(|| bad("latent"))?.value(i),
                    };
                    while let Some(nested) = item.as_fixed_size_list_opt() {
                        item = nested.values().clone();
                    }
                    item.as_primitive_opt::<Int8Type>()
                        .ok_or_else(|| bad("latent"))?
                        .values()
                        .to_vec()
                }
                None => Vec::new(),
            };
            rows.push(Row {
                name: names.value(i).to_string(),
                label: labels.is_valid(i).then(|| labels.value(i)),
                class: classes.is_valid(i).then(|| classes.value(i).to_string()),
                shape: int32s(shapes.value(i), "shape")?,
                latent_shape: int32s(latent_shapes.value(i), "latent_shape")?,
                latent: values,
                wal: wal.as_ref().map(|w| w.value(i).to_vec()),
            });
        }
    }
    Ok(rows)
}
