//! Opening hours as minutes of the week in Europe/London wall-clock time, so "open now"
//! is one lookup, BST included.
use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Europe::London;

use super::snapshot::Hours;
use crate::content::records::{DAYS, parse_time};

const WEEK: u32 = 7 * 24 * 60;

#[derive(Debug, Clone, Default)]
pub struct WeekIntervals(Vec<(u32, u32)>);

impl WeekIntervals {
    /// A closing time at or before the opening time runs past midnight into the next day.
    pub fn from_hours(hours: &[Hours]) -> Self {
        let mut out = Vec::new();
        for h in hours {
            let (Some(day), Some(opens), Some(closes)) = (
                DAYS.iter().position(|d| *d == h.day),
                parse_time(&h.opens),
                parse_time(&h.closes),
            ) else {
                continue;
            };
            let start = day as u32 * 1440 + opens;
            let length = if closes > opens {
                closes - opens
            } else {
                closes + 1440 - opens
            };
            let end = start + length;
            if end <= WEEK {
                out.push((start, end));
            } else {
                // Sunday night into Monday morning wraps to the week's start.
                out.push((start, WEEK));
                out.push((0, end - WEEK));
            }
        }
        Self(out)
    }

    pub fn contains(&self, minute_of_week: u32) -> bool {
        self.0
            .iter()
            .any(|(s, e)| *s <= minute_of_week && minute_of_week < *e)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The minute of the week (Monday 00:00 = 0) in London at `now`.
pub fn london_minute_of_week(now: DateTime<Utc>) -> u32 {
    let local = now.with_timezone(&London);
    local.weekday().num_days_from_monday() * 1440 + local.hour() * 60 + local.minute()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn h(day: &str, opens: &str, closes: &str) -> Hours {
        Hours {
            day: day.into(),
            opens: opens.into(),
            closes: closes.into(),
        }
    }

    #[test]
    fn bst_and_gmt() {
        let w = WeekIntervals::from_hours(&[h("sunday", "09:00", "17:00")]);
        // 29 March 2026: the clocks go forward at 01:00 UTC. 08:30 UTC is 09:30 BST.
        let in_bst = Utc.with_ymd_and_hms(2026, 3, 29, 8, 30, 0).unwrap();
        assert!(w.contains(london_minute_of_week(in_bst)));
        // 22 March 2026, 08:30 UTC is 08:30 GMT: not yet open.
        let in_gmt = Utc.with_ymd_and_hms(2026, 3, 22, 8, 30, 0).unwrap();
        assert!(!w.contains(london_minute_of_week(in_gmt)));
    }

    #[test]
    fn past_midnight_and_week_wrap() {
        let w = WeekIntervals::from_hours(&[
            h("friday", "20:00", "02:00"),
            h("sunday", "22:00", "01:00"),
        ]);
        let at = |d: u32, hh: u32, mm: u32| d * 1440 + hh * 60 + mm;
        assert!(w.contains(at(4, 23, 59)));
        assert!(w.contains(at(5, 1, 59)));
        assert!(!w.contains(at(5, 2, 0)));
        assert!(w.contains(at(6, 23, 0)));
        assert!(w.contains(at(0, 0, 30)));
        assert!(!w.contains(at(0, 1, 0)));
        let w = WeekIntervals::from_hours(&[h("monday", "18:00", "00:00")]);
        assert!(w.contains(at(0, 23, 59)));
        assert!(!w.contains(at(1, 0, 0)));
    }
}
