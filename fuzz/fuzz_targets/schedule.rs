//! Any schedule text of the emulator's config format: parsed or refused, and the next runs
//! of a parsed schedule computed, without a panic or a hang.
#![no_main]

use altogic_schedule::{Schedule, ScheduleConfig};
use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;

#[derive(serde::Deserialize)]
struct Wrapper {
    schedule: ScheduleConfig,
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(wrapper) = toml::from_str::<Wrapper>(text) else {
        return;
    };
    let Ok(schedule) = Schedule::from_config(&wrapper.schedule) else {
        return;
    };
    let _ = schedule.describe();
    let mut at: DateTime<Utc> = DateTime::from_timestamp(1_700_000_000, 0).expect("valid");
    for _ in 0..4 {
        match schedule.next_after(at) {
            Some(next) => {
                assert!(next > at, "the next run comes after {at}");
                at = next;
            }
            None => break,
        }
    }
});
