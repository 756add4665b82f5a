//! Reads bounded by what a file's header promises, measured: a gzip bomb read as IDX and
//! `/dev/zero` read as a checkpoint each give their error within a few MB of memory. Each
//! runs in a child process (this test binary, run again on one test) under a 1 GiB address
//! space limit, so that a reader without bounds fails there instead of exhausting the
//! machine, and the child reports its peak resident memory (`VmHWM`).
#![cfg(target_os = "linux")]

use std::io::Write;
use std::process::Command;

/// The peak resident memory of this process, in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Runs `test` again in a child process with `MLP_BOUNDED_CHILD` set, and returns what it
/// printed, after checking that it ended normally.
fn in_child(test: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("MLP_BOUNDED_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the child failed ({:?}): {stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn child() -> bool {
    std::env::var_os("MLP_BOUNDED_CHILD").is_some()
}

/// In the child: caps the address space at 1 GiB.
fn limit_memory() {
    use nix::sys::resource::{Resource, setrlimit};
    setrlimit(Resource::RLIMIT_AS, 1 << 30, 1 << 30).unwrap();
}

/// The child's report: `error: …` then `peak: N KiB`.
fn report(error: String) {
    println!("error: {error}");
    println!("peak: {} KiB", peak_kib());
    std::io::stdout().flush().unwrap();
}

/// The peak the child reported, in KiB.
fn peak_of(stdout: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("peak: "))
        .expect(stdout);
    line["peak: ".len()..]
        .trim_end_matches(" KiB")
        .parse()
        .unwrap()
}

#[test]
fn a_gzip_bomb_reads_in_a_few_mb() {
    if !child() {
        let out = in_child("a_gzip_bomb_reads_in_a_few_mb");
        assert!(
            out.contains("the data goes on past the 784 values"),
            "{out}"
        );
        assert!(peak_of(&out) < 64 << 10, "{out}");
        return;
    }
    limit_memory();
    // 256 MB of zeros after a header that says 1×28×28, as a gzip file of about 250 KB.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&[0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28])
        .unwrap();
    let block = vec![0u8; 1 << 20];
    for _ in 0..256 {
        e.write_all(&block).unwrap();
    }
    let path = std::env::temp_dir().join(format!("mlp-bomb-{}.gz", std::process::id()));
    std::fs::write(&path, e.finish().unwrap()).unwrap();
    let err = mlp_runtime::data::read_idx(&path).unwrap_err().to_string();
    std::fs::remove_file(&path).unwrap();
    report(err);
}

#[test]
fn dev_zero_as_a_checkpoint_reads_in_a_few_mb() {
    if !child() {
        let out = in_child("dev_zero_as_a_checkpoint_reads_in_a_few_mb");
        assert!(
            out.contains("checkpoint /dev/zero: not a safetensors file"),
            "{out}"
        );
        assert!(peak_of(&out) < 64 << 10, "{out}");
        return;
    }
    limit_memory();
    let layout = [mlp_runtime::checkpoint::Tensor {
        name: "0.weight",
        shape: &[1, 1],
    }];
    let path = std::path::Path::new("/dev/zero");
    let err = mlp_runtime::checkpoint::load(path, &layout, "1 -> 1 : mse").unwrap_err();
    report(err.to_string());
}
