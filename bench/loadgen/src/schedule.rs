//! When a run sends its events: evenly spaced at a rate, a fixed burst, or a timed flood.

use std::time::Duration;

/// When to publish.
#[derive(Debug, Clone, Copy)]
pub enum Schedule {
    /// `rate` events per second for `duration`, evenly spaced.
    Steady { rate: f64, duration: Duration },
    /// `count` events, each sent as soon as a publisher is free.
    Burst { count: u64 },
    /// As many events as the publishers manage in `duration`, each sent as soon as one is free.
    Flood { duration: Duration },
}

impl Schedule {
    /// How many events will be sent; a flood does not know in advance.
    pub fn planned(&self) -> Option<u64> {
        match *self {
            Schedule::Steady { rate, duration } => {
                Some((rate * duration.as_secs_f64()).round() as u64)
            }
            Schedule::Burst { count } => Some(count),
            Schedule::Flood { .. } => None,
        }
    }

    /// Whether event `i` is still to be sent, `elapsed` after the start.
    pub fn wants(&self, i: u64, elapsed: Duration) -> bool {
        match (*self, self.planned()) {
            (_, Some(total)) => i < total,
            (Schedule::Flood { duration }, None) => elapsed < duration,
            _ => false,
        }
    }

    /// When event `i` is due, relative to the start; `None` means immediately.
    pub fn due(&self, i: u64) -> Option<Duration> {
        match *self {
            Schedule::Steady { rate, .. } if rate > 0.0 => {
                Some(Duration::from_secs_f64(i as f64 / rate))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_schedule_spaces_events_evenly() {
        let s = Schedule::Steady {
            rate: 10.0,
            duration: Duration::from_secs(3),
        };
        assert_eq!(s.planned(), Some(30));
        assert!(s.wants(29, Duration::from_secs(100)));
        assert!(!s.wants(30, Duration::ZERO));
        assert_eq!(s.due(0), Some(Duration::ZERO));
        assert_eq!(s.due(5), Some(Duration::from_millis(500)));
        assert_eq!(s.due(29), Some(Duration::from_millis(2900)));
    }

    #[test]
    fn burst_schedule_has_no_pacing() {
        let s = Schedule::Burst { count: 7 };
        assert_eq!(s.planned(), Some(7));
        assert_eq!(s.due(3), None);
    }

    #[test]
    fn flood_schedule_ends_on_time_not_count() {
        let s = Schedule::Flood {
            duration: Duration::from_secs(5),
        };
        assert_eq!(s.planned(), None);
        assert_eq!(s.due(1_000), None);
        assert!(s.wants(1_000_000, Duration::from_millis(4_999)));
        assert!(!s.wants(0, Duration::from_secs(5)));
    }
}
