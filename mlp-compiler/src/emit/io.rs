//! The generated checkpoint API: the state_dict layout and save/load methods, thin calls of
//! `mlp_runtime::checkpoint`.

use crate::network::Network;
use proc_macro2::TokenStream;
use quote::quote;

/// The PyTorch `nn.Sequential` state_dict of `net`: linear layer k at index 2k, its weight
/// `[out, in]` then its bias `[out]`.
pub fn state_dict(net: &Network) -> Vec<(String, Vec<usize>)> {
    let mut out = Vec::new();
    for (k, layer) in net.layers.iter().enumerate() {
        out.push((format!("{}.weight", 2 * k), vec![layer.units, layer.inputs]));
        if layer.bias {
            out.push((format!("{}.bias", 2 * k), vec![layer.units]));
        }
    }
    out
}

/// The `STATE_DICT` constant and the checkpoint methods, inside the network's `impl`.
pub fn methods(net: &Network) -> TokenStream {
    let tensors = state_dict(net).into_iter().map(|(name, shape)| {
        quote!(::mlp_runtime::checkpoint::Tensor { name: #name, shape: &[#(#shape),*] })
    });
    quote! {
        /// The parameters as PyTorch's `nn.Sequential` state_dict names and shapes them, in
        /// the order of [`Self::params`].
        pub const STATE_DICT: &'static [::mlp_runtime::checkpoint::Tensor] = &[#(#tensors),*];

        /// Writes the parameters to `path` as safetensors with state_dict names (loadable by
        /// PyTorch), atomically.
        pub fn save(&self, path: impl AsRef<::std::path::Path>) -> ::std::result::Result<(), ::mlp_runtime::checkpoint::CheckpointError> {
            ::mlp_runtime::checkpoint::save(path.as_ref(), Self::STATE_DICT, Self::SPEC, &self.params, None)
        }

        /// Writes the parameters, the optimizer's state and the epoch count to `path`, for
        /// [`Self::resume`], atomically.
        pub fn save_training(&self, path: impl AsRef<::std::path::Path>, opt: &impl ::mlp_runtime::Optimizer, epoch: u64) -> ::std::result::Result<(), ::mlp_runtime::checkpoint::CheckpointError> {
            let training = ::mlp_runtime::checkpoint::Training { epoch, optimizer: opt.state() };
            ::mlp_runtime::checkpoint::save(path.as_ref(), Self::STATE_DICT, Self::SPEC, &self.params, Some(&training))
        }

        /// A network with the parameters in `path` (written by [`Self::save`] or by PyTorch);
        /// every tensor's name, shape and dtype is checked, and each mismatch named.
        pub fn load(path: impl AsRef<::std::path::Path>) -> ::std::result::Result<Self, ::mlp_runtime::checkpoint::CheckpointError> {
            let loaded = ::mlp_runtime::checkpoint::load(path.as_ref(), Self::STATE_DICT)?;
            let mut net = Self::new(0);
            net.params.copy_from_slice(&loaded.params);
            Ok(net)
        }

        /// The network, the optimizer's state (restored into `opt`) and the epochs completed,
        /// from a checkpoint written by [`Self::save_training`].
        pub fn resume(path: impl AsRef<::std::path::Path>, opt: &mut impl ::mlp_runtime::Optimizer) -> ::std::result::Result<(Self, u64), ::mlp_runtime::checkpoint::CheckpointError> {
            let path = path.as_ref();
            let loaded = ::mlp_runtime::checkpoint::load(path, Self::STATE_DICT)?;
            let fail = |problem: ::std::string::String| ::mlp_runtime::checkpoint::CheckpointError { path: path.to_path_buf(), problems: ::std::vec![problem] };
            let training = loaded.training.ok_or_else(|| fail("no training state: written by `save`, not `save_training`".into()))?;
            opt.load_state(training.optimizer).map_err(fail)?;
            let mut net = Self::new(0);
            net.params.copy_from_slice(&loaded.params);
            Ok((net, training.epoch))
        }
    }
}

/// The same methods for the stand-in of a network with errors.
pub fn stand_in(message: &str) -> TokenStream {
    quote! {
        /// Stand-in: the network had errors.
        pub const STATE_DICT: &'static [::mlp_runtime::checkpoint::Tensor] = &[];
        /// Stand-in: the network had errors.
        pub fn save(&self, path: impl AsRef<::std::path::Path>) -> ::std::result::Result<(), ::mlp_runtime::checkpoint::CheckpointError> { unreachable!(#message) }
        /// Stand-in: the network had errors.
        pub fn save_training(&self, path: impl AsRef<::std::path::Path>, opt: &impl ::mlp_runtime::Optimizer, epoch: u64) -> ::std::result::Result<(), ::mlp_runtime::checkpoint::CheckpointError> { unreachable!(#message) }
        /// Stand-in: the network had errors.
        pub fn load(path: impl AsRef<::std::path::Path>) -> ::std::result::Result<Self, ::mlp_runtime::checkpoint::CheckpointError> { unreachable!(#message) }
        /// Stand-in: the network had errors.
        pub fn resume(path: impl AsRef<::std::path::Path>, opt: &mut impl ::mlp_runtime::Optimizer) -> ::std::result::Result<(Self, u64), ::mlp_runtime::checkpoint::CheckpointError> { unreachable!(#message) }
    }
}
