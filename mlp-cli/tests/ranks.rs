//! `mlp train --ranks 2`: the trainer built with MPI, started by `mpirun` on two ranks,
//! trains data-parallel on a small CSV file (`--features mpi`; OpenMPI must be installed).
#![cfg(feature = "mpi")]

use std::path::PathBuf;
use std::process::Command;

#[test]
fn train_on_two_ranks_through_mpirun() {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("ranks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Two classes split by the sign of x + y.
    let mut csv = String::from("x,y,label\n");
    for k in 0..301u32 {
        let x = ((k * 37) % 101) as f32 / 50.0 - 1.0;
        let y = ((k * 61) % 103) as f32 / 51.0 - 1.0;
        csv += &format!("{x},{y},{}\n", u32::from(x + y > 0.0));
    }
    let data = dir.join("data.csv");
    std::fs::write(&data, csv).unwrap();
    let ckpt = dir.join("model.safetensors");
    let out = Command::new(env!("CARGO_BIN_EXE_mlp"))
        .args(["train", "2 -> tanh 8 -> 2 : nll", "--ranks", "2", "--data"])
        .arg(&data)
        .args([
            "--epochs",
            "20",
            "--batch",
            "32",
            "--lr",
            "0.5",
            "--threads",
            "1",
        ])
        .arg("--checkpoint")
        .arg(&ckpt)
        .env(
            "MLP_CACHE",
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mlp-cache"),
        )
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
        .output()
        .expect("mlp runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    // Rank 0 alone prints: one header, one line per epoch.
    assert_eq!(text.matches("over 2 ranks").count(), 1, "{text}");
    assert_eq!(text.matches("epoch  20").count(), 1, "{text}");
    assert!(
        text.contains("parameters identical on all 2 ranks"),
        "{text}"
    );
    let last = text.lines().find(|l| l.starts_with("epoch  20")).unwrap();
    let accuracy: f32 = last
        .split("accuracy ")
        .nth(1)
        .and_then(|a| a.split('%').next())
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or_else(|| panic!("no accuracy in `{last}`"));
    assert!(accuracy >= 90.0, "{last}");
    assert!(ckpt.exists(), "rank 0 wrote no checkpoint");
}
