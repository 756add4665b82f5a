mlp_runtime::mlp! {
    pub struct Net = 784 -> relux 512 -> 10 : nll;
}

fn main() {
    // The stand-in keeps this compiling: one mistake, one error.
    let _ = Net::PARAMS;
}
