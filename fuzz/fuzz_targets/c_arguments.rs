//! Any argument bytes through the C functions give a result or an error object, never a
//! crash. The input is split at NUL bytes into an env URL, a client key, options, a task
//! name and a session token. Calls go to 127.0.0.1 port 9, where nothing listens.
#![no_main]

use std::ffi::{c_char, CString};

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

// The C functions come from this library; naming the crate links it in.
extern crate altogic;

#[path = "../../tests/support/c_abi.rs"]
mod c_abi;

use c_abi::*;

/// Frees a library string and returns it parsed (None for NULL).
fn take_json(s: *mut c_char) -> Option<Value> {
    take(s).map(|text| serde_json::from_str(&text).expect("the library answers JSON"))
}

fuzz_target!(|data: &[u8]| {
    let mut fields = data.split(|b| *b == 0).map(|field| CString::new(field).expect("no NUL"));
    let mut next = || fields.next().unwrap_or_default();
    let (url, key, options, name, token) = (next(), next(), next(), next(), next());
    let mut error = std::ptr::null_mut();
    // SAFETY: valid C strings and a writable error slot; results freed once.
    unsafe {
        let client = altogic_client_new(url.as_ptr(), key.as_ptr(), options.as_ptr(), &mut error);
        assert_eq!(client.is_null(), take_json(error).is_some());
        altogic_client_free(client);

        let client = altogic_client_new(
            c"http://127.0.0.1:9".as_ptr(),
            key.as_ptr(),
            c"{\"timeoutMs\":200}".as_ptr(),
            std::ptr::null_mut(),
        );
        let refused = take_json(altogic_client_set_session(client, token.as_ptr()));
        if let Some(error) = &refused {
            assert!(error["items"][0]["code"].is_string());
        }
        let session = take(altogic_client_get_session(client));
        if refused.is_none() {
            assert_eq!(session.as_deref(), token.to_str().ok().filter(|t| !t.is_empty()));
        }
        let result = take_json(altogic_task_run_once(client, name.as_ptr())).expect("never NULL");
        assert!(result["errors"]["items"][0]["code"].is_string());
        let result = take_json(altogic_task_get_status(client, name.as_ptr())).expect("never NULL");
        assert!(result["errors"]["items"][0]["code"].is_string());
        altogic_client_free(client);
    }
});
