//! The committed C header must be exactly what cbindgen generates from `src/capi.rs`.
//!
//! `UPDATE_HEADER=1 cargo test --test header` rewrites it instead of failing.

use std::path::Path;

#[test]
fn committed_header_matches_cbindgen_output() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable and valid");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);

    let header = crate_dir.join("include/lookcoin_state.h");
    let committed = std::fs::read(&header).unwrap_or_default();
    if generated == committed {
        return;
    }
    if std::env::var_os("UPDATE_HEADER").is_some_and(|v| v == "1") {
        std::fs::write(&header, &generated).expect("include/lookcoin_state.h is writable");
        eprintln!("UPDATED: {}", header.display());
        return;
    }
    panic!(
        "{} differs from what cbindgen generates from src/capi.rs; \
         run `UPDATE_HEADER=1 cargo test --test header` and commit the result",
        header.display()
    );
}
