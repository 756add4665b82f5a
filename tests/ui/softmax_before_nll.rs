mlp_runtime::mlp! {
    pub struct Net = 784 -> relu 512 -> softmax 10 : nll;
}

fn main() {}
