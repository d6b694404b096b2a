//! JPEG 2000, the lossy codec of DICOM, as the peer of volumes and cubes:
//! OpenJPEG 2.5 through `openjp2` (its pure-Rust port, so nothing to build
//! in C), run in-process on each 2-D plane of a volume (one slice of one
//! channel, as DICOM codes CT slice by slice), irreversible 9/7 wavelet,
//! one quality layer at a target rate. The codestream goes through a
//! temporary file: the port's memory streams take C callbacks, its file
//! streams are safe Rust.

use openjp2::openjpeg::{opj_set_default_decoder_parameters, opj_set_default_encoder_parameters};
use openjp2::{
    opj_cparameters_t, opj_dparameters_t, opj_image, opj_image_comptparm, Codec, Stream, OPJ_CLRSPC_GRAY, OPJ_CODEC_J2K,
};

use super::PeerError;

/// Target bits per sample swept to trace JPEG 2000's curve.
pub const JPEG2000_RATES: [f64; 8] = [0.02, 0.04, 0.08, 0.15, 0.3, 0.6, 1.2, 2.4];

/// Resolution levels OpenJPEG uses by default; fewer for small planes
/// (each level halves the sides, which must stay at least 1).
const MAX_RESOLUTIONS: u32 = 6;

fn error(message: impl Into<String>) -> PeerError {
    PeerError::new("jpeg2000", message)
}

/// A plane of unsigned integer samples (`width × height`, row-major, each
/// below `2^precision`, precision 1..=16).
#[derive(Clone, Copy, Debug)]
pub struct Plane<'a> {
    /// The samples.
    pub samples: &'a [i32],
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// Bits per sample.
    pub precision: u32,
}

/// Codes `plane` at about `bits_per_sample` and decodes it: the codestream's
/// bytes and the decoded samples.
pub fn round_trip(plane: Plane<'_>, bits_per_sample: f64) -> Result<(usize, Vec<i32>), PeerError> {
    let Plane {
        samples,
        width,
        height,
        precision,
    } = plane;
    if samples.len() != width as usize * height as usize || !(1..=16).contains(&precision) || width == 0 || height == 0
    {
        return Err(error(format!(
            "{} samples of {precision} bits for a plane of {width}×{height}",
            samples.len()
        )));
    }
    let file = tempfile::Builder::new()
        .suffix(".j2k")
        .tempfile()
        .map_err(|e| error(format!("temporary file: {e}")))?;
    let path = file.path();
    encode(plane, bits_per_sample, path)?;
    let bytes = std::fs::metadata(path).map_err(|e| error(e.to_string()))?.len() as usize;
    let decoded = decode(path, samples.len())?;
    Ok((bytes, decoded))
}

fn encode(plane: Plane<'_>, bits_per_sample: f64, path: &std::path::Path) -> Result<(), PeerError> {
    let mut parameters = opj_cparameters_t::default();
    // SAFETY: `parameters` is a valid, exclusively borrowed struct; the
    // function only writes its fields.
    unsafe { opj_set_default_encoder_parameters(&mut parameters) };
    parameters.tcp_numlayers = 1;
    // OpenJPEG's rate is a compression ratio over the raw bits.
    parameters.tcp_rates[0] = (f64::from(plane.precision) / bits_per_sample.max(1e-3)) as f32;
    parameters.cp_disto_alloc = 1;
    parameters.irreversible = 1;
    let shortest = plane.width.min(plane.height);
    parameters.numresolution = (shortest.ilog2() + 1).min(MAX_RESOLUTIONS) as i32;
    let component = opj_image_comptparm {
        dx: 1,
        dy: 1,
        w: plane.width,
        h: plane.height,
        x0: 0,
        y0: 0,
        prec: plane.precision,
        bpp: plane.precision,
        sgnd: 0,
    };
    let mut image = opj_image::create(&[component], OPJ_CLRSPC_GRAY).ok_or_else(|| error("creating the image"))?;
    image.x1 = plane.width;
    image.y1 = plane.height;
    image
        .comps_data_mut_iter()
        .and_then(|mut planes| planes.next())
        .ok_or_else(|| error("the image has no component"))?
        .copy_from_slice(plane.samples);
    let mut codec = Codec::new_encoder(OPJ_CODEC_J2K).ok_or_else(|| error("creating the encoder"))?;
    if codec.setup_encoder(&mut parameters, &mut image) == 0 {
        return Err(error("setting up the encoder"));
    }
    let mut stream = Stream::new_file(path, 1 << 20, false).map_err(|e| error(e.to_string()))?;
    let coded = codec.start_compress(&mut image, &mut stream) != 0
        && codec.encode(&mut stream) != 0
        && codec.end_compress(&mut stream) != 0;
    if !coded {
        return Err(error("encoding"));
    }
    stream.flush().map_err(|e| error(e.to_string()))
}

fn decode(path: &std::path::Path, expected: usize) -> Result<Vec<i32>, PeerError> {
    let mut parameters = opj_dparameters_t::default();
    // SAFETY: as for the encoder's parameters.
    unsafe { opj_set_default_decoder_parameters(&mut parameters) };
    let mut codec = Codec::new_decoder(OPJ_CODEC_J2K).ok_or_else(|| error("creating the decoder"))?;
    if codec.setup_decoder(&mut parameters) == 0 {
        return Err(error("setting up the decoder"));
    }
    let mut stream = Stream::new_file(path, 1 << 20, true).map_err(|e| error(e.to_string()))?;
    let mut image = codec
        .read_header(&mut stream)
        .ok_or_else(|| error("reading the header"))?;
    if codec.decode(&mut stream, &mut image) == 0 || codec.end_decompress(&mut stream) == 0 {
        return Err(error("decoding"));
    }
    let data = image
        .comps()
        .and_then(|c| c.first())
        .and_then(|c| c.data())
        .ok_or_else(|| error("no decoded component"))?;
    if data.len() != expected {
        return Err(error(format!("decoded {} samples, not {expected}", data.len())));
    }
    Ok(data.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(width: u32, height: u32) -> Vec<i32> {
        (0..width * height)
            .map(|i| {
                let (x, y) = ((i % width) as f64, (i / width) as f64);
                (2000.0 + 1000.0 * (x / 9.0).sin() + 800.0 * (y / 7.0).cos()) as i32
            })
            .collect()
    }

    #[test]
    fn more_bits_give_a_closer_plane() {
        let (width, height) = (96, 70);
        let samples = ramp(width, height);
        let plane = Plane {
            samples: &samples,
            width,
            height,
            precision: 12,
        };
        let mse = |bits: f64| {
            let (bytes, back) = round_trip(plane, bits).unwrap();
            let error = samples
                .iter()
                .zip(&back)
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>();
            (bytes, error / samples.len() as f64)
        };
        let (small, coarse) = mse(0.05);
        let (large, fine) = mse(1.0);
        assert!(small < large, "{small} vs {large} bytes");
        // At 1 bit per sample this smooth 12-bit plane is within a level
        // (an MSE of 0.1 here), at 0.05 hundreds of levels off.
        assert!(fine < 1.0 && coarse > 1000.0, "{coarse} vs {fine}");
        // The rate follows the target within a factor of two.
        let bits = large as f64 * 8.0 / samples.len() as f64;
        assert!(bits < 2.0, "{bits} bits per sample");
        // A plane too small for the default resolutions still codes.
        let tiny = ramp(5, 3);
        let plane = Plane {
            samples: &tiny,
            width: 5,
            height: 3,
            precision: 12,
        };
        assert_eq!(round_trip(plane, 2.0).unwrap().1.len(), 15);
        assert!(round_trip(Plane { precision: 17, ..plane }, 1.0).is_err());
    }
}
