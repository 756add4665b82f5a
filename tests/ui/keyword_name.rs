mlp_runtime::mlp! {
    pub struct type = 4 -> 1 : mse;
}

fn main() {}
