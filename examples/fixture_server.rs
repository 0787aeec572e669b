//! The test fixture server as a process, for the C test suite: prints
//! `fixture listening on http://127.0.0.1:PORT`, then serves until its standard input
//! closes (or ten minutes pass, so a forgotten fixture never lingers).

#[path = "../tests/support/fixture.rs"]
mod fixture;

use std::io::{Read, Write};
use std::time::Duration;

const LIFETIME: Duration = Duration::from_secs(600);

fn main() {
    let fixture = fixture::Fixture::start();
    println!("fixture listening on {}", fixture.url);
    let _ = std::io::stdout().flush();
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        std::process::exit(0);
    });
    std::thread::sleep(LIFETIME);
}
