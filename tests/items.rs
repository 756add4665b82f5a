//! Everything the macro accepts in one invocation: doc comments, attributes, visibility,
//! custom activations, several networks. (A plain test: as a trybuild "pass" case it made
//! trybuild build, not just check, every dependency of this package a second time.)

mlp_runtime::mlp! {
    act swish(x) = x * sigmoid(x);

    /// The network from PyTorch's quickstart tutorial.
    #[allow(dead_code)]
    pub struct Mnist = 784 -> relu 512 -> relu 512 -> 10 : nll;

    pub(crate) struct Tiny = 2 -> tanh 8 -> sigmoid 1 : mse;
    struct Custom = 4 -> swish 8 no_bias -> leaky_relu(0.2) 3 -> softmax 2 : l2;
}

#[test]
fn the_items_exist_with_their_constants() {
    assert_eq!(Mnist::PARAMS, 669_706);
    assert_eq!(Tiny::PARAMS, 2 * 8 + 8 + 8 + 1);
    assert_eq!(Custom::INPUTS, 4);
    assert_eq!(Custom::OUTPUTS, 2);
    assert_eq!(
        Custom::SPEC,
        "act swish(x) = x * sigmoid(x); 4 -> swish 8 no_bias -> leaky_relu(0.2) 3 -> softmax 2 : l2"
    );
}
