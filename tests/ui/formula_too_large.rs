// Each definition inlines the one before twice: b4 would hold 13,121 operations.
mlp_runtime::mlp! {
    act b1(x) = x * x + x;
    act b2(x) = b1(b1(x));
    act b3(x) = b2(b2(x));
    act b4(x) = b3(b3(x));
    pub struct Net = 3 -> b4 4 -> 2 : mse;
}

fn main() {}
