//! Any emulator config file: parsed into an app or refused with an error that names a line
//! of the file, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match altogic_emulator::config::parse("fuzz.toml", text) {
        Ok(app) => {
            let _ = app.describe();
        }
        Err(error) => {
            let lines = text.lines().count().max(1);
            assert!(error.line >= 1 && error.line <= lines + 1, "line {} of {lines}", error.line);
        }
    }
});
