mlp_runtime::mlp! {
    pub struct Net = 16 -> relu 8 -> 1 : nll;
}

fn main() {}
