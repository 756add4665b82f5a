//! The network a checkpoint says it holds: `mlp.spec` in the `__metadata__` of its
//! safetensors header, read without the runtime (which `mlp` does not link). A safetensors
//! file starts with the header's length (8 bytes, little-endian) and then the header, a JSON
//! object; only those bytes are read, at most [`MAX_HEADER`] of them, and parsed with
//! `serde_json` (what safetensors itself parses headers with).

use std::io::Read;
use std::path::Path;

/// The largest header safetensors accepts.
const MAX_HEADER: u64 = 100_000_000;

/// The spec recorded in the checkpoint at `path`, or `None` if it records none (a PyTorch
/// file).
pub fn spec(path: &Path) -> Result<Option<String>, String> {
    let fail = |why: String| format!("checkpoint {}: {why}", path.display());
    let mut file = std::fs::File::open(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let mut length = [0u8; 8];
    file.read_exact(&mut length)
        .map_err(|_| fail("not a safetensors file: it ends before its header".into()))?;
    let length = u64::from_le_bytes(length);
    if length > MAX_HEADER {
        return Err(fail(format!(
            "not a safetensors file: it announces a header of {length} bytes"
        )));
    }
    let mut header = Vec::new();
    file.take(length)
        .read_to_end(&mut header)
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    let header: serde_json::Value = serde_json::from_slice(&header).map_err(|e| {
        fail(format!(
            "not a safetensors file: its header does not parse: {e}"
        ))
    })?;
    let Some(header) = header.as_object() else {
        return Err(fail(
            "not a safetensors file: its header is not an object".into(),
        ));
    };
    match header.get("__metadata__").and_then(|m| m.get("mlp.spec")) {
        None => Ok(None),
        Some(serde_json::Value::String(spec)) => Ok(Some(spec.clone())),
        Some(other) => Err(fail(format!("`mlp.spec` is {other}, not a string"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, header: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mlp-stored-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend(header.as_bytes());
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn reads_the_spec_among_tensors_and_escapes() {
        let header = r#"{"0.weight":{"dtype":"F32","shape":[2,4],"data_offsets":[0,32]},
            "__metadata__":{"format":"pt","mlp.epoch":"3","mlp.spec":"act q(x) = x \u002a x; 4 -> q 2 -> 1 : mse \"\ud83d\ude00\""},
            "x":{"a":[true,null,-1.5e3,[]],"b":{}}}"#;
        let path = file("spec.safetensors", header);
        assert_eq!(
            spec(&path).unwrap().as_deref(),
            Some("act q(x) = x * x; 4 -> q 2 -> 1 : mse \"😀\"")
        );
        let path = file(
            "torch.safetensors",
            r#"{"0.weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
        );
        assert_eq!(spec(&path).unwrap(), None);
    }

    #[test]
    fn bad_files_are_errors() {
        for (name, header, says) in [
            (
                "cut.safetensors",
                r#"{"__metadata__":{"mlp.spec":"2 -> "#,
                "EOF while parsing a string",
            ),
            ("junk.safetensors", "junk", "does not parse"),
            ("short.safetensors", "", "does not parse"),
            ("list.safetensors", "[1, 2]", "is not an object"),
            (
                "number.safetensors",
                r#"{"__metadata__":{"mlp.spec":3}}"#,
                "`mlp.spec` is 3, not a string",
            ),
        ] {
            let err = spec(&file(name, header)).unwrap_err();
            assert!(err.contains(name) && err.contains(says), "{err}");
        }
        let err = spec(Path::new("/dev/zero")).unwrap_err();
        assert!(err.contains("does not parse"), "{err}");
    }
}
