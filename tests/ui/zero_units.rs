mlp_runtime::mlp! {
    pub struct Net = 784 -> relu 0 -> 10 : nll;
}

fn main() {}
