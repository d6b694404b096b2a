//! zfp, the 3-D scientific compressor, as a peer of volumes and cubes:
//! `zfp-rs`, a pure-Rust implementation bit-compatible with LLNL's C
//! library, in fixed-accuracy mode (an absolute error tolerance) on each
//! channel's whole volume as one 3-D field of 32-bit floats.

use zfp_rs::{ZfpBitStream, ZfpConfig, ZfpField, ZfpFieldMut, ZfpScalarType};

use super::PeerError;

/// Error tolerances swept, as fractions of the data's range.
pub const ZFP_TOLERANCES: [f64; 8] = [16.0, 8.0, 4.0, 2.0, 1.0, 0.5, 0.1, 0.01];

fn error(message: impl std::fmt::Display) -> PeerError {
    PeerError::new("zfp", message.to_string())
}

/// Compresses a 3-D field of `dims` = `[nx, ny, nz]` (x fastest) with an
/// absolute error `tolerance` and decompresses it: the stream's bytes and
/// the decoded values.
pub fn round_trip(data: &[f32], dims: [usize; 3], tolerance: f64) -> Result<(usize, Vec<f32>), PeerError> {
    if data.len() != dims.iter().product::<usize>() {
        return Err(error(format!("{} values for a field of {dims:?}", data.len())));
    }
    let config = ZfpConfig::fixed_accuracy(tolerance);
    let field = ZfpField::new(data, dims).map_err(error)?;
    let capacity = config
        .maximum_size(ZfpScalarType::F32, field.dims())
        .ok_or_else(|| error(format!("no stream size for a field of {dims:?}")))?;
    let mut stream = ZfpBitStream::new(capacity).map_err(error)?;
    let bytes = stream.compress(&config, &field).map_err(error)?;
    stream.rewind();
    let mut decoded = vec![0f32; data.len()];
    let mut out = ZfpFieldMut::new(&mut decoded, dims).map_err(error)?;
    stream.decompress(&config, &mut out).map_err(error)?;
    Ok((bytes, decoded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_stay_within_the_tolerance_and_cost_more_bits_when_tighter() {
        let dims = [30, 22, 9];
        let data: Vec<f32> = (0..30 * 22 * 9)
            .map(|i| {
                let (x, y, z) = ((i % 30) as f32, (i / 30 % 22) as f32, (i / 660) as f32);
                1000.0 * (x / 7.0).sin() * (y / 5.0).cos() + 40.0 * z
            })
            .collect();
        let mut previous = 0;
        for tolerance in [10.0, 1.0, 0.1] {
            let (bytes, back) = round_trip(&data, dims, tolerance).unwrap();
            let worst = data.iter().zip(&back).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(f64::from(worst) <= tolerance, "{worst} > {tolerance}");
            assert!(bytes > previous, "{bytes} bytes at {tolerance}");
            previous = bytes;
        }
        assert!(round_trip(&data[1..], dims, 1.0).is_err());
    }
}
