mlp_runtime::mlp! {
    act relu(x) = max(x, 0);
    pub struct Net = 4 -> relu 8 -> 1 : mse;
}

fn main() {}
