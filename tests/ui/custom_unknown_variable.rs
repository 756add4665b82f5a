mlp_runtime::mlp! {
    act scaled(x) = x * y;
    pub struct Net = 4 -> scaled 8 -> 1 : mse;
}

fn main() {}
