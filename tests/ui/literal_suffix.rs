mlp_runtime::mlp! {
    pub struct Net = 784 -> relu 512usize -> 10 : nll;
}

fn main() {}
