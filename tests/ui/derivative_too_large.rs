// The derivative of a product of 30 `x`s holds 1,047 operations before simplification.
mlp_runtime::mlp! {
    act c(x) = x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x;
    pub struct Net = 3 -> tanh 4 -> c 4 -> 2 : mse;
}

fn main() {}
