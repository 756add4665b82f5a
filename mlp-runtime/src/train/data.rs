//! Datasets: IDX files (MNIST's format, raw or gzip) read into memory, with errors that name
//! the file and the byte offset of the problem, and reads bounded by what the header promises.

use std::fmt;
use std::io::{BufRead, Read};
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

/// How much deflate can expand at most: 258 bytes from a match coded in about 2 bits, so
/// 1032-fold. A gzip file of `n` bytes holds at most this many times `n` bytes.
const MAX_INFLATION: u64 = 1032;

/// Reads an IDX file of unsigned bytes (type code 0x08), gzip-compressed or raw.
///
/// The header is read first, and then no more data than its dimensions promise: a raw file
/// must be exactly as long as they say before anything is read, a gzip file must be large
/// enough to hold that much once inflated, and a stream that goes on past it (a decompression
/// bomb whose header says 1×28×28) is an error after one byte more.
pub fn read_idx(path: &Path) -> Result<Idx, DataError> {
    let err = |offset, message: String| DataError {
        path: path.to_owned(),
        offset,
        message,
    };
    let file =
        std::fs::File::open(path).map_err(|e| err(None, format!("cannot read the file: {e}")))?;
    let size = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let mut buffered = std::io::BufReader::new(file);
    let gzip = buffered
        .fill_buf()
        .map_err(|e| err(None, format!("cannot read the file: {e}")))?
        .starts_with(&[0x1f, 0x8b]);
    let mut stream = Stream {
        reader: if gzip {
            Box::new(flate2::bufread::MultiGzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        },
        gzip,
        path,
        at: 0,
    };
    let dims = header(&mut stream)?;
    let count = dims
        .iter()
        .try_fold(1usize, |a, d| a.checked_mul(*d))
        .ok_or_else(|| err(Some(4), format!("dimensions {dims:?} overflow")))?;
    let header = stream.at;
    let promised = (header as u64).saturating_add(count as u64);
    let room = size.map(|s| {
        if gzip {
            s.saturating_mul(MAX_INFLATION)
        } else {
            s
        }
    });
    if room.is_some_and(|room| promised > room || (!gzip && promised < room)) {
        let size = size.expect("room comes from the size");
        return Err(if gzip {
            err(
                Some(header),
                format!(
                    "dimensions {dims:?} need {count} values after the header; a gzip file of {size} bytes cannot hold that many"
                ),
            )
        } else {
            err(
                Some(size as usize),
                format!(
                    "dimensions {dims:?} need {count} values after the header, found {}",
                    size - header as u64
                ),
            )
        });
    }
    let data = stream.read(count)?;
    if data.len() < count {
        return Err(err(
            Some(stream.at),
            format!(
                "dimensions {dims:?} need {count} values after the header, found {}",
                data.len()
            ),
        ));
    }
    if !stream.read(1)?.is_empty() {
        return Err(err(
            Some(stream.at - 1),
            format!("the data goes on past the {count} values its dimensions {dims:?} promise"),
        ));
    }
    Ok(Idx { dims, data })
}

/// An IDX file's bytes (decompressed), counted.
struct Stream<'a> {
    reader: Box<dyn Read + 'a>,
    gzip: bool,
    path: &'a Path,
    /// Bytes read so far.
    at: usize,
}

impl Stream<'_> {
    /// Up to `n` bytes, fewer only at the end of the data.
    fn read(&mut self, n: usize) -> Result<Vec<u8>, DataError> {
        let mut out = Vec::new();
        out.try_reserve_exact(n).map_err(|_| DataError {
            path: self.path.to_owned(),
            offset: Some(self.at),
            message: format!("cannot hold the {n} values the header promises in memory"),
        })?;
        (&mut self.reader)
            .take(n as u64)
            .read_to_end(&mut out)
            .map_err(|e| DataError {
                path: self.path.to_owned(),
                offset: None,
                message: if self.gzip {
                    format!("not a valid gzip stream: {e}")
                } else {
                    format!("cannot read the file: {e}")
                },
            })?;
        self.at += out.len();
        Ok(out)
    }
}

/// The dimensions in an IDX header, its magic number and element type checked.
fn header(stream: &mut Stream<'_>) -> Result<Vec<usize>, DataError> {
    let err = |offset, message: String| DataError {
        path: stream.path.to_owned(),
        offset: Some(offset),
        message,
    };
    let magic = stream.read(4)?;
    if magic.len() < 4 {
        return Err(err(
            magic.len(),
            "the file ends before its 4-byte IDX header".to_owned(),
        ));
    }
    if magic[0] != 0 || magic[1] != 0 {
        return Err(err(
            0,
            format!(
                "not an IDX file: it starts with {:02x} {:02x}, expected 00 00",
                magic[0], magic[1]
            ),
        ));
    }
    if magic[2] != 0x08 {
        return Err(err(
            2,
            format!(
                "element type 0x{:02x} is not supported; expected 0x08 (unsigned bytes)",
                magic[2]
            ),
        ));
    }
    let rank = magic[3] as usize;
    let dims = stream.read(4 * rank)?;
    if dims.len() < 4 * rank {
        return Err(err(
            stream.at,
            format!("the file ends inside its header, which holds {rank} dimensions"),
        ));
    }
    Ok(dims
        .chunks_exact(4)
        .map(|d| u32::from_be_bytes(d.try_into().expect("four bytes")) as usize)
        .collect())
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
