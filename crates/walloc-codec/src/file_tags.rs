//! Tags a volume file carries for its source format, as they are: a
//! spectral cube's GeoTIFF georeferencing (pixel scale, tie points, geo
//! keys) and its no-data value, so that a decoded cube lies where the
//! original does on a map. The codec neither reads nor changes them; it
//! bounds and checks their encoding. Layout: docs/FORMAT.md, "Volumes".

use crate::error::{invalid, Result};

/// Tags in one file, at most.
pub const MAX_TAGS: usize = 32;

/// Bytes of all tags' encoding together, at most.
pub const MAX_TAG_BYTES: usize = 60_000;

/// One tag: a numeric code (TIFF's, for a cube's tags) and its values.
#[derive(Clone, Debug, PartialEq)]
pub struct FileTag {
    /// The tag's code (for GeoTIFF: 33550 pixel scale, 33922 tie points,
    /// 34264 transformation, 34735–34737 geo keys, 42113 no-data).
    pub code: u16,
    /// Its values.
    pub value: TagValue,
}

/// A tag's values, in the types TIFF stores georeferencing in.
#[derive(Clone, Debug, PartialEq)]
pub enum TagValue {
    /// Text (TIFF type 2), without the final NUL.
    Ascii(String),
    /// 16-bit unsigned integers (TIFF type 3).
    Shorts(Vec<u16>),
    /// 32-bit unsigned integers (TIFF type 4).
    Longs(Vec<u32>),
    /// 64-bit floats (TIFF type 12).
    Doubles(Vec<f64>),
}

impl TagValue {
    /// The TIFF type code: 2, 3, 4 or 12.
    fn kind(&self) -> u8 {
        match self {
            TagValue::Ascii(_) => 2,
            TagValue::Shorts(_) => 3,
            TagValue::Longs(_) => 4,
            TagValue::Doubles(_) => 12,
        }
    }

    /// Values (bytes of text).
    fn count(&self) -> usize {
        match self {
            TagValue::Ascii(text) => text.len(),
            TagValue::Shorts(v) => v.len(),
            TagValue::Longs(v) => v.len(),
            TagValue::Doubles(v) => v.len(),
        }
    }

    fn push_values(&self, out: &mut Vec<u8>) {
        match self {
            TagValue::Ascii(text) => out.extend_from_slice(text.as_bytes()),
            TagValue::Shorts(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TagValue::Longs(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TagValue::Doubles(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        }
    }
}

/// Bytes per value of a TIFF type code this format stores.
fn value_size(kind: u8) -> Option<usize> {
    match kind {
        2 => Some(1),
        3 => Some(2),
        4 => Some(4),
        12 => Some(8),
        _ => None,
    }
}

/// Checks `tags` against the limits: at most [`MAX_TAGS`], at most
/// [`MAX_TAG_BYTES`] encoded.
pub fn check(tags: &[FileTag]) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(invalid("tags", format!("{} (at most {MAX_TAGS})", tags.len())));
    }
    let bytes = encoded_len(tags);
    if bytes > MAX_TAG_BYTES {
        return Err(invalid("tags", format!("{bytes} bytes (at most {MAX_TAG_BYTES})")));
    }
    Ok(())
}

fn encoded_len(tags: &[FileTag]) -> usize {
    2 + tags
        .iter()
        .map(|t| 7 + t.value.count() * value_size(t.value.kind()).unwrap_or(0))
        .sum::<usize>()
}

/// The tags' encoding: a `u16` count, then for each tag its code (`u16`),
/// TIFF type (`u8`), value count (`u32`) and values, little endian. No
/// tags encode to nothing.
pub fn encode(tags: &[FileTag]) -> Vec<u8> {
    if tags.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(encoded_len(tags));
    out.extend_from_slice(&(tags.len() as u16).to_le_bytes());
    for tag in tags {
        out.extend_from_slice(&tag.code.to_le_bytes());
        out.push(tag.value.kind());
        out.extend_from_slice(&(tag.value.count() as u32).to_le_bytes());
        tag.value.push_values(&mut out);
    }
    out
}

/// Parses [`encode`]'s bytes, checking every count against what is left
/// and the limits before reading it.
pub fn parse(bytes: &[u8]) -> Result<Vec<FileTag>> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    if bytes.len() > MAX_TAG_BYTES {
        return Err(invalid(
            "tags",
            format!("{} bytes (at most {MAX_TAG_BYTES})", bytes.len()),
        ));
    }
    let short = || invalid("tags", "shorter than their counts say");
    let count = usize::from(u16::from_le_bytes(
        bytes.get(..2).ok_or_else(short)?.try_into().expect("2"),
    ));
    if count == 0 || count > MAX_TAGS {
        return Err(invalid("tags", format!("count {count} (1..={MAX_TAGS})")));
    }
    let mut at = 2;
    let mut tags = Vec::with_capacity(count);
    for _ in 0..count {
        let head = bytes.get(at..at + 7).ok_or_else(short)?;
        let code = u16::from_le_bytes([head[0], head[1]]);
        let kind = head[2];
        let n = u32::from_le_bytes([head[3], head[4], head[5], head[6]]) as usize;
        let size =
            value_size(kind).ok_or_else(|| invalid("tag type", format!("{kind} of tag {code} (2, 3, 4 or 12)")))?;
        at += 7;
        let data = bytes
            .get(at..at + n.checked_mul(size).ok_or_else(short)?)
            .ok_or_else(short)?;
        at += data.len();
        let words = |width: usize| data.chunks_exact(width);
        let value = match kind {
            2 => TagValue::Ascii(
                String::from_utf8(data.to_vec())
                    .map_err(|_| invalid("tag text", format!("tag {code} is not UTF-8")))?,
            ),
            3 => TagValue::Shorts(words(2).map(|w| u16::from_le_bytes([w[0], w[1]])).collect()),
            4 => TagValue::Longs(words(4).map(|w| u32::from_le_bytes(w.try_into().expect("4"))).collect()),
            _ => TagValue::Doubles(words(8).map(|w| f64::from_le_bytes(w.try_into().expect("8"))).collect()),
        };
        tags.push(FileTag { code, value });
    }
    if at != bytes.len() {
        return Err(invalid(
            "tags",
            format!("{} bytes after the last tag", bytes.len() - at),
        ));
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geo() -> Vec<FileTag> {
        vec![
            FileTag {
                code: 33550,
                value: TagValue::Doubles(vec![28.5, 28.5, 0.0]),
            },
            FileTag {
                code: 34735,
                value: TagValue::Shorts(vec![1, 1, 0, 7, 1024]),
            },
            FileTag {
                code: 34737,
                value: TagValue::Ascii("SIRGAS 2000 / UTM zone 25S|".into()),
            },
            FileTag {
                code: 700,
                value: TagValue::Longs(vec![7, u32::MAX]),
            },
        ]
    }

    #[test]
    fn tags_round_trip_and_none_cost_nothing() {
        let tags = geo();
        check(&tags).unwrap();
        let bytes = encode(&tags);
        assert_eq!(bytes.len(), 2 + 4 * 7 + 24 + 10 + 27 + 8);
        assert_eq!(parse(&bytes).unwrap(), tags);
        assert!(encode(&[]).is_empty());
        assert_eq!(parse(&[]).unwrap(), vec![]);
    }

    #[test]
    fn damaged_tags_are_named_not_read_past() {
        let bytes = encode(&geo());
        for cut in 1..bytes.len() {
            assert!(parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(parse(&longer).unwrap_err().to_string().contains("after the last tag"));
        let mut huge = bytes.clone();
        huge[5..9].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse(&huge).is_err());
        let mut kind = bytes;
        kind[4] = 5;
        assert!(parse(&kind).unwrap_err().to_string().contains("tag type"));
        let many: Vec<FileTag> = (0..=MAX_TAGS as u16)
            .map(|code| FileTag {
                code,
                value: TagValue::Shorts(vec![1]),
            })
            .collect();
        assert!(check(&many).is_err());
    }
}
