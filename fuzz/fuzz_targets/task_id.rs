//! Any task id is sent as exactly one path segment that decodes back to the id.
#![no_main]

use altogic::task::task_path_segment;
use altogic::{Client, ClientOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|id: &str| {
    if id.is_empty() || id == "." || id == ".." {
        return;
    }
    let client = Client::new("https://a.example.com/app", "k", ClientOptions::default())
        .expect("a valid client");
    let url = client.task_status_url(&task_path_segment(id));
    assert_eq!(url.query(), None);
    assert_eq!(url.fragment(), None);
    let segments: Vec<&str> = url.path_segments().expect("a path").collect();
    assert_eq!(&segments[..segments.len() - 1], ["app", "_api", "rest", "v1", "task"]);
    let last = segments[segments.len() - 1];
    let decoded = percent_encoding::percent_decode_str(last)
        .decode_utf8()
        .expect("UTF-8 in, UTF-8 out");
    assert_eq!(decoded, id);
});
