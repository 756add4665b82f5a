//! Any bytes that are UTF-8 must parse to `Ok` or to errors whose spans lie inside the text,
//! and an accepted network's canonical text must read back to the same network.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match mlp_compiler::compile_spec(text) {
        Ok(net) => assert_eq!(mlp_compiler::compile_spec(&net.spec()), Ok(net)),
        Err(diags) => {
            for d in diags.errors() {
                assert!(d.span.start <= d.span.end && d.span.end <= text.len());
            }
            let _ = diags.render("<fuzz>", text);
        }
    }
    if let Err((_, diags)) = mlp_compiler::compile_items(text) {
        for d in diags.errors() {
            assert!(d.span.start <= d.span.end && d.span.end <= text.len());
        }
    }
});
