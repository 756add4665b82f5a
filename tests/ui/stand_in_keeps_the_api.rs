// After a mistake, code that uses the network's API still compiles: one mistake, one error.
mlp_runtime::mlp! {
    pub struct Net = 784 -> relux 512 -> 10 : nll;
}

fn main() {
    let mut net = Net::new(0);
    let xs = vec![0.0f32; 784];
    let mut sgd = mlp_runtime::Sgd::new(0.1);
    let _ = net.train_step(&xs, &[3u32], &mut sgd);
    let _ = net.loss(&xs, &[3u32]);
    let _ = net.params().len() + Net::PARAMS;
}
