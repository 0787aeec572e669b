//! The committed header matches the crate it documents.

const HEADER: &str = include_str!("../include/altogic.h");

#[test]
fn version_macros_match_cargo_toml() {
    let expected = format!("#define ALTOGIC_VERSION \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(HEADER.contains(&expected), "header lacks {expected}");
    for (name, value) in [
        ("MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        let line = format!("#define ALTOGIC_VERSION_{name} {value}\n");
        assert!(HEADER.contains(&line), "header lacks {line}");
    }
}

/// The functions `src/ffi/` exports, read from the sources: one list, not a copy of it.
fn exported_functions() -> Vec<String> {
    let ffi = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ffi");
    let mut functions = Vec::new();
    for entry in std::fs::read_dir(ffi).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let mut lines = source.lines().peekable();
        while let Some(line) = lines.next() {
            if line.trim() != "#[no_mangle]" {
                continue;
            }
            let signature = lines.next().unwrap_or_default();
            let name = signature
                .split("fn ")
                .nth(1)
                .and_then(|rest| rest.split('(').next())
                .unwrap_or_else(|| panic!("no function after #[no_mangle]: {signature}"));
            functions.push(name.to_owned());
        }
    }
    functions.sort();
    functions
}

#[test]
fn every_exported_function_is_declared_and_documented() {
    let exported = exported_functions();
    assert!(exported.len() >= 17, "{exported:?}");
    let lines: Vec<&str> = HEADER.lines().collect();
    for function in &exported {
        let declaration = lines
            .iter()
            .position(|line| {
                !line.starts_with([' ', '/']) && line.contains(&format!("{function}("))
            })
            .unwrap_or_else(|| panic!("{function} is not declared"));
        assert_eq!(
            lines[declaration - 1],
            " */",
            "{function} has no doc comment right above it"
        );
    }
    let mut declared: Vec<String> = lines
        .iter()
        .filter(|line| !line.starts_with([' ', '/', '#']))
        .filter_map(|line| line.split("altogic_").nth(1).map(|rest| (line, rest)))
        .filter_map(|(_, rest)| rest.split('(').next().map(|name| format!("altogic_{name}")))
        .filter(|name| !name.contains(' '))
        .collect();
    declared.sort();
    declared.dedup();
    assert_eq!(
        declared, exported,
        "the header declares other functions than src/ffi exports"
    );
}

#[test]
fn error_codes_are_in_the_header() {
    for code in [
        altogic::error::codes::TLS_ERROR,
        altogic::error::codes::PROXY_ERROR,
        altogic::error::codes::ERROR_ITEMS_DROPPED,
        altogic::error::codes::INTERNAL_ERROR,
    ] {
        assert!(
            HEADER.contains(&format!(" \"{code}\"\n")),
            "{code} is not in the header"
        );
    }
}
