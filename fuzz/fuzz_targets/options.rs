//! Any options text: accepted, or refused with invalid_argument; never a panic.
#![no_main]

use altogic::error::codes;
use altogic::{Client, ClientOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match ClientOptions::from_json(text) {
        Ok(options) => {
            if let Err(error) = Client::new("http://127.0.0.1:9", "k", options) {
                let code = error.first_code().expect("an error has a code");
                assert!(code == codes::INVALID_ARGUMENT || code == codes::MISSING_REQUIRED_VALUE);
            }
        }
        Err(error) => assert_eq!(error.first_code(), Some(codes::INVALID_ARGUMENT)),
    }
});
