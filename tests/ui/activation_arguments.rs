mlp_runtime::mlp! {
    pub struct Net = 4 -> relu(0.5) 8 -> 1 : mse;
}

fn main() {}
