//! Generates `include/processes.h` from `src/ffi` with cbindgen, and gives the shared library
//! a SONAME on Linux so that consumers record `libprocesses.so.<major>` rather than a path.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let root =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");

    let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libprocesses.so.{major}");
    }

    generate_header(&root);
}

/// Writes the header only when its text changed, so that an unchanged header keeps its
/// timestamp and C builds that include it are not redone.
fn generate_header(root: &std::path::Path) {
    let mut config = cbindgen::Config::from_file(root.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable and valid");
    config.after_includes = Some(version_macros());
    let bindings = match cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src/ffi/mod.rs"))
        .generate()
    {
        Ok(bindings) => bindings,
        Err(error) => panic!("cbindgen could not read src/ffi: {error}"),
    };
    let mut text = Vec::new();
    bindings.write(&mut text);
    let path = root.join("include/processes.h");
    if fs::read(&path).ok().as_deref() != Some(&text[..]) {
        fs::create_dir_all(root.join("include")).expect("include/ can be created");
        fs::write(&path, text).expect("include/processes.h can be written");
    }
}

fn version_macros() -> String {
    let part = |name: &str| env::var(name).unwrap_or_else(|_| String::from("0"));
    format!(
        "\n/** The version of this header, matched by prc_version() at run time. */\n\
         #define PRC_VERSION_MAJOR {}\n#define PRC_VERSION_MINOR {}\n#define PRC_VERSION_PATCH {}\n\
         #define PRC_VERSION_STRING \"{}\"\n",
        part("CARGO_PKG_VERSION_MAJOR"),
        part("CARGO_PKG_VERSION_MINOR"),
        part("CARGO_PKG_VERSION_PATCH"),
        env::var("CARGO_PKG_VERSION").unwrap_or_default(),
    )
}
