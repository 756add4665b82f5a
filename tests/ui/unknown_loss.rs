mlp_runtime::mlp! {
    pub struct Net = 784 -> relu 512 -> 10 : nlll;
}

fn main() {}
