mlp_runtime::mlp! {
    act swish(x) = x * sigmod(x);
    pub struct Net = 4 -> swish 8 -> 1 : mse;
}

fn main() {}
