//! Volume files: what the writer writes, the `nifti` crate and our reader
//! read back, slice by slice, with the geometry.

use std::path::Path;

use nifti::{NiftiObject, ReaderOptions};
use walloc::volume::Geometry;
use walloc::{SampleType, Samples};
use walloc_io::volume::{RawLayout, VolumeFormat, VolumeReader, VolumeWriter};

fn geometry() -> Geometry {
    Geometry {
        pixdim: [-1.0, 0.9, 0.8, 2.5, 1.0, 0.0, 0.0, 0.0],
        quatern: [0.0, 0.0, 1.0, 10.0, -20.0, 30.0],
        srow: [[-0.9, 0.0, 0.0, 10.0], [0.0, -0.8, 0.0, -20.0], [0.0, 0.0, 2.5, 30.0]],
        scaling: [2.0, -5.0],
        qform_code: 1,
        sform_code: 1,
        xyzt_units: 2,
    }
}

fn write(path: &Path, shape: [u32; 3], samples: &Samples, geometry: &Geometry) {
    let file = std::fs::File::create(path).unwrap();
    let format = VolumeFormat::of(path).unwrap();
    let mut writer = VolumeWriter::new(file, format, shape, 1, samples.sample_type(), geometry).unwrap();
    // Two writes: slices 0..2, then the rest.
    let slice = (shape[1] * shape[2]) as usize;
    let mut rest = samples.clone();
    let tail = rest.split_off(2 * slice);
    writer.write_samples(&rest).unwrap();
    writer.write_samples(&tail).unwrap();
    writer.finish().unwrap();
}

fn read_all(reader: &mut VolumeReader) -> Samples {
    let mut all = Samples::empty(reader.sample_type);
    while reader.slices_left() > 0 {
        all.append(reader.read_slices(3).unwrap());
    }
    all
}

#[test]
fn nifti_and_npy_round_trip_slice_by_slice() {
    let dir = tempfile::tempdir().unwrap();
    let shape = [5u32, 4, 6];
    let n = 5 * 4 * 6;
    let cases = [
        Samples::I16((0..n).map(|i| (i as i16 - 60) * 37).collect()),
        Samples::U16((0..n).map(|i| (i as u16) * 500).collect()),
        Samples::F32((0..n).map(|i| i as f32 * 0.25 - 3.0).collect()),
        Samples::U8((0..n).map(|i| i as u8).collect()),
    ];
    for samples in cases {
        for name in ["v.nii.gz", "v.nii", "v.npy"] {
            let path = dir.path().join(name);
            write(&path, shape, &samples, &geometry());
            let mut reader = VolumeReader::open(&path, None).unwrap();
            assert_eq!(
                (reader.shape, reader.channels, reader.sample_type),
                (shape, 1, samples.sample_type())
            );
            if name != "v.npy" {
                assert_eq!(reader.geometry, geometry(), "{name}");
            }
            assert_eq!(read_all(&mut reader), samples, "{name} {:?}", samples.sample_type());
        }
        // The nifti crate reads the header we wrote as we meant it.
        let object = ReaderOptions::new().read_file(dir.path().join("v.nii.gz")).unwrap();
        let header = object.header();
        assert_eq!(&header.dim[..4], &[3, 6, 4, 5]);
        assert_eq!(header.pixdim, geometry().pixdim);
        assert_eq!((header.srow_x, header.srow_z), (geometry().srow[0], geometry().srow[2]));
        assert_eq!((header.quatern_c, header.quatern_z), (0.0, 30.0));
        assert_eq!((header.qform_code, header.sform_code, header.xyzt_units), (1, 1, 2));
        assert_eq!((header.scl_slope, header.scl_inter), (2.0, -5.0));
        assert_eq!(object.volume().raw_data().len(), n * samples.sample_type().bytes());
    }
}

#[test]
fn raw_files_need_their_layout_and_bad_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ct.raw");
    let samples = Samples::I16((0..2 * 3 * 4).map(|i| i as i16 * -100).collect());
    write(&path, [2, 3, 4], &samples, &Geometry::default());
    let layout = RawLayout {
        shape: [2, 3, 4],
        sample_type: SampleType::I16,
    };
    let mut reader = VolumeReader::open(&path, Some(layout)).unwrap();
    assert_eq!(read_all(&mut reader), samples);
    let wrong = RawLayout {
        shape: [2, 3, 5],
        ..layout
    };
    let error = VolumeReader::open(&path, Some(wrong)).err().unwrap().to_string();
    assert!(
        error.contains("48 bytes, but [2, 3, 5] int16 samples take 60"),
        "{error}"
    );
    assert!(VolumeReader::open(&path, None)
        .err()
        .unwrap()
        .to_string()
        .contains("--shape"));

    // A 4-D time series, a float64 array, a Fortran-order array and junk.
    let series = dir.path().join("series.nii");
    let mut bytes = walloc_io::volume::nifti_header([2, 2, 2], SampleType::U8, &Geometry::default());
    bytes[40..42].copy_from_slice(&4i16.to_le_bytes());
    bytes[48..50].copy_from_slice(&3i16.to_le_bytes());
    bytes.extend(vec![0u8; 24]);
    std::fs::write(&series, &bytes).unwrap();
    let error = VolumeReader::open(&series, None).err().unwrap().to_string();
    assert!(error.contains("time series"), "{error}");
    let npy = |dict: &str| {
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        let padded = format!("{dict:<117}\n");
        bytes.extend((padded.len() as u16).to_le_bytes());
        bytes.extend(padded.as_bytes());
        bytes.extend([0u8; 8]);
        bytes
    };
    let float64 = dir.path().join("f8.npy");
    std::fs::write(
        &float64,
        npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1), }"),
    )
    .unwrap();
    let error = VolumeReader::open(&float64, None).err().unwrap().to_string();
    assert!(error.contains("dtype <f8"), "{error}");
    let fortran = dir.path().join("f.npy");
    std::fs::write(
        &fortran,
        npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 1, 2), }"),
    )
    .unwrap();
    let error = VolumeReader::open(&fortran, None).err().unwrap().to_string();
    assert!(error.contains("Fortran"), "{error}");
    let junk = dir.path().join("junk.nii.gz");
    std::fs::write(&junk, b"not a volume").unwrap();
    assert!(VolumeReader::open(&junk, None).is_err());
    // A header asking for a huge slice is refused before any allocation.
    let huge = dir.path().join("huge.nii");
    let mut bytes = walloc_io::volume::nifti_header([1, 60_000, 60_000], SampleType::F32, &Geometry::default());
    bytes.extend([0u8; 16]);
    std::fs::write(&huge, &bytes).unwrap();
    let error = VolumeReader::open(&huge, None).err().unwrap().to_string();
    assert!(error.contains("exceed"), "{error}");
}
