//! Reading a safetensors file no further than its header promises.

use super::{CheckpointError, error};
use std::io::Read;
use std::path::Path;

/// The largest header safetensors accepts (its own `MAX_HEADER_SIZE`).
const MAX_HEADER: u64 = 100_000_000;

/// The bytes of the safetensors file at `path`, read header first: the 8-byte header length,
/// the header (at most [`MAX_HEADER`] bytes, and no more than the file holds), then exactly
/// the bytes its tensors take. A file longer or shorter than its header says, or a stream
/// that does not end (`/dev/zero`), is an error once that much has been read, never a read
/// until memory runs out.
pub(super) fn read(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    let cannot = |e: std::io::Error| error(path, format!("cannot read: {e}"));
    let mut file = std::fs::File::open(path).map_err(cannot)?;
    let size = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let mut bytes = Vec::new();
    let got = (&mut file)
        .take(8)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if got < 8 {
        return Err(not_safetensors(
            path,
            "it ends before its 8-byte header length",
        ));
    }
    // torch.save writes a zip of pickles (since PyTorch 1.6), or a bare pickle before. A
    // safetensors file may begin with the same bytes (a header of 640 bytes does), so this is
    // only what a file that does not read as safetensors is called.
    let torch =
        bytes.starts_with(b"PK\x03\x04") || (bytes[0] == 0x80 && (2..=5).contains(&bytes[1]));
    let not_safetensors = |path: &Path, why: &str| match torch {
        true => error(
            path,
            "this is a torch.save pickle, not safetensors; save with \
             safetensors.torch.save_file(model.state_dict(), path)",
        ),
        false => not_safetensors(path, why),
    };
    let header = u64::from_le_bytes(bytes[..8].try_into().expect("eight bytes"));
    if header > MAX_HEADER || size.is_some_and(|s| 8 + header > s) {
        let room = size.map_or(String::new(), |s| format!(" in a file of {s} bytes"));
        let message = format!("it announces a header of {header} bytes{room}");
        return Err(not_safetensors(path, &message));
    }
    let got = (&mut file)
        .take(header)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if (got as u64) < header {
        return Err(not_safetensors(path, "it ends inside its header"));
    }
    let metadata: safetensors::tensor::Metadata = serde_json::from_slice(&bytes[8..])
        .map_err(|e| not_safetensors(path, &format!("its header does not parse: {e}")))?;
    let total = 8 + header + metadata.data_len() as u64;
    if let Some(size) = size.filter(|s| *s != total) {
        let message = format!("its header describes {total} bytes, the file has {size}");
        return Err(not_safetensors(path, &message));
    }
    let data = total - bytes.len() as u64;
    let got = (&mut file)
        .take(data)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    let mut more = [0u8; 1];
    if (got as u64) < data || file.read(&mut more).map_err(cannot)? > 0 {
        let message = format!("it does not hold the {total} bytes its header describes");
        return Err(not_safetensors(path, &message));
    }
    Ok(bytes)
}

fn not_safetensors(path: &Path, why: &str) -> CheckpointError {
    error(path, format!("not a safetensors file: {why}"))
}
