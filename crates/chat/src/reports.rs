//! What a report covers: its range of time read from the request (`from`, `to`, `tz`), the
//! local time of its hours and days (the zone's offset at the start and each change within the
//! range, for the SQL to use), and the store's hours folded into the hours of the day and the
//! days of the range.
//!
//! `from` and `to` are dates (`YYYY-MM-DD`, both days included, from local midnight to local
//! midnight) or RFC 3339 instants (`to` excluded); `tz` is an IANA zone, UTC by default. Without
//! them a report covers the last 30 days, today included.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use parley_store::ReportBucket;

use crate::error::ApiError;

/// The longest range a report covers.
pub const MAX_DAYS: i64 = 366;

/// The days a report covers when `from` is not given.
const DEFAULT_DAYS: i64 = 30;

/// A report's range of time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// The start (inclusive).
    pub from: DateTime<Utc>,
    /// The end (exclusive).
    pub to: DateTime<Utc>,
    /// The zone of the hours and days.
    pub tz: Tz,
    /// The local day of `from`.
    pub first_day: NaiveDate,
    /// The local day of the range's last moment.
    pub last_day: NaiveDate,
}

/// One end of the range as given.
#[derive(Debug, Clone, Copy)]
enum End {
    Day(NaiveDate),
    At(DateTime<Utc>),
}

fn parse_end(name: &str, text: &str) -> Result<End, ApiError> {
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(End::Day(day));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|at| End::At(at.with_timezone(&Utc)))
        .map_err(|_| {
            ApiError::Validation(format!(
                "{name} must be a date (YYYY-MM-DD) or an RFC 3339 time"
            ))
        })
}

/// The zone `tz` names (UTC when none).
pub fn parse_tz(tz: Option<&str>) -> Result<Tz, ApiError> {
    match tz {
        None => Ok(Tz::UTC),
        Some(name) => name.parse::<Tz>().map_err(|_| {
            ApiError::Validation("tz must be an IANA time zone, such as Europe/Paris".into())
        }),
    }
}

/// The first instant of `day` in `tz` (its midnight, or the first time after a clock change
/// that skipped it).
pub fn start_of(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut local = day.and_time(NaiveTime::MIN);
    for _ in 0..=96 {
        if let Some(at) = tz.from_local_datetime(&local).earliest() {
            return at.with_timezone(&Utc);
        }
        local += Duration::minutes(15);
    }
    // No zone skips a whole day of quarter hours; fall back to UTC's midnight.
    Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN))
}

/// The local day of `at` in `tz`.
pub fn day_of(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// The range the request asks for, read at `now`.
pub fn period(
    from: Option<&str>,
    to: Option<&str>,
    tz: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Period, ApiError> {
    let tz = parse_tz(tz)?;
    let from = from.map(|f| parse_end("from", f)).transpose()?;
    let to = to.map(|t| parse_end("to", t)).transpose()?;
    let to = match to {
        Some(End::Day(day)) => start_of(next(day)?, tz),
        Some(End::At(at)) => at,
        None => start_of(next(day_of(now, tz))?, tz),
    };
    let from = match from {
        Some(End::Day(day)) => start_of(day, tz),
        Some(End::At(at)) => at,
        None => {
            let last = day_of(to - Duration::nanoseconds(1), tz);
            let first = last
                .checked_sub_signed(Duration::days(DEFAULT_DAYS - 1))
                .ok_or_else(out_of_range)?;
            start_of(first, tz)
        }
    };
    if from >= to {
        return Err(ApiError::Validation("from must be before to".into()));
    }
    let first_day = day_of(from, tz);
    let last_day = day_of(to - Duration::nanoseconds(1), tz);
    // Counted in local days, so that a year of dates is allowed whatever clock changes it has.
    if (last_day - first_day).num_days() + 1 > MAX_DAYS {
        return Err(ApiError::Validation(format!(
            "a report covers at most {MAX_DAYS} days"
        )));
    }
    Ok(Period {
        from,
        to,
        tz,
        first_day,
        last_day,
    })
}

fn next(day: NaiveDate) -> Result<NaiveDate, ApiError> {
    day.succ_opt().ok_or_else(out_of_range)
}

fn out_of_range() -> ApiError {
    ApiError::Validation("the dates are out of range".into())
}

/// `tz`'s offset from UTC (seconds east) at `at`.
fn offset_at(tz: Tz, at: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc()
}

/// `tz`'s offset at `from` and each change before `to`: (the first instant of the new offset,
/// the offset). Found by looking every hour (no zone changes twice within one) and then to the
/// second between the two looks that differ.
pub fn offsets(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> (i32, Vec<(DateTime<Utc>, i32)>) {
    let first = offset_at(tz, from);
    let mut changes = Vec::new();
    let mut current = first;
    let mut at = from;
    while at < to {
        let step = (at + Duration::hours(1)).min(to);
        let later = offset_at(tz, step);
        if later != current {
            // The change is in (at, step]: find its first second.
            let (mut low, mut high) = (at, step);
            while high - low > Duration::seconds(1) {
                let middle = low + (high - low) / 2;
                if offset_at(tz, middle) == current {
                    low = middle;
                } else {
                    high = middle;
                }
            }
            if high < to {
                changes.push((high, later));
            }
            current = later;
        }
        at = step;
    }
    (first, changes)
}

/// One local hour of the day's conversations over the whole range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Conversations started.
    pub conversations: i64,
    /// Of those, how many went to a person.
    pub handoffs: i64,
}

/// The store's hours folded into the 24 hours of the day and into each day from `first` to
/// `last` (every day, those without conversations too).
pub fn fold(
    buckets: &[ReportBucket],
    first: NaiveDate,
    last: NaiveDate,
) -> ([Tally; 24], Vec<(NaiveDate, Tally)>) {
    let mut hours = [Tally::default(); 24];
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
    let first_number = (first - epoch).num_days();
    let days = (last - first).num_days().max(0) + 1;
    let mut per_day: Vec<(NaiveDate, Tally)> = first
        .iter_days()
        .take(days as usize)
        .map(|d| (d, Tally::default()))
        .collect();
    for bucket in buckets {
        let hour = &mut hours[usize::from(bucket.hour % 24)];
        hour.conversations += bucket.conversations;
        hour.handoffs += bucket.handoffs;
        let index = bucket.day - first_number;
        if let Some((_, day)) = usize::try_from(index).ok().and_then(|i| per_day.get_mut(i)) {
            day.conversations += bucket.conversations;
            day.handoffs += bucket.handoffs;
        }
    }
    (hours, per_day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn dates_cover_whole_local_days() {
        let now = at("2024-05-20T12:00:00Z");
        let p = period(
            Some("2024-03-30"),
            Some("2024-03-31"),
            Some("Europe/Paris"),
            now,
        )
        .unwrap();
        assert_eq!(p.from, at("2024-03-29T23:00:00Z"));
        // The 31st is 23 hours long in Paris: clocks go forward at 02:00.
        assert_eq!(p.to, at("2024-03-31T22:00:00Z"));
        assert_eq!(
            (p.first_day, p.last_day),
            (date("2024-03-30"), date("2024-03-31"))
        );
        let utc = period(Some("2024-05-01"), Some("2024-05-01"), None, now).unwrap();
        assert_eq!(
            (utc.from, utc.to),
            (at("2024-05-01T00:00:00Z"), at("2024-05-02T00:00:00Z"))
        );
    }

    #[test]
    fn instants_are_taken_as_given() {
        let now = at("2024-05-20T12:00:00Z");
        let p = period(
            Some("2024-05-01T10:30:00+02:00"),
            Some("2024-05-02T00:00:00Z"),
            None,
            now,
        )
        .unwrap();
        assert_eq!(
            (p.from, p.to),
            (at("2024-05-01T08:30:00Z"), at("2024-05-02T00:00:00Z"))
        );
        assert_eq!(
            (p.first_day, p.last_day),
            (date("2024-05-01"), date("2024-05-01"))
        );
    }

    #[test]
    fn the_last_thirty_days_by_default() {
        let now = at("2024-05-20T23:30:00Z");
        let p = period(None, None, Some("Asia/Tokyo"), now).unwrap();
        // Already the 21st in Tokyo.
        assert_eq!(
            (p.first_day, p.last_day),
            (date("2024-04-22"), date("2024-05-21"))
        );
        assert_eq!(p.to, at("2024-05-21T15:00:00Z"));
        let p = period(None, Some("2024-02-29"), None, now).unwrap();
        assert_eq!(p.first_day, date("2024-01-31"));
    }

    #[test]
    fn bad_ranges_and_zones_are_refused() {
        let now = at("2024-05-20T12:00:00Z");
        let refused = |from: Option<&str>, to: Option<&str>, tz: Option<&str>| {
            matches!(period(from, to, tz, now), Err(ApiError::Validation(_)))
        };
        assert!(refused(Some("2024-13-01"), None, None));
        assert!(refused(Some("yesterday"), None, None));
        assert!(refused(None, Some("2024-05-01T10:00"), None), "no offset");
        assert!(refused(Some("2024-05-02"), Some("2024-05-01"), None));
        assert!(refused(
            Some("2024-05-01T10:00:00Z"),
            Some("2024-05-01T10:00:00Z"),
            None
        ));
        assert!(
            refused(Some("2023-01-01"), Some("2024-01-02"), None),
            "367 days"
        );
        assert!(
            !refused(Some("2023-01-01"), Some("2023-12-31"), None),
            "365 days"
        );
        assert!(
            !refused(Some("2024-01-01"), Some("2024-12-31"), None),
            "366 days"
        );
        assert!(refused(None, None, Some("Mars/Olympus")));
        assert!(refused(None, None, Some("")));
    }

    #[test]
    fn offset_changes_are_found_to_the_second() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let (first, changes) = offsets(
            paris,
            at("2024-03-01T00:00:00Z"),
            at("2024-11-01T00:00:00Z"),
        );
        assert_eq!(first, 3600);
        assert_eq!(
            changes,
            [
                (at("2024-03-31T01:00:00Z"), 7200),
                (at("2024-10-27T01:00:00Z"), 3600)
            ]
        );
        // Half-hour zones and changes at odd minutes.
        let lord_howe: Tz = "Australia/Lord_Howe".parse().unwrap();
        let (first, changes) = offsets(
            lord_howe,
            at("2024-03-01T00:00:00Z"),
            at("2024-05-01T00:00:00Z"),
        );
        assert_eq!(first, 11 * 3600);
        assert_eq!(changes, [(at("2024-04-06T15:00:00Z"), 10 * 3600 + 1800)]);
        let (first, changes) = offsets(
            Tz::UTC,
            at("2024-01-01T00:00:00Z"),
            at("2024-12-31T00:00:00Z"),
        );
        assert_eq!((first, changes.len()), (0, 0));
    }

    #[test]
    fn hours_and_days_are_folded() {
        let epoch = date("1970-01-01");
        let day = |d: &str| (date(d) - epoch).num_days();
        let buckets = [
            ReportBucket {
                day: day("2024-05-01"),
                hour: 9,
                conversations: 2,
                handoffs: 1,
            },
            ReportBucket {
                day: day("2024-05-03"),
                hour: 9,
                conversations: 1,
                handoffs: 0,
            },
            ReportBucket {
                day: day("2024-05-03"),
                hour: 23,
                conversations: 4,
                handoffs: 4,
            },
        ];
        let (hours, days) = fold(&buckets, date("2024-05-01"), date("2024-05-03"));
        assert_eq!(
            hours[9],
            Tally {
                conversations: 3,
                handoffs: 1
            }
        );
        assert_eq!(
            hours[23],
            Tally {
                conversations: 4,
                handoffs: 4
            }
        );
        assert_eq!(hours.iter().map(|h| h.conversations).sum::<i64>(), 7);
        assert_eq!(
            days,
            [
                (
                    date("2024-05-01"),
                    Tally {
                        conversations: 2,
                        handoffs: 1
                    }
                ),
                (date("2024-05-02"), Tally::default()),
                (
                    date("2024-05-03"),
                    Tally {
                        conversations: 5,
                        handoffs: 4
                    }
                ),
            ]
        );
    }
}
