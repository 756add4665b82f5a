mlp_runtime::mlp! {
    pub struct Net = 16 -> relu 8 -> sigmoid 1 : bce;
}

fn main() {}
