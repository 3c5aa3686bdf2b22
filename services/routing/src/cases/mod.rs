//! Cases: the handling of a citizen's report.

pub mod assign;
pub mod intake;
pub mod read;

/// How long a worker has to phone the citizen back, on the wall clock.
pub const FIRST_RESPONSE_MINUTES: i64 = 30;
