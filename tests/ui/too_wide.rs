mlp_runtime::mlp! {
    pub struct Net = 784 -> relu 2000000 -> 10 : nll;
}

fn main() {}
