//! Datasets: IDX files (MNIST's format, raw or gzip) read into memory, with errors that name
//! the file and the byte offset of the problem.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Why a data file could not be read.
#[derive(Debug)]
pub struct DataError {
    /// The file.
    pub path: PathBuf,
    /// The byte offset of the problem in the (decompressed) data, if it has one.
    pub offset: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(at) => write!(f, "{}: at byte {at}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for DataError {}

/// An IDX file's contents: unsigned bytes with their dimensions.
#[derive(Clone, Debug, PartialEq)]
pub struct Idx {
    /// The size of each dimension.
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Reads an IDX file of unsigned bytes (type code 0x08), gzip-compressed or raw.
pub fn read_idx(path: &Path) -> Result<Idx, DataError> {
    let err = |offset, message: String| DataError {
        path: path.to_owned(),
        offset,
        message,
    };
    let raw = std::fs::read(path).map_err(|e| err(None, format!("cannot read the file: {e}")))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| err(None, format!("not a valid gzip stream: {e}")))?;
        out
    } else {
        raw
    };
    if bytes.len() < 4 {
        return Err(err(
            Some(bytes.len()),
            "the file ends before its 4-byte IDX header".to_owned(),
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(err(
            Some(0),
            format!(
                "not an IDX file: it starts with {:02x} {:02x}, expected 00 00",
                bytes[0], bytes[1]
            ),
        ));
    }
    if bytes[2] != 0x08 {
        return Err(err(
            Some(2),
            format!(
                "element type 0x{:02x} is not supported; expected 0x08 (unsigned bytes)",
                bytes[2]
            ),
        ));
    }
    let rank = bytes[3] as usize;
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(err(
            Some(bytes.len()),
            format!("the file ends inside its header, which holds {rank} dimensions"),
        ));
    }
    let dims: Vec<usize> = (0..rank)
        .map(|k| {
            u32::from_be_bytes(bytes[4 + 4 * k..8 + 4 * k].try_into().expect("four bytes")) as usize
        })
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |a, d| a.checked_mul(*d))
        .ok_or_else(|| err(Some(4), format!("dimensions {dims:?} overflow")))?;
    let have = bytes.len() - header;
    if have != count {
        return Err(err(
            Some(bytes.len()),
            format!("dimensions {dims:?} need {count} values after the header, found {have}"),
        ));
    }
    Ok(Idx {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Images with class labels, in memory.
#[derive(Clone, Debug)]
pub struct Labeled {
    /// One row of `width` values per sample.
    pub images: Vec<f32>,
    /// The class of each sample.
    pub labels: Vec<u32>,
    /// Values per sample.
    pub width: usize,
}

impl Labeled {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Sample `k`'s values.
    pub fn image(&self, k: usize) -> &[f32] {
        &self.images[k * self.width..(k + 1) * self.width]
    }
}

/// Reads an IDX image file and its label file, scaling pixels by 1/255. Checks that the two
/// agree on the number of samples.
pub fn read_labeled(images: &Path, labels: &Path) -> Result<Labeled, DataError> {
    let img = read_idx(images)?;
    let lab = read_idx(labels)?;
    if img.dims.is_empty() {
        return Err(DataError {
            path: images.to_owned(),
            offset: Some(3),
            message: "an image file needs at least one dimension".to_owned(),
        });
    }
    if lab.dims.len() != 1 {
        return Err(DataError {
            path: labels.to_owned(),
            offset: Some(3),
            message: format!("a label file has one dimension, found {}", lab.dims.len()),
        });
    }
    if img.dims[0] != lab.dims[0] {
        return Err(DataError {
            path: labels.to_owned(),
            offset: Some(4),
            message: format!(
                "{} labels for the {} images of {}",
                lab.dims[0],
                img.dims[0],
                images.display()
            ),
        });
    }
    let width = img.dims[1..].iter().product();
    Ok(Labeled {
        images: img.data.iter().map(|v| *v as f32 / 255.0).collect(),
        labels: lab.data.iter().map(|v| *v as u32).collect(),
        width,
    })
}

/// MNIST (or FashionMNIST) from a folder holding the four standard files, gzip or raw:
/// `(train, test)`.
pub fn read_mnist(dir: &Path) -> Result<(Labeled, Labeled), DataError> {
    let file = |stem: &str| {
        let gz = dir.join(format!("{stem}.gz"));
        if gz.exists() { gz } else { dir.join(stem) }
    };
    let train = read_labeled(
        &file("train-images-idx3-ubyte"),
        &file("train-labels-idx1-ubyte"),
    )?;
    let test = read_labeled(
        &file("t10k-images-idx3-ubyte"),
        &file("t10k-labels-idx1-ubyte"),
    )?;
    Ok((train, test))
}
