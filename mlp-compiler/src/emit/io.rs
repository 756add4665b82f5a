//! The generated checkpoint API: the state_dict layout and save/load methods, thin calls of
//! `mlp_runtime::checkpoint`.

use crate::model::network::Network;
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
    let error = quote!(::mlp_runtime::checkpoint::CheckpointError);
    let preprocessing = quote!(::mlp_runtime::dataset::Preprocessing);
    quote! {
        /// The parameters as PyTorch's `nn.Sequential` state_dict names and shapes them, in
        /// the order of [`Self::params`].
        pub const STATE_DICT: &'static [::mlp_runtime::checkpoint::Tensor] = &[#(#tensors),*];

        /// Writes the parameters to `path` as safetensors with state_dict names (loadable by
        /// PyTorch), atomically; no preprocessing is recorded (see [`Self::save_with`]).
        pub fn save(&self, path: impl AsRef<::std::path::Path>) -> ::std::result::Result<(), #error> {
            self.save_with(path, &#preprocessing::default(), ::std::option::Option::None)
        }

        /// Writes the parameters, the optimizer's state and the epoch count to `path`, for
        /// [`Self::resume`], atomically; no preprocessing is recorded (see [`Self::save_with`]).
        pub fn save_training(&self, path: impl AsRef<::std::path::Path>, opt: &impl ::mlp_runtime::Optimizer, epoch: u64) -> ::std::result::Result<(), #error> {
            let training = ::mlp_runtime::checkpoint::Training { epoch, optimizer: opt.state(), ..::std::default::Default::default() };
            self.save_with(path, &#preprocessing::default(), ::std::option::Option::Some(&training))
        }

        /// Writes the parameters, how the inputs were preprocessed in training (read back by
        /// [`Self::load_with_preprocessing`]) and, if given, the training state to `path`,
        /// atomically: the general form of [`Self::save`] and [`Self::save_training`].
        pub fn save_with(&self, path: impl AsRef<::std::path::Path>, preprocessing: &#preprocessing, training: ::std::option::Option<&::mlp_runtime::checkpoint::Training>) -> ::std::result::Result<(), #error> {
            ::mlp_runtime::checkpoint::save(path.as_ref(), Self::STATE_DICT, Self::SPEC, &self.params, training, preprocessing)
        }

        /// A network with the parameters in `path` (written by [`Self::save`] or by PyTorch).
        /// A file that names another network (`mlp.spec`) is refused, naming both; every
        /// tensor's name, shape and dtype is checked, and each mismatch named; values that are
        /// not finite are refused. The preprocessing the file records is not applied here:
        /// [`Self::load_with_preprocessing`] returns it.
        pub fn load(path: impl AsRef<::std::path::Path>) -> ::std::result::Result<Self, #error> {
            Self::load_with_preprocessing(path).map(|(net, _)| net)
        }

        /// [`Self::load`], and how the inputs were preprocessed in training: apply it to every
        /// input before [`Self::predict`] or [`Self::loss`]
        /// (`preprocessing.apply_to_rows(&mut xs, Self::INPUTS)`).
        pub fn load_with_preprocessing(path: impl AsRef<::std::path::Path>) -> ::std::result::Result<(Self, #preprocessing), #error> {
            let loaded = ::mlp_runtime::checkpoint::load(path.as_ref(), Self::STATE_DICT, Self::SPEC)?;
            let mut net = Self::new(0);
            net.params.copy_from_slice(&loaded.params);
            ::std::result::Result::Ok((net, loaded.preprocessing))
        }

        /// The network, the optimizer's state (restored into `opt`) and the epochs completed,
        /// from a checkpoint written by [`Self::save_training`], checked as [`Self::load`]
        /// checks and with every optimizer buffer as long as the parameters.
        pub fn resume(path: impl AsRef<::std::path::Path>, opt: &mut impl ::mlp_runtime::Optimizer) -> ::std::result::Result<(Self, u64), #error> {
            Self::resume_with_preprocessing(path, opt).map(|(net, epoch, _)| (net, epoch))
        }

        /// [`Self::resume`], and how the inputs were preprocessed in training.
        pub fn resume_with_preprocessing(path: impl AsRef<::std::path::Path>, opt: &mut impl ::mlp_runtime::Optimizer) -> ::std::result::Result<(Self, u64, #preprocessing), #error> {
            Self::resume_training(path, opt).map(|(net, training, preprocessing)| (net, training.epoch, preprocessing))
        }

        /// [`Self::resume_with_preprocessing`] with the whole training state: the epochs
        /// completed, the steps of the next one already taken (a checkpoint written on an
        /// interrupt) and the processes that trained (its optimizer state is restored into
        /// `opt` and left empty here). `mlp_runtime::train::fit` continues from it exactly.
        pub fn resume_training(path: impl AsRef<::std::path::Path>, opt: &mut impl ::mlp_runtime::Optimizer) -> ::std::result::Result<(Self, ::mlp_runtime::checkpoint::Training, #preprocessing), #error> {
            let path = path.as_ref();
            let loaded = ::mlp_runtime::checkpoint::load(path, Self::STATE_DICT, Self::SPEC)?;
            let fail = |problem: ::std::string::String| #error { path: path.to_path_buf(), problems: ::std::vec![problem] };
            let mut training = loaded.training.ok_or_else(|| fail("no training state: written by `save`, not `save_training`".into()))?;
            opt.load_state(::std::mem::take(&mut training.optimizer)).map_err(fail)?;
            let mut net = Self::new(0);
            net.params.copy_from_slice(&loaded.params);
            ::std::result::Result::Ok((net, training, loaded.preprocessing))
        }
    }
}

/// The same methods for the stand-in of a network with errors.
pub fn stand_in(message: &str) -> TokenStream {
    let error = quote!(::mlp_runtime::checkpoint::CheckpointError);
    let preprocessing = quote!(::mlp_runtime::dataset::Preprocessing);
    quote! {
        /// Stand-in: the network had errors.
        pub const STATE_DICT: &'static [::mlp_runtime::checkpoint::Tensor] = &[];
        /// Stand-in: the network had errors.
        pub fn save(&self, path: impl AsRef<::std::path::Path>) -> ::std::result::Result<(), #error> { unreachable!(#message) }
        /// Stand-in: the network had errors.
        pub fn save_training(&self, path: impl AsRef<::std::path::Path>, opt: &impl ::mlp_runtime::Optimizer, epoch: u64) -> ::std::result::Result<(), #error> { unreachable!(#message) }
        /// Stand-in: the network had errors.
        pub fn save_with(&self, path: impl AsRef<::std::path::Path>, preprocessing: &#preprocessing, training: ::std::option::Option<&::mlp_runtime::checkpoint::Training>) -> ::std::result::Result<(), #error> { unreachable!(#message) }
        /// Stand-in: the network had errors.
        pub fn load(path: impl AsRef<::std::path::Path>) -> ::std::result::Result<Self, #error> { unreachable!(#message) }
        /// Stand-in: the network had errors.
        pub fn load_with_preprocessing(path: impl AsRef<::std::path::Path>) -> ::std::result::Result<(Self, #preprocessing), #error> { unreachable!(#message) }
        /// Stand-in: the network had errors.
        pub fn resume(path: impl AsRef<::std::path::Path>, opt: &mut impl ::mlp_runtime::Optimizer) -> ::std::result::Result<(Self, u64), #error> { unreachable!(#message) }
        /// Stand-in: the network had errors.
        pub fn resume_with_preprocessing(path: impl AsRef<::std::path::Path>, opt: &mut impl ::mlp_runtime::Optimizer) -> ::std::result::Result<(Self, u64, #preprocessing), #error> { unreachable!(#message) }
        /// Stand-in: the network had errors.
        pub fn resume_training(path: impl AsRef<::std::path::Path>, opt: &mut impl ::mlp_runtime::Optimizer) -> ::std::result::Result<(Self, ::mlp_runtime::checkpoint::Training, #preprocessing), #error> { unreachable!(#message) }
    }
}
