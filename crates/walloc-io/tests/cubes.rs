//! Spectral cubes: multi-band TIFF written and read back with its
//! georeferencing, both volume layouts, damaged files refused.

use walloc::volume::{FileTag, TagValue};
use walloc::{SampleType, Samples};
use walloc_io::cube::{encode_cube, is_cube, read_cube, tiff_bands, BandAxis, Cube};

/// A generated cube (no packaged cube has hundreds of bands): smooth
/// spectra over a smooth scene, `bands` of them.
fn cube(height: u32, width: u32, bands: u32, sample_type: SampleType) -> Cube {
    let values = (0..height * width * bands).map(|i| {
        let (b, x, y) = (i % bands, i / bands % width, i / bands / width);
        1000.0 + 400.0 * ((x as f32 / 5.0).sin() + (y as f32 / 7.0).cos()) + 30.0 * (b as f32 / 9.0).sin() * b as f32
    });
    Cube {
        height,
        width,
        bands,
        samples: Samples::from_f32(sample_type, values),
        tags: vec![
            FileTag {
                code: 33550,
                value: TagValue::Doubles(vec![30.0, 30.0, 0.0]),
            },
            FileTag {
                code: 33922,
                value: TagValue::Doubles(vec![0.0, 0.0, 0.0, 288776.25, 9120760.75, 0.0]),
            },
            FileTag {
                code: 34735,
                value: TagValue::Shorts(vec![1, 1, 0, 2, 1024, 0, 1, 1, 3072, 0, 1, 31985]),
            },
            FileTag {
                code: 34737,
                value: TagValue::Ascii("SIRGAS 2000 / UTM zone 25S|".into()),
            },
        ],
    }
}

#[test]
fn cubes_round_trip_through_tiff_with_their_georeferencing() {
    let dir = tempfile::tempdir().unwrap();
    for (bands, sample_type) in [
        (224, SampleType::I16),
        (6, SampleType::U8),
        (3, SampleType::F32),
        (2, SampleType::U16),
    ] {
        let original = cube(13, 11, bands, sample_type);
        let path = dir.path().join(format!("c{bands}.tif"));
        std::fs::write(&path, encode_cube(&original).unwrap()).unwrap();
        assert_eq!(tiff_bands(&path).unwrap(), (bands, sample_type));
        // Written min-is-black: a cube, whatever its band count and type.
        assert!(is_cube(&path), "{bands} {sample_type:?}");
        let back = read_cube(&path).unwrap();
        // TIFF writes ASCII with a final NUL, which reads back.
        let text = |c: &Cube| match &c.tags[3].value {
            TagValue::Ascii(t) => t.trim_end_matches('\0').to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!(text(&back), text(&original));
        assert_eq!(back.tags[..3], original.tags[..3]);
        assert_eq!((back.height, back.width, back.bands), (13, 11, bands));
        assert_eq!(back.samples, original.samples);
    }
}

#[test]
fn rgb_pictures_are_not_cubes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photo.tif");
    image::RgbImage::from_fn(9, 7, |x, y| image::Rgb([x as u8 * 20, y as u8 * 30, 90]))
        .save(&path)
        .unwrap();
    assert!(!is_cube(&path));
    let gray = dir.path().join("gray.tif");
    image::GrayImage::from_fn(9, 7, |x, y| image::Luma([(x * y) as u8]))
        .save(&gray)
        .unwrap();
    assert!(!is_cube(&gray));
    assert!(!is_cube(&dir.path().join("missing.tif")));
}

#[test]
fn a_cube_becomes_a_volume_either_way_and_comes_back() {
    let original = cube(5, 4, 7, SampleType::U16);
    let (shape, channels, depth) = original.clone().into_volume(BandAxis::Depth).unwrap();
    assert_eq!((shape, channels), ([7, 5, 4], 1));
    // Slice b is band b: pixel (y, x) of slice 3 is sample 3 of that pixel.
    assert_eq!(depth.get(3 * 20 + 2 * 4 + 1), original.samples.get((2 * 4 + 1) * 7 + 3));
    let back = Cube::from_volume(shape, channels, depth, original.tags.clone()).unwrap();
    assert_eq!(back, original);
    let (shape, channels, planes) = original.clone().into_volume(BandAxis::Channels).unwrap();
    assert_eq!((shape, channels), ([1, 5, 4], 7));
    assert_eq!(
        Cube::from_volume(shape, channels, planes, original.tags.clone()).unwrap(),
        original
    );
    // A volume of several slices of several channels is no cube.
    let error = Cube::from_volume([2, 5, 4], 7, Samples::U16(vec![0; 280]), vec![]).unwrap_err();
    assert!(error.to_string().contains("no spectral cube"), "{error}");
    // More than 64 bands do not fit a model's channels.
    let wide = cube(2, 2, 65, SampleType::U8);
    assert!(wide
        .into_volume(BandAxis::Channels)
        .unwrap_err()
        .to_string()
        .contains("as depth"));
}

#[test]
fn damaged_tiffs_are_named_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = encode_cube(&cube(9, 8, 12, SampleType::I16)).unwrap();
    let path = dir.path().join("cut.tif");
    for cut in (0..bytes.len()).step_by(97) {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        assert!(read_cube(&path).is_err(), "cut at {cut}");
    }
    std::fs::write(&path, b"II*\0 not a tiff").unwrap();
    assert!(read_cube(&path).unwrap_err().to_string().contains("cut.tif"));
    // Too few samples for the stated size.
    let mut short = cube(3, 3, 4, SampleType::U8);
    short.samples.split_off(5);
    assert!(encode_cube(&short).is_err());
}
