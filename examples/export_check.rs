//! The mlp → PyTorch direction of the checkpoint interchange: trains `4 -> tanh 8 -> 3 : nll`
//! for a few steps, saves it, and writes inputs with this trainer's logits beside it. Then
//! `python scripts/torch_fixture.py check DIR/mlp_4_tanh8_3.safetensors DIR/mlp_4_tanh8_3_io.safetensors`
//! loads the checkpoint into PyTorch and compares the logits.
//!
//! `cargo run --example export_check -- DIR` (default: target/export_check).

use mlp_runtime::{Adam, checkpoint};
use safetensors::{Dtype, tensor::TensorView};

mlp_runtime::mlp! {
    /// nn.Sequential(Linear(4, 8), Tanh(), Linear(8, 3)).
    pub struct Small = 4 -> tanh 8 -> 3 : nll;
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/export_check".into());
    std::fs::create_dir_all(&dir)?;
    let mut net = Small::new(5);
    let mut opt = Adam::new(0.05);
    let xs: Vec<f32> = (0..32 * 4)
        .map(|i| ((i * 37) % 23) as f32 / 11.0 - 1.0)
        .collect();
    let ts: Vec<u32> = (0..32).map(|i| (i % 3) as u32).collect();
    for _ in 0..50 {
        net.train_step(&xs, &ts, &mut opt);
    }
    let ckpt = format!("{dir}/mlp_4_tanh8_3.safetensors");
    net.save_training(&ckpt, &opt, 1)?;
    let x = &xs[..5 * 4];
    let mut logits = vec![0.0; 5 * 3];
    net.predict(x, &mut logits);
    let bytes = |v: &[f32]| v.iter().flat_map(|f| f.to_le_bytes()).collect::<Vec<u8>>();
    let (xb, lb) = (bytes(x), bytes(&logits));
    let io = safetensors::serialize(
        [
            ("x", TensorView::new(Dtype::F32, vec![5, 4], &xb)?),
            ("logits", TensorView::new(Dtype::F32, vec![5, 3], &lb)?),
        ],
        None,
    )?;
    let io_path = format!("{dir}/mlp_4_tanh8_3_io.safetensors");
    checkpoint::write_atomically(std::path::Path::new(&io_path), &io)?;
    println!("wrote {ckpt} and {io_path}");
    Ok(())
}
