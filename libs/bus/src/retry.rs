//! Redelivery back-off: capped, exponential, with jitter, and without an attempt
//! budget. A transient failure (database or broker away, a timeout) is retried for as
//! long as it lasts; only a poison event is parked (see [`crate::HandlerError`]).

use std::time::Duration;

/// How patiently a failing event is delivered again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the second delivery; doubles each time.
    pub first_delay: Duration,
    /// Upper bound of the delay, so a recovered dependency is noticed within it.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The capped exponential delay after the `attempt`-th failed delivery (1-based),
    /// before jitter.
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The delay to wait after the `attempt`-th failed delivery: a random point in the
    /// upper half of [`Self::base_delay`], so that consumers failing together (all of
    /// them, when the database restarts) do not come back in lock-step.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let base = self.base_delay(attempt);
        base.mul_f64(0.5 + 0.5 * unit_random())
    }
}

/// A random number in `[0, 1)`; without the system's randomness, the middle.
fn unit_random() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    // 53 random bits: the precision of an f64 mantissa.
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.base_delay(1), Duration::from_millis(500));
        assert_eq!(p.base_delay(2), Duration::from_secs(1));
        assert_eq!(p.base_delay(4), Duration::from_secs(4));
        assert_eq!(p.base_delay(30), Duration::from_secs(30));
        assert_eq!(p.base_delay(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn jittered_delays_stay_in_the_upper_half_and_vary() {
        let p = RetryPolicy::default();
        let delays: Vec<Duration> = (0..50).map(|_| p.delay_after(3)).collect();
        for d in &delays {
            assert!(
                *d >= Duration::from_secs(1) && *d <= Duration::from_secs(2),
                "{d:?}"
            );
        }
        assert!(delays.iter().any(|d| *d != delays[0]), "no jitter");
    }
}
