//! IDX reading: the real MNIST files, and every way a file can be wrong, each reported with
//! the file's name and, where there is one, the byte offset.

use mlp_runtime::data::{read_idx, read_labeled, read_mnist};
use std::io::Write;
use std::path::{Path, PathBuf};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mlp-data-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn idx(dims: &[u32], values: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out.extend(values);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn error(path: &Path) -> String {
    read_idx(path).unwrap_err().to_string()
}

#[test]
fn the_bundled_mnist_reads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist");
    let (train, test) = read_mnist(&root).unwrap();
    assert_eq!(
        (train.len(), test.len(), train.width),
        (60_000, 10_000, 784)
    );
    assert!(train.images.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(train.labels.iter().all(|l| *l < 10));
}

#[test]
fn raw_and_gzip_read_alike() {
    let d = dir("alike");
    let bytes = idx(&[2, 3], &[1, 2, 3, 4, 5, 6]);
    std::fs::write(d.join("raw"), &bytes).unwrap();
    std::fs::write(d.join("gz"), gzip(&bytes)).unwrap();
    let raw = read_idx(&d.join("raw")).unwrap();
    assert_eq!(raw, read_idx(&d.join("gz")).unwrap());
    assert_eq!(raw.dims, vec![2, 3]);
}

#[test]
fn bad_files_name_the_file_and_offset() {
    let d = dir("bad");
    let cases: [(&str, Vec<u8>, &str); 6] = [
        (
            "short",
            vec![0, 0],
            "at byte 2: the file ends before its 4-byte IDX header",
        ),
        (
            "magic",
            vec![1, 2, 8, 1, 0, 0, 0, 0],
            "at byte 0: not an IDX file: it starts with 01 02",
        ),
        (
            "type",
            vec![0, 0, 0x0d, 1, 0, 0, 0, 0],
            "at byte 2: element type 0x0d is not supported",
        ),
        (
            "header",
            vec![0, 0, 8, 3, 0, 0, 0, 2],
            "at byte 8: the file ends inside its header, which holds 3 dimensions",
        ),
        (
            "truncated",
            idx(&[2, 3], &[1, 2, 3]),
            "at byte 15: dimensions [2, 3] need 6 values after the header, found 3",
        ),
        (
            "gzip",
            vec![0x1f, 0x8b, 0, 1, 2, 3],
            "not a valid gzip stream",
        ),
    ];
    for (name, bytes, says) in cases {
        let path = d.join(name);
        std::fs::write(&path, bytes).unwrap();
        let e = error(&path);
        assert!(
            e.contains(path.to_str().unwrap()) && e.contains(says),
            "{name}: {e}"
        );
    }
    let missing = d.join("missing");
    assert!(
        error(&missing).contains("missing: cannot read the file"),
        "{}",
        error(&missing)
    );
}

#[test]
fn images_and_labels_must_agree() {
    let d = dir("agree");
    std::fs::write(d.join("img"), idx(&[3, 2, 2], &[0; 12])).unwrap();
    std::fs::write(d.join("lab"), idx(&[2], &[1, 2])).unwrap();
    let e = read_labeled(&d.join("img"), &d.join("lab"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("lab: at byte 4: 2 labels for the 3 images of"),
        "{e}"
    );
}

/// A decompression bomb: a gzip file of a few hundred KB whose header says 1×28×28 and whose
/// stream goes on for 64 MB. The read stops one byte past what the header promises.
#[test]
fn a_gzip_bomb_is_refused_after_what_its_header_promises() {
    let d = dir("bomb");
    let path = d.join("bomb.gz");
    std::fs::write(&path, bomb(64 << 20)).unwrap();
    let e = error(&path);
    assert!(
        e.contains(
            "at byte 800: the data goes on past the 784 values its dimensions [1, 28, 28] promise"
        ),
        "{e}"
    );
}

/// A gzip file whose IDX header says 1×28×28, followed by `zeros` bytes of zeros.
fn bomb(zeros: usize) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&idx(&[1, 28, 28], &[])).unwrap();
    let block = vec![0u8; 1 << 20];
    for _ in 0..zeros / block.len() {
        e.write_all(&block).unwrap();
    }
    e.finish().unwrap()
}

/// A raw file is checked against its header before its data is read, and a gzip file that
/// could not hold what its header promises is refused before it is inflated.
#[test]
fn sizes_are_checked_against_the_header_first() {
    let d = dir("sizes");
    let long = d.join("long");
    std::fs::write(&long, idx(&[2, 3], &[0; 9])).unwrap();
    let e = error(&long);
    assert!(
        e.contains("at byte 21: dimensions [2, 3] need 6 values after the header, found 9"),
        "{e}"
    );
    let big = d.join("big.gz");
    std::fs::write(&big, gzip(&idx(&[60_000, 28, 28], &[1, 2, 3]))).unwrap();
    let e = error(&big);
    assert!(e.contains("cannot hold that many"), "{e}");
}
