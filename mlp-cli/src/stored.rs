//! The network a checkpoint says it holds: `mlp.spec` in the `__metadata__` of its
//! safetensors header, read without the runtime (which `mlp` does not link). A safetensors
//! file starts with the header's length (8 bytes, little-endian) and then the header, a JSON
//! object; only those bytes are read, at most [`MAX_HEADER`] of them. The JSON reader below
//! knows just what a header holds: objects, arrays, strings, numbers and literals.

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
    let mut json = Json {
        text: &header,
        at: 0,
    };
    let mut spec = None;
    json.object(&mut |json, key| match key.as_str() {
        "__metadata__" => json.object(&mut |json, key| {
            if key == "mlp.spec" {
                spec = Some(json.string()?);
                Ok(())
            } else {
                json.skip()
            }
        }),
        _ => json.skip(),
    })
    .map_err(|e| fail(format!("not a safetensors file: its header {e}")))?;
    Ok(spec)
}

/// A JSON text being read.
struct Json<'a> {
    text: &'a [u8],
    at: usize,
}

type Step<'a, 'b> = &'b mut dyn FnMut(&mut Json<'a>, String) -> Result<(), String>;

impl<'a> Json<'a> {
    fn peek(&mut self) -> Option<u8> {
        while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
        self.text.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        if self.peek() != Some(byte) {
            return Err(format!("has no `{}` at byte {}", byte as char, self.at));
        }
        self.at += 1;
        Ok(())
    }

    /// An object, each member's value read by `member` after its key.
    fn object(&mut self, member: Step<'a, '_>) -> Result<(), String> {
        self.expect(b'{')?;
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(());
        }
        loop {
            let key = self.string()?;
            self.expect(b':')?;
            member(self, key)?;
            if self.peek() == Some(b',') {
                self.at += 1;
            } else {
                return self.expect(b'}');
            }
        }
    }

    /// Any value, skipped.
    fn skip(&mut self) -> Result<(), String> {
        match self.peek() {
            Some(b'{') => self.object(&mut |json, _| json.skip()),
            Some(b'"') => self.string().map(|_| ()),
            Some(b'[') => {
                self.at += 1;
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(());
                }
                loop {
                    self.skip()?;
                    if self.peek() == Some(b',') {
                        self.at += 1;
                    } else {
                        return self.expect(b']');
                    }
                }
            }
            Some(c) if c == b'-' || c.is_ascii_alphanumeric() => {
                let rest = &self.text[self.at..];
                let n = rest
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c))
                    .count();
                self.at += n;
                Ok(())
            }
            _ => Err(format!("has no value at byte {}", self.at)),
        }
    }

    /// A string, its escapes decoded.
    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.text.get(self.at) else {
                return Err("ends inside a string".into());
            };
            self.at += 1;
            match c {
                b'"' => {
                    return String::from_utf8(out)
                        .map_err(|_| "has a string that is not UTF-8".into());
                }
                b'\\' => {
                    let ch = self.escape()?;
                    out.extend(ch.encode_utf8(&mut [0; 4]).as_bytes());
                }
                _ => out.push(c),
            }
        }
    }

    /// The character of an escape, after its backslash.
    fn escape(&mut self) -> Result<char, String> {
        let Some(&c) = self.text.get(self.at) else {
            return Err("ends inside a string".into());
        };
        self.at += 1;
        Ok(match c {
            b'"' | b'\\' | b'/' => c as char,
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let high = self.hex()?;
                if !(0xd800..0xdc00).contains(&high) {
                    char::from_u32(high).ok_or("has a lone surrogate")?
                } else {
                    // A pair: `\uD83D\uDE00`.
                    if self.text.get(self.at..self.at + 2) != Some(b"\\u") {
                        return Err("has a lone surrogate".into());
                    }
                    self.at += 2;
                    let low = self.hex()?;
                    let code = 0x10000 + ((high - 0xd800) << 10) + low.wrapping_sub(0xdc00);
                    char::from_u32(code).ok_or("has a bad surrogate pair")?
                }
            }
            _ => return Err(format!("has an unknown escape at byte {}", self.at)),
        })
    }

    fn hex(&mut self) -> Result<u32, String> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .ok_or("ends inside a string")?;
        self.at += 4;
        std::str::from_utf8(digits)
            .ok()
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| "has a bad \\u escape".into())
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
                "ends inside a string",
            ),
            ("junk.safetensors", "junk", "has no `{` at byte 0"),
            ("short.safetensors", "", "has no `{` at byte 0"),
        ] {
            let err = spec(&file(name, header)).unwrap_err();
            assert!(err.contains(name) && err.contains(says), "{err}");
        }
        let err = spec(Path::new("/dev/zero")).unwrap_err();
        assert!(err.contains("has no `{`"), "{err}");
    }
}
