//! Checkpoints: a model saved by real PyTorch loads here and gives PyTorch's logits (fixture
//! made by scripts/torch_fixture.py); save → load round-trips; mismatches are named; a training
//! checkpoint resumes a run exactly; writing is atomic.

use mlp_runtime::checkpoint;
use mlp_runtime::{Adam, Optimizer, Sgd};
use std::path::{Path, PathBuf};

mlp_runtime::mlp! {
    /// The fixture's network: nn.Sequential(Linear(4, 8), Tanh(), Linear(8, 3)).
    pub struct Fixture = 4 -> tanh 8 -> 3 : nll;
    /// Another shape, for mismatches.
    pub struct Wider = 4 -> tanh 9 -> 3 : nll;
    /// Without the first layer's bias.
    pub struct NoBias = 4 -> tanh 8 no_bias -> 3 : nll;
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A fresh scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mlp-checkpoint-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn floats(path: &Path, name: &str) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let view = file.tensor(name).unwrap();
    view.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn a_pytorch_model_loads_and_gives_pytorch_logits() {
    assert_eq!(
        Fixture::STATE_DICT
            .iter()
            .map(|t| t.name)
            .collect::<Vec<_>>(),
        ["0.weight", "0.bias", "2.weight", "2.bias"]
    );
    let net = Fixture::load(fixture("torch_4_tanh8_3.safetensors")).unwrap();
    let io = fixture("torch_4_tanh8_3_io.safetensors");
    let (x, want) = (floats(&io, "x"), floats(&io, "logits"));
    assert_eq!((x.len(), want.len()), (5 * 4, 5 * 3));
    let mut got = vec![0.0; want.len()];
    net.predict(&x, &mut got);
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-5, "logit {g}, PyTorch gave {w}");
    }
}

#[test]
fn save_then_load_round_trips() {
    let dir = scratch("round");
    let net = Fixture::new(9);
    let path = dir.join("net.safetensors");
    net.save(&path).unwrap();
    assert_eq!(Fixture::load(&path).unwrap().params(), net.params());
    // Nothing else is left in the folder: the temporary file was renamed.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["net.safetensors"]);
}

#[test]
fn mismatches_are_named_one_by_one() {
    let dir = scratch("mismatch");
    let path = dir.join("wider.safetensors");
    Wider::new(1).save(&path).unwrap();
    let err = Fixture::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("`0.weight` has shape [9, 4], expected [8, 4]"),
        "{err}"
    );
    assert!(
        err.contains("`0.bias` has shape [9], expected [8]"),
        "{err}"
    );
    assert!(
        err.contains("`2.weight` has shape [3, 9], expected [3, 8]"),
        "{err}"
    );
    assert!(err.contains(&path.display().to_string()), "{err}");

    let err = NoBias::load(fixture("torch_4_tanh8_3.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unexpected tensor `0.bias`"), "{err}");
    let err = Fixture::load(dir.join("absent.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("absent.safetensors") && err.contains("cannot read"),
        "{err}"
    );

    let garbage = dir.join("garbage.safetensors");
    std::fs::write(&garbage, b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}").unwrap();
    let err = Fixture::load(&garbage).unwrap_err().to_string();
    assert!(err.contains("not a safetensors file"), "{err}");

    // A truncated file: the first half of a real checkpoint.
    let whole = std::fs::read(fixture("torch_4_tanh8_3.safetensors")).unwrap();
    let cut = dir.join("cut.safetensors");
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let err = Fixture::load(&cut).unwrap_err().to_string();
    assert!(err.contains("not a safetensors file"), "{err}");

    // Integers where floats are expected.
    let data = vec![0u8; 8 * 32];
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::I64, vec![8, 4], &data).unwrap();
    let bytes = safetensors::serialize([("0.weight", view)], None).unwrap();
    let i64_file = dir.join("i64.safetensors");
    std::fs::write(&i64_file, bytes).unwrap();
    let err = Fixture::load(&i64_file).unwrap_err().to_string();
    assert!(err.contains("`0.weight` is I64, expected F32"), "{err}");
    assert!(err.contains("`2.bias` is missing"), "{err}");
}

/// A state_dict as PyTorch users have it: float64, float16 or bfloat16 tensors are converted;
/// a wrapped module's prefixed names are matched when one prefix fits; a torch.save file is
/// named as such.
#[test]
fn other_precisions_and_prefixed_names_load() {
    use safetensors::Dtype;
    let dir = scratch("forgiving");
    let net = Fixture::new(3);
    let plain = dir.join("plain.safetensors");
    net.save(&plain).unwrap();
    let write = |name: &str, dtype: Dtype, prefixes: &[&str]| {
        let mut owned = Vec::new();
        for prefix in prefixes {
            for t in Fixture::STATE_DICT {
                let values = floats(&plain, t.name);
                let bytes: Vec<u8> = match dtype {
                    Dtype::F64 => values
                        .iter()
                        .flat_map(|&v| (v as f64).to_le_bytes())
                        .collect(),
                    Dtype::F16 => values
                        .iter()
                        .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                        .collect(),
                    Dtype::BF16 => values
                        .iter()
                        .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
                        .collect(),
                    _ => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
                };
                owned.push((format!("{prefix}{}", t.name), t.shape.to_vec(), bytes));
            }
        }
        let views: Vec<_> = owned
            .iter()
            .map(|(n, shape, b)| {
                (
                    n.clone(),
                    safetensors::tensor::TensorView::new(dtype, shape.clone(), b).unwrap(),
                )
            })
            .collect();
        let path = dir.join(name);
        std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
        path
    };
    let f64s = Fixture::load(write("f64.safetensors", Dtype::F64, &[""])).unwrap();
    assert_eq!(f64s.params(), net.params(), "f32 → f64 → f32 is exact");
    let prefixed = Fixture::load(write("net.safetensors", Dtype::F32, &["net."])).unwrap();
    assert_eq!(prefixed.params(), net.params());
    let module = Fixture::load(write("module.safetensors", Dtype::F64, &["module."])).unwrap();
    assert_eq!(module.params(), net.params());
    for (name, dtype, tolerance) in [("f16", Dtype::F16, 1e-3), ("bf16", Dtype::BF16, 1e-2)] {
        let loaded = Fixture::load(write(&format!("{name}.safetensors"), dtype, &[""])).unwrap();
        for (a, b) in loaded.params().iter().zip(net.params()) {
            assert!(
                (a - b).abs() <= tolerance * b.abs().max(1.0),
                "{name}: {a} vs {b}"
            );
        }
    }
    // Two prefixes that both fit: ambiguous, refused.
    let err = Fixture::load(write("two.safetensors", Dtype::F32, &["a.", "b."]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("`0.weight` is missing"), "{err}");
    // A safetensors file whose header length begins with a pickle's bytes (0x80 0x02: a
    // header of 640 bytes) is still read as one.
    let first_bytes = |pad: usize| {
        let views: Vec<_> = Fixture::STATE_DICT
            .iter()
            .map(|t| (t.name, floats(&plain, t.name)))
            .collect();
        let data: Vec<(&str, Vec<usize>, Vec<u8>)> = views
            .iter()
            .zip(Fixture::STATE_DICT)
            .map(|((n, v), t)| {
                (
                    *n,
                    t.shape.to_vec(),
                    v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                )
            })
            .collect();
        let tensors = data.iter().map(|(n, shape, b)| {
            (
                *n,
                safetensors::tensor::TensorView::new(Dtype::F32, shape.clone(), b).unwrap(),
            )
        });
        let metadata = std::collections::HashMap::from([("pad".to_string(), "x".repeat(pad))]);
        safetensors::serialize(tensors, Some(metadata)).unwrap()
    };
    let bytes = (0..800)
        .map(first_bytes)
        .find(|b| b[0] == 0x80 && b[1] == 0x02)
        .expect("a padding gives a header of 640 bytes");
    let pickle_like = dir.join("pickle-like.safetensors");
    std::fs::write(&pickle_like, bytes).unwrap();
    assert_eq!(Fixture::load(&pickle_like).unwrap().params(), net.params());
    let zip = dir.join("model.pt");
    std::fs::write(&zip, b"PK\x03\x04\x14\x00\x00\x00archive/data.pkl").unwrap();
    let err = Fixture::load(&zip).unwrap_err().to_string();
    assert!(
        err.contains(
            "this is a torch.save pickle, not safetensors; save with safetensors.torch.save_file"
        ),
        "{err}"
    );
}

/// Steps on a fixed stream of batches.
fn steps(net: &mut Fixture, opt: &mut impl Optimizer, from: usize, to: usize) {
    for s in from..to {
        let xs: Vec<f32> = (0..16 * 4)
            .map(|i| ((i * 31 + s * 7) % 17) as f32 / 8.0 - 1.0)
            .collect();
        let ts: Vec<u32> = (0..16).map(|i| ((i + s) % 3) as u32).collect();
        net.train_step(&xs, &ts, opt);
    }
}

#[test]
fn a_resumed_run_equals_an_uninterrupted_one() {
    let dir = scratch("resume");
    let mut whole = Fixture::new(3);
    let mut opt = Adam::adamw(0.01);
    steps(&mut whole, &mut opt, 0, 20);

    let mut first = Fixture::new(3);
    let mut opt1 = Adam::adamw(0.01);
    steps(&mut first, &mut opt1, 0, 8);
    let path = dir.join("train.safetensors");
    first.save_training(&path, &opt1, 8).unwrap();
    drop((first, opt1));

    let mut opt2 = Adam::adamw(0.01);
    let (mut second, epoch) = Fixture::resume(&path, &mut opt2).unwrap();
    assert_eq!(epoch, 8);
    steps(&mut second, &mut opt2, 8, 20);
    assert_eq!(second.params(), whole.params(), "bit for bit");

    // A weights-only checkpoint cannot resume; the optimizer kinds must agree.
    let weights = dir.join("weights.safetensors");
    whole.save(&weights).unwrap();
    let err = Fixture::resume(&weights, &mut Adam::new(0.1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no training state"), "{err}");
    let err = Fixture::resume(&path, &mut Sgd::new(0.1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unexpected buffer"), "{err}");
}

/// A write that fails at the last moment (the rename: the target is a non-empty folder) leaves
/// the target as it was and no temporary file behind; a successful one replaces the old file
/// whole.
#[test]
fn a_failed_write_leaves_the_target_untouched() {
    let dir = scratch("atomic");
    let target = dir.join("net.safetensors");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), b"old").unwrap();
    let err = checkpoint::write_atomically(&target, b"new").unwrap_err();
    assert!(err.to_string().contains("cannot write"), "{err}");
    assert_eq!(std::fs::read(target.join("keep")).unwrap(), b"old");
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        ["net.safetensors"],
        "no temporary file is left behind"
    );

    let file = dir.join("file.safetensors");
    Fixture::new(1).save(&file).unwrap();
    Wider::new(2).save(&file).unwrap();
    assert_eq!(Wider::load(&file).unwrap().params(), Wider::new(2).params());
}

mlp_runtime::mlp! {
    /// The fixture's shapes with another activation.
    pub struct ReluFixture = 4 -> relu 8 -> 3 : nll;
}

/// A checkpoint names its network; one of the same shapes but another network is refused,
/// naming both. A file without the name (PyTorch's) still loads.
#[test]
fn a_checkpoint_of_another_network_is_refused() {
    let dir = scratch("spec");
    let path = dir.join("tanh.safetensors");
    Fixture::new(1).save(&path).unwrap();
    let err = ReluFixture::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("it holds the network `4 -> tanh 8 -> 3 : nll`, not `4 -> relu 8 -> 3 : nll`"),
        "{err}"
    );
    let mut opt = Adam::new(0.1);
    let err = ReluFixture::resume(&path, &mut opt)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not `4 -> relu 8 -> 3 : nll`"), "{err}");
    assert!(ReluFixture::load(fixture("torch_4_tanh8_3.safetensors")).is_ok());
}

#[test]
fn values_that_are_not_finite_are_refused_by_name() {
    let dir = scratch("finite");
    let path = dir.join("nan.safetensors");
    let mut net = Fixture::new(1);
    net.params_mut()[3] = f32::NAN;
    let last = net.params().len() - 1;
    net.params_mut()[last] = f32::INFINITY;
    net.save(&path).unwrap();
    let err = Fixture::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("`0.weight` holds 1 values that are not finite (value 3 is NaN)"),
        "{err}"
    );
    assert!(
        err.contains("`2.bias` holds 1 values that are not finite (value 2 is inf)"),
        "{err}"
    );
}

/// Resuming checks every optimizer buffer's length against the parameters (buffers of the
/// same wrong length agree with each other, and Adam would zero them and keep its step).
#[test]
fn optimizer_buffers_must_match_the_parameters() {
    let dir = scratch("buffers");
    let path = dir.join("short.safetensors");
    let short = vec![0.5f32; 10];
    let training = checkpoint::Training {
        epoch: 1,
        position: 0,
        ranks: 1,
        optimizer: mlp_runtime::optim::State {
            step: 5,
            buffers: vec![
                ("exp_avg".into(), short.clone()),
                ("exp_avg_sq".into(), short),
            ],
        },
    };
    let net = Fixture::new(1);
    net.save_with(&path, &Default::default(), Some(&training))
        .unwrap();
    let err = Fixture::resume(&path, &mut Adam::new(0.1))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`optimizer.exp_avg` has 10 values, the network has 67 parameters"),
        "{err}"
    );
    assert!(
        err.contains("`optimizer.exp_avg_sq` has 10 values"),
        "{err}"
    );
}

/// The standardization of training is recorded in the metadata and read back exactly by
/// `load_with_preprocessing` and `resume_with_preprocessing`; the tensors stay those of the
/// state_dict (and the optimizer's), so PyTorch's `load_state_dict` takes the file as before.
#[test]
fn preprocessing_is_recorded_in_the_metadata() {
    use mlp_runtime::dataset::{Preprocessing, Standardization};
    let dir = scratch("preprocessing");
    let path = dir.join("std.safetensors");
    let stats = Standardization {
        mean: vec![0.1, -2.5e-7, 1e30, 3.0],
        std: vec![0.3, 1.0, 7e-3, 1.0 / 3.0],
    };
    let preprocessing = Preprocessing::standardize(stats.clone());
    let mut net = Fixture::new(4);
    let mut opt = Adam::new(0.01);
    steps(&mut net, &mut opt, 0, 1);
    let training = checkpoint::Training {
        epoch: 2,
        optimizer: opt.state(),
        ..Default::default()
    };
    net.save_with(&path, &preprocessing, Some(&training))
        .unwrap();
    let (loaded, read) = Fixture::load_with_preprocessing(&path).unwrap();
    assert_eq!((loaded.params(), &read), (net.params(), &preprocessing));
    let (_, epoch, read) = Fixture::resume_with_preprocessing(&path, &mut Adam::new(0.01)).unwrap();
    assert_eq!((epoch, read.standardization), (2, Some(stats)));

    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names = file.names();
    names.sort();
    assert_eq!(
        names,
        [
            "0.bias",
            "0.weight",
            "2.bias",
            "2.weight",
            "optimizer.exp_avg",
            "optimizer.exp_avg_sq"
        ]
    );
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = header.metadata().clone().unwrap();
    assert_eq!(metadata["mlp.standardize.std"], "[0.3,1,0.007,0.33333334]");
    // Without preprocessing, none is recorded or read.
    net.save(&path).unwrap();
    assert!(Fixture::load_with_preprocessing(&path).unwrap().1.is_none());
}

/// The class names of training are recorded as `mlp.classes`, a JSON array (a name may hold a
/// comma or a quote), and read back; names that do not fit the network are refused by name; a
/// file without them loads with none.
#[test]
fn class_names_are_recorded_in_the_metadata() {
    use mlp_runtime::dataset::Preprocessing;
    let dir = scratch("classes");
    let path = dir.join("named.safetensors");
    let names: Vec<String> = ["a,b", "setosa", "say \"hi\""].map(String::from).to_vec();
    let preprocessing = Preprocessing {
        classes: Some(names.clone()),
        ..Preprocessing::default()
    };
    let net = Fixture::new(5);
    net.save_with(&path, &preprocessing, None).unwrap();
    let (_, read) = Fixture::load_with_preprocessing(&path).unwrap();
    assert_eq!(read.classes.as_deref(), Some(names.as_slice()));
    assert_eq!(
        (read.class_name(1), read.class_name(7)),
        ("setosa".into(), "7".into())
    );
    assert!(read.is_none(), "class names transform no input");

    let bytes = std::fs::read(&path).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = header.metadata().clone().unwrap();
    assert_eq!(metadata["mlp.classes"], r#"["a,b","setosa","say \"hi\""]"#);
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    for (stored, problem) in [
        (
            r#"["x","y"]"#,
            "metadata `mlp.classes` names 2 classes, the network has 3 outputs",
        ),
        (r#"["x","y","x"]"#, "metadata `mlp.classes` names `x` twice"),
        (
            r#"["x","","y"]"#,
            "metadata `mlp.classes` holds an empty name",
        ),
        (
            r#"[1,2,3]"#,
            "metadata `mlp.classes` must be a JSON array of strings",
        ),
    ] {
        let mut metadata = metadata.clone();
        metadata.insert("mlp.classes".into(), stored.into());
        let bad = dir.join("bad.safetensors");
        safetensors::serialize_to_file(file.tensors(), Some(metadata), &bad).unwrap();
        let err = Fixture::load(&bad).unwrap_err().to_string();
        assert!(err.contains(problem), "{stored}: {err}");
    }
    net.save(&path).unwrap();
    assert_eq!(
        Fixture::load_with_preprocessing(&path).unwrap().1.classes,
        None
    );
}

/// A write killed before its rename leaves `.NAME.tmp-PID`; the next write of the file removes
/// it when process PID has ended, and keeps it while the process runs (it may be writing).
#[cfg(unix)]
#[test]
fn stale_temporary_files_are_removed_by_the_next_write() {
    let dir = scratch("stale");
    let mut ended = std::process::Command::new("true").spawn().unwrap();
    ended.wait().unwrap();
    let dead = dir.join(format!(".net.safetensors.tmp-{}", ended.id()));
    let mut running = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .unwrap();
    let live = dir.join(format!(".net.safetensors.tmp-{}", running.id()));
    let other = dir.join(format!(".other.safetensors.tmp-{}", ended.id()));
    for f in [&dead, &live, &other] {
        std::fs::write(f, b"partial").unwrap();
    }
    Fixture::new(1).save(dir.join("net.safetensors")).unwrap();
    running.kill().unwrap();
    running.wait().unwrap();
    assert!(!dead.exists(), "the ended process's file is removed");
    assert!(live.exists(), "the running process's file is kept");
    assert!(other.exists(), "another checkpoint's file is not touched");
}
