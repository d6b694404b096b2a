//! Volumes: fitting on bricks, slab coding of odd shapes in every sample
//! type, geometry kept, damage kept local, hostile headers refused.

use walloc_codec::fit::{fit_linear_volume, FitOptions, PieceSampler};
use walloc_codec::registry::Registry;
use walloc_codec::volume::{self, data_range, Geometry, VolumeEncoder, VolumeSpec};
use walloc_codec::{CodecError, Limits, Model, SampleType, Samples, ValueRange};

/// A smooth CT-like field in HU: a bright ellipsoid shell in soft tissue.
fn field(z: usize, y: usize, x: usize) -> f64 {
    let (fz, fy, fx) = (z as f64 / 9.0, y as f64 / 7.0, x as f64 / 8.0);
    let r = ((fz - 2.0).powi(2) + (fy - 1.5).powi(2) + (fx - 1.6).powi(2)).sqrt();
    let shell = (-(r - 1.2).powi(2) * 8.0).exp();
    -300.0 + 1200.0 * shell + 80.0 * (fx * 1.3).sin() * (fy * 0.9).cos() + 40.0 * (fz * 0.7).sin()
}

fn volume(shape: [usize; 3]) -> Vec<f64> {
    let [d, h, w] = shape;
    (0..d * h * w).map(|i| field(i / (h * w), i / w % h, i % w)).collect()
}

fn model() -> Model {
    let shape = [40, 40, 40];
    let values = volume(shape);
    let (min, max) = (-400.0, 1100.0);
    let planar: Vec<f32> = values.iter().map(|&v| ((v - min) / (max - min) - 0.5) as f32).collect();
    let bricks = PieceSampler::new(5).bricks(&planar, 1, shape, 20, 40);
    let options = FitOptions {
        name: "test-volume".into(),
        description: String::new(),
        channels: 1,
        levels: 2,
        latent_dim: 8,
        latent_bits: 8,
        wavelet: "bior4.4".into(),
        step_scale: 1.0,
        provenance: serde_json::Value::Null,
    };
    fit_linear_volume(&bricks, 20, &options).unwrap()
}

fn encode(model: &Model, samples: Samples, spec: &VolumeSpec, slices_per_push: usize) -> Vec<u8> {
    let encoder = Registry::core().encoder(model).unwrap();
    let mut coder = VolumeEncoder::new(encoder, model, spec).unwrap();
    let slice = coder.header().slice_len();
    let mut rest = samples;
    while !rest.is_empty() {
        let tail = rest.split_off((slices_per_push * slice).min(rest.len()));
        coder.push_slices(rest).unwrap();
        rest = tail;
    }
    coder.finish().unwrap()
}

fn decode(model: &Model, file: &[u8]) -> (volume::VolumeHeader, Samples) {
    let (header, chunks) = volume::parse(file, &Limits::default()).unwrap();
    let decoder = Registry::core().decoder(model, &Default::default()).unwrap();
    let mut out = Samples::empty(header.sample_type);
    for (i, chunk) in chunks.iter().enumerate() {
        out.append(volume::decode_slab(decoder.as_ref(), model, &header, i as u32, chunk).unwrap());
    }
    (header, out)
}

fn psnr(a: &Samples, b: &Samples, peak: f64) -> f64 {
    let mse = (0..a.len()).map(|i| (a.get(i) - b.get(i)).powi(2)).sum::<f64>() / a.len() as f64;
    10.0 * (peak * peak / mse).log10()
}

#[test]
fn odd_volumes_round_trip_in_their_type_with_their_geometry() {
    let model = model();
    assert_eq!(model.config().dimensionality_reduction(), 8.0);
    let shape = [37usize, 21, 26];
    let values = volume(shape);
    let geometry = Geometry {
        pixdim: [-1.0, 0.49, 0.49, 1.25, 1.0, 0.0, 0.0, 0.0],
        quatern: [0.0, 1.0, 0.0, -90.0, 110.5, -33.25],
        srow: [
            [-0.49, 0.0, 0.0, 90.0],
            [0.0, 0.49, 0.0, -110.5],
            [0.0, 0.0, 1.25, -33.25],
        ],
        scaling: [1.0, -1024.0],
        qform_code: 1,
        sform_code: 2,
        xyzt_units: 10,
    };
    let shape32 = shape.map(|v| v as u32);
    for sample_type in [SampleType::I16, SampleType::U16, SampleType::F32, SampleType::U8] {
        let samples = match sample_type {
            SampleType::U8 => Samples::from_f32(sample_type, values.iter().map(|&v| ((v + 400.0) / 6.0) as f32)),
            SampleType::U16 => Samples::from_f32(sample_type, values.iter().map(|&v| (v + 1024.0) as f32)),
            _ => Samples::from_f32(sample_type, values.iter().map(|&v| v as f32)),
        };
        let range = data_range(&samples);
        let mut spec = VolumeSpec::new(shape32, 1, sample_type, range);
        spec.geometry = geometry;
        spec.slab_depth = 14; // rounded up to 16: slabs of 16, 16 and 5 slices
        let file = encode(&model, samples.clone(), &spec, 5);
        // Pushing all slices at once gives the same bytes.
        assert_eq!(file, encode(&model, samples.clone(), &spec, shape[0]));
        let (header, back) = decode(&model, &file);
        assert_eq!((header.shape, header.slab_depth, header.slabs()), (shape32, 16, 3));
        assert_eq!((header.geometry, header.range), (geometry, range));
        assert_eq!(back.sample_type(), sample_type);
        assert_eq!(back.len(), samples.len());
        let peak = range.max - range.min;
        let quality = psnr(&samples, &back, peak);
        // Thin slabs cost quality at their edges (this field: 28.5 dB in one
        // slab, 24.4 dB in slabs of 16); a wrong voxel order gives < 10 dB.
        assert!(quality > 22.0, "{sample_type:?}: {quality:.2} dB");
        let bits = file.len() as f64 * 8.0 / samples.len() as f64;
        assert!(bits < 2.0, "{sample_type:?}: {bits:.3} bits per voxel");
    }
}

#[test]
fn a_damaged_slab_stays_local_and_hostile_headers_are_refused() {
    let model = model();
    let shape = [24u32, 16, 16];
    let values = volume([24, 16, 16]);
    let samples = Samples::from_f32(SampleType::I16, values.iter().map(|&v| v as f32));
    let mut spec = VolumeSpec::new(shape, 1, SampleType::I16, data_range(&samples));
    spec.slab_depth = 8;
    let file = encode(&model, samples, &spec, 24);
    let (header, chunks) = volume::parse(&file, &Limits::default()).unwrap();
    assert_eq!(chunks.len(), 3);

    // A flipped byte in the middle slab's payload: the file no longer
    // parses (every chunk has a CRC), and the error names the chunk.
    let at = chunks[1].as_ptr() as usize - file.as_ptr() as usize + 3;
    let mut damaged = file.clone();
    damaged[at] ^= 0x40;
    let error = volume::parse(&damaged, &Limits::default()).unwrap_err();
    assert!(matches!(error, CodecError::BadChecksum(_)), "{error}");
    // The slabs around it still decode on their own.
    let decoder = Registry::core().decoder(&model, &Default::default()).unwrap();
    for i in [0u32, 2] {
        volume::decode_slab(decoder.as_ref(), &model, &header, i, chunks[i as usize]).unwrap();
    }
    assert!(volume::decode_slab(decoder.as_ref(), &model, &header, 1, &chunks[0][..8]).is_err());

    // Forged header fields with a fresh CRC: refused by name.
    let forge_all = |fields: &[(usize, &[u8])]| {
        let mut forged = file.clone();
        for &(at, bytes) in fields {
            forged[at..at + bytes.len()].copy_from_slice(bytes);
        }
        let crc = crc32fast::hash(&forged[..72]);
        forged[72..76].copy_from_slice(&crc.to_le_bytes());
        volume::parse(&forged, &Limits::default()).unwrap_err().to_string()
    };
    let forge = |at: usize, bytes: &[u8]| forge_all(&[(at, bytes)]);
    assert!(forge(41, &[9]).contains("sample type"));
    assert!(forge(42, &u32::MAX.to_le_bytes()).contains("depth"));
    assert!(forge(46, &0u32.to_le_bytes()).contains("height"));
    assert!(forge(54, &[7]).contains("levels"));
    assert!(forge(60, &6u32.to_le_bytes()).contains("slab depth"));
    let side = 4096u32.to_le_bytes();
    let slab = 64u32.to_le_bytes();
    let fields: [(usize, &[u8]); 4] = [(42, &slab), (46, &side), (50, &side), (60, &slab)];
    assert!(forge_all(&fields).contains("slab samples"));
    assert!(forge(64, &9u32.to_le_bytes()).contains("chunk count"));
    assert!(forge(58, &[1]).contains("coder"));
    assert!(forge(5, &[9]).contains("modality"));
    let mut huge = file.clone();
    huge[46..54].copy_from_slice(&[0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0]);
    let crc = crc32fast::hash(&huge[..72]);
    huge[72..76].copy_from_slice(&crc.to_le_bytes());
    assert!(matches!(
        volume::parse(&huge, &Limits::default()),
        Err(CodecError::LimitExceeded { .. })
    ));
    // A metadata chunk with a non-finite range, its CRC made good.
    let meta = volume::parse(&file, &Limits::default()).map(|_| 76 + 4).unwrap();
    let mut bad = file.clone();
    bad[meta..meta + 8].copy_from_slice(&f64::NAN.to_le_bytes());
    let crc = crc32fast::hash(&bad[76..meta + volume::META_LEN]);
    bad[meta + volume::META_LEN..meta + volume::META_LEN + 4].copy_from_slice(&crc.to_le_bytes());
    let error = volume::parse(&bad, &Limits::default()).unwrap_err();
    assert!(error.to_string().contains("value range"), "{error}");
    // Every truncation is an error, never a panic.
    for len in (0..file.len()).step_by(7) {
        assert!(volume::parse(&file[..len], &Limits::default()).is_err());
    }
}

#[test]
fn the_data_range_spans_the_samples() {
    let range = data_range(&Samples::I16(vec![-1024, 5, 3071]));
    assert_eq!(
        range,
        ValueRange {
            min: -1024.0,
            max: 3071.0
        }
    );
    let flat = data_range(&Samples::F32(vec![2.5, 2.5, f32::NAN]));
    assert_eq!(flat, ValueRange { min: 2.5, max: 3.5 });
}
