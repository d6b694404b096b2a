//! What to convert: the files of a source folder with their class labels
//! (ImageFolder's convention, or a CSV/JSONL of `path,label`), divided
//! into splits (existing split folders, or ratios by a stable hash).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{DatasetError, Result};

/// One input file and its label.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Item {
    /// Where it is.
    pub path: PathBuf,
    /// Its path relative to the source folder, `/`-separated: how the
    /// dataset names it.
    pub name: String,
    /// Its class, if labelled.
    pub class: Option<String>,
}

/// How items are divided into splits.
#[derive(Clone, Debug, PartialEq)]
pub enum SplitRule {
    /// One split, `train`.
    Single,
    /// The source's top folders are the splits (`train/`, `test/`, …),
    /// with the classes below them.
    Folders,
    /// Named shares (normalized to sum to 1); each item goes to a split by
    /// a hash of its name, so the division is the same on every run and
    /// machine.
    Ratios(Vec<(String, f64)>),
}

impl FromStr for SplitRule {
    type Err = DatasetError;

    /// `folders`, or ratios such as `train=0.9,test=0.1`.
    fn from_str(text: &str) -> Result<Self> {
        if text == "folders" {
            return Ok(SplitRule::Folders);
        }
        let bad = || {
            DatasetError::Invalid(format!(
                "--split {text:?}: give `folders` or ratios like train=0.9,test=0.1"
            ))
        };
        let mut ratios = Vec::new();
        for part in text.split(',') {
            let (name, share) = part.split_once('=').ok_or_else(bad)?;
            let share: f64 = share.trim().parse().map_err(|_| bad())?;
            let name = name.trim();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(bad());
            }
            if !(share.is_finite() && share > 0.0) || ratios.iter().any(|(n, _)| n == name) {
                return Err(bad());
            }
            ratios.push((name.to_string(), share));
        }
        let total: f64 = ratios.iter().map(|(_, s)| s).sum();
        Ok(SplitRule::Ratios(
            ratios.into_iter().map(|(n, s)| (n, s / total)).collect(),
        ))
    }
}

/// The items of every split, and the classes (sorted; a label is a
/// class's index).
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Split names with their items, sorted by name.
    pub splits: Vec<(String, Vec<Item>)>,
    /// Every class, sorted.
    pub classes: Vec<String>,
}

impl Plan {
    /// A class's label.
    pub fn label(&self, class: &str) -> Option<i32> {
        self.classes
            .binary_search_by(|c| c.as_str().cmp(class))
            .ok()
            .map(|i| i as i32)
    }

    /// Items in every split.
    pub fn items(&self) -> usize {
        self.splits.iter().map(|(_, items)| items.len()).sum()
    }
}

/// The regular, visible files under `dir` as items named relative to
/// `root`, labelled by their first folder below `dir` (none for files
/// directly in it).
fn walk(root: &Path, dir: &Path) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(true).sort_by_file_name() {
        let entry = entry.map_err(|e| DatasetError::Invalid(format!("walking {}: {e}", dir.display())))?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !entry.file_type().is_file() || hidden {
            continue;
        }
        let below = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let class = (below.components().count() > 1)
            .then(|| {
                below
                    .components()
                    .next()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
            })
            .flatten();
        items.push(Item {
            name: relative_name(root, entry.path()),
            path: entry.path().to_path_buf(),
            class,
        });
    }
    Ok(items)
}

fn relative_name(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The items a label file lists: CSV lines `path,label` (an optional
/// `path,label` header) or JSONL objects `{"path": …, "label": …}`, with
/// paths relative to `root`.
fn listed(root: &Path, labels: &Path) -> Result<Vec<Item>> {
    let text = std::fs::read_to_string(labels).map_err(|e| DatasetError::io("reading", labels, e))?;
    let jsonl = labels.extension().is_some_and(|e| e.eq_ignore_ascii_case("jsonl"));
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        let bad = |message: String| DatasetError::Labels {
            path: labels.display().to_string(),
            line: i + 1,
            message,
        };
        if line.is_empty() || (i == 0 && !jsonl && line.eq_ignore_ascii_case("path,label")) {
            continue;
        }
        let (path, label) = if jsonl {
            let value: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
            let path = value["path"].as_str().ok_or_else(|| bad("no \"path\" string".into()))?;
            let label = match &value["label"] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => return Err(bad("no \"label\" string or number".into())),
            };
            (path.to_string(), label)
        } else {
            let (path, label) = line.rsplit_once(',').ok_or_else(|| bad("expected path,label".into()))?;
            (path.trim().to_string(), label.trim().to_string())
        };
        if path.is_empty() || label.is_empty() || Path::new(&path).is_absolute() || path.split('/').any(|p| p == "..") {
            return Err(bad(format!(
                "{path:?}: a path inside the source folder and a label are needed"
            )));
        }
        items.push(Item {
            path: root.join(&path),
            name: path,
            class: Some(label),
        });
    }
    items.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(items)
}

/// A stable fraction in [0, 1) for a name (FNV-1a, 64 bits, then
/// MurmurHash3's finalizer so that names differing in one character spread
/// over the whole range): the same on every run and machine, so splits by
/// ratio never move an item. Part of the dataset format: do not change.
fn fraction(name: &str) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^= hash >> 33;
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// Plans a dataset of the files under `source`, labelled by their folders
/// or by `labels`, divided by `rule`.
pub fn plan(source: &Path, labels: Option<&Path>, rule: &SplitRule) -> Result<Plan> {
    if !source.is_dir() {
        return Err(DatasetError::Invalid(format!("{} is not a folder", source.display())));
    }
    let mut splits: Vec<(String, Vec<Item>)> = match rule {
        SplitRule::Folders => {
            if labels.is_some() {
                return Err(DatasetError::Invalid(
                    "split folders hold their classes: --labels needs --split ratios or none".into(),
                ));
            }
            let mut splits = Vec::new();
            for entry in std::fs::read_dir(source).map_err(|e| DatasetError::io("reading", source, e))? {
                let path = entry.map_err(|e| DatasetError::io("reading", source, e))?.path();
                if path.is_dir() {
                    let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
                    splits.push((name, walk(source, &path)?));
                }
            }
            splits.sort_by(|a, b| a.0.cmp(&b.0));
            splits
        }
        _ => {
            let items = match labels {
                Some(labels) => listed(source, labels)?,
                None => walk(source, source)?,
            };
            match rule {
                SplitRule::Ratios(ratios) => {
                    let mut splits: Vec<(String, Vec<Item>)> =
                        ratios.iter().map(|(name, _)| (name.clone(), Vec::new())).collect();
                    for item in items {
                        let x = fraction(&item.name);
                        let mut edge = 0.0;
                        let index = ratios
                            .iter()
                            .position(|(_, share)| {
                                edge += share;
                                x < edge
                            })
                            .unwrap_or(ratios.len() - 1);
                        splits[index].1.push(item);
                    }
                    splits
                }
                _ => vec![("train".to_string(), items)],
            }
        }
    };
    splits.retain(|(_, items)| !items.is_empty());
    if splits.is_empty() {
        return Err(DatasetError::Invalid(format!("no files in {}", source.display())));
    }
    let classes: BTreeSet<String> = splits
        .iter()
        .flat_map(|(_, items)| items.iter().filter_map(|i| i.class.clone()))
        .collect();
    Ok(Plan {
        splits,
        classes: classes.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::fraction;

    #[test]
    fn fractions_of_similar_names_spread_evenly() {
        let names: Vec<String> = (0..4000).map(|i| format!("class/{i}.png")).collect();
        let below = names.iter().filter(|n| fraction(n) < 0.25).count();
        assert!((900..1100).contains(&below), "{below} of 4000 below 0.25");
        assert_eq!(fraction("a/0.png"), fraction("a/0.png"));
    }
}
