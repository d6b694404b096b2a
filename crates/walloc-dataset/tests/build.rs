//! Building datasets: labels and splits, latents equal to `analyze`,
//! resumption, and broken files reported and skipped.

use std::path::Path;

use walloc::{Image8, Signal};
use walloc_dataset::shard::{self, Layout};
use walloc_dataset::{build, plan, Content, Conversion, Files, Options, ShardJob, SplitRule};

/// A small RGB image whose pixels depend on `seed`.
fn image(width: u32, height: u32, seed: u32) -> Image8 {
    let pixels = (0..height)
        .flat_map(|y| {
            (0..width).flat_map(move |x| [(x * 7 + seed * 31) as u8, (y * 5 + seed) as u8, ((x + y) * 3) as u8])
        })
        .collect();
    Image8::new(width, height, 3, pixels).unwrap()
}

fn write_png(path: &Path, image: &Image8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, walloc_io::image::encode_image(image, path).unwrap()).unwrap();
}

/// Two classes of three 40×24 images, and a broken file.
fn collection(dir: &Path) {
    for (c, class) in ["cat", "dog"].iter().enumerate() {
        for i in 0..3 {
            write_png(
                &dir.join(class).join(format!("{i}.png")),
                &image(40, 24, (c * 3 + i) as u32),
            );
        }
    }
    std::fs::write(dir.join("dog").join("broken.png"), b"not a png").unwrap();
}

#[test]
fn split_rules_parse_and_divide_stably() {
    assert_eq!("folders".parse::<SplitRule>().unwrap(), SplitRule::Folders);
    let SplitRule::Ratios(ratios) = "train=3,test=1".parse::<SplitRule>().unwrap() else {
        panic!("ratios")
    };
    assert_eq!(ratios, vec![("train".to_string(), 0.75), ("test".to_string(), 0.25)]);
    for bad in ["train", "train=0", "train=1,train=2", "=1", "a b=1", "train=x"] {
        assert!(bad.parse::<SplitRule>().is_err(), "{bad}");
    }
    let dir = tempfile::tempdir().unwrap();
    collection(dir.path());
    let rule: SplitRule = "train=0.5,test=0.5".parse().unwrap();
    let first = plan(dir.path(), None, &rule).unwrap();
    assert_eq!(
        first,
        plan(dir.path(), None, &rule).unwrap(),
        "the same division every time"
    );
    assert_eq!(first.items(), 7);
    assert_eq!(first.classes, vec!["cat", "dog"]);
}

#[test]
fn labels_come_from_a_csv_or_jsonl_file() {
    let dir = tempfile::tempdir().unwrap();
    collection(dir.path());
    let csv = dir.path().join("labels.csv");
    std::fs::write(&csv, "path,label\ncat/0.png,feline\ndog/1.png,canine\n").unwrap();
    let planned = plan(dir.path(), Some(&csv), &SplitRule::Single).unwrap();
    assert_eq!(planned.classes, vec!["canine", "feline"]);
    assert_eq!(planned.splits[0].1.len(), 2);
    let jsonl = dir.path().join("labels.jsonl");
    std::fs::write(&jsonl, "{\"path\": \"cat/2.png\", \"label\": 7}\n{\"path\": 3}\n").unwrap();
    let error = plan(dir.path(), Some(&jsonl), &SplitRule::Single).unwrap_err();
    assert!(error.to_string().contains("line 2"), "{error}");
    std::fs::write(&csv, "../outside.png,x\n").unwrap();
    assert!(plan(dir.path(), Some(&csv), &SplitRule::Single).is_err());
}

#[test]
fn a_dataset_holds_the_latents_of_analyze_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    collection(dir.path());
    let out = dir.path().join("out");
    let model = walloc::models::named("rgb-16x").unwrap();
    let planned = plan(dir.path(), None, &SplitRule::Single).unwrap();
    let options = Options::default().with_shard_size(3);
    let counted = std::sync::atomic::AtomicU64::new(0);
    let done = |n| {
        counted.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    };
    let summary = build(&model, &planned, &out, &options, &done).unwrap();
    assert_eq!(counted.into_inner(), 7);
    assert_eq!((summary.written, summary.reused), (3, 0));
    let manifest = &summary.manifest;
    assert_eq!(manifest.layout, Layout::Fixed(vec![12, 3, 5]));
    assert_eq!(manifest.splits[0].rows, 6);
    assert_eq!(manifest.skipped.len(), 1);
    assert_eq!(manifest.skipped[0].path, "dog/broken.png");
    assert!(manifest.dataset_bytes > 0 && manifest.source_bytes > manifest.dataset_bytes);

    let rows: Vec<_> = manifest.splits[0]
        .shards
        .iter()
        .flat_map(|s| shard::read(&out.join(s)).unwrap())
        .collect();
    assert_eq!(rows.len(), 6);
    for row in &rows {
        let (class, index) = row.name.split_once('/').unwrap();
        let seed = if class == "cat" { 0 } else { 3 } + index.trim_end_matches(".png").parse::<u32>().unwrap();
        let latent = walloc::analyze(&model, &Signal::from(image(40, 24, seed))).unwrap();
        assert_eq!(row.latent, latent.signed_values(8), "{}", row.name);
        assert_eq!(row.label, Some(i32::from(class == "dog")));
        assert_eq!(
            (row.shape.clone(), row.latent_shape.clone()),
            (vec![24, 40, 3], vec![12, 3, 5])
        );
    }

    // Interrupted after the first shard: a rerun writes only the others.
    let second = out.join("train/part-00001.parquet");
    let before = shard::read(&second).unwrap();
    std::fs::remove_file(&second).unwrap();
    std::fs::remove_file(out.join("train/part-00002.parquet")).unwrap();
    let summary = build(&model, &planned, &out, &options, &|_| {}).unwrap();
    assert_eq!((summary.written, summary.reused), (2, 1));
    assert_eq!(shard::read(&second).unwrap(), before);
    assert_eq!(summary.manifest.skipped.len(), 1, "the skipped item is remembered");

    // Another model in the same folder is refused; strict stops at the broken file.
    let gray = walloc::models::named("gray-16x").unwrap();
    assert!(build(&gray, &planned, &out, &options, &|_| {}).is_err());
    let strict = Options::default().with_strict(true);
    let error = build(&model, &planned, &dir.path().join("strict"), &strict, &|_| {}).unwrap_err();
    assert!(error.to_string().contains("dog/broken.png"), "{error}");
}

#[test]
fn images_of_many_sizes_and_coded_datasets() {
    let dir = tempfile::tempdir().unwrap();
    write_png(&dir.path().join("a/small.png"), &image(16, 16, 1));
    write_png(&dir.path().join("b/large.png"), &image(40, 24, 2));
    let model = walloc::models::named("rgb-16x").unwrap();
    let planned = plan(dir.path(), None, &SplitRule::Single).unwrap();
    let summary = build(&model, &planned, &dir.path().join("v"), &Options::default(), &|_| {}).unwrap();
    assert_eq!(summary.manifest.layout, Layout::Variable);
    let rows = shard::read(&dir.path().join("v/train/part-00000.parquet")).unwrap();
    assert_eq!(rows[0].latent_shape, vec![12, 2, 2]);
    assert_eq!(rows[0].latent.len(), 48);
    assert_eq!(rows[1].latent_shape, vec![12, 3, 5]);

    let coded = Options::default().with_content(Content::Coded);
    let summary = build(&model, &planned, &dir.path().join("c"), &coded, &|_| {}).unwrap();
    let rows = shard::read(&dir.path().join("c/train/part-00000.parquet")).unwrap();
    let file = rows[1].wal.as_ref().unwrap();
    assert_eq!(
        file,
        &walloc::encode(&model, &Signal::from(image(40, 24, 2)), &Default::default()).unwrap()
    );
    assert!(rows[1].latent.is_empty());
    assert_eq!(summary.manifest.content, Content::Coded);
}

#[test]
fn latent_images_in_the_reference_layout() {
    let dir = tempfile::tempdir().unwrap();
    collection(dir.path());
    let model = walloc::models::named("rgb-16x").unwrap();
    let planned = plan(dir.path(), None, &SplitRule::Single).unwrap();
    let out = dir.path().join("tiles");
    let options = Options::default().with_files(Files::WebpTiles);
    let summary = build(&model, &planned, &out, &options, &|_| {}).unwrap();
    assert_eq!((summary.written, summary.reused), (6, 0));
    assert_eq!(summary.manifest.skipped.len(), 1);
    let file = std::fs::read(out.join("train/dog/1.webp")).unwrap();
    let symbols = walloc_codec::packing::unpack(&file, 12, 3, 5, walloc_codec::packing::PackFormat::WebP).unwrap();
    let latent = walloc::analyze(&model, &Signal::from(image(40, 24, 4))).unwrap();
    assert_eq!(symbols, latent.symbols, "pil_to_latent gives the latent back");
    let again = build(&model, &planned, &out, &options, &|_| {}).unwrap();
    assert_eq!((again.written, again.reused), (0, 6));
}

#[test]
fn damaged_shards_and_manifests_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    collection(dir.path());
    let model = walloc::models::named("rgb-16x").unwrap();
    let planned = plan(dir.path(), None, &SplitRule::Single).unwrap();
    let out = dir.path().join("out");
    build(&model, &planned, &out, &Options::default(), &|_| {}).unwrap();
    let path = out.join("train/part-00000.parquet");
    let bytes = std::fs::read(&path).unwrap();
    let broken = dir.path().join("broken.parquet");
    for damaged in [b"not parquet".to_vec(), bytes[..bytes.len() / 2].to_vec(), Vec::new()] {
        std::fs::write(&broken, &damaged).unwrap();
        assert!(shard::read(&broken).is_err());
        assert!(shard::record(&broken).is_err());
    }
    std::fs::write(out.join("manifest.json"), "{\"format\": 3}").unwrap();
    assert!(walloc_dataset::shard_paths(&out).is_err());
    // A damaged shard is not reused: the next run writes it again.
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let summary = build(&model, &planned, &out, &Options::default(), &|_| {}).unwrap();
    assert_eq!((summary.written, summary.reused), (1, 0));
    assert_eq!(std::fs::read(&path).unwrap().len(), bytes.len());
}

#[test]
fn shard_jobs_run_apart_write_the_files_of_build() {
    let dir = tempfile::tempdir().unwrap();
    collection(dir.path());
    let model = walloc::models::named("rgb-16x").unwrap();
    let planned = plan(dir.path(), None, &"train=0.6,test=0.4".parse().unwrap()).unwrap();
    let options = Options::default().with_shard_size(2);
    let whole = dir.path().join("whole");
    build(&model, &planned, &whole, &options, &|_| {}).unwrap();

    let apart = dir.path().join("apart");
    let conversion = Conversion::new(&model, &planned, &apart, &options).unwrap();
    let jobs = conversion.shards();
    assert_eq!(jobs.len(), 4, "{jobs:?}");
    assert!(
        conversion.finish(0).is_err(),
        "no manifest before every shard is written"
    );
    // As a distributed engine would: each job serialized, sent and run on its own.
    let sent: Vec<String> = jobs.iter().map(|j| serde_json::to_string(j).unwrap()).collect();
    for text in sent.iter().rev() {
        let job: ShardJob = serde_json::from_str(text).unwrap();
        assert!(job.run(&model, &apart, &|_| {}).unwrap(), "{}", job.file);
    }
    let summary = conversion.finish(jobs.len()).unwrap();
    assert_eq!((summary.written, summary.reused), (4, 0));
    for job in &jobs {
        assert_eq!(
            std::fs::read(whole.join(&job.file)).unwrap(),
            std::fs::read(apart.join(&job.file)).unwrap(),
            "{}",
            job.file
        );
    }
    assert_eq!(
        std::fs::read_to_string(whole.join("manifest.json")).unwrap(),
        std::fs::read_to_string(apart.join("manifest.json")).unwrap()
    );
    assert!(
        !jobs[0].run(&model, &apart, &|_| {}).unwrap(),
        "a finished shard is kept"
    );
    let gray = walloc::models::named("gray-16x").unwrap();
    let error = jobs[0].run(&gray, &apart, &|_| {}).unwrap_err();
    assert!(error.to_string().contains("is for model"), "{error}");
    // A job is input too (it arrives serialized): it writes only inside the folder.
    for file in ["../escape.parquet", "/tmp/escape.parquet", "train/part.txt"] {
        let hostile = ShardJob {
            file: file.into(),
            ..jobs[0].clone()
        };
        let error = hostile.run(&model, &apart, &|_| {}).unwrap_err();
        assert!(
            error.to_string().contains("inside the dataset folder"),
            "{file}: {error}"
        );
    }
}
