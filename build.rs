//! Regenerates `include/altogic.h` from the exported functions with cbindgen (the header is
//! committed; CI rebuilds it and fails when the committed copy is stale), and gives the
//! shared library its versioned SONAME.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=Cargo.toml");

    give_the_shared_library_a_soname();

    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable and valid");
    let version = env!("CARGO_PKG_VERSION");
    let mut parts = version.split(['.', '-', '+']);
    let mut next = || parts.next().unwrap_or("0").to_owned();
    let (major, minor, patch) = (next(), next(), next());
    let version_macros = format!(
        "\n/** The version of this header, equal to what `altogic_version()` returns. */\n\
         #define ALTOGIC_VERSION \"{version}\"\n\
         #define ALTOGIC_VERSION_MAJOR {major}\n\
         #define ALTOGIC_VERSION_MINOR {minor}\n\
         #define ALTOGIC_VERSION_PATCH {patch}\n"
    );
    let code_macros = error_code_macros(&crate_dir.join("src").join("error.rs"));
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .with_after_include(version_macros + &code_macros)
        .generate()
        .expect("cbindgen could not generate include/altogic.h");

    let mut text = Vec::new();
    bindings.write(&mut text);
    let header = crate_dir.join("include").join("altogic.h");
    // Write only on change, so an up-to-date header keeps its timestamp.
    if std::fs::read(&header).ok().as_deref() != Some(text.as_slice()) {
        std::fs::create_dir_all(header.parent().expect("has a parent"))
            .expect("include/ can be created");
        std::fs::write(&header, text).expect("include/altogic.h can be written");
    }
}

/// The shared library's SONAME is `libaltogic.so.MAJOR`, as installed by `make install`
/// (`libaltogic.so` -> `libaltogic.so.MAJOR` -> `libaltogic.so.MAJOR.MINOR.PATCH`). Programs
/// linked with `-laltogic` then ask for `libaltogic.so.MAJOR` at run time, so the build
/// folder gets that name too, as a link to the library cargo writes beside it: linking from
/// `target/release` by name keeps working.
fn give_the_shared_library_a_soname() {
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    let soname = format!("libaltogic.so.{major}");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    // OUT_DIR is <target>/<profile>/build/altogic-<hash>/out; the library lands in <profile>.
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    let Some(profile_dir) = out_dir.ancestors().nth(3) else {
        return;
    };
    let link = profile_dir.join(&soname);
    if std::fs::read_link(&link).is_err() {
        let _ = std::fs::remove_file(&link);
        #[cfg(unix)]
        let _ = std::os::unix::fs::symlink("libaltogic.so", &link);
    }
}

/// `#define ALTOGIC_CODE_<NAME> "<code>"`, with its doc comment, for every
/// `pub const NAME: &str = "code";` in `mod codes` of src/error.rs: cbindgen emits no string
/// constants, and the codes must reach C and the bindings' tests from that one place.
fn error_code_macros(error_rs: &std::path::Path) -> String {
    let source = std::fs::read_to_string(error_rs).expect("src/error.rs is readable");
    let start = source
        .find("pub mod codes {")
        .expect("src/error.rs has `pub mod codes`");
    let body = &source[start..];
    let body = &body[..body.find("\n}").expect("mod codes ends")];
    let mut macros = String::from(
        "\n/* The error codes the library produces itself (`code` of an error item). */\n",
    );
    let mut doc = Vec::new();
    for line in body.lines().map(str::trim) {
        if let Some(text) = line.strip_prefix("///") {
            doc.push(text.trim().to_owned());
        } else if let Some(rest) = line.strip_prefix("pub const ") {
            let (name, value) = rest
                .split_once(": &str = ")
                .expect("a code is `pub const NAME: &str = \"value\";`");
            let value = value.trim_end_matches(';');
            macros.push_str(&format!(
                "\n/**\n * {}\n */\n#define ALTOGIC_CODE_{name} {value}\n",
                doc.join("\n * ")
            ));
            doc.clear();
        }
    }
    macros
}
