use std::{
    sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

/// Lets a log line through at most once a second and counts the ones it
/// held back, so a flood of refusals or an outage cannot flood the log.
/// One per call site, as a `static`.
pub struct OncePerSecond {
    /// Milliseconds since [`epoch`] of the last line let through, plus one
    /// (0: never).
    last: AtomicU64,
    held_back: AtomicU64,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl OncePerSecond {
    /// A limiter that has admitted nothing yet; `const` so it can be a `static`.
    pub const fn new() -> Self {
        Self {
            last: AtomicU64::new(0),
            held_back: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when a line may be written now, `n` being how many were
    /// held back since the last one; `None` when it must be dropped.
    pub fn admit(&self) -> Option<u64> {
        let now = u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX) + 1;
        let last = self.last.load(Ordering::Relaxed);
        if last != 0 && now.saturating_sub(last) < 1000 {
            self.held_back.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        // Of racing callers, one wins the second.
        match self
            .last
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => Some(self.held_back.swap(0, Ordering::Relaxed)),
            Err(_) => {
                self.held_back.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

impl Default for OncePerSecond {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_second_and_a_count_of_the_rest() {
        let limit = OncePerSecond::new();
        assert_eq!(limit.admit(), Some(0));
        for _ in 0..5 {
            assert_eq!(limit.admit(), None);
        }
        std::thread::sleep(std::time::Duration::from_millis(1010));
        assert_eq!(limit.admit(), Some(5));
        assert_eq!(limit.admit(), None);
    }
}
