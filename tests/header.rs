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

#[test]
fn every_exported_function_is_declared_and_documented() {
    for function in [
        "altogic_client_new",
        "altogic_client_free",
        "altogic_task_run_once",
        "altogic_task_get_status",
        "altogic_task_wait",
        "altogic_task_run_once_cancellable",
        "altogic_task_get_status_cancellable",
        "altogic_task_wait_cancellable",
        "altogic_cancel_new",
        "altogic_cancel_trigger",
        "altogic_cancel_is_triggered",
        "altogic_cancel_free",
        "altogic_client_set_session",
        "altogic_client_get_session",
        "altogic_string_free",
        "altogic_version",
        "altogic_queue_new",
        "altogic_queue_fd",
        "altogic_task_run_once_start",
        "altogic_task_get_status_start",
        "altogic_task_wait_start",
        "altogic_queue_next",
        "altogic_queue_free",
    ] {
        let lines: Vec<&str> = HEADER.lines().collect();
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
}
