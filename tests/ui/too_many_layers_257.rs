// 257 layers: one error, under layer 65 (the first past the limit of 64).
mlp_runtime::mlp! {
    pub struct Net = 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4 -> relu 4
        -> 2
        : nll;
}

fn main() {}
