//! The parts of `altogic-emulator` that do no I/O, as a library: the app's config file
//! format, the execution model and the task schedules (guarded against panics). The binary (`main.rs`) uses them from
//! here, and the fuzz target `emulator_config` feeds the config parser arbitrary files.

pub mod config;
pub mod guarded_schedule;
pub mod model;
