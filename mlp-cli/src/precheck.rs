//! The data's shape against the spec, checked before a trainer is built: a CSV file's columns
//! (its first line) or MNIST's 784 pixels. Anything this cannot read is left to the trainer,
//! which reads the data whole and reports it. Only the count of columns is read, never their
//! values: a header has as many columns as a data row, and a label column as many whether it
//! holds class indices or class names, so the runtime's header and label rules need no copy
//! here.

use mlp_compiler::model::network::{Loss, Network};
use std::io::{BufRead, Read};
use std::path::Path;

/// The value of `--name VALUE` or `--name=VALUE` among `options`.
pub fn option<'a>(options: &[&'a str], name: &str) -> Option<&'a str> {
    options
        .iter()
        .enumerate()
        .find_map(|(k, o)| match o.strip_prefix(name) {
            Some("") => options.get(k + 1).copied(),
            Some(rest) => rest.strip_prefix('='),
            None => None,
        })
}

/// Whether the data `train`'s options name fits `net`: `--data`, and `--test`, which must
/// exist; an error says how it does not.
pub fn data_fits(net: &Network, spec: &str, options: &[&str]) -> Result<(), String> {
    if let Some(data) = option(options, "--data") {
        file_fits(net, spec, options, data)?;
    }
    let Some(test) = option(options, "--test") else {
        return Ok(());
    };
    if !Path::new(test).exists() {
        return Err(format!("--test {test}: no such file or folder"));
    }
    file_fits(net, spec, options, test).map_err(|e| format!("--test {e}"))
}

/// Whether the data at `data` (a CSV file or an MNIST folder) fits `net`, read with the CSV
/// options among `options`.
fn file_fits(net: &Network, spec: &str, options: &[&str], data: &str) -> Result<(), String> {
    let path = Path::new(data);
    if path.is_dir() {
        return match net.inputs {
            784 => Ok(()),
            n => Err(format!(
                "{data} is an MNIST folder: its images have 784 pixels, but `{spec}` takes {n} inputs"
            )),
        };
    }
    let Ok(file) = std::fs::File::open(path) else {
        return Ok(());
    };
    let mut first = String::new();
    // A first line longer than this, or quoted fields, are the trainer's to judge.
    let read = std::io::BufReader::new(file)
        .take(1 << 20)
        .read_line(&mut first);
    if read.is_err() || first.contains('"') || first.trim().is_empty() {
        return Ok(());
    }
    let columns = first.trim_end_matches(['\r', '\n']).split(',').count();
    let targets = match net.loss {
        Loss::Nll => 1,
        _ => match option(options, "--targets").map(str::parse::<usize>) {
            Some(Ok(n)) => n,
            Some(Err(_)) => return Ok(()),
            None => net.outputs(),
        },
    };
    let want = net.inputs + targets;
    if columns == want {
        return Ok(());
    }
    let what = match net.loss {
        Loss::Nll => "1 label column".to_string(),
        _ => format!(
            "{targets} target column{}",
            if targets == 1 { "" } else { "s" }
        ),
    };
    Err(format!(
        "{data}: rows have {columns} columns, but `{spec}` takes {} inputs and {what}, {want} in all (checked before building the trainer)",
        net.inputs
    ))
}

#[cfg(test)]
mod tests {
    use super::option;

    #[test]
    fn options_are_found_in_both_forms() {
        assert_eq!(option(&["--data", "a.csv"], "--data"), Some("a.csv"));
        assert_eq!(
            option(&["--epochs", "2", "--data=b.csv"], "--data"),
            Some("b.csv")
        );
        assert_eq!(option(&["--data"], "--data"), None);
        assert_eq!(option(&["--database", "x"], "--data"), None);
    }
}
