//! The checks every trainer command line puts its options through: each bad value a clear
//! error naming the option, more threads than CPUs a warning.

use mlp_runtime::options;

#[test]
fn bad_values_name_their_option() {
    let cases = [
        (
            options::learning_rate(0.0).unwrap_err(),
            "--lr must be a positive number, found 0",
        ),
        (options::learning_rate(-1.0).unwrap_err(), "found -1"),
        (options::learning_rate(f32::NAN).unwrap_err(), "found NaN"),
        (
            options::at_least_one("--batch", 0usize).unwrap_err(),
            "--batch must be at least 1",
        ),
        (
            options::at_least_one("--epochs", 0u64).unwrap_err(),
            "--epochs must be at least 1",
        ),
        (
            options::threads(0).unwrap_err(),
            "--threads must be at least 1",
        ),
        (
            options::fraction("--validation", 1.0).unwrap_err(),
            "--validation must be in [0, 1), found 1",
        ),
        (
            options::fraction("--validation", -0.1).unwrap_err(),
            "found -0.1",
        ),
        (
            options::fraction("--validation", f32::NAN).unwrap_err(),
            "found NaN",
        ),
        (
            options::one_batch("--validation 0.999 leaves", 0, 64).unwrap_err(),
            "--validation 0.999 leaves 0 training samples, fewer than one batch of 64",
        ),
        (
            options::epochs_left(5, 3).unwrap_err(),
            "the checkpoint has trained 5 epochs and --epochs 3 counts them all",
        ),
    ];
    for (err, want) in cases {
        assert!(err.contains(want), "{err}");
    }
    assert_eq!(options::learning_rate(0.5), Ok(0.5));
    assert_eq!(options::fraction("--validation", 0.0), Ok(0.0));
    assert!(options::one_batch("x", 64, 64).is_ok());
    assert!(options::epochs_left(5, 6).is_ok());
}

#[test]
fn threads_above_the_cpus_are_clamped_with_a_warning() {
    let cpus = std::thread::available_parallelism().unwrap().get();
    let (n, warning) = options::threads(10_000).unwrap();
    assert_eq!(n, cpus);
    let warning = warning.expect("a warning");
    assert!(
        warning.contains(&format!("--threads 10000 is more than the {cpus} CPUs")),
        "{warning}"
    );
    assert_eq!(options::threads(1).unwrap(), (1, None));
}
