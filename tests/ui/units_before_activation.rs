mlp_runtime::mlp! {
    pub struct Net = 784 -> 512 relu -> 10 : nll;
}

fn main() {}
