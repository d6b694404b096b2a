//! Volumes: fitting on bricks, slab coding of odd shapes in every sample
//! type, geometry kept, damage kept local, hostile headers refused.

use walloc_codec::file_tags::{FileTag, TagValue};
use walloc_codec::fit::{fit_linear_volume, FitOptions, PieceSampler};
use walloc_codec::rdo::RdoAnalysis;
use walloc_codec::registry::Registry;
use walloc_codec::volume::{self, data_range, Geometry, VolumeEncoder, VolumeSpec};
use walloc_codec::{
    CodecError, EncodeOptions, LatentCoder, Limits, Model, Rounding, SampleType, Samples, Step, ValueRange,
};

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
    let bricks = PieceSampler::new(5).bricks(&planar, 1, shape, [20; 3], 40);
    let options = FitOptions {
        name: "test-volume".into(),
        description: String::new(),
        channels: 1,
        levels: 2,
        latent_dim: 8,
        latent_bits: 8,
        wavelet: "bior4.4".into(),
        step_scale: 1.0,
        step_decoders: Vec::new(),
        step_decoder_neighbours: false,
        provenance: serde_json::Value::Null,
    };
    fit_linear_volume(&bricks, 3, 20, &options).unwrap()
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
    // Version 2's fields: a step out of range; in version 1, the adaptive
    // coder or a step at all.
    assert!(forge(68, &[100]).contains("quantizer step"));
    assert!(forge(4, &[1]).contains("latent coder"));
    assert!(forge_all(&[(4, &[1]), (58, &[0]), (68, &[8])]).contains("reserved byte"));
    assert!(forge(59, &[1]).contains("packet axes"));
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

/// A smooth 6-band scene, channels last: band `b` of pixel (y, x).
fn scene(height: usize, width: usize, bands: usize) -> Vec<f32> {
    (0..height * width * bands)
        .map(|i| {
            let (b, x, y) = (i % bands, i / bands % width, i / bands / width);
            let land = ((x as f32 / 6.0).sin() * (y as f32 / 9.0).cos() + 1.0) * 50.0;
            (20.0 + land * (0.5 + 0.15 * b as f32) + 10.0 * (b as f32 * 0.7).sin()).round()
        })
        .collect()
}

#[test]
fn a_cube_with_its_bands_as_channels_codes_each_slice_in_2d_and_keeps_its_tags() {
    let (bands, side) = (6usize, 48usize);
    let range = ValueRange { min: 0.0, max: 255.0 };
    let training = scene(side, side, bands);
    let samples = Samples::from_f32(SampleType::U8, training.iter().copied());
    let planar = volume::normalized_planar(&samples, bands, range);
    let patches = PieceSampler::new(3).bricks(&planar, bands, [1, side, side], [1, 16, 16], 60);
    let options = FitOptions {
        name: "test-cube".into(),
        description: String::new(),
        channels: bands as u32,
        levels: 2,
        latent_dim: 12,
        latent_bits: 8,
        wavelet: "bior4.4".into(),
        step_scale: 1.0,
        step_decoders: Vec::new(),
        step_decoder_neighbours: false,
        provenance: serde_json::Value::Null,
    };
    let model = fit_linear_volume(&patches, 2, 16, &options).unwrap();
    assert_eq!(
        (model.config().dim, model.config().dimensionality_reduction()),
        (2, 8.0)
    );
    // A 3-D model refuses 2-D bricks, and the other way round.
    assert!(fit_linear_volume(&patches, 3, 16, &options).is_err());

    // An odd scene, one slice of 6 channels; its georeferencing travels.
    let (height, width) = (37, 29);
    let cube = Samples::from_f32(SampleType::U8, scene(height, width, bands).into_iter());
    let tags = vec![
        FileTag {
            code: 33550,
            value: TagValue::Doubles(vec![28.5, 28.5, 0.0]),
        },
        FileTag {
            code: 34737,
            value: TagValue::Ascii("SIRGAS 2000 / UTM zone 25S|".into()),
        },
    ];
    let mut spec = VolumeSpec::new([1, height as u32, width as u32], bands as u8, SampleType::U8, range);
    spec.tags = tags.clone();
    let file = encode(&model, cube.clone(), &spec, 1);
    let (header, back) = decode(&model, &file);
    assert_eq!((header.dims, header.tags.clone(), header.slabs()), (2, tags, 1));
    // 2-D packets pad no depth: one latent slice of 37×29 → 10×8 (padded
    // to 40×32 at J = 2).
    assert_eq!(header.latent_shape(1, 10), [1, 10, 8]);
    let quality = psnr(&cube, &back, 255.0);
    assert!(quality > 30.0, "{quality:.2} dB");
    // A band swapped with its neighbour would be far off: the bands keep
    // their order.
    let swapped = Samples::from_f32(
        SampleType::U8,
        (0..back.len()).map(|i| back.get(i - i % bands + (i % bands + 1) % bands) as f32),
    );
    assert!(psnr(&cube, &swapped, 255.0) < quality - 6.0);

    // Several slices code one by one, and match the one-slice files.
    let two = Samples::from_f32(
        SampleType::U8,
        (0..2 * cube.len()).map(|i| cube.get(i % cube.len()) as f32),
    );
    let mut spec2 = VolumeSpec::new([2, height as u32, width as u32], bands as u8, SampleType::U8, range);
    spec2.slab_depth = 2;
    let (_, back2) = decode(&model, &encode(&model, two, &spec2, 2));
    assert_eq!(
        (0..back.len()).map(|i| back2.get(back.len() + i)).collect::<Vec<_>>(),
        (0..back.len()).map(|i| back.get(i)).collect::<Vec<_>>()
    );
    // A 3-D volume model refuses a file of 2-D slices.
    let (header, _) = volume::parse(&file, &Limits::default()).unwrap();
    assert!(volume::check_model(&header, &self::model()).is_err());
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

#[test]
fn volumes_take_the_quality_knob_and_the_adaptive_coder() {
    let model = model();
    let shape = [24usize, 20, 20];
    let samples = Samples::from_f32(SampleType::I16, volume(shape).iter().map(|&v| v as f32));
    let range = data_range(&samples);
    let spec = VolumeSpec::new(shape.map(|v| v as u32), 1, SampleType::I16, range);
    let code = |coder: LatentCoder, quality: f64| {
        let spec = VolumeSpec {
            coder,
            step: Step::from_quality(quality).unwrap(),
            ..spec.clone()
        };
        let encoder = Registry::core().encoder_at(&model, spec.step).unwrap();
        let mut coder = VolumeEncoder::new(encoder, &model, &spec).unwrap();
        coder.push_slices(samples.clone()).unwrap();
        let file = coder.finish().unwrap();
        let (header, back) = decode(&model, &file);
        assert_eq!((header.coder, header.step), (spec.coder, spec.step));
        (file, psnr(&samples, &back, range.max - range.min))
    };
    // rANS at the model's step is a version-1 file; the rest are version 2.
    let (rans, rans_psnr) = code(LatentCoder::Rans, 75.0);
    let (adaptive, adaptive_psnr) = code(LatentCoder::Adaptive, 75.0);
    assert_eq!((rans[4], adaptive[4]), (1, 2));
    assert_eq!(rans_psnr, adaptive_psnr);
    assert!(adaptive.len() < rans.len(), "{} vs {}", adaptive.len(), rans.len());
    // Finer steps cost bytes and give detail.
    let sweep: Vec<(usize, f64)> = [30.0, 75.0, 95.0]
        .map(|q| code(LatentCoder::Adaptive, q))
        .into_iter()
        .map(|(file, quality)| (file.len(), quality))
        .collect();
    assert!(
        sweep.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1),
        "{sweep:?}"
    );
    // Slabs quantized for rate and distortion: fewer bytes, a little error.
    let (plain, plain_psnr) = code(LatentCoder::Adaptive, 45.0);
    let spec45 = VolumeSpec {
        step: Step::from_quality(45.0).unwrap(),
        ..spec.clone()
    };
    // RDO from the nearest rounding, which `plain`'s encoder rounds by.
    let options = EncodeOptions::default()
        .with_step(spec45.step)
        .with_rounding(Rounding::Nearest);
    let rdo = RdoAnalysis::new(&model, &options, usize::MAX).unwrap();
    let mut coder = VolumeEncoder::new(Box::new(rdo), &model, &spec45).unwrap();
    coder.push_slices(samples.clone()).unwrap();
    let optimized = coder.finish().unwrap();
    let optimized_psnr = psnr(&samples, &decode(&model, &optimized).1, range.max - range.min);
    assert!(optimized.len() < plain.len(), "{} vs {}", optimized.len(), plain.len());
    assert!(
        optimized_psnr > plain_psnr - 1.0,
        "{optimized_psnr:.2} vs {plain_psnr:.2} dB"
    );
    // An encoder at another step than the spec's is refused by name.
    let spec = VolumeSpec {
        step: Step::from_quality(30.0).unwrap(),
        ..spec
    };
    let mut coder = VolumeEncoder::new(Registry::core().encoder(&model).unwrap(), &model, &spec).unwrap();
    let error = coder.push_slices(samples).unwrap_err().to_string();
    assert!(error.contains("the encoder quantizes at"), "{error}");
}
