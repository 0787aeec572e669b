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
            // Every task can be found again by its name and by its id.
            for task in &app.tasks {
                let _ = task.service.describe();
                assert!(app.find(&task.name).is_some(), "{}", task.name);
                assert!(app.by_id(&task.id).is_some(), "{}", task.id);
            }
        }
        Err(error) => {
            let lines = text.lines().count().max(1);
            assert!(error.line >= 1 && error.line <= lines + 1, "line {} of {lines}", error.line);
        }
    }
});
