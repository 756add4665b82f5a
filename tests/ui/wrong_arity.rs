mlp_runtime::mlp! {
    act clip(x) = max(x);
    pub struct Net = 4 -> clip 8 -> 1 : mse;
}

fn main() {}
