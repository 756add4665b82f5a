// The derivative of a product of 31 `x`s holds 1,055 operations before simplification.
mlp_runtime::mlp! {
    act c(x) = x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x;
    pub struct Net = 3 -> tanh 4 -> c 4 -> 2 : mse;
}

fn main() {}
