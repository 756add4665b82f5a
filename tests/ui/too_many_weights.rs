mlp_runtime::mlp! {
    pub struct Net = 1000000 -> relu 1000 -> 10 : nll;
}

fn main() {}
