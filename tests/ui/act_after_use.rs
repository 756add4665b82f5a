mlp_runtime::mlp! {
    pub struct Net = 4 -> swish 8 -> 1 : mse;
    act swish(x) = x * sigmoid(x);
}

fn main() {}
